"""A private PostgreSQL server on a free port, for tests that stop and restart it. The shared
server on 5432 is never touched.

initdb refuses to run as root, so as root (CI, these machines) the cluster belongs to the
`postgres` user and its commands run through runuser."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.server.issuer import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError(f"PostgreSQL server binaries ({name}) are required; install postgresql")
    return found[-1]


@dataclass
class PrivatePostgres:
    data: str
    port: int
    log: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_owner([_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        _as_owner([_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "30", "stop"])

    def restart(self) -> None:
        _as_owner([_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "30", "restart"])


def _as_owner(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    root = tempfile.mkdtemp(prefix="mcp-pg-")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    server = PrivatePostgres(data=f"{root}/data", port=port, log=f"{root}/server.log")
    _as_owner(
        [_bin("initdb"), "-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    )
    with open(f"{server.data}/postgresql.conf", "a") as conf:
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            "fsync = off\nshared_buffers = 16MB\nmax_connections = 50\n"
        )
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped by the test
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
