"""Cloud Scheduler starting a Cloud Run job on a cron schedule: how the nightly backup and the
restore drill (both jobs of the backup image, made in backups.py) run. What differs between them
is the cron, the description and the job's own name; their alerts are alerts.job_run_alerts.

The scheduler calls the Run API's jobs.run as an account of its own, which may start that one job
and nothing else: the job's own account (which reads the database URLs) is never the caller."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mcp_deploy.gcp.names import account_id, run_name
from mcp_deploy.platform_spec import GcpSpec


def run_on_schedule(
    name: str,
    label: str,
    job: gcp.cloudrunv2.Job,
    google: GcpSpec,
    apis: list[gcp.projects.Service],
    parent: pulumi.Resource,
    *,
    cron: str,
    title: str,
    description: str,
) -> gcp.cloudscheduler.Job:
    """`{name}-{label}-trigger` (the caller) may run `job`; `{name}-{label}` calls it at `cron`,
    in UTC. `title` names the job to people: "backup", "restore drill"."""
    trigger = gcp.serviceaccount.Account(
        f"{name}-{label}-trigger",
        project=google.project,
        account_id=account_id(name, f"{label}-trigger"),
        display_name=f"mcp-deploy: starts the {title} job",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    invoker = gcp.cloudrunv2.JobIamMember(
        f"{name}-{label}-trigger-runs-job",
        project=google.project,
        location=google.region,
        name=job.name,
        role="roles/run.invoker",
        member=pulumi.Output.concat("serviceAccount:", trigger.email),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return gcp.cloudscheduler.Job(
        f"{name}-{label}",
        project=google.project,
        region=google.region,
        name=run_name(name, label),
        description=description,
        schedule=cron,
        time_zone="Etc/UTC",
        attempt_deadline="1800s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            http_method="POST",
            uri=pulumi.Output.concat(
                "https://run.googleapis.com/v2/projects/",
                google.project,
                "/locations/",
                google.region,
                "/jobs/",
                job.name,
                ":run",
            ),
            oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                service_account_email=trigger.email, scope="https://www.googleapis.com/auth/cloud-platform"
            ),
        ),
        # A call before the grant exists is refused; the URI already waits for the job itself.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*apis, invoker]),
    )
