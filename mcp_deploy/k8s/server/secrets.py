"""The server's secret env vars in one Secret, handed to the container by secretKeyRef.

The Secret has no fixed name: the provider names it `<resource>-<random>` and, since a changed
Secret is replaced, creates the new one under a new name before deleting the old. The
Deployment refers to the name, so a new value is a new pod template and the pods roll. (A fixed
name is deleted and re-created in place, and running pods never see the new value.) Where the
provider updates Secrets in place instead (`enableSecretMutable`), pods.rollout_annotation still
changes the template.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mcp_deploy.k8s.meta import metadata
from mcp_deploy.server_spec import ServerSpec

GENERATED_LENGTH = 48


def env_secret(
    spec: ServerSpec,
    instance: str,
    namespace: str,
    computed: dict[str, pulumi.Output[str]],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.core.v1.Secret:
    """`computed`: the database and Redis URLs, by env name."""
    values: dict[str, pulumi.Input[str]] = {**spec.secrets, **computed}
    for env in spec.generated_secrets:
        values[env] = random.RandomPassword(
            f"{spec.name}-{env.lower().replace('_', '-')}",
            length=GENERATED_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=parent),
        ).result
    return k8s.core.v1.Secret(
        f"{spec.name}-env",
        metadata=metadata(None, namespace, spec.name, instance),
        type="Opaque",
        string_data={env: pulumi.Output.secret(value) for env, value in sorted(values.items())},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
