"""What a platform component takes: everything servers share, as typed, documented Args.

TypedDicts for the same reason as server_args.py (multi-language callers, the schema analyzer).
Every field but `domain` and `auth_issuer` has a default, applied by `platform_spec.resolve_platform`.
`postgres` and `redis` are created only when given: a platform whose servers need neither has none.
"""

from typing import Required, TypedDict

import pulumi


class PostgresArgs(TypedDict, total=False):
    """The shared PostgreSQL instance; each server that asks gets a database and role on it."""

    version: int
    """Major version, 14-17. Default 16."""
    size: str
    """small, medium, large or xlarge; each target maps it to an instance class. Default small."""
    storage_gb: int
    """Storage in GiB. Default 20."""
    high_availability: bool
    """A standby in another zone with automatic failover. Default false."""
    backup_retention_days: int
    """Days the instance's own automated backups are kept, 1-35. Default 7."""
    deletion_protection: bool
    """Refuse to delete the instance. Default false (required in production)."""
    final_snapshot: bool
    """Snapshot the instance when it is deleted. Default false (required in production)."""
    password: pulumi.Input[str]
    """Admin password as a Pulumi secret. Default: generated."""
    external_url: pulumi.Input[str]
    """kubernetes: a managed PostgreSQL admin URL (secret) to use instead of an in-cluster instance."""


class RedisArgs(TypedDict, total=False):
    """The shared Redis; each server that asks gets a key prefix of its own."""

    size: str
    """small, medium, large or xlarge. Default small."""
    high_availability: bool
    """A replica in another zone with automatic failover. Default false."""
    auth_token: pulumi.Input[str]
    """AUTH token as a Pulumi secret (not on gcp-cloudrun: Memorystore makes its own). Default: generated."""
    external_url: pulumi.Input[str]
    """kubernetes: a managed Redis URL (secret) to use instead of an in-cluster one."""


class BackupArgs(TypedDict, total=False):
    """Scheduled pg_dump of every server database that asked for backups."""

    schedule: str
    """5-field cron, UTC. Default 0 3 * * *."""
    retention_days: int
    """Days dumps are kept in the bucket. Default 30."""


class AwsArgs(TypedDict, total=False):
    """aws-ecs only."""

    availability_zones: int
    """Zones the VPC, tasks and data tier span, 2-3. Default 2."""
    nat_gateway_per_az: bool
    """One NAT gateway per zone instead of one. Default false."""
    vpc_cidr: str
    """Range of the new VPC. Default 10.0.0.0/16."""
    vpc_id: str
    """An existing VPC instead of a new one (give its subnets too)."""
    public_subnet_ids: list[str]
    """With vpc_id: public subnets for the load balancer."""
    private_subnet_ids: list[str]
    """With vpc_id: private subnets (with NAT) for tasks and data."""
    hosted_zone_id: str
    """Route 53 zone of the domain, for certificate validation and the alias record."""
    certificate_arn: str
    """An existing ACM certificate for the domain instead of a new one."""


class GcpArgs(TypedDict, total=False):
    """gcp-cloudrun only."""

    project: str
    """Project id (the gcp:project provider setting)."""
    region: str
    """Region (the gcp:region provider setting)."""
    subnet_cidr: str
    """Range of the subnet Cloud Run egresses through. Default 10.10.0.0/20."""
    armor_requests_per_minute: int
    """Requests per minute one client IP may send before Cloud Armor answers 429. Default 1200."""


