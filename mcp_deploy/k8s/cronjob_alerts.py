"""Alert expressions for a CronJob's runs from kube-state-metrics, shared by the backup and the
restore drill (both unit-tested with promtool under tests/infra/prometheus/)."""

from __future__ import annotations


def run_failed(namespace: str, cron_job: str) -> str:
    """A run that failed and started after the last success. A failed Job stays in the history
    after later runs succeed: only one newer than the last success is news. With no success
    yet, any failed run is."""
    scope = f'namespace="{namespace}"'
    jobs = f'{scope},job_name=~"{cron_job}-[0-9]+"'
    last_ok = f'kube_cronjob_status_last_successful_time{{{scope},cronjob="{cron_job}"}}'
    return (
        f"max(kube_job_status_start_time{{{jobs}}} and on(job_name) (kube_job_status_failed{{{jobs}}} > 0))"
        f" > on() (max({last_ok}) or on() vector(0))"
    )


def no_success_for(namespace: str, cron_job: str, seconds: int) -> str:
    """No successful run for `seconds`, counting from the CronJob's creation when it never
    succeeded (then the last-success series does not exist at all)."""
    scope = f'namespace="{namespace}"'
    last_ok = f'kube_cronjob_status_last_successful_time{{{scope},cronjob="{cron_job}"}}'
    created = f'kube_cronjob_created{{{scope},cronjob="{cron_job}"}}'
    return (
        f"time() - max({last_ok}) > {seconds} or (time() - max({created}) > {seconds} unless on() {last_ok})"
    )
