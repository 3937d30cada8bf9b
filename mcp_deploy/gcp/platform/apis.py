"""The Google APIs this target uses, enabled by the program itself; resources depend on them."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

APIS = (
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",  # the service accounts and their bindings
    "monitoring.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
)


def enable_apis(name: str, project: str, parent: pulumi.Resource) -> list[gcp.projects.Service]:
    return [
        gcp.projects.Service(
            f"{name}-api-{api.split('.')[0]}",
            project=project,
            service=api,
            disable_on_destroy=False,  # other workloads in the project may use it too
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for api in APIS
    ]
