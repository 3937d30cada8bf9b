"""aws-ecs: Fargate task sizes, EventBridge schedules and the database's major version, each as the
AWS API that would otherwise refuse them at `pulumi up` documents it."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from croniter import croniter

from mcp_deploy.aws.cron import eventbridge_cron
from mcp_deploy.config import parse_stack_config
from mcp_deploy.fargate import FARGATE_MEMORY, fargate_default_memory
from mcp_deploy.from_config import server_args
from mcp_deploy.server_spec import DEFAULT_MEMORY
from tests.harness.program import run_program
from tests.infra.test_config import REQUIRED, failed, lines_of, servers

TASK = "aws:ecs/taskDefinition:TaskDefinition"
GIB = 1024

# --- Fargate sizes ------------------------------------------------------------------------------


def test_fargate_sizes_are_the_ecs_table() -> None:
    # ECS Developer Guide, "Task CPU and memory": 256 takes 512 MiB, 1 GB or 2 GB (not 1.5 GB).
    documented = {
        256: (512, GIB, 2 * GIB),
        512: tuple(gb * GIB for gb in range(1, 5)),
        1024: tuple(gb * GIB for gb in range(2, 9)),
        2048: tuple(gb * GIB for gb in range(4, 17)),
        4096: tuple(gb * GIB for gb in range(8, 31)),
        8192: tuple(gb * GIB for gb in range(16, 61, 4)),
        16384: tuple(gb * GIB for gb in range(32, 121, 8)),
    }
    assert documented == FARGATE_MEMORY


@pytest.mark.parametrize("cpu", list(FARGATE_MEMORY))
def test_a_cpu_alone_gets_a_memory_fargate_takes(cpu: int) -> None:
    memory = fargate_default_memory(cpu, preferred=DEFAULT_MEMORY)
    assert memory in FARGATE_MEMORY[cpu]
    # 1024 MiB where Fargate takes it (no task that deploys today changes size), else the smallest.
    assert memory == (DEFAULT_MEMORY if cpu <= 512 else min(FARGATE_MEMORY[cpu]))


def test_a_server_with_only_cpu_registers_a_task_fargate_takes() -> None:
    notes = {"build": "server", "cpu": 1024, "replicas": {"min": 1, "max": 2}}
    run = run_program("dev", "aws-ecs", overrides={"servers": servers(notes=notes)})
    assert run.error is None, run.error
    task = run.named(TASK, "notes-server")
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "2048")


def test_the_fargate_default_is_for_aws_only() -> None:
    values = {**REQUIRED, "servers": servers(notes={"build": "server", "cpu": 2048})}
    memory = {
        target: server_args(parse_stack_config({**values, "target": target}, secret=set()))["notes"].get(
            "memory"
        )
        for target in ("aws-ecs", "kubernetes")
    }
    assert memory == {"aws-ecs": 4096, "kubernetes": None}  # None: the target's own default


@pytest.mark.parametrize(
    ("overrides", "expected_line"),
    [
        pytest.param(
            {"servers": servers(notes={"build": "server", "cpu": 1024, "memory": 1024})},
            "mcp-deploy:servers.notes.memory: got 1024; allowed: with cpu 1024, Fargate takes "
            "2048 to 8192 MiB in steps of 1024",
            id="server-pair",
        ),
        pytest.param(
            {"servers": servers(notes={"build": "server", "cpu": 256, "memory": 1536})},
            "mcp-deploy:servers.notes.memory: got 1536; allowed: with cpu 256, Fargate takes "
            "512, 1024 or 2048 MiB",
            id="server-256-1536",
        ),
        pytest.param(
            {"gatewayCpu": "1024"},  # gatewayMemory left at its default, 1024
            "mcp-deploy:gatewayMemory: got 1024; allowed: with gatewayCpu 1024, Fargate takes "
            "2048 to 8192 MiB in steps of 1024",
            id="gateway-cpu-with-default-memory",
        ),
        pytest.param(
            {"gatewayCpu": "4096", "gatewayMemory": "4096"},
            "mcp-deploy:gatewayMemory: got 4096; allowed: with gatewayCpu 4096, Fargate takes "
            "8192 to 30720 MiB in steps of 1024",
            id="gateway-pair",
        ),
        pytest.param(
            {"gatewayCpu": "300"},
            "mcp-deploy:gatewayCpu: got 300; allowed: a Fargate size: 256, 512, 1024, 2048, 4096, 8192, "
            "16384",
            id="gateway-cpu",
        ),
    ],
)
def test_a_size_fargate_refuses_stops_the_program_before_any_resource(
    overrides: dict[str, str], expected_line: str
) -> None:
    assert lines_of(failed("dev", **overrides)) == ["  " + expected_line]


def test_fargate_pairs_are_not_checked_on_other_targets() -> None:
    values = {
        **REQUIRED,
        "gatewayCpu": "1024",
        "servers": servers(notes={"build": "server", "cpu": 1024, "memory": 1024}),
    }
    for target in ("kubernetes", "gcp-cloudrun"):
        config = parse_stack_config({**values, "target": target}, secret=set())
        assert (config.gateway_cpu, config.gateway_memory) == (1024, 1024)


def test_a_good_gateway_pair_is_taken() -> None:
    values = {**REQUIRED, "target": "aws-ecs", "gatewayCpu": "1024", "gatewayMemory": "2048"}
    assert parse_stack_config(values, secret=set()).gateway_memory == 2048


# --- EventBridge schedules ----------------------------------------------------------------------

# EventBridge's "Cron expressions reference": what each of its six fields takes.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # 1-7
_NUMBER = r"\d{1,4}"
_RANGE = rf"{_NUMBER}(-{_NUMBER})?"
_LIST = rf"{_RANGE}(,{_RANGE})*"
EVENTBRIDGE_FIELDS = {
    "minute": rf"\*|{_NUMBER}/{_NUMBER}|{_LIST}",
    "hour": rf"\*|{_NUMBER}/{_NUMBER}|{_LIST}",
    "day of the month": rf"\*|\?|L|{_NUMBER}/{_NUMBER}|{_LIST}",
    "month": rf"\*|{_NUMBER}/{_NUMBER}|{_LIST}|[A-Z]{{3}}(-[A-Z]{{3}})?",
    "day of the week": rf"\*|\?|{_LIST}",  # no `/`
}
UNIX = [
    "0 3 * * *",
    "15 2 * * *",
    "0 3 * * */2",
    "0 3 * * */3",
    "0 3 * * 1-5/2",
    "0 3 * * 5/2",
    "0 3 * * 1,*/3",
    "0 3 * * 5-7",
    "0 3 * * sun,wed",
    "*/15 * * * *",
    "5/20 */6 * * *",
    "0-30/10 1-5/2 * * *",
    "0 22-2 * * *",
    "0 3 */10 * *",
    "0 3 1-15/7 * *",
    "0 3 28-2 * *",
    "0 3 1 */3 *",
    "0 3 1 jan-jun/2 *",
    "0 3 1 11-2 *",
]


def _eventbridge_values(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> set[int]:
    """The values an EventBridge field names (its own numbering)."""
    if field in ("*", "?"):
        return set(range(low, high + 1))
    if "/" in field:
        start, step = map(int, field.split("/"))
        return set(range(start, high + 1, step))
    values: set[int] = set()
    for item in field.split(","):
        ends = [names.index(end) + low if end in names else int(end) for end in item.split("-")]
        values |= set(range(ends[0], ends[-1] + 1))
    return values


def _unix_values(expanded: Sequence[int | str], low: int, high: int) -> set[int]:
    return set(range(low, high + 1)) if expanded == ["*"] else {int(value) for value in expanded}


@pytest.mark.parametrize("unix", UNIX)
def test_every_field_is_written_as_eventbridge_takes_it(unix: str) -> None:
    eventbridge = eventbridge_cron(unix)
    fields = eventbridge.removeprefix("cron(").removesuffix(")").split()
    assert len(fields) == 6
    assert fields[5] == "*"
    for (what, pattern), field in zip(EVENTBRIDGE_FIELDS.items(), fields, strict=False):
        assert re.fullmatch(pattern, field), f"{unix} -> {eventbridge}: {what} {field!r}"


@pytest.mark.parametrize("unix", UNIX)
def test_an_eventbridge_schedule_runs_when_the_unix_one_does(unix: str) -> None:
    minute, hour, day, month, weekday, _ = eventbridge_cron(unix)[5:-1].split()
    expanded = croniter.expand(unix)[0]
    assert _eventbridge_values(minute, 0, 59) == _unix_values(expanded[0], 0, 59)
    assert _eventbridge_values(hour, 0, 23) == _unix_values(expanded[1], 0, 23)
    assert _eventbridge_values(day, 1, 31) == _unix_values(expanded[2], 1, 31)
    assert _eventbridge_values(month, 1, 12, MONTHS) == _unix_values(expanded[3], 1, 12)
    days = {(value - 1) for value in _eventbridge_values(weekday, 1, 7, DAYS)}  # EventBridge: SUN = 1
    assert days == _unix_values(expanded[4], 0, 6)


def test_a_schedule_eventbridge_cannot_run_stops_the_program_before_any_resource() -> None:
    assert lines_of(failed("dev", backupSchedule="0 3 * * 5#2")) == [
        '  mcp-deploy:backupSchedule: got "0 3 * * 5#2"; allowed: on aws-ecs, a schedule EventBridge '
        "cron can express (day of the week '5#2' is not a day, range or step)"
    ]
    values = {**REQUIRED, "target": "kubernetes", "backupSchedule": "0 3 * * 5#2"}
    assert parse_stack_config(values, secret=set()).backup_schedule == "0 3 * * 5#2"


def test_a_question_mark_for_the_unused_day_field_is_taken_on_aws() -> None:
    """croniter and EventBridge both take `?` for "any": it is not a second day condition."""
    values = {**REQUIRED, "target": "aws-ecs", "backupSchedule": "0 3 ? * 1-5"}
    assert parse_stack_config(values, secret=set()).backup_schedule == "0 3 ? * 1-5"
    assert lines_of(failed("dev", backupSchedule="0 3 1 * 1")) == [
        '  mcp-deploy:backupSchedule: got "0 3 1 * 1"; allowed: on aws-ecs, a schedule EventBridge '
        "cron can express (EventBridge cannot match both a day of the month and a day of the week)"
    ]


def test_a_day_of_week_step_is_scheduled_as_a_list() -> None:
    run = run_program("dev", "aws-ecs", overrides={"backupSchedule": "0 3 * * */2"})
    assert run.error is None, run.error
    schedules = {
        r.name: r.inputs["scheduleExpression"] for r in run.of_type("aws:scheduler/schedule:Schedule")
    }
    assert schedules["notes-backup"] == "cron(0 3 ? * 1,3,5,7 *)", schedules


# --- the database's major version ---------------------------------------------------------------


def test_the_database_may_move_to_a_new_major_version() -> None:
    run = run_program("prod", "aws-ecs", overrides={"postgresVersion": "17"})
    assert run.error is None, run.error
    database = run.one("aws:rds/instance:Instance")
    parameters = run.one("aws:rds/parameterGroup:ParameterGroup")
    assert database.inputs["engineVersion"] == "17"
    assert parameters.inputs["family"] == "postgres17"
    assert database.inputs["parameterGroupName"] == parameters.inputs["name"]
    # ModifyDBInstance refuses a new major version in EngineVersion without AllowMajorVersionUpgrade.
    assert database.inputs["allowMajorVersionUpgrade"] is True
