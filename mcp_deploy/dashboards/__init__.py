"""Dashboards as code: one panel list (panels.py) rendered for each target's dashboard service
(CloudWatch, Cloud Monitoring, Grafana), over the metrics our services export (metrics.py)."""
