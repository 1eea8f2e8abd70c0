"""Where the bytes of attached files live: a small interface with a local folder (the default,
beside the database) and an S3-compatible bucket (for sites beyond one machine).

A file is written under a temporary key first (`tmp/...`) and moved to its final key only once
its row is about to be committed (files/service.py): a process killed mid-upload leaves a
temporary object, which `sweep` removes after an hour, never a file no row points at.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any, Iterator, Protocol

import boto3
from sqlalchemy.engine import URL

CHUNK = 1024 * 1024
TEMPORARY = "tmp/"


def new_key(temporary: bool = False) -> str:
    """A random key (no one guesses another file's): 32 url-safe characters, fanned into folders."""
    token = secrets.token_urlsafe(24)
    return (TEMPORARY if temporary else "") + f"{token[:2]}/{token}"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Storage(Protocol):
    def put(self, key: str, stream: Readable) -> int:
        """Copy the stream under `key` in chunks; the number of bytes written."""

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes, chunk by chunk."""

    def move(self, key: str, to: str) -> None:
        """Give the object at `key` the key `to`."""

    def delete(self, key: str) -> None:
        """Remove the object (nothing when it is not there)."""

    def temporary(self, older_than: dt.datetime) -> list[str]:
        """Keys of temporary objects written before `older_than`."""


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{key!r} is not a key of this storage")
        return path

    def put(self, key: str, stream: Readable) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(path, "wb") as out:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return written

    def open(self, key: str) -> Iterator[bytes]:
        with open(self._path(key), "rb") as stored:
            while chunk := stored.read(CHUNK):
                yield chunk

    def move(self, key: str, to: str) -> None:
        target = self._path(to)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(key), target)
        os.utime(target)  # a temporary object's age counts from its move (the sweep waits an hour)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def temporary(self, older_than: dt.datetime) -> list[str]:
        folder = self.root / TEMPORARY
        if not folder.is_dir():
            return []
        cutoff = older_than.timestamp()
        return [path.relative_to(self.root).as_posix() for path in folder.rglob("*")
                if path.is_file() and path.stat().st_mtime < cutoff]


class S3Storage:
    """An S3-compatible bucket through boto3 (AWS, MinIO, Ceph, a cloud's object storage)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, endpoint_url: str | None = None):
        if client is None:
            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, key: str, stream: Readable) -> int:
        counted = _Counted(stream)
        # upload_fileobj sends multipart uploads of 8 MB parts: the file is never whole in memory
        self.client.upload_fileobj(counted, self.bucket, self.prefix + key)
        return counted.count

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def move(self, key: str, to: str) -> None:
        try:
            self.client.copy({"Bucket": self.bucket, "Key": self.prefix + key}, self.bucket, self.prefix + to)
        except Exception as error:  # botocore's ClientError: a missing object is a 404 like the folder's
            if getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(key) from None
            raise
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def temporary(self, older_than: dt.datetime) -> list[str]:
        keys = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=self.prefix + TEMPORARY)
        for page in pages:
            for item in page.get("Contents", ()):
                if item["LastModified"] < older_than:
                    keys.append(item["Key"][len(self.prefix):])
        return keys


class _Counted:
    """A read-only stream that counts what was read from it."""

    def __init__(self, stream: Readable):
        self.stream, self.count = stream, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.count += len(chunk)
        return chunk


def storage_from_setting(setting: str | None, database: URL | None) -> Storage:
    """`ATRIUM_FILES`: a folder, or `s3://bucket/prefix` (endpoint in ATRIUM_S3_ENDPOINT_URL, keys the
    usual AWS_* variables). Unset: the folder `<database file>.files` beside an SQLite database,
    else `atrium-files` in the working folder."""
    if setting and setting.startswith("s3://"):
        bucket, _, prefix = setting[len("s3://"):].partition("/")
        return S3Storage(bucket, prefix, endpoint_url=os.environ.get("ATRIUM_S3_ENDPOINT_URL") or None)
    if setting:
        return LocalStorage(setting)
    if database is not None and database.get_backend_name() == "sqlite" and database.database \
            and database.database != ":memory:" and not database.database.startswith("file:"):
        return LocalStorage(Path(database.database).resolve().parent / (Path(database.database).name + ".files"))
    return LocalStorage(Path("atrium-files").resolve())
