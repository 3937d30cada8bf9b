"""`mcp-bridge install` against the real registries: the command it records starts the server, and a
failed install exits 1 naming the package with no command.json left behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp_bridge.install import InstallError, _choose, _npm_bins
from mcp_bridge.package import parse

from tests.bridge.packages import command, install_command, installed, installer_env

EVERYTHING = "npm:@modelcontextprotocol/server-everything@2026.8.31"
TIME = "pypi:mcp-server-time==2026.10.19"
ANSWER_TIMEOUT = 30.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test-install", "version": "0"},
    },
}


class Stdio:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def answer(self, request_id: int) -> dict[str, Any]:
        """The response to `request_id`, skipping the server's notifications."""
        assert self.process.stdout is not None
        async with asyncio.timeout(ANSWER_TIMEOUT):
            while True:
                line = await self.process.stdout.readline()
                assert line, "the server closed stdout before answering"
                message = json.loads(line)
                if message.get("id") == request_id:
                    return message

    async def request(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return await self.answer(request_id)


@asynccontextmanager
async def started(argv: list[str]) -> AsyncIterator[Stdio]:
    # HOME in a place nobody writes to proves the server needs nothing under it at run time.
    env = {**os.environ, "HOME": "/nonexistent"}
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        stdio = Stdio(process)
        await stdio.send(INITIALIZE)
        yield stdio
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def run_install(
    spec: str, prefix: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        install_command(spec, prefix),
        env=env or installer_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


async def test_the_npm_server_starts_from_its_recorded_command() -> None:
    prefix = installed(EVERYTHING)
    argv = command(prefix)
    bin_file = prefix / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    assert argv == ["node", str(bin_file)]
    async with started(argv) as server:
        initialized = await server.answer(1)
        assert initialized["result"]["serverInfo"]["name"] == "mcp-servers/everything"
        await server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        echoed = await server.request(
            2, "tools/call", {"name": "echo", "arguments": {"message": "over stdio"}}
        )
    assert "over stdio" in echoed["result"]["content"][0]["text"]


async def test_the_pypi_server_starts_from_its_recorded_command() -> None:
    prefix = installed(TIME)
    argv = command(prefix)
    assert argv == [str(prefix / "venv" / "bin" / "mcp-server-time")]
    async with started(argv) as server:
        initialized = await server.answer(1)
        assert initialized["result"]["serverInfo"]["name"] == "mcp-time"
        await server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        now = await server.request(
            2, "tools/call", {"name": "get_current_time", "arguments": {"timezone": "UTC"}}
        )
    assert json.loads(now["result"]["content"][0]["text"])["timezone"] == "UTC"


def test_the_record_names_the_package_and_its_command() -> None:
    prefix = installed(TIME)
    record = json.loads((prefix / "command.json").read_text())
    assert record == {"package": TIME, "command": command(prefix)}


@pytest.mark.parametrize(
    ("spec", "step"),
    [
        ("npm:@modelcontextprotocol/server-everything@1999.1.1", "npm install failed"),
        ("npm:@mcp-deploy-tests/no-such-package-3f9a@1.0.0", "npm install failed"),
        ("pypi:mcp-server-time==1999.1.1", "pip install failed"),
    ],
)
def test_an_unknown_package_or_version_exits_1_and_leaves_no_record(
    tmp_path: Path, spec: str, step: str
) -> None:
    prefix = tmp_path / "server"
    prefix.mkdir()
    # An earlier install's record must not survive a failed one and pass for it.
    (prefix / "command.json").write_text('{"package": "npm:old@1.0.0", "command": ["node", "old.js"]}')
    result = run_install(spec, prefix)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mcp-bridge install: {spec}: ")
    assert step in last
    assert not (prefix / "command.json").exists()
    assert result.stdout == ""


def test_an_unpinned_spec_exits_1_before_installing_anything(tmp_path: Path) -> None:
    result = run_install("npm:@modelcontextprotocol/server-everything@latest", tmp_path / "server")
    assert result.returncode == 1
    assert "'latest' is a dist-tag" in result.stderr
    assert not (tmp_path / "server").exists()


def test_without_uv_a_pypi_package_gets_a_venv_and_pip(tmp_path: Path) -> None:
    # A small dependency-free package with one console script: the fallback path, quickly.
    path = os.pathsep.join(
        part
        for part in os.environ.get("PATH", "").split(os.pathsep)
        if part and not (Path(part) / "uv").exists()
    )
    prefix = tmp_path / "cow"
    result = run_install("pypi:cowsay==6.1", prefix, env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["command"] == [str(prefix / "venv" / "bin" / "cowsay")]
    # uv stamps the venvs it makes; this one is the standard library's.
    assert not any(
        line.startswith("uv =") for line in (prefix / "venv" / "pyvenv.cfg").read_text().splitlines()
    )
    said = subprocess.run(
        [*command(prefix), "-t", "moo"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "moo" in said.stdout


def test_a_string_bin_is_named_after_the_package_without_its_scope() -> None:
    package = parse("npm:@acme/tool@1.0.0")
    assert _npm_bins(package, {"bin": "./cli.js"}) == {"tool": "./cli.js"}


def test_a_package_without_a_bin_says_to_set_command() -> None:
    package = parse("npm:@acme/tool@1.0.0")
    with pytest.raises(InstallError, match=r"npm:@acme/tool@1\.0\.0: .*set `command`"):
        _npm_bins(package, {"main": "index.js"})


def test_among_several_bins_the_one_named_like_the_package_wins() -> None:
    package = parse("npm:@acme/tool@1.0.0")
    assert _choose(package, ["tool", "tool-admin"], "bin") == "tool"
    assert _choose(package, ["only"], "bin") == "only"
    with pytest.raises(InstallError) as several:
        _choose(package, ["a", "b"], "bin")
    assert "npm:@acme/tool@1.0.0" in str(several.value)
    assert "several bins (a, b)" in str(several.value)
    assert "set `command`" in str(several.value)
