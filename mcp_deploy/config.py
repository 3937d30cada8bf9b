"""The stack config: the one place that reads Pulumi config.

Every key lives flat in the `mcp-deploy:` namespace because `Pulumi.yaml` can declare only
string, integer, boolean and array keys, and we want every key declared. `StackConfig` is the
single source of truth: `Pulumi.yaml` declarations and the README table are checked against it.

`read_stack_config()` validates everything in one pass and raises one `ConfigError` that names
every bad key, the value given and what is allowed, before the program registers anything.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal

import pulumi
from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from mcp_deploy.cloudwatch_lookback import lookback_problem
from mcp_deploy.config_errors import ConfigError, ConfigProblem, problems_from_validation
from mcp_deploy.config_secret_refs import STACK_KEY as SECRET_REF_KEY
from mcp_deploy.config_secret_refs import referenced_keys, secret_ref_problems
from mcp_deploy.config_servers import DEFAULT_SERVERS, Servers
from mcp_deploy.fargate import fargate_cpu_problem, fargate_memory_problem
from mcp_deploy.names import DNS_LABEL, LABEL_VALUE

NAMESPACE = "mcp-deploy"

Target = Literal["aws-ecs", "gcp-cloudrun", "kubernetes"]
Environment = Literal["development", "production"]
# Data-tier sizes are named, not native, so that switching `target` is one key: each target
# maps a size to its own instance class and documents the mapping.
Size = Literal["small", "medium", "large", "xlarge"]

# CloudWatch Logs accepts only these retention periods.
# fmt: off
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                             1827, 2192, 2557, 2922, 3288, 3653)
# fmt: on

_HOSTNAME_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)({_HOSTNAME_LABEL}\.)+[a-z]{{2,63}}$")
# An OCI image reference: registry/path[:tag][@sha256:digest]; at least a registry or a path.
_IMAGE_REF = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)+"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
_HTTPS_URL = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?$")


def _json_list(value: Any) -> Any:
    """The CLI hands array keys to the program as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # pydantic then says it is not a list
    return value


JsonList = Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], BeforeValidator(_json_list)]


def _camel(name: str) -> str:
    """YAML keys are camelCase; pydantic's to_camel would spell k8s_ as k8S."""
    return to_camel(name).replace("k8S", "k8s")


def reject(allowed: str) -> PydanticCustomError:
    """A validation error whose text is what is allowed (the formatter adds key and value)."""
    return PydanticCustomError("config_rule", "{allowed}", {"allowed": allowed})


