"""The local stack's photos and records kept on disk, so `make run` survives a restart.

moto holds everything in memory and forgets it when the process ends. A `DataFolder` writes
the uploads bucket's objects and every table's items to a folder, and puts them back into a
fresh moto before the stack starts listening:

    <folder>/s3/<bucket>/objects.jsonl     one line per object version: key, version id,
                                           file, content type, metadata
    <folder>/s3/<bucket>/<sha256>          that version's bytes
    <folder>/dynamodb/<table>.json         the table's items, in DynamoDB's JSON
    <folder>/cognito/user-pool.pickle      the user pool: accounts, groups, app client

Object versions are written once, when first seen (a version never changes), and put back
oldest first under the version ids they had: the bucket is versioned, and a record's photo
link names the version that was read, which must still exist after a restart. Tables are
rewritten whole, atomically, when their content changed. The stack saves every couple of
seconds while running and once more when it stops, so a crash loses at most the last
moments. Restored objects are put back before the bucket sends events to EventBridge, so a
restart does not process every photo again; an upload whose record was not final when the
service stopped (its execution lived in the old process) is processed again once the stack
is up.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

from platescan import aws, contract, records

log = logging.getLogger("platescan.local")
ACCOUNT_ID = "123456789012"  # moto's default account, as the local stack uses

SAVE_INTERVAL_S = 2.0


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _version_name(key: str, version_id: str | None) -> str:
    """The file one object version is kept in."""
    return hashlib.sha256(f"{key}\0{version_id or 'null'}".encode()).hexdigest()


def _keep_version_id(bucket: str, key: str, given: str, kept: str) -> None:
    """Give a restored object back the version id it had.

    S3 has no call that chooses a version id, so this reaches into moto's backend (as the
    user pool does below). Records name their photo's version; a new id would break the link.
    """
    from moto.s3.models import s3_backends

    for version in s3_backends[ACCOUNT_ID]["aws"].get_bucket(bucket).keys.getlist(key, []):
        if version.version_id == given:
            version._version_id = kept
            return


def _forget(folder: Path, names: set[str]) -> None:
    """Drop kept object versions: out of the index first, so it never names a missing file."""
    index = folder / "objects.jsonl"
    if index.is_file():
        lines = index.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if json.loads(line)["file"] not in names]
        _write_atomically(index, "".join(line + "\n" for line in kept).encode())
    for name in names:
        (folder / name).unlink(missing_ok=True)


class DataFolder:
    """One folder holding a local stack's objects and items between runs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._saved_keys: dict[str, set[str]] = {}
        self._table_digests: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._user_pool: tuple[str, str] | None = None  # (region, pool id) to keep
        self._pool_digest = ""

    def reset(self) -> None:
        """Forget everything kept so far."""
        shutil.rmtree(self.root, ignore_errors=True)

    # -- restoring -----------------------------------------------------------------------
    def restore_objects(self, bucket: str) -> int:
        """Put the kept objects back into `bucket` (before it sends events). Returns how many."""
        folder = self.root / "s3" / bucket
        index = folder / "objects.jsonl"
        saved: set[str] = set()
        if index.is_file():
            s3 = aws.client("s3")
            # Versions come back under their ids only into a versioned bucket (as the stack's
            # is; a tool restoring into a bucket of its own gets the same).
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            for line in index.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                data = (folder / entry["file"]).read_bytes()
                put = s3.put_object(
                    Bucket=bucket,
                    Key=entry["key"],
                    Body=data,
                    ContentType=entry.get("content_type") or "binary/octet-stream",
                    Metadata=entry.get("metadata") or {},
                )
                version_id = entry.get("version_id")  # absent in folders kept before versions
                if version_id and put.get("VersionId") not in (None, "null", version_id):
                    _keep_version_id(bucket, entry["key"], put["VersionId"], version_id)
                saved.add(_version_name(entry["key"], version_id or put.get("VersionId")))
        self._saved_keys[bucket] = saved
        return len(saved)

    def restore_items(self, table: str) -> int:
        """Put the kept items back into `table`. Returns how many."""
        path = self.root / "dynamodb" / f"{table}.json"
        if not path.is_file():
            return 0
        raw = path.read_bytes()
        items: list[dict[str, Any]] = json.loads(raw)
        dynamodb = aws.client("dynamodb")
        for item in items:
            dynamodb.put_item(TableName=table, Item=item)
        self._table_digests[table] = hashlib.sha256(raw).hexdigest()
        return len(items)

    # The user pool lives in moto's Cognito backend, which has no export: its pool object is
    # kept whole (pickled, without the signing key, which moto loads from a file it ships).
    # Accounts then keep their `sub` across a restart, and so their uploads stay theirs.
    @property
    def _pool_file(self) -> Path:
        return self.root / "cognito" / "user-pool.pickle"

    def keep_user_pool(self, region: str, pool_id: str) -> None:
        """Save this pool with the rest from now on."""
        self._user_pool = (region, pool_id)

    def restore_user_pool(self, region: str) -> tuple[str, str] | None:
        """Put the kept pool back into moto; (pool id, app client id), or None if none kept."""
        if not self._pool_file.is_file():
            return None
        from joserfc import jwk
        from moto.cognitoidp.models import cognitoidp_backends
        from moto.utilities.utils import load_resource

        try:
            pool = pickle.loads(self._pool_file.read_bytes())
        except Exception:  # another moto version's objects: start with a fresh pool
            log.warning("the kept user pool could not be read; accounts start afresh")
            return None
        pool.json_web_key = jwk.RSAKey.import_key(
            load_resource("cognitoidp/resources/jwks-private.json")
        )
        cognitoidp_backends[ACCOUNT_ID][region].user_pools[pool.id] = pool
        self._user_pool = (region, pool.id)
        client_id = next(iter(pool.clients))
        return str(pool.id), str(client_id)

    def _save_user_pool(self) -> None:
        if self._user_pool is None:
            return
        from moto.cognitoidp.models import cognitoidp_backends

        region, pool_id = self._user_pool
        pool = cognitoidp_backends[ACCOUNT_ID][region].user_pools.get(pool_id)
        if pool is None:
            return
        kept = copy.copy(pool)
        kept.json_web_key = None  # type: ignore[assignment]  # a key object; moto ships it
        raw = pickle.dumps(kept)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != self._pool_digest:
            _write_atomically(self._pool_file, raw)
            self._pool_digest = digest

    @staticmethod
    def unfinished_uploads(table: str, bucket: str) -> list[str]:
        """Keys of kept photos whose record is missing, still ISSUED or still PROCESSING."""
        s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=contract.UPLOADS_PREFIX
        ):
            keys += [item["Key"] for item in page.get("Contents", [])]
        unfinished = []
        for key in keys:
            upload_id = records.upload_id_from_key(key)
            found = dynamodb.get_item(
                TableName=table, Key={contract.TABLE_KEY: {"S": upload_id}}
            ).get("Item")
            status = (found or {}).get("status", {}).get("S")
            if status in (None, contract.ISSUED, contract.PROCESSING):
                unfinished.append(key)
        return unfinished

    # -- saving --------------------------------------------------------------------------
    def save(self, bucket: str, tables: list[str]) -> None:
        """Write what is new since the last save."""
        with self._lock:
            self._save_objects(bucket)
            for table in tables:
                self._save_table(table)
            self._save_user_pool()

    def _save_objects(self, bucket: str) -> None:
        s3 = aws.client("s3")
        folder = self.root / "s3" / bucket
        saved = self._saved_keys.setdefault(bucket, set())
        new_lines = []
        found: list[tuple[str, str]] = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            # S3 lists each key's versions newest first; they are kept (and put back) oldest
            # first, so the newest is the current version again after a restart.
            per_key: dict[str, list[str]] = {}
            for item in page.get("Versions", []):
                per_key.setdefault(item["Key"], []).append(item["VersionId"])
            for key, versions in per_key.items():
                found += [(key, version_id) for version_id in reversed(versions)]
        # Versions deleted since the last save (a user deleted an upload) are dropped from
        # the folder too: a deleted photo must not come back at the next start.
        gone = saved - {_version_name(key, version_id) for key, version_id in found}
        if gone:
            _forget(folder, gone)
            saved -= gone
        for key, version_id in found:
            name = _version_name(key, version_id)
            if name in saved:
                continue
            versioned = {"VersionId": version_id} if version_id != "null" else {}
            got = s3.get_object(Bucket=bucket, Key=key, **versioned)
            _write_atomically(folder / name, got["Body"].read())
            new_lines.append(
                json.dumps(
                    {
                        "key": key,
                        "version_id": version_id,
                        "file": name,
                        "content_type": got.get("ContentType"),
                        "metadata": got.get("Metadata") or {},
                    }
                )
            )
            saved.add(name)
        if new_lines:
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / "objects.jsonl").open("a", encoding="utf-8") as index:
                index.write("".join(line + "\n" for line in new_lines))

    def _save_table(self, table: str) -> None:
        dynamodb = aws.client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += page.get("Items", [])
        items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        raw = json.dumps(items, sort_keys=True).encode()
        digest = hashlib.sha256(raw).hexdigest()
        if self._table_digests.get(table) != digest:
            _write_atomically(self.root / "dynamodb" / f"{table}.json", raw)
            self._table_digests[table] = digest

    # -- the background saver ------------------------------------------------------------
    def start_saving(self, bucket: str, tables: list[str]) -> None:
        """Save every SAVE_INTERVAL_S seconds until `stop_saving`."""

        def run() -> None:
            while not self._stop.wait(SAVE_INTERVAL_S):
                try:
                    self.save(bucket, tables)
                except Exception:  # a failed save is retried at the next tick
                    log.exception("could not save the local data to %s", self.root)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="platescan-save", daemon=True)
        self._thread.start()

    def stop_saving(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
