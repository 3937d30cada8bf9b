"""The mock harness records what the engine would receive: parents, dependencies, secrets,
options, realistic ids and stack outputs, from a small fixture program."""

from pathlib import Path

import pytest

from tests.harness.plan import render
from tests.harness.program import ProgramRun, run_program
from tests.harness.stack_files import StackFileError, read_stack

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "recorded_program"
STACK_FILE = FIXTURE / "Pulumi.recorded.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty copy of the fixture project, for stack files of a test's own."""
    (tmp_path / "Pulumi.yaml").write_text((FIXTURE / "Pulumi.yaml").read_text())
    return tmp_path


@pytest.fixture(scope="module")
def recorded() -> ProgramRun:
    run = run_program(path=STACK_FILE, program=FIXTURE / "__main__.py")
    assert run.error is None, run.error
    return run


def test_records_type_name_and_parent(recorded: ProgramRun) -> None:
    box = recorded.one("fixture:index:Box")
    assert box.parent == "urn:pulumi:recorded::fixture::pulumi:pulumi:Stack::fixture-recorded"
    assert not box.custom
    names = sorted(child.name for child in recorded.children(box))
    assert names == ["box-id-0", "box-id-1", "box-password"]


def test_urns_follow_the_engine_type_chain(recorded: ProgramRun) -> None:
    password = recorded.one("random:index/randomPassword:RandomPassword")
    assert password.urn == (
        "urn:pulumi:recorded::fixture::fixture:index:Box$"
        "random:index/randomPassword:RandomPassword::box-password"
    )


def test_records_dependencies_and_options(recorded: ProgramRun) -> None:
    password = recorded.one("random:index/randomPassword:RandomPassword")
    ids = {r.name: r for r in recorded.of_type("random:index/randomId:RandomId")}
    assert password.urn in ids["box-id-0"].dependencies
    assert ids["box-id-0"].protect
    assert not ids["box-id-1"].protect
    assert ids["box-id-0"].inputs["byteLength"] == 4


def test_secret_inputs_are_flagged_including_secret_outputs_passed_on(recorded: ProgramRun) -> None:
    first = next(r for r in recorded.of_type("random:index/randomId:RandomId"))
    # the config secret, and RandomPassword.result, which the provider declares secret
    assert first.secret_inputs == {"keepers.token", "keepers.password"}
    password = recorded.one("random:index/randomPassword:RandomPassword")
    assert first.inputs["keepers"]["password"] == password.state["result"]


def test_ids_and_outputs_look_like_the_providers(recorded: ProgramRun) -> None:
    password = recorded.one("random:index/randomPassword:RandomPassword")
    assert password.id == "none"  # what the random provider really uses
    assert len(password.state["result"]) == 20
    assert recorded.outputs == {
        "label": "blue",
        "first_id": recorded.by_urn(next(r.urn for r in recorded.resources if r.name == "box-id-0")).state[
            "hex"
        ],
    }


def test_plan_masks_every_secret_value(recorded: ProgramRun) -> None:
    text = render(recorded)
    password = recorded.one("random:index/randomPassword:RandomPassword").state["result"]
    assert password not in text
    assert "keepers.token: [secret]" in text
    assert "keepers.password: [secret]" in text


def test_stack_file_defaults_types_and_secure_values_as_the_cli_does() -> None:
    config = read_stack(STACK_FILE, FIXTURE)
    assert config.values["fixture:copies"] == "2"  # declared default filled in, as text
    assert "fixture:token" in config.secret_keys  # `secure:` values reach the program as secrets
    assert not config.values["fixture:token"].startswith("v1:")  # never the ciphertext


def test_stack_file_type_mismatch_stops_like_the_cli(project: Path) -> None:
    bad = project / "Pulumi.bad.yaml"
    bad.write_text("config:\n  fixture:label: x\n  fixture:copies: lots\n")
    with pytest.raises(StackFileError, match="'copies' must be of type 'integer'"):
        read_stack(bad, project)


def test_missing_declared_key_without_default_stops_like_the_cli(project: Path) -> None:
    bare = project / "Pulumi.bare.yaml"
    bare.write_text("config: {}\n")
    with pytest.raises(StackFileError, match="Stack 'bare' is missing configuration value 'label'"):
        read_stack(bare, project)


def test_program_errors_are_returned_not_raised(project: Path) -> None:
    stack = project / "Pulumi.broken.yaml"
    stack.write_text("config:\n  fixture:label: x\n")
    run = run_program(path=stack, program=FIXTURE / "__main__.py")
    assert run.error is not None
    assert "token" in str(run.error)