class StackConfig(BaseModel):
    """Every `mcp-deploy:` key. Field order matters: later validators read earlier fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=_camel, populate_by_name=True)
    # Values of the stack keys that servers.*.secrets name (set by parse_stack_config).
    _server_secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    environment: Environment = Field(
        "development",
        description="development or production; production demands alerts, deletion protection "
        "and final snapshots",
    )
    target: Target = Field(description="where the server runs: aws-ecs, gcp-cloudrun or kubernetes")
    domain: str = Field(
        description="public hostname; server NAME answers at https://<domain>/NAME/mcp, e.g. mcp.example.com"
    )
    servers: Servers = Field(
        default_factory=lambda: dict(DEFAULT_SERVERS),
        description="object: server name -> image or build, port, health, env, secrets... (see README); "
        "default: our notes server",
        validate_default=True,
        json_schema_extra={"object": True},
    )
    log_retention_days: Annotated[int, Field(ge=1, le=3653)] = Field(
        30, description="days the server's logs are kept", validate_default=True
    )

    auth_issuer: str = Field(
        description="https URL of the OAuth 2.1 issuer whose JWKS signs access tokens (required: "
        "the deployed server refuses unauthenticated traffic)"
    )
    auth_audience: str | None = Field(
        None,
        description="one token audience for every server; empty: each server's URL https://<domain>/NAME/mcp",
    )
    postgres_version: Annotated[int, Field(ge=14, le=17)] = Field(16, description="PostgreSQL major version")
    postgres_size: Size = Field("small", description="database size: small, medium, large, xlarge")
    postgres_storage_gb: Annotated[int, Field(ge=20, le=16384)] = Field(
        20, description="database storage in GiB"
    )
    postgres_high_availability: bool = Field(
        False, description="a standby in another zone with automatic failover"
    )
    postgres_backup_retention_days: Annotated[int, Field(ge=1, le=35)] = Field(
        7, description="days the database's own automated backups are kept"
    )
    postgres_deletion_protection: bool = Field(
        False,
        description="refuse to delete the database (required in production)",
        validate_default=True,
    )
    postgres_final_snapshot: bool = Field(
        False,
        description="take a final snapshot when the database is deleted (required in production)",
        validate_default=True,
    )

    redis_size: Size = Field("small", description="cache size: small, medium, large, xlarge")
    redis_high_availability: bool = Field(
        False, description="a replica in another zone with automatic failover"
    )

    backup_schedule: str = Field(
        "0 3 * * *", description="when the pg_dump backup job runs: a 5-field cron, UTC"
    )
    backup_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        30, description="days backup dumps are kept in the bucket"
    )

    edge_requests_per_minute: Annotated[int, Field(ge=60, le=100000)] = Field(
        1200,
        description="requests per minute one client IP may send before the edge (WAF, Cloud Armor) says 429",
    )
    gateway_min_replicas: Annotated[int, Field(ge=1, le=100)] = Field(
        2, description="fewest gateway replicas (the one public service; two spread over zones)"
    )
    gateway_max_replicas: Annotated[int, Field(ge=1, le=100)] = Field(6, description="most gateway replicas")
    gateway_cpu: Annotated[int, Field(ge=256, le=16384)] = Field(
        512, description="CPU per gateway replica in CPU units (1024 = 1 vCPU)"
    )
    gateway_memory: Annotated[int, Field(ge=512, le=122880)] = Field(
        1024, description="memory per gateway replica in MiB", validate_default=True
    )
    gateway_allowed_origins: JsonList = Field(
        default_factory=list,
        description="browser origins the gateway's CORS admits, e.g. https://app.example.com",
    )
    gateway_rate_limit_per_minute: Annotated[int, Field(ge=1, le=100000)] = Field(
        600, description="requests per minute one subject may make on one route (per address without a token)"
    )

    registry_keep_images: Annotated[int, Field(ge=1, le=1000)] = Field(
        20, description="images the registry keeps; older ones are deleted"
    )

    aws_availability_zones: Annotated[int, Field(ge=2, le=3)] = Field(
        2, description="aws-ecs: availability zones the VPC, tasks and data tier span"
    )
    aws_nat_gateway_per_az: bool = Field(
        False, description="aws-ecs: one NAT gateway per zone (survives a zone outage) instead of one"
    )
    aws_vpc_cidr: str = Field("10.0.0.0/16", description="aws-ecs: address range of the new VPC (/16 to /22)")
    aws_vpc_id: str | None = Field(
        None, description="aws-ecs: an existing VPC to use instead of creating one (give its subnets too)"
    )
    aws_public_subnet_ids: JsonList = Field(
        default_factory=list, description="aws-ecs: with awsVpcId, public subnets for the load balancer"
    )
    aws_private_subnet_ids: JsonList = Field(
        default_factory=list,
        description="aws-ecs: with awsVpcId, private subnets (with NAT) for tasks and data",
        validate_default=True,
    )
    aws_certificate_arn: str | None = Field(
        None, description="aws-ecs: an existing ACM certificate for the domain instead of a new one"
    )
    aws_hosted_zone_id: str | None = Field(
        None,
        description="aws-ecs: Route 53 zone of the domain, for certificate validation and the alias record",
        validate_default=True,
    )

    gcp_subnet_cidr: str = Field(
        "10.10.0.0/20",
        description="gcp-cloudrun: range of the subnet Cloud Run egresses through (/20 to /26)",
    )

    k8s_namespace: Annotated[str, Field(pattern=f"^{DNS_LABEL}$")] | None = Field(
        None, description="kubernetes: namespace for everything the stack deploys; empty: <stack>-mcp"
    )
    k8s_registry: str | None = Field(
        None,
        description="kubernetes: repository to push built images to, one tag per server (docker login first)",
        validate_default=True,
    )
    k8s_entry: Literal["gateway", "ingress"] = Field(
        "gateway", description="kubernetes: public entry: gateway (Gateway API) or ingress (a plain Ingress)"
    )
    k8s_gateway_class: str | None = Field(
        None,
        description="kubernetes: gatewayClassName of the Gateway (required with k8sEntry gateway)",
        validate_default=True,
    )
    k8s_ingress_class: str | None = Field(
        None, description="kubernetes: ingressClassName of the Ingress (k8sEntry ingress); empty: the default"
    )
    k8s_entry_namespace: str | None = Field(
        None,
        description="kubernetes: namespace of the Gateway's or ingress controller's data-plane pods",
        validate_default=True,
    )
    k8s_tls_secret: str | None = Field(
        None, description="kubernetes: an existing TLS secret for the domain; empty uses cert-manager"
    )
    k8s_cluster_issuer: str = Field(
        "letsencrypt", description="kubernetes: cert-manager ClusterIssuer that signs the certificate"
    )
    k8s_acme_email: EmailStr | None = Field(
        None,
        description="kubernetes: contact for a Let's Encrypt ClusterIssuer (HTTP-01) this stack creates",
    )
    k8s_storage_class: str | None = Field(
        None, description="kubernetes: storage class for Postgres and Redis volumes; empty uses the default"
    )
    k8s_install_cnpg: bool = Field(
        False,
        description="kubernetes: install the CloudNativePG operator (cluster-wide Helm release, per stack)",
    )
    k8s_prometheus_operator: bool = Field(
        False,
        description="kubernetes: the cluster runs the Prometheus operator; add ServiceMonitor and rules",
    )
    k8s_prometheus_release: str = Field(
        "kube-prometheus-stack",
        description="kubernetes: with k8sPrometheusOperator, the label release=<this> on our "
        "ServiceMonitors, PodMonitor and PrometheusRules (kube-prometheus-stack selects its Helm "
        "release's); none: no label",
    )
    k8s_prometheus_namespace: Annotated[str, Field(pattern=f"^{DNS_LABEL}$")] = Field(
        "monitoring",
        description="kubernetes: the namespace Prometheus runs in; our NetworkPolicies admit its "
        "scrapes from there only",
    )
    k8s_otlp_endpoint: str | None = Field(
        None,
        description="kubernetes: OTLP http/protobuf endpoint (http(s)://collector:4318) traces go to when "
        "tracingSampleRatio is above 0",
    )
    k8s_backup_url: str | None = Field(
        None,
        description="kubernetes: s3:// or gs:// URL for pg_dump backups (required in production)",
        validate_default=True,
    )
    k8s_backup_secret: str | None = Field(
        None,
        description="kubernetes: existing Secret whose keys (AWS_*, GOOGLE_*) the backup job gets as env",
    )
    k8s_backup_service_account_annotations: JsonList = Field(
        default_factory=list,
        description="kubernetes: key=value annotations for the backup ServiceAccount (workload identity)",
    )

    tracing_sample_ratio: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="share of traces kept, 0 to 1; 0 turns tracing off; empty: 0.1 in production, "
        "0 in development (a collector sidecar and trace storage bill per span)",
    )
    alert_email: EmailStr | None = Field(
        None,
        description="address that receives alarms (required in production)",
        validate_default=True,
    )
    alert_webhook_url: Annotated[str, Field(pattern=SECRET_REF_KEY)] | None = Field(
        None,
        description="name of a secret stack key holding an https webhook URL alarms also go to (e.g. a "
        "PagerDuty integration): pulumi config set --secret <name> https://...",
    )
    sentry_dsn: Annotated[str, Field(pattern=SECRET_REF_KEY)] | None = Field(
        None,
        description="name of a secret stack key holding a Sentry DSN the gateway, our server and stdio "
        "bridges report errors to: pulumi config set --secret <name> https://<key>@<host>/<project>",
    )

    postgres_password: SecretStr | None = Field(
        None,
        description="database password; empty generates one",
        json_schema_extra={"secret": True},
    )
    redis_auth_token: SecretStr | None = Field(
        None,
        description="Redis AUTH token; empty generates one",
        json_schema_extra={"secret": True},
    )
    external_postgres_url: SecretStr | None = Field(
        None,
        description="kubernetes: a managed PostgreSQL URL to use instead of an in-cluster one",
        json_schema_extra={"secret": True},
    )
    external_redis_url: SecretStr | None = Field(
        None,
        description="kubernetes: a managed Redis URL to use instead of an in-cluster one",
        json_schema_extra={"secret": True},
    )

    @field_validator("domain")
    @classmethod
    def _domain_is_a_hostname(cls, value: str) -> str:
        if not _HOSTNAME.match(value):
            raise reject("a lowercase hostname with a dot and no scheme, port or path, e.g. mcp.example.com")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int, info: ValidationInfo) -> int:
        if info.data.get("target") == "aws-ecs" and days not in CLOUDWATCH_RETENTION_DAYS:
            raise reject("one of CloudWatch's periods: " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS)))
        return days

    @field_validator("gateway_cpu")
    @classmethod
    def _gateway_fargate_cpu(cls, cpu: int, info: ValidationInfo) -> int:
        problem = fargate_cpu_problem(cpu) if info.data.get("target") == "aws-ecs" else None
        if problem is not None:
            raise reject(problem)
        return cpu

    @field_validator("gateway_memory")
    @classmethod
    def _gateway_fargate_memory(cls, memory: int, info: ValidationInfo) -> int:
        # The declared default (1024) reaches the program like a given value, so it cannot follow
        # gatewayCpu: with 1024 units or more, aws-ecs needs gatewayMemory set to a Fargate size.
        cpu = info.data.get("gateway_cpu")
        if info.data.get("target") == "aws-ecs" and cpu is not None:
            problem = fargate_memory_problem(cpu, memory, cpu_key="gatewayCpu")
            if problem is not None:
                raise reject(problem)
        return memory

    @field_validator("auth_issuer", "auth_audience")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTPS_URL.match(value):
            raise reject("an https:// URL with no query or fragment")
        return value

    @field_validator("aws_vpc_cidr")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            raise reject("an IPv4 CIDR like 10.0.0.0/16") from None
        if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 22:
            raise reject("a private IPv4 range from /16 to /22, e.g. 10.0.0.0/16")
        return value

    @field_validator("aws_private_subnet_ids")
    @classmethod
    def _existing_vpc_needs_subnets(cls, private: list[str], info: ValidationInfo) -> list[str]:
        public = info.data.get("aws_public_subnet_ids", [])
        if info.data.get("aws_vpc_id") and (len(public) < 2 or len(private) < 2):
            raise reject("with awsVpcId, at least two public and two private subnet ids")
        if not info.data.get("aws_vpc_id") and (public or private):
            raise reject("subnet ids only together with awsVpcId")
        return private

    @field_validator("k8s_registry")
    @classmethod
    def _k8s_image_source(cls, registry: str | None, info: ValidationInfo) -> str | None:
        builds = [name for name, server in info.data.get("servers", {}).items() if server.build is not None]
        if info.data.get("target") == "kubernetes" and registry is None and builds:
            raise reject(
                f"a repository to push built images to, e.g. ghcr.io/acme/mcp (servers {', '.join(builds)} "
                "have build), or give those servers an image"
            )
        if registry is not None and not _IMAGE_REF.match(registry):
            raise reject("a repository like ghcr.io/acme/mcp-notes (no tag)")
        return registry

    @field_validator("k8s_gateway_class")
    @classmethod
    def _gateway_class(cls, value: str | None, info: ValidationInfo) -> str | None:
        entry = info.data.get("k8s_entry")
        if info.data.get("target") == "kubernetes" and entry == "gateway" and value is None:
            raise reject("the cluster's GatewayClass name (kubectl get gatewayclass), or k8sEntry ingress")
        return value

    @field_validator("k8s_entry_namespace")
    @classmethod
    def _entry_namespace(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Required: the default-deny policy admits public traffic only from there, and where the
        # data plane runs differs by implementation (Envoy Gateway: envoy-gateway-system).
        if info.data.get("target") == "kubernetes" and value is None:
            raise reject("the namespace of the Gateway's (or ingress controller's) data-plane pods")
        if value is not None and not re.fullmatch(DNS_LABEL, value):
            raise reject("a namespace name")
        return value

    @field_validator("k8s_backup_url")
    @classmethod
    def _k8s_backup_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is not None and not re.fullmatch(r"(s3|gs)://[a-z0-9][a-z0-9._-]{1,220}(/[^\s]*)?", url):
            raise reject("an s3://bucket[/prefix] or gs://bucket[/prefix] URL")
        if (
            url is None
            and info.data.get("target") == "kubernetes"
            and info.data.get("environment") == "production"
        ):
            raise reject("an s3:// or gs:// URL; production stacks must back up")
        return url

    @field_validator("k8s_prometheus_release")
    @classmethod
    def _prometheus_release(cls, value: str) -> str:
        # An empty key means unset (the default), so "none" is how a stack asks for no label.
        if value == "none":
            return ""
        if not re.fullmatch(LABEL_VALUE, value):
            raise reject(
                "a label value (a Helm release name, e.g. kube-prometheus-stack: up to 63 letters, "
                "digits, '-', '_' or '.', starting and ending alphanumeric), or none"
            )
        return value

    @field_validator("k8s_otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("target") != "kubernetes":
            raise reject("only with target kubernetes (aws-ecs and gcp-cloudrun run their own collector)")
        shape = re.fullmatch(r"https?://[a-z0-9.-]+(?::([0-9]{1,5}))?(/[^\s?#]*)?", value or "")
        port = int(shape.group(1)) if shape is not None and shape.group(1) else None
        if value is not None and (shape is None or (port is not None and not 1 <= port <= 65535)):
            raise reject(
                "an http(s):// URL of an OTLP http receiver, e.g. http://otel-collector.observability:4318"
            )
        return value

    @field_validator("k8s_backup_service_account_annotations")
    @classmethod
    def _annotations(cls, values: list[str]) -> list[str]:
        if any("=" not in value or value.startswith("=") for value in values):
            raise reject('annotations as "key=value", e.g. eks.amazonaws.com/role-arn=arn:aws:iam::...')
        return values

    @field_validator("external_postgres_url", "external_redis_url")
    @classmethod
    def _external_urls(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        if info.data.get("target") != "kubernetes":
            raise reject("only with target kubernetes (the cloud targets run their own managed data tier)")
        schemes = (
            ("postgres://", "postgresql://")
            if info.field_name == "external_postgres_url"
            else ("redis://", "rediss://")
        )
        if not value.get_secret_value().startswith(schemes):
            raise reject(f"a URL starting with {' or '.join(schemes)}")
        return value

    @field_validator("gcp_subnet_cidr")
    @classmethod
    def _subnet_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            raise reject("an IPv4 CIDR like 10.10.0.0/20") from None
        if network.version != 4 or not network.is_private or not 20 <= network.prefixlen <= 26:
            raise reject("a private IPv4 range from /20 to /26, e.g. 10.10.0.0/20")
        return value

    @field_validator("aws_certificate_arn")
    @classmethod
    def _certificate_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not re.fullmatch(
            r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}", arn
        ):
            raise reject("an ACM certificate ARN: arn:aws:acm:REGION:ACCOUNT:certificate/UUID")
        return arn

    @field_validator("aws_hosted_zone_id")
    @classmethod
    def _zone_or_certificate(cls, zone: str | None, info: ValidationInfo) -> str | None:
        if zone is not None and not re.fullmatch(r"Z[A-Z0-9]{1,32}", zone):
            raise reject("a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ")
        if (
            info.data.get("target") == "aws-ecs"
            and zone is None
            and info.data.get("aws_certificate_arn") is None
        ):
            raise reject(
                "the domain's Route 53 zone id, or awsCertificateArn (then point DNS at the ALB yourself)"
            )
        return zone

    @field_validator("postgres_deletion_protection", "postgres_final_snapshot")
    @classmethod
    def _on_in_production(cls, value: bool, info: ValidationInfo) -> bool:
        if info.data.get("environment") == "production" and not value:
            raise reject("true in production")
        return value

    @field_validator("backup_schedule")
    @classmethod
    def _five_field_cron(cls, value: str, info: ValidationInfo) -> str:
        fields = value.split()
        if len(fields) != 5 or not croniter.is_valid(value):
            raise reject("a 5-field cron expression (minute hour day month weekday), e.g. 0 3 * * *")
        if info.data.get("target") == "aws-ecs":
            # Checked here, not when the platform registers the schedule after other resources.
            from mcp_deploy.aws.cron import CronNotSupported, eventbridge_cron  # the AWS SDK: aws-ecs only

            try:
                eventbridge_cron(value)
            except CronNotSupported as problem:
                reason = str(problem).removeprefix(f"{value}: ")
                raise reject(f"on aws-ecs, a schedule EventBridge cron can express ({reason})") from None
            sparse = lookback_problem(value)
            if sparse is not None:
                raise reject(f"on aws-ecs, a schedule its alarms can watch ({sparse})")
        return value

    @field_validator("alert_email", mode="after")
    @classmethod
    def _alerts_in_production(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("environment") == "production":
            raise reject("an email address; production stacks must send alarms somewhere")
        return value

    @field_validator("postgres_password")
    @classmethod
    def _postgres_password(cls, value: SecretStr | None) -> SecretStr | None:
        # RDS and Cloud SQL both refuse these characters in a master password.
        if value is not None and not re.fullmatch(r"[^/@\"\s]{16,128}", value.get_secret_value()):
            raise reject('16 to 128 characters without / @ " or spaces')
        return value

    @field_validator("redis_auth_token")
    @classmethod
    def _redis_token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and info.data.get("target") == "gcp-cloudrun":
            raise reject("unset for gcp-cloudrun: Memorystore generates its own AUTH string")
        # ElastiCache's AUTH token rules, less the backslash: in-cluster Redis reads the token
        # from a quoted config-file line, where a backslash would start an escape.
        if value is not None and not re.fullmatch(r"[\x21-\x7e]{16,128}", value.get_secret_value()):
            raise reject("16 to 128 printable characters without spaces")
        if value is not None and re.search(r"[@\"/\\]", value.get_secret_value()):
            raise reject('16 to 128 printable characters without spaces, @, ", \\ or /')
        return value

    def server_secret(self, key: str) -> SecretStr:
        """The value of a stack key that a server's `secrets` names."""
        return self._server_secrets[key]


