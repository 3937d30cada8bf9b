"""The backup bucket through obstore: s3:// or gs://, credentials from the platform.

ECS task role, the Cloud Run / GKE metadata server, or AWS_* / GOOGLE_* variables: obstore reads
them all. Keys here are relative to BACKUP_URL (its path is the store's prefix).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import obstore
from obstore.store import GCSStore, S3Store

Store = S3Store | GCSStore
_CHUNK = 8 * 2**20


class StoreError(Exception):
    """An object-store call that failed, as one line (what, where, the store's own first line)."""


@dataclass(frozen=True)
class Entry:
    key: str
    size: int
    modified: datetime


def open_store(url: str) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        return S3Store.from_url(url)
    if scheme == "gs":
        return GCSStore.from_url(url)
    raise StoreError(f"BACKUP_URL must start with s3:// or gs://, not {scheme or 'no scheme'}://")


@contextmanager
def failing_as(action: str) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except Exception as error:  # noqa: BLE001 - obstore raises many kinds; all mean "the store said no"
        text = str(error).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        raise StoreError(f"could not {action}: {type(error).__name__}: {first[:300]}") from None


def entries(store: Store, prefix: str | None = None) -> list[Entry]:
    with failing_as(f"list {prefix or 'the bucket'}"):
        return sorted(
            (
                Entry(meta["path"], meta["size"], meta["last_modified"])
                for batch in obstore.list(store, prefix=prefix, chunk_size=1000)
                for meta in batch
            ),
            key=lambda entry: entry.key,
        )


def upload(store: Store, key: str, path: Path) -> None:
    """Multipart from the file: memory stays at a few chunks whatever the dump's size."""
    with failing_as(f"upload {key}"):
        obstore.put(store, key, path, chunk_size=16 * 2**20, max_concurrency=4)


def put_bytes(store: Store, key: str, data: bytes) -> None:
    with failing_as(f"upload {key}"):
        obstore.put(store, key, data)


def get_bytes(store: Store, key: str) -> bytes:
    with failing_as(f"download {key}"):
        return bytes(obstore.get(store, key).bytes())


def download(store: Store, key: str, path: Path) -> str:
    """Stream an object to a file; returns its sha256."""
    digest = hashlib.sha256()
    with failing_as(f"download {key}"), path.open("wb") as out:
        for chunk in obstore.get(store, key).stream(min_chunk_size=_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def delete(store: Store, keys: list[str]) -> None:
    if keys:
        with failing_as(f"delete {len(keys)} old objects"):
            obstore.delete(store, keys)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
