"""Refresh the vendored CRD schemas from the projects' own release tags.

    python -m tests.infra.crds.vendor <clones-dir>

`<clones-dir>` holds git clones named `<owner>+<repo>/repo` (or plain clones named `<repo>`).
Each schema is the CRD's `openAPIV3Schema` for the one version we use, with `description`
texts dropped (validation never reads them) to keep the files small. Everything else is kept
as published. SOURCES below is the record of where each file comes from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

# (repository, release tag, path of the CRD in the repository, served version we validate)
SOURCES: dict[str, tuple[str, str, str, str]] = {
    "postgresql.cnpg.io/v1/Cluster": (
        "cloudnative-pg/cloudnative-pg", "v1.30.0",
        "config/crd/bases/postgresql.cnpg.io_clusters.yaml", "v1"),
    "postgresql.cnpg.io/v1/Database": (
        "cloudnative-pg/cloudnative-pg", "v1.30.0",
        "config/crd/bases/postgresql.cnpg.io_databases.yaml", "v1"),
    "postgresql.cnpg.io/v1/DatabaseRole": (
        "cloudnative-pg/cloudnative-pg", "v1.30.0",
        "config/crd/bases/postgresql.cnpg.io_databaseroles.yaml", "v1"),
    "cert-manager.io/v1/Certificate": (
        "cert-manager/cert-manager", "v1.21.1", "deploy/crds/cert-manager.io_certificates.yaml", "v1"),
    "cert-manager.io/v1/Issuer": (
        "cert-manager/cert-manager", "v1.21.1", "deploy/crds/cert-manager.io_issuers.yaml", "v1"),
    "cert-manager.io/v1/ClusterIssuer": (
        "cert-manager/cert-manager", "v1.21.1", "deploy/crds/cert-manager.io_clusterissuers.yaml", "v1"),
    "gateway.networking.k8s.io/v1/Gateway": (
        "kubernetes-sigs/gateway-api", "v1.6.1",
        "config/crd/standard/gateway.networking.k8s.io_gateways.yaml", "v1"),
    "gateway.networking.k8s.io/v1/HTTPRoute": (
        "kubernetes-sigs/gateway-api", "v1.6.1",
        "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml", "v1"),
    "monitoring.coreos.com/v1/ServiceMonitor": (
        "prometheus-operator/prometheus-operator", "v0.93.0",
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml", "v1"),
    "monitoring.coreos.com/v1/PodMonitor": (
        "prometheus-operator/prometheus-operator", "v0.93.0",
        "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml", "v1"),
    "monitoring.coreos.com/v1/PrometheusRule": (
        "prometheus-operator/prometheus-operator", "v0.93.0",
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml", "v1"),
}  # fmt: skip


def file_name(key: str) -> str:
    """`cert-manager.io/v1/Certificate` -> `cert-manager.io_v1_Certificate.json`."""
    return key.replace("/", "_") + ".json"


def without_descriptions(schema: Any) -> Any:
    """Drop `description` keywords; a property that is itself named `description` stays."""
    if isinstance(schema, list):
        return [without_descriptions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: without_descriptions(sub) for name, sub in value.items()}
        else:
            out[key] = without_descriptions(value)
    return out


def _clone(clones: Path, repository: str) -> Path:
    owner, name = repository.split("/")
    for candidate in (clones / f"{owner}+{name}" / "repo", clones / name):
        if candidate.exists():
            return candidate
    raise SystemExit(f"no clone of {repository} under {clones}")


def vendor(clones: Path) -> None:
    for key, (repository, tag, path, version) in SOURCES.items():
        text = subprocess.run(
            ["git", "-C", str(_clone(clones, repository)), "show", f"{tag}:{path}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        crd = yaml.safe_load(text)
        [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
        schema = without_descriptions(served["schema"]["openAPIV3Schema"])
        document = {"source": f"https://github.com/{repository}/blob/{tag}/{path}", "schema": schema}
        (HERE / file_name(key)).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"wrote {file_name(key)} from {repository}@{tag}")


if __name__ == "__main__":
    vendor(Path(sys.argv[1]))
