"""Pod and container settings shared by the servers, Redis and the backup job."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s


def pod_security(user: int | None) -> k8s.core.v1.PodSecurityContextArgs:
    """Non-root always (the namespace enforces the `restricted` standard); the image's own user
    unless one is given."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=user,
        run_as_group=user,
        fs_group=user,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security(read_only_root: bool = True) -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=read_only_root,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def scratch_tmp(disk_size: str | None = None) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """A writable /tmp under a read-only root: small and memory-backed, or, with `disk_size`, node
    disk (the backup job stages a whole dump there)."""
    source = (
        k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=disk_size)
        if disk_size is not None
        else k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="64Mi")
    )
    return (
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=source),
        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
    )


def secret_env(
    secret_name: pulumi.Input[str], names: list[str], key: str | None = None
) -> list[k8s.core.v1.EnvVarArgs]:
    """Env vars by reference to `secret_name`, each from the key of its own name, or all from `key`."""
    return [
        k8s.core.v1.EnvVarArgs(
            name=name,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key or name)
            ),
        )
        for name in names
    ]


# On the pod template: changes whenever a Secret the pods read is written (see rollout_annotation).
ROLLOUT_ANNOTATION = "mcp-deploy.io/secret-version"


def rollout_annotation(*secrets: k8s.core.v1.Secret) -> pulumi.Output[str]:
    """`<name>@<resourceVersion>` of each Secret. The Secrets have no fixed name: a changed one is
    replaced under a new name, so the template changes with it; where the provider updates
    Secrets in place instead (`enableSecretMutable`), the resourceVersion, which every write
    bumps, still changes the template and the pods roll."""
    parts = [
        pulumi.Output.all(secret.metadata.name, secret.metadata.resource_version).apply(
            lambda found: f"{found[0]}@{found[1] or ''}"
        )
        for secret in secrets
    ]
    return pulumi.Output.all(*parts).apply(lambda found: ",".join(found))


def plain_env(values: dict[str, str]) -> list[k8s.core.v1.EnvVarArgs]:
    """Plain settings inline in the pod template: a change is a template change, so pods roll."""
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(values.items())]


POSTGRES_CA_DIR = "/var/run/mcp-deploy/postgres-ca"


def postgres_ca(ca_secret: str) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """The CloudNativePG cluster's CA (its `<cluster>-ca` Secret), for sslmode=verify-full."""
    return (
        k8s.core.v1.VolumeArgs(
            name="postgres-ca",
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=ca_secret, items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")]
            ),
        ),
        k8s.core.v1.VolumeMountArgs(name="postgres-ca", mount_path=POSTGRES_CA_DIR, read_only=True),
    )
