"""Real stdio servers for the bridge tests, installed once per checkout with `mcp-bridge install`.

Installs land in .tools/stdio/<slug> and are reused while their command.json is there. Not a temp
dir renamed into place: a venv's scripts and npm's bins hold absolute paths, so the install has to
happen where it will run; an exclusive lock per spec keeps two test processes from installing the
same one at once, and command.json (written last by the installer) marks a finished install.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDIO_DIR = ROOT / ".tools" / "stdio"
INSTALL_TIMEOUT = 600.0


def slug(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", spec.strip()).strip("-")


def installer_env() -> dict[str, str]:
    """The environment the installer runs in: the uv `make` uses when PATH has none (the image's
    path, and much faster than pip)."""
    env = dict(os.environ)
    if shutil.which("uv") is None and (ROOT / ".tools" / "bin" / "uv").is_file():
        env["PATH"] = f"{ROOT / '.tools' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def install_command(spec: str, prefix: Path) -> list[str]:
    """`mcp-bridge install` as the bridge venv runs it (the test process is that venv)."""
    return [sys.executable, "-m", "mcp_bridge", "install", spec, "--prefix", str(prefix)]


def installed(spec: str) -> Path:
    """The prefix holding `spec` installed, with its command.json; installs it on first use."""
    STDIO_DIR.mkdir(parents=True, exist_ok=True)
    prefix = STDIO_DIR / slug(spec)
    with open(STDIO_DIR / f"{slug(spec)}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(prefix, spec):
            return prefix
        # Whatever is here was left by an install that never finished.
        shutil.rmtree(prefix, ignore_errors=True)
        result = subprocess.run(
            install_command(spec, prefix),
            env=installer_env(),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if result.returncode != 0 or not _complete(prefix, spec):
            raise RuntimeError(
                f"installing {spec} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
    return prefix


def command(prefix: Path) -> list[str]:
    return list(json.loads((prefix / "command.json").read_text(encoding="utf-8"))["command"])


def _complete(prefix: Path, spec: str) -> bool:
    try:
        record = json.loads((prefix / "command.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if record.get("package") != spec.strip():
        return False
    # A cache someone pruned by hand is not a finished install.
    return all(Path(part).exists() for part in record.get("command", []) if os.path.isabs(part))
