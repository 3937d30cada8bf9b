"""mcp-deploy: MCP servers in production on AWS ECS Fargate, Google Cloud Run or Kubernetes.

Python programs use a target's Platform and Server components (mcp_deploy.aws, .gcp, .k8s) with
PlatformArgs and ServerArgs. `COMPONENTS` is what the multi-language package serves
(PulumiPlugin.yaml): one Deployment per target, a platform and its servers as plain data.
"""

from mcp_deploy.deployments import AwsDeployment, GcpDeployment, K8sDeployment

COMPONENTS = [AwsDeployment, GcpDeployment, K8sDeployment]
