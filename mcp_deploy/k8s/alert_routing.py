"""The label every alert rule of ours carries so that the platform's AlertmanagerConfig routes it.

The Prometheus operator scopes an AlertmanagerConfig's route to alerts whose `namespace` label is
the config's own namespace (platform/webhook.py). An expression that aggregates (`sum(...) /
sum(...)`, `max`, `sum by (le)`) drops that label, and such an alert would fire but reach no
receiver; so the label is set on the rule itself, where no expression can lose it."""

from __future__ import annotations


def routed(namespace: str) -> dict[str, str]:
    return {"namespace": namespace}