def secret_keys() -> frozenset[str]:
    """Config keys whose values must be stored with `pulumi config set --secret`."""
    return frozenset(
        field.alias or name
        for name, field in StackConfig.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret")
    )


def parse_stack_config(values: dict[str, str], secret: set[str]) -> StackConfig:
    """Validate raw `mcp-deploy:` values (keys without namespace, values as the CLI passes them).

    An empty string means unset: `Pulumi.yaml` declares optional keys with "" as default so the
    CLI itself never stops on a missing key and this function can report every problem at once.
    Keys that `servers.*.secrets` name are the servers' own secrets: they must be stored as
    secrets, and they are kept apart from the declared keys.
    """
    given = {key: value for key, value in values.items() if value != ""}
    referenced = _referenced_secret_keys(given.get("servers"))
    declared = set(StackConfig.model_fields) | {f.alias or n for n, f in StackConfig.model_fields.items()}
    referenced |= referenced_keys(given, declared)
    server_secrets = {key: given.pop(key) for key in referenced if key in given}
    plaintext_secrets = sorted(
        key for key in [*given, *server_secrets] if key in secret_keys() | referenced and key not in secret
    )
    try:
        config = StackConfig.model_validate(given, context={"target": given.get("target")})
        error = None
    except ValidationError as caught:
        config, error = None, caught
    missing = (
        []
        if config is None
        else [
            *_missing_server_secrets(config, server_secrets),
            *secret_ref_problems(
                {"alertWebhookUrl": config.alert_webhook_url, "sentryDsn": config.sentry_dsn}, server_secrets
            ),
        ]
    )
    if config is None or plaintext_secrets or missing:
        # Mask what our schema calls secret and anything the user stored as one.
        masked = secret_keys() | frozenset(secret) | referenced
        problems = problems_from_validation(error, StackConfig, masked, plaintext_secrets)
        raise ConfigError(NAMESPACE, [*problems, *missing])
    config._server_secrets = {key: SecretStr(value) for key, value in server_secrets.items()}
    return config