class K8sArgs(TypedDict, total=False):
    """kubernetes only."""

    namespace: str
    """Namespace for everything the platform and its servers deploy. Default <stack>-<platform name>."""
    registry: str
    """Repository to push built images to (one tag per server)."""
    entry: str
    """Public entry: `gateway` (Gateway API, the default) or `ingress` (a plain Ingress)."""
    gateway_class: str
    """gatewayClassName of the Gateway (required when entry is gateway: clusters name theirs differently)."""
    ingress_class: str
    """ingressClassName of the Ingress when entry is ingress."""
    entry_namespace: str
    """Namespace of the pods that carry public traffic in. Default: the Gateway's own pods in the
    platform's namespace (labelled with its name); required with entry ingress."""
    tls_secret: str
    """An existing TLS secret for the domain. Default: cert-manager issues one."""
    cluster_issuer: str
    """cert-manager ClusterIssuer that signs the certificate. Default letsencrypt."""
    acme_email: str
    """Create a Let's Encrypt ClusterIssuer (named per stack) with this contact."""
    storage_class: str
    """Storage class for Postgres and Redis volumes. Default: the cluster's default."""
    install_cnpg: bool
    """Install the CloudNativePG operator (Helm, named per stack). Default false."""
    prometheus_operator: bool
    """The cluster runs the Prometheus operator: add ServiceMonitors and rules. Default false."""
    prometheus_release: str
    """With prometheus_operator, the label `release: <this>` on our ServiceMonitors, PodMonitor and
    PrometheusRules: kube-prometheus-stack's Prometheus selects only its own Helm release's by
    default. Default kube-prometheus-stack; "" adds no label."""
    prometheus_namespace: str
    """The namespace Prometheus runs in: our NetworkPolicies admit scrapes from there only.
    Default monitoring."""
    otlp_endpoint: str
    """OTLP http/protobuf endpoint (http://collector:4318) for traces when tracing_sample_ratio is on."""
    backup_url: str
    """s3:// or gs:// URL for dumps (required in production)."""
    backup_secret: str
    """Existing Secret whose keys (AWS_*, GOOGLE_*) the backup job gets as env."""
    backup_service_account_annotations: dict[str, str]
    """Annotations for the backup ServiceAccount (workload identity)."""


class GatewayArgs(TypedDict, total=False):
    """The platform's one public service: central OAuth, routes, limits (see gateway/)."""

    min_replicas: int
    """Fewest gateway replicas. Default 2 (one per zone)."""
    max_replicas: int
    """Most gateway replicas. Default 6."""
    cpu: int
    """CPU units per gateway replica, 1024 = 1 vCPU. Default 512."""
    memory: int
    """Memory per gateway replica in MiB. Default 1024."""
    allowed_origins: list[str]
    """Browser origins CORS admits (https://app.example.com). Default none."""
    rate_limit_per_minute: int
    """Requests per minute one subject may make on a route (one address, without a token). Default 600."""
    edge_requests_per_minute: int
    """Requests per minute one client IP may send before the edge (WAF, Armor) answers 429. Default 1200."""


class PlatformArgs(TypedDict, total=False):
    """Everything the servers of one stack share."""

    domain: Required[str]
    """Public hostname, e.g. mcp.example.com; server <name> is at https://<domain>/<name>/mcp."""
    production: bool
    """Production: protect stateful resources, demand alerts. Default false."""
    auth_issuer: Required[str]
    """https URL of the OAuth 2.1 issuer whose JWKS signs access tokens."""
    auth_audience: str
    """One token audience for every server. Default: each server's own public URL (RFC 8707)."""
    log_retention_days: int
    """Days logs are kept. Default 30."""
    alert_email: str
    """Address alarms go to (required in production)."""
    alert_webhook_url: pulumi.Input[str]
    """An https webhook (a Pulumi secret: its URL is its credential) alarms also go to: an SNS
    subscription on aws-ecs, a webhook_tokenauth channel on gcp-cloudrun, an Alertmanager webhook
    receiver on kubernetes (with the Prometheus operator)."""
    sentry_dsn: pulumi.Input[str]
    """A Sentry DSN (a Pulumi secret) the gateway, our reference server and every stdio bridge send
    errors to, as SENTRY_DSN from the target's secret manager. Other images do not get it."""
    registry_keep_images: int
    """Images the registry keeps per server. Default 20."""
    tracing_sample_ratio: float
    """Share of traces kept, 0-1; 0 (the default) turns tracing off: no collector receives OTLP and no
    service gets OTEL_EXPORTER_OTLP_ENDPOINT."""
    postgres: PostgresArgs
    """Give it for a shared Postgres instance; servers with `postgres` need one."""
    redis: RedisArgs
    """Give it for a shared Redis; servers with `redis` need one."""
    backup: BackupArgs
    """Dump schedule and retention."""
    gateway: GatewayArgs
    """The gateway's size, CORS origins and rate limits."""
    aws: AwsArgs
    """aws-ecs settings."""
    gcp: GcpArgs
    """gcp-cloudrun settings."""
    k8s: K8sArgs
    """kubernetes settings."""
