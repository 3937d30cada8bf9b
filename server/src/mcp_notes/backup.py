"""`backup` and `restore`: pg_dump (custom format) to and from an s3:// or gs:// URL.

Credentials come from the platform (ECS task role, Cloud Run / GKE metadata server, or the
AWS_* / GOOGLE_* variables on Kubernetes); obstore reads them all. The database password never
reaches a command line: it goes to pg_dump/pg_restore as PGPASSWORD in the child's environment.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import obstore
from obstore.store import GCSStore, S3Store

log = logging.getLogger(__name__)

SUFFIX = ".dump"
# Replace what the dump holds, all or nothing; roles of the source cluster need not exist here.
RESTORE_FLAGS = [
    "--clean",
    "--if-exists",
    "--no-owner",
    "--no-acl",
    "--single-transaction",
    "--exit-on-error",
    "--no-password",
]


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why (never a password)."""


@contextmanager
def _storage(action: str, url: str) -> Iterator[None]:
    """Object-store failures as one line: the job's log should say what failed, not dump a trace."""
    try:
        yield
    except BackupError:
        raise
    except Exception as error:  # noqa: BLE001 - obstore raises many kinds; all mean the same here
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BackupError(f"could not {action} {url}: {type(error).__name__}: {first[:300]}") from None


def open_store(url: str) -> S3Store | GCSStore:
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        return S3Store.from_url(url)
    if scheme == "gs":
        return GCSStore.from_url(url)
    raise BackupError(f"backup URL must start with s3:// or gs://, not {scheme}://")


def dump_name(now: datetime | None = None) -> str:
    """Names sort by time, so the newest dump is simply the largest name."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ") + SUFFIX


def backup(database_url: str, backup_url: str) -> str:
    """Dump the database, check the dump reads back, upload it; returns the object name."""
    store = open_store(backup_url)
    name = dump_name()
    with tempfile.TemporaryDirectory(prefix="mcp-backup-") as workdir:
        path = Path(workdir) / name
        _run(["pg_dump", "--format=custom", "--no-password", f"--file={path}"], database_url)
        _run(["pg_restore", "--list", str(path)], None)  # a dump that can't be listed is no backup
        size = path.stat().st_size
        with _storage("upload the dump to", backup_url):
            obstore.put(store, name, path, chunk_size=16 * 2**20, max_concurrency=4)
    log.info(
        "backup written",
        extra={"object": f"{backup_url.rstrip('/')}/{name}", "bytes": size, "database": redact(database_url)},
    )
    return name


def list_dumps(backup_url: str) -> list[str]:
    store = open_store(backup_url)
    with _storage("list", backup_url):
        names = [meta["path"] for batch in obstore.list(store, chunk_size=1000) for meta in batch]
    return sorted(name for name in names if name.endswith(SUFFIX) and "/" not in name)


def restore(database_url: str, source: str, backup_url: str | None) -> str:
    """Load a dump into the database: `source` is a local file, an object name, or `latest`."""
    local = Path(source)
    if local.is_file():
        _run(["pg_restore", *RESTORE_FLAGS], database_url, local)
        log.info("restore done", extra={"source": str(local), "database": redact(database_url)})
        return str(local)
    if backup_url is None:
        raise BackupError(f"{source} is not a file here, and BACKUP_URL is not set to fetch it from")
    name = _resolve(source, backup_url)
    with tempfile.TemporaryDirectory(prefix="mcp-restore-") as workdir:
        path = Path(workdir) / name
        with _storage(f"download {name} from", backup_url), path.open("wb") as out:
            for chunk in obstore.get(open_store(backup_url), name).stream(min_chunk_size=8 * 2**20):
                out.write(chunk)
        _run(["pg_restore", *RESTORE_FLAGS], database_url, path)
    log.info("restore done", extra={"source": name, "database": redact(database_url)})
    return name


def _resolve(source: str, backup_url: str) -> str:
    dumps = list_dumps(backup_url)
    if source == "latest":
        if not dumps:
            raise BackupError(f"no dumps under {backup_url}")
        return dumps[-1]
    if source not in dumps:
        raise BackupError(f"no dump named {source} under {backup_url}; newest: {dumps[-3:]}")
    return source


def _run(argv: list[str], database_url: str | None, dump: Path | None = None) -> None:
    env = dict(os.environ)
    if database_url is not None:
        dsn, password = split_password(database_url)
        argv = [*argv, f"--dbname={dsn}"]
        if password is not None:
            env["PGPASSWORD"] = password
    if dump is not None:
        argv = [*argv, str(dump)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # pg_dump's own words (e.g. "server version mismatch") are the useful part; they
        # never contain the password, which is not on the command line.
        raise BackupError(f"{argv[0]} failed (exit {result.returncode}): {result.stderr.strip()}")


def split_password(database_url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (percent-decoded), if any."""
    parts = urlsplit(database_url)
    if "@" not in parts.netloc:
        return database_url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, has_password, password = userinfo.partition(":")
    dsn = urlunsplit(parts._replace(netloc=f"{user}@{host}"))
    return dsn, unquote(password) if has_password else None


def redact(database_url: str) -> str:
    dsn, password = split_password(database_url)
    if password is None:
        return dsn
    user, host = urlsplit(dsn).netloc.rsplit("@", 1)
    return urlunsplit(urlsplit(dsn)._replace(netloc=f"{user}:***@{host}"))
