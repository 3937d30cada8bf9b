"""Ordering (defects 1 and 3): every workload has, in its transitive dependencies, the secret
versions, IAM grants, data-tier endpoints and network routes it uses (tests/harness/graph.py).
The checker is shown to catch a removed edge on every target's real recorded run."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from tests.harness.graph import (
    describe,
    direct_dependencies,
    missing_dependencies,
    requirements,
    transitive_dependencies,
    without_edge,
    without_edges_into,
    workloads,
)
from tests.harness.monitor import Registration
from tests.harness.plan import STACKS, TARGETS
from tests.harness.program import ProgramRun, run_program

WORKLOADS = {
    "aws-ecs": {"aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition"},
    "gcp-cloudrun": {"gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/job:Job"},
    "kubernetes": {"kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"},
}


@cache
def recorded(stack: str, target: str) -> ProgramRun:
    run = run_program(stack, target)
    assert run.error is None, run.error
    return run


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_depends_on_what_it_uses(stack: str, target: str) -> None:
    run = recorded(stack, target)
    assert {w.type for w in workloads(run)} & WORKLOADS[target], "no workload found"
    missing = missing_dependencies(run)
    assert not missing, describe(run, missing)


@pytest.mark.parametrize("target", TARGETS)
def test_the_checker_sees_what_a_workload_uses(target: str) -> None:
    """Guards against a check that passes because it found nothing to require."""
    run = recorded("dev", target)
    needed = {w.name: requirements(run, w) for w in workloads(run)}
    assert any(needed.values()), f"{target}: no workload was found to use anything: {needed}"


@pytest.mark.parametrize("target", TARGETS)
def test_removing_one_dependency_edge_is_reported(target: str) -> None:
    """Delete one edge workload -> resource it uses from the recorded graph: the check must fail
    and name that resource. At least one such single edge exists on every target."""
    run = recorded("dev", target)
    caught = []
    for workload in workloads(run):
        for needed in requirements(run, workload):
            if needed.urn not in direct_dependencies(workload):
                continue
            broken = without_edge(run, workload.urn, needed.urn)
            report = [m for m in missing_dependencies(broken) if m.workload.urn == workload.urn]
            if report and needed.urn in {r.urn for r in report[0].requirements}:
                caught.append((workload.name, needed.urn))
                assert needed.urn.rsplit("::", 1)[-1] in describe(broken, report)
    assert caught, f"{target}: no single removed edge was reported"


@pytest.mark.parametrize("target", TARGETS)
def test_a_resource_nothing_waits_for_is_reported_for_every_workload_using_it(target: str) -> None:
    run = recorded("dev", target)
    for workload in workloads(run):
        for needed in requirements(run, workload):
            broken = without_edges_into(run, needed.urn)
            report = {m.workload.urn: {r.urn for r in m.requirements} for m in missing_dependencies(broken)}
            assert needed.urn in report.get(workload.urn, set()), (workload.name, needed.urn)


# --- the graph walk, on a small hand-made graph ----------------------------------------------------


def registration(name: str, type_: str, *, parent: str | None = None, deps: tuple[str, ...] = (),
                 props: dict[str, tuple[str, ...]] | None = None, custom: bool = True,
                 inputs: dict | None = None, state: dict | None = None) -> Registration:  # fmt: skip
    return Registration(
        type=type_, name=name, urn=f"urn:pulumi:s::p::{type_}::{name}", parent=parent, custom=custom,
        inputs=inputs or {}, secret_inputs=frozenset(), dependencies=deps, property_dependencies=props or {},
        protect=False, retain_on_delete=False, delete_before_replace=False, ignore_changes=(),
        replace_on_changes=(), additional_secret_outputs=(), aliases=(), provider="", id=name,
        state=state or {},
    )  # fmt: skip


SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-db-AbCdEf"
ROLE = "arn:aws:iam::123456789012:role/s-exec"
DB_HOST = "s-db.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com"


def small_graph(task_deps: tuple[str, ...]) -> ProgramRun:
    """A task definition reading one secret, with an execution role policy, using RDS."""
    data = registration("data", "mcp-deploy:aws:Platform", custom=False)
    rds = registration("db", "aws:rds/instance:Instance", parent=data.urn, state={"address": DB_HOST})
    version = registration(
        "db-url", "aws:secretsmanager/secretVersion:SecretVersion",
        inputs={"secretId": SECRET, "secretString": f"postgresql://u:p@{DB_HOST}:5432/notes"},
    )  # fmt: skip
    role = registration("exec", "aws:iam/role:Role", state={"arn": ROLE, "name": "s-exec"})
    policy = registration("exec-policy", "aws:iam/rolePolicy:RolePolicy", inputs={"role": "s-exec"})
    containers = f'[{{"name": "app", "secrets": [{{"name": "DATABASE_URL", "valueFrom": "{SECRET}"}}]}}]'
    task = registration(
        "task", "aws:ecs/taskDefinition:TaskDefinition", deps=task_deps,
        inputs={"containerDefinitions": containers, "executionRoleArn": ROLE},
    )  # fmt: skip
    return ProgramRun(stack="s", target="aws-ecs", resources=[data, rds, version, role, policy, task])


def urn(run: ProgramRun, name: str) -> str:
    return next(r.urn for r in run.resources if r.name == name)


def test_a_dependency_on_a_component_covers_its_children() -> None:
    base = small_graph(())
    run = small_graph((urn(base, "data"), urn(base, "db-url"), urn(base, "exec-policy")))
    assert missing_dependencies(run) == []


def test_dependencies_are_followed_transitively() -> None:
    base = small_graph(())
    via = replace(base.resources[2], dependencies=(urn(base, "db"),))  # the version waits for RDS
    run = small_graph((urn(base, "db-url"), urn(base, "exec-policy")))
    run = replace(run, resources=[via if r.name == "db-url" else r for r in run.resources])
    assert urn(run, "db") in transitive_dependencies(run, run.resources[-1])
    assert missing_dependencies(run) == []


def test_each_missing_edge_is_named_with_its_reason() -> None:
    base = small_graph(())
    message = describe(base, missing_dependencies(base))
    assert "aws:ecs/taskDefinition:TaskDefinition task needs a dependency on:" in message
    assert "aws:secretsmanager/secretVersion:SecretVersion db-url  (secret version of" in message
    assert "aws:iam/rolePolicy:RolePolicy exec-policy  (policy of the role in executionRoleArn)" in message
    assert "aws:rds/instance:Instance db  (data endpoint" in message


def test_deleting_one_depends_on_edge_fails_the_check() -> None:
    complete = small_graph((urn(small_graph(()), "data"), urn(small_graph(()), "db-url"),
                            urn(small_graph(()), "exec-policy")))  # fmt: skip
    assert missing_dependencies(complete) == []
    broken = without_edge(complete, urn(complete, "task"), urn(complete, "exec-policy"))
    [missing] = missing_dependencies(broken)
    assert [r.urn for r in missing.requirements] == [urn(complete, "exec-policy")]
