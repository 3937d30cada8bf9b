"""checkov over every rendered Kubernetes manifest and our Dockerfiles (the server's, the backup
job's), and hadolint over them: no findings beyond the skips justified in scanners/skips.yaml."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.harness.plan import STACKS
from tests.harness.program import run_program
from tests.harness.stack_files import ROOT

SCANNERS = ROOT / "scanners" / ".venv" / "bin"
SKIPS = yaml.safe_load((ROOT / "scanners" / "skips.yaml").read_text())
DOCKERFILES = (ROOT / "server" / "Dockerfile", ROOT / "backup" / "Dockerfile")


def checkov(target: Path, framework: str) -> dict:
    result = subprocess.run(
        [
            str(SCANNERS / "checkov"),
            "--file",
            str(target),
            "--framework",
            framework,
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
            "--skip-check",
            ",".join(SKIPS["checkov"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=target.parent,
    )
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    return reports[0]


def test_every_skip_is_justified() -> None:
    for tool in ("checkov", "hadolint"):
        for check, entry in SKIPS[tool].items():
            assert len(entry["reason"]) > 60, f"{tool} {check}: say why it is skipped"


def test_rendered_manifests_pass_checkov(tmp_path: Path) -> None:
    documents = []
    for stack in STACKS:
        run = run_program(stack, "kubernetes")
        assert run.error is None, run.error
        documents += [
            r.inputs
            for r in run.resources
            if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release"
        ]
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text(yaml.safe_dump_all(documents, sort_keys=True))
    report = checkov(manifests, "kubernetes")
    assert report["summary"]["passed"] > 200  # it really read the workloads


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_the_dockerfile_passes_checkov_and_hadolint(dockerfile: Path) -> None:
    assert checkov(dockerfile, "dockerfile")["summary"]["passed"] > 20
    ignores = [arg for check in SKIPS["hadolint"] for arg in ("--ignore", check)]
    result = subprocess.run(
        [str(SCANNERS / "hadolint"), *ignores, str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", sorted(SKIPS["hadolint"]))
def test_hadolint_still_sees_what_we_skip(rule: str) -> None:
    found = ""
    for dockerfile in DOCKERFILES:
        found += subprocess.run(
            [str(SCANNERS / "hadolint"), str(dockerfile)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    assert rule in found  # a skip that no longer matches anything should be removed
