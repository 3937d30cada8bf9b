"""Defect 5: the image tag must change whenever pulumi-docker would build and push again.

pulumi-docker rebuilds when the hash of its build context changes (every file not excluded by the
ignore file, with its mode); registries here keep tags immutable, so a rebuild under an old tag
is refused. These tests edit files of a context and compare tags.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_deploy.image import context_files, image_tag
from tests.harness.program import run_program
from tests.harness.stack_files import ROOT

SERVER = ROOT / "server"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A small build context shaped like server/: sources, a README, an ignore file, local junk."""
    root = tmp_path / "tools"
    (root / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (root / "README.md").write_text("# tools\n")
    (root / "src" / "pkg" / "app.py").write_text("print('hi')\n")
    (root / "src" / "pkg" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (root / ".venv" / "lib" / "site.py").write_text("x = 1\n")
    (root / "local.db").write_text("rows\n")
    (root / ".dockerignore").write_text(".venv\n**/__pycache__\n*.db\n")
    return root


def edit(path: Path, text: str = "changed\n") -> None:
    path.write_text(path.read_text() + text)


def test_the_server_context_is_every_file_the_ignore_file_keeps() -> None:
    files = context_files(SERVER)
    assert {"Dockerfile", "pyproject.toml", "uv.lock", ".dockerignore"} <= set(files)
    # Documentation is ignored (*.md in server/.dockerignore): editing it makes no new image.
    assert not [path for path in files if path.endswith(".md")]
    assert any(path.startswith("src/mcp_notes/") for path in files)
    assert not [path for path in files if path.startswith(".venv/") or "__pycache__" in path]


def test_editing_a_file_in_the_context_changes_the_tag(context: Path) -> None:
    before = image_tag(context)
    edit(context / "README.md")
    assert image_tag(context) != before


@pytest.mark.parametrize(
    "ignored", [".venv/lib/site.py", "src/pkg/__pycache__/app.cpython-311.pyc", "local.db"]
)
def test_editing_an_ignored_file_keeps_the_tag(context: Path, ignored: str) -> None:
    before = image_tag(context)
    edit(context / ignored)
    assert image_tag(context) == before


def test_adding_renaming_or_chmodding_a_file_changes_the_tag(context: Path) -> None:
    tags = {image_tag(context)}
    (context / "src" / "pkg" / "extra.py").write_text("")
    tags.add(image_tag(context))
    (context / "src" / "pkg" / "extra.py").rename(context / "src" / "pkg" / "other.py")
    tags.add(image_tag(context))
    (context / "src" / "pkg" / "other.py").chmod(0o755)  # pulumi-docker hashes the mode too
    tags.add(image_tag(context))
    assert len(tags) == 4


def test_an_exception_pattern_brings_a_file_back(context: Path) -> None:
    (context / ".dockerignore").write_text("*.md\n!README.md\n")
    assert "README.md" in context_files(context)
    before = image_tag(context)
    edit(context / "README.md")
    assert image_tag(context) != before


def test_a_pattern_matching_a_directory_excludes_what_is_below_it(context: Path) -> None:
    (context / ".dockerignore").write_text("src\n")
    assert not [path for path in context_files(context) if path.startswith("src/")]


def test_a_dockerfile_specific_ignore_file_wins(context: Path, tmp_path: Path) -> None:
    dockerfile = tmp_path / "tools.Dockerfile"
    shutil.copy(context / "Dockerfile", dockerfile)
    Path(f"{dockerfile}.dockerignore").write_text("README.md\n")
    files = context_files(context, dockerfile)
    assert "README.md" not in files
    assert ".venv/lib/site.py" in files, "the context's own .dockerignore no longer applies"


def test_a_dockerfile_outside_the_context_is_hashed(context: Path, tmp_path: Path) -> None:
    dockerfile = tmp_path / "tools.Dockerfile"
    shutil.copy(context / "Dockerfile", dockerfile)
    before = image_tag(context, dockerfile)
    edit(dockerfile, "USER 10001\n")
    assert image_tag(context, dockerfile) != before


def test_the_tag_names_the_context_so_servers_sharing_a_repository_stay_apart(context: Path) -> None:
    assert image_tag(context).startswith("tools-")
    assert image_tag(SERVER).startswith("server-")
    assert image_tag(SERVER) == image_tag(SERVER), "deterministic: a preview shows no rebuild"


PROGRAM = """\
    import pulumi
    from mcp_deploy.image import McpImage, RegistryAccess

    registry = RegistryAccess(repository_url="registry.example.com/team/mcp", server="registry.example.com")
    built = McpImage("tools", None, registry, context={context!r})
    prebuilt = McpImage("time", "ghcr.io/acme/time@sha256:" + "a" * 64, None)
    pulumi.export("built", built.ref)
    pulumi.export("prebuilt", prebuilt.ref)
"""


def test_the_component_builds_any_context(context: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: imagetest\nruntime: python\n")
    (project / "Pulumi.test.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(textwrap.dedent(PROGRAM).format(context=str(context)))

    run = run_program(path=project / "Pulumi.test.yaml", program=project / "__main__.py")

    assert run.error is None, run.error
    build = run.one("docker:index/image:Image").inputs
    assert build["imageName"] == f"registry.example.com/team/mcp:{image_tag(context)}"
    assert Path(build["build"]["context"]).resolve() == context.resolve()
    assert Path(build["build"]["dockerfile"]).resolve() == (context / "Dockerfile").resolve()
    assert build["build"]["platform"] == "linux/amd64"
    assert run.outputs["built"].startswith("registry.example.com/team/mcp@sha256:")
    assert run.outputs["prebuilt"] == "ghcr.io/acme/time@sha256:" + "a" * 64


def test_an_ignored_directory_is_entered_only_where_an_exception_reaches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository-root context (`*` then a few `!` lines) must not walk every virtualenv."""
    (tmp_path / "app" / "src").mkdir(parents=True)
    (tmp_path / "app" / "src" / "main.py").write_text("print()\n")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "huge.py").write_text("x = 1\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("*\n!app/src\n")
    entered: list[str] = []
    real_walk = os.walk

    def recording_walk(top: Path) -> Iterator[tuple[str, list[str], list[str]]]:
        for root, dirs, files in real_walk(top):
            entered.append(Path(root).relative_to(tmp_path).as_posix())
            yield root, dirs, files

    monkeypatch.setattr("mcp_deploy.image.os.walk", recording_walk)
    assert context_files(tmp_path) == ["app/src/main.py"]
    assert sorted(entered) == [".", "app", "app/src"]


def test_a_root_context_is_named_for_its_dockerfiles_folder_not_the_clone(tmp_path: Path) -> None:
    """Plans must not depend on where the repository was cloned (a CI runner's folder name)."""
    for clone in ("main", "checkout-2"):
        root = tmp_path / clone
        (root / "gateway").mkdir(parents=True)
        (root / "gateway" / "Dockerfile").write_text("FROM scratch\n")
        (root / "gateway" / "app.py").write_text("print()\n")
    tags = {
        image_tag(tmp_path / clone, tmp_path / clone / "gateway" / "Dockerfile")
        for clone in ("main", "checkout-2")
    }
    assert len(tags) == 1
    assert next(iter(tags)).startswith("gateway-")
