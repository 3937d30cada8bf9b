"""The policy pack's rules over every resource the program registers, for every stack x target:
zero violations. And for every rule, a bad resource it must catch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.rules import RULES, Resource, violations
from tests.harness.plan import STACKS, TARGETS
from tests.harness.program import run_program


def as_resources(stack: str, target: str) -> list[Resource]:
    run = run_program(stack, target)
    assert run.error is None, run.error
    return [Resource(r.type, r.name, r.inputs, r.protect) for r in run.resources]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("target", TARGETS)
def test_the_program_passes_every_rule(stack: str, target: str) -> None:
    assert violations(as_resources(stack, target), production=stack == "prod") == []


def test_every_rule_has_a_description_and_a_remediation() -> None:
    assert len({rule.name for rule in RULES}) == len(RULES) == 10
    for rule in RULES:
        assert rule.description.endswith(".")
        assert len(rule.remediation) > 30


def ecs(container: dict[str, Any]) -> Resource:
    return Resource(
        "aws:ecs/taskDefinition:TaskDefinition",
        "task",
        {"containerDefinitions": json.dumps([{"name": "app", **container}])},
    )


def deployment(container: dict[str, Any], pod: dict[str, Any] | None = None) -> Resource:
    spec = {"template": {"spec": {"containers": [{"name": "app", **container}], **(pod or {})}}}
    return Resource("kubernetes:apps/v1:Deployment", "app", {"spec": spec})


GOOD_CONTAINER = {
    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}},
    "readinessProbe": {"httpGet": {"path": "/ready"}},
    "livenessProbe": {"httpGet": {"path": "/health"}},
}

# For each rule: resources it must refuse (and the production flag to check them with).
BAD: dict[str, list[tuple[Resource, bool]]] = {
    "no-public-buckets": [
        (
            Resource(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "b", {"blockPublicAcls": True}
            ),
            False,
        ),
        (Resource("aws:s3/bucket:Bucket", "b", {"acl": "public-read"}), False),
        (
            Resource(
                "aws:s3/bucketPolicy:BucketPolicy",
                "b",
                {
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "Everyone",
                                    "Effect": "Allow",
                                    "Principal": {"AWS": "*"},
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::b/*",
                                }
                            ],
                        }
                    )
                },
            ),
            False,
        ),
        (Resource("gcp:storage/bucket:Bucket", "b", {"publicAccessPrevention": "inherited"}), False),
        (
            Resource(
                "gcp:storage/bucketIAMMember:BucketIAMMember",
                "b",
                {"member": "allUsers", "role": "roles/storage.objectViewer"},
            ),
            False,
        ),
    ],
    "encryption-at-rest": [
        (Resource("aws:rds/instance:Instance", "db", {"storageEncrypted": False}), False),
        (Resource("aws:elasticache/replicationGroup:ReplicationGroup", "r", {}), False),
        (
            Resource(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "b",
                {"rules": []},
            ),
            False,
        ),
    ],
    "no-public-database": [
        (
            Resource(
                "aws:rds/instance:Instance", "db", {"publiclyAccessible": True, "storageEncrypted": True}
            ),
            False,
        ),
        (
            Resource(
                "gcp:sql/databaseInstance:DatabaseInstance", "db", {"settings": {"ipConfiguration": {}}}
            ),
            False,
        ),
        (
            Resource(
                "kubernetes:core/v1:Service",
                "pg",
                {"spec": {"type": "LoadBalancer", "ports": [{"port": 5432}]}},
            ),
            False,
        ),
    ],
    "tls-listeners": [
        (
            Resource(
                "aws:lb/listener:Listener",
                "l",
                {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"},
            ),
            False,
        ),
        (
            Resource(
                "aws:lb/listener:Listener", "l", {"protocol": "HTTP", "defaultActions": [{"type": "forward"}]}
            ),
            False,
        ),
        (
            Resource(
                "gcp:compute/sSLPolicy:SSLPolicy", "p", {"profile": "COMPATIBLE", "minTlsVersion": "TLS_1_0"}
            ),
            False,
        ),
        (Resource("gcp:compute/targetHttpsProxy:TargetHttpsProxy", "p", {}), False),
        (Resource("kubernetes:networking.k8s.io/v1:Ingress", "i", {"spec": {"rules": []}}), False),
    ],
    "nonroot-readonly-containers": [
        (ecs({"user": "root", "readonlyRootFilesystem": True}), False),
        (ecs({"user": "10001"}), False),
        (deployment({**GOOD_CONTAINER, "securityContext": {"readOnlyRootFilesystem": True}}), False),
        (deployment({**GOOD_CONTAINER, "securityContext": {"runAsNonRoot": True}}), False),
    ],
    "no-plaintext-secrets": [
        (ecs({"environment": [{"name": "DB_PASSWORD", "value": "hunter2-not-real"}]}), False),
        (ecs({"environment": [{"name": "DSN", "value": "postgresql://app:pw-not-real@db:5432/x"}]}), False),
        (
            Resource(
                "gcp:cloudrunv2/service:Service",
                "s",
                {"template": {"containers": [{"envs": [{"name": "API_TOKEN", "value": "t"}]}]}},
            ),
            False,
        ),
        (deployment({**GOOD_CONTAINER, "env": [{"name": "REDIS_URL", "value": "redis://:x@r:6379"}]}), False),
        (Resource("kubernetes:core/v1:ConfigMap", "c", {"data": {"MCP_REQUEST_STATE_KEY": "k"}}), False),
    ],
    "log-retention": [
        (Resource("aws:cloudwatch/logGroup:LogGroup", "lg", {}), False),
    ],
    "production-protection": [
        (
            Resource(
                "aws:rds/instance:Instance", "db", {"deletionProtection": True, "skipFinalSnapshot": True}
            ),
            True,
        ),
        (
            Resource(
                "aws:rds/instance:Instance", "db", {"deletionProtection": False, "skipFinalSnapshot": False}
            ),
            True,
        ),
        (
            Resource(
                "gcp:sql/databaseInstance:DatabaseInstance",
                "db",
                {"deletionProtection": True, "settings": {"deletionProtectionEnabled": True}},
            ),
            True,
        ),
        (Resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "pg", {}, protect=False), True),
    ],
    "k8s-resources-and-probes": [
        (deployment({**GOOD_CONTAINER, "resources": {}}), False),
        (deployment({k: v for k, v in GOOD_CONTAINER.items() if k != "readinessProbe"}), False),
        (
            Resource(
                "kubernetes:batch/v1:CronJob",
                "c",
                {
                    "spec": {
                        "jobTemplate": {
                            "spec": {
                                "template": {
                                    "spec": {
                                        "containers": [
                                            {
                                                "name": "job",
                                                "securityContext": GOOD_CONTAINER["securityContext"],
                                            }
                                        ]
                                    }
                                }
                            }
                        }
                    }
                },
            ),
            False,
        ),
    ],
    "servers-behind-the-gateway": [
        (
            Resource(
                "aws:ecs/service:Service",
                "notes",
                {"loadBalancers": [{"containerName": "server", "containerPort": 8000}]},
            ),
            False,
        ),
        (
            Resource("aws:ecs/service:Service", "notes", {"networkConfiguration": {"assignPublicIp": True}}),
            False,
        ),
        (Resource("gcp:cloudrunv2/service:Service", "notes", {"name": "dev-mcp-notes"}), False),
        (
            Resource(
                "gcp:cloudrunv2/service:Service",
                "notes",
                {"name": "dev-mcp-notes", "ingress": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"},
            ),
            False,
        ),
        (Resource("kubernetes:core/v1:Service", "notes", {"spec": {"type": "LoadBalancer"}}), False),
        (
            Resource(
                "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
                "r",
                {"spec": {"rules": [{"backendRefs": [{"name": "dev-mcp-notes", "port": 8000}]}]}},
            ),
            False,
        ),
        (
            Resource(
                "kubernetes:networking.k8s.io/v1:Ingress",
                "i",
                {
                    "spec": {
                        "rules": [{"http": {"paths": [{"backend": {"service": {"name": "dev-mcp-notes"}}}]}}]
                    }
                },
            ),
            False,
        ),
    ],
}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_every_rule_fires_on_what_it_forbids(rule: Any) -> None:
    assert set(BAD) == {r.name for r in RULES}, "a bad case for a rule that no longer exists"
    cases = BAD[rule.name]
    assert cases, f"{rule.name} has no failing case"
    for resource, production in cases:
        assert rule.check(resource, production), f"{rule.name} missed {resource}"


def test_production_rules_wait_for_production() -> None:
    lax = Resource(
        "aws:rds/instance:Instance", "db", {"deletionProtection": False, "skipFinalSnapshot": True}
    )
    rule = next(r for r in RULES if r.name == "production-protection")
    assert rule.check(lax, False) == []
    assert len(rule.check(lax, True)) == 2


def test_good_workloads_pass() -> None:
    good = deployment(GOOD_CONTAINER, {"securityContext": {"runAsNonRoot": True}})
    assert violations([good], production=True) == []