def _referenced_secret_keys(raw_servers: Any) -> set[str]:
    """Stack keys the raw `servers` value names as secrets; bad shapes are left to validation."""
    if isinstance(raw_servers, str):
        try:
            raw_servers = json.loads(raw_servers)
        except ValueError:
            return set()
    keys: set[str] = set()
    for entry in raw_servers.values() if isinstance(raw_servers, dict) else []:
        if not isinstance(entry, dict):
            continue
        secrets = entry.get("secrets")
        if isinstance(secrets, dict):
            keys.update(str(key) for key in secrets.values())
        if isinstance(entry.get("repositoryCredentials"), str):
            keys.add(entry["repositoryCredentials"])
    return keys - set(StackConfig.model_fields) - {field.alias for field in StackConfig.model_fields.values()}


def _missing_server_secrets(config: StackConfig, found: dict[str, str]) -> list[ConfigProblem]:
    problems = []
    for name, server in config.servers.items():
        for env, key in (server.secrets or {}).items():
            if key not in found:
                problems.append(
                    ConfigProblem(
                        f"servers.{name}.secrets.{env}",
                        f"{key} (not set)",
                        f"the name of a secret stack key: pulumi config set --secret {key} ...",
                    )
                )
        key = server.repository_credentials
        if key is not None and key not in found:
            problems.append(
                ConfigProblem(
                    f"servers.{name}.repositoryCredentials",
                    f"{key} (not set)",
                    f'a secret stack key holding {{"username": ..., "password": ...}}: '
                    f"pulumi config set --secret {key} ...",
                )
            )
    return problems


