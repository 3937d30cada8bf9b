"""`mcp-bridge install SPEC [--prefix DIR]`: install a pinned stdio server and record how to start it.

Runs at image build time, so replicas start with everything on disk and nothing to download.
DIR/command.json is written last and atomically: its presence means the install finished, and a
failed install removes any previous one rather than leave it looking current.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mcp_bridge.package import PackageSpec, PackageSpecError, parse

DEFAULT_PREFIX = "/opt/server"
COMMAND_FILE = "command.json"
# A registry that stops answering must fail the build, not hang it.
STEP_TIMEOUT = 900.0


class InstallError(RuntimeError):
    """An install that did not produce a runnable server; the message names the package."""


def install(spec: str, prefix: str | Path = DEFAULT_PREFIX) -> list[str]:
    """Install `spec` under `prefix`, write prefix/command.json and return the server's command."""
    package = parse(spec)
    root = Path(os.path.abspath(prefix))
    root.mkdir(parents=True, exist_ok=True)
    record = root / COMMAND_FILE
    record.unlink(missing_ok=True)
    command = _install_npm(package, root) if package.kind == "npm" else _install_pypi(package, root)
    _write_atomically(record, {"package": package.spec, "command": command})
    return command


def _install_npm(package: PackageSpec, root: Path) -> list[str]:
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(f"{package.spec}: npm is not on PATH")
    _run(
        package,
        "npm install",
        [
            npm,
            "install",
            "--prefix",
            str(root),
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            "--no-save",
            package.requirement,
        ],
        {"npm_config_update_notifier": "false"},
    )
    package_dir = root / "node_modules" / package.name
    manifest_path = package_dir / "package.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InstallError(f"{package.spec}: npm installed no readable {manifest_path} ({exc})") from exc
    bins = _npm_bins(package, manifest)
    chosen = _choose(package, sorted(bins), "bin")
    target = Path(os.path.normpath(package_dir / bins[chosen]))
    if not target.is_file():
        raise InstallError(f"{package.spec}: bin {chosen!r} points at {target}, which is not a file")
    return ["node", str(target)]


def _npm_bins(package: PackageSpec, manifest: object) -> dict[str, str]:
    bin_field = manifest.get("bin") if isinstance(manifest, dict) else None
    # A string bin is named after the package (without its scope), as npm itself links it.
    if isinstance(bin_field, str) and bin_field:
        return {_last_part(package.name): bin_field}
    if isinstance(bin_field, dict):
        bins = {str(k): v for k, v in bin_field.items() if isinstance(v, str) and v}
        if bins:
            return bins
    raise InstallError(
        f"{package.spec}: the package declares no bin to run; set `command` for this server instead"
    )


def _install_pypi(package: PackageSpec, root: Path) -> list[str]:
    venv = root / "venv"
    # A venv left by an earlier install may hold other versions; start from nothing.
    shutil.rmtree(venv, ignore_errors=True)
    python = venv / "bin" / "python"
    uv = shutil.which("uv")
    if uv is not None:
        # Never let uv fetch an interpreter: the venv uses the Python this bridge runs on.
        uv_env = {"UV_PYTHON_DOWNLOADS": "never"}
        _run(package, "uv venv", [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], uv_env)
        _run(
            package,
            "uv pip install",
            [uv, "pip", "install", "--python", str(python), "--compile-bytecode", package.requirement],
            uv_env,
        )
    else:
        _run(package, "python -m venv", [sys.executable, "-m", "venv", str(venv)], {})
        _run(
            package,
            "pip install",
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                package.requirement,
            ],
            {"PIP_NO_INPUT": "1"},
        )
    scripts = _console_scripts(package, python)
    wanted = _normalize(package.name)
    chosen = _choose(package, scripts, "console script", prefer=lambda name: _normalize(name) == wanted)
    script = venv / "bin" / chosen
    if not script.is_file():
        raise InstallError(f"{package.spec}: console script {chosen!r} was not installed at {script}")
    return [str(script)]


def _console_scripts(package: PackageSpec, python: Path) -> list[str]:
    # Asked of the venv's own interpreter, which sees exactly the installed distribution.
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "d = m.distribution(sys.argv[1])\n"
        "print(json.dumps(sorted({e.name for e in d.entry_points if e.group == 'console_scripts'})))\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe, package.name], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise InstallError(
            f"{package.spec}: could not read the installed distribution's entry points: "
            f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
        )
    return list(json.loads(result.stdout))


def _choose(
    package: PackageSpec, names: list[str], what: str, prefer: Callable[[str], bool] | None = None
) -> str:
    if not names:
        raise InstallError(
            f"{package.spec}: the package has no {what}; set `command` for this server instead"
        )
    if len(names) == 1:
        return names[0]
    last = _last_part(package.name)
    match = prefer or (lambda name: name == last)
    preferred = [name for name in names if match(name)]
    if len(preferred) == 1:
        return preferred[0]
    raise InstallError(
        f"{package.spec}: the package has several {what}s ({', '.join(names)}) and none is named "
        f"{last!r}; set `command` for this server to say which to run"
    )


def _run(package: PackageSpec, step: str, argv: list[str], extra_env: dict[str, str]) -> None:
    env = {**os.environ, **extra_env}
    # The tool's own output goes to stderr, so a build log shows why a step failed and stdout
    # carries only the result.
    try:
        result = subprocess.run(argv, stdout=_stderr_fd(), env=env, timeout=STEP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{package.spec}: {step} did not finish in {STEP_TIMEOUT:.0f} s") from exc
    except OSError as exc:
        raise InstallError(f"{package.spec}: {step} could not start: {exc}") from exc
    if result.returncode != 0:
        raise InstallError(f"{package.spec}: {step} failed (exit {result.returncode})")


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _write_atomically(path: Path, content: dict[str, object]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def _last_part(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mcp-bridge install",
        description="Install a pinned stdio MCP server package and write PREFIX/command.json.",
    )
    parser.add_argument("spec", help="npm:<name>@<version> or pypi:<name>==<version>")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"install directory (default {DEFAULT_PREFIX})"
    )
    args = parser.parse_args(argv)
    try:
        command = install(args.spec, args.prefix)
    except (PackageSpecError, InstallError) as exc:
        print(f"mcp-bridge install: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"package": args.spec.strip(), "command": command}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
