"""The library installs with pip as `mcp_deploy`: build the wheel the way pip would and read it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.harness.stack_files import ROOT

# The uv `make` uses: the one on PATH, else the pinned copy it installs into .tools/.
UV = Path(shutil.which("uv") or ROOT / ".tools" / "bin" / "uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("dist")
    if UV.exists():
        command = [str(UV), "build", "--wheel", "--out-dir", str(out), str(ROOT)]
    else:
        command = [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(out),
            str(ROOT),
        ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = list(Path(out).glob("*.whl"))
    assert built.name.startswith("mcp_deploy-"), built.name
    with zipfile.ZipFile(built) as archive:
        return archive.namelist()


def test_the_wheel_holds_the_typed_library(wheel: list[str]) -> None:
    for path in ("mcp_deploy/__init__.py", "mcp_deploy/py.typed", "mcp_deploy/server_args.py",
                 "mcp_deploy/platform_args.py", "mcp_deploy/names.py", "mcp_deploy/image.py"):  # fmt: skip
        assert path in wheel, f"{path} missing from the wheel"
    for target in ("aws", "gcp", "k8s"):
        assert f"mcp_deploy/{target}/__init__.py" in wheel


def test_the_wheel_holds_nothing_but_the_library(wheel: list[str]) -> None:
    top_level = {path.split("/")[0] for path in wheel}
    metadata = {name for name in top_level if name.endswith(".dist-info")}
    assert top_level - metadata == {"mcp_deploy"}, f"unexpected top-level entries: {sorted(top_level)}"
    for excluded in ("tests/", "server/", "policy/", "scanners/", "__main__.py"):
        assert not [path for path in wheel if path.startswith(excluded)], f"{excluded} is in the wheel"
    assert not [path for path in wheel if "__pycache__" in path or path.endswith(".pyc")]


IMPORT_CHECK = (
    "import mcp_deploy, mcp_deploy.aws, mcp_deploy.gcp, mcp_deploy.k8s; "
    "print(sorted(c.__name__ for c in mcp_deploy.COMPONENTS))"
)


IMPORT_CHECK = (
    "import mcp_deploy, mcp_deploy.aws, mcp_deploy.gcp, mcp_deploy.k8s; "
    "print(sorted(c.__name__ for c in mcp_deploy.COMPONENTS))"
)


def test_pip_install_of_the_repository_gives_an_importable_library(tmp_path: Path) -> None:
    """What a user does: a fresh virtualenv, `pip install <clone>`, `import mcp_deploy`. uv's
    pip-compatible installer does it from the wheels `make venv` already cached (no network)."""
    venv = tmp_path / "venv"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    imported = subprocess.run(
        [str(python), "-c", IMPORT_CHECK],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # not the repository: the import must come from the installed package
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "['AwsDeployment', 'GcpDeployment', 'K8sDeployment']"