# Provider settings a target needs; read here so components never read config themselves.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {"gcp-cloudrun": ("gcp:project", "gcp:region")}


def read_stack_config() -> StackConfig:
    """Read and validate this stack's `mcp-deploy:` config as the Pulumi engine handed it over."""
    values, secret = _namespace_values()
    try:
        return parse_stack_config(values, secret)
    except ConfigError as error:
        # One message for everything: add the target's missing provider keys, if the target
        # itself was readable.
        target = values.get("target", "")
        missing = _missing_provider_keys(target, _provider_values(target))
        if not missing:
            raise
        raise ConfigError(NAMESPACE, [*error.problems, *missing]) from None


def read_provider_settings(target: Target) -> dict[str, str]:
    """The provider keys `target` needs (e.g. gcp:project), or one ConfigError naming the missing."""
    found = _provider_values(target)
    missing = _missing_provider_keys(target, found)
    if missing:
        raise ConfigError(NAMESPACE, missing)
    return found


def _provider_values(target: str) -> dict[str, str]:
    from pulumi.runtime import config as runtime_config

    return {key: str(runtime_config.get_config(key) or "") for key in PROVIDER_KEYS.get(target, ())}


def _missing_provider_keys(target: str, found: dict[str, str]) -> list[ConfigProblem]:
    return [
        ConfigProblem(key, "nothing", f"required by target {target}: pulumi config set {key} ...")
        for key, value in found.items()
        if not value
    ]


def secret_output(value: SecretStr | None) -> pulumi.Output[str] | None:
    """Hand a secret config value on as a Pulumi secret, never as plain text."""
    return None if value is None else pulumi.Output.secret(value.get_secret_value())


def _namespace_values() -> tuple[dict[str, str], set[str]]:
    """All `mcp-deploy:` keys the engine passed, and which of them are secret.

    `pulumi.Config` can only look keys up, and unknown keys must be reported, so this lists them
    from the two places the SDK keeps config: the in-process map (automation API, tests) and the
    PULUMI_CONFIG environment variable that the CLI's language host sets.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_env = set(runtime_config.get_config_secret_keys_env())
    prefix = f"{NAMESPACE}:"
    values: dict[str, str] = {}
    secret: set[str] = set()
    for full_key, value in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        values[key] = value
        if full_key in secret_env or runtime_config.is_config_secret(full_key):
            secret.add(key)
    return values, secret
