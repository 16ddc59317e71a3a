"""The local stack's photos and records kept on disk, so `make run` survives a restart.

moto holds everything in memory and forgets it when the process ends. A `DataFolder` writes
the uploads bucket's objects and every table's items to a folder, and puts them back into a
fresh moto before the stack starts listening:

    <folder>/s3/<bucket>/objects.jsonl     one line per key: file, content type, metadata
    <folder>/s3/<bucket>/<sha256 of key>   the object's bytes
    <folder>/dynamodb/<table>.json         the table's items, in DynamoDB's JSON
    <folder>/cognito/users.json            the local user pool's users, so records stay
                                           reachable by their owners (their `sub`) and
                                           people sign in again with their own password

Objects are written once, when first seen (photos are never changed in place); tables are
rewritten whole, atomically, when their content changed. The stack saves every couple of
seconds while running and once more when it stops, so a crash loses at most the last
moments. Restored objects are put back before the bucket sends events to EventBridge, so a
restart does not process every photo again; an upload whose record was not final when the
service stopped (its execution lived in the old process) is processed again once the stack
is up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from platescan import aws, contract, records

log = logging.getLogger("platescan.local")

SAVE_INTERVAL_S = 2.0


def _moto_pool(region: str, pool_id: str) -> Any:
    """moto's own user pool object (users, their `sub` and password live there)."""
    from moto.cognitoidp.models import cognitoidp_backends

    from platescan.local.runtime import ACCOUNT_ID

    return cognitoidp_backends[ACCOUNT_ID][region].user_pools[pool_id]


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class DataFolder:
    """One folder holding a local stack's objects and items between runs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._saved_keys: dict[str, set[str]] = {}
        self._table_digests: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # (region, user pool id) of the stack's pool, once it exists.
        self.user_pool: tuple[str, str] | None = None

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
            for line in index.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                data = (folder / entry["file"]).read_bytes()
                s3.put_object(
                    Bucket=bucket,
                    Key=entry["key"],
                    Body=data,
                    ContentType=entry.get("content_type") or "binary/octet-stream",
                    Metadata=entry.get("metadata") or {},
                )
                saved.add(entry["key"])
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

    def restore_users(self, region: str, pool_id: str) -> int:
        """Put the kept users back into the (new) pool, with their `sub`, password and groups.

        Cognito lets no one choose a user's `sub`, and records are owned by it, so the users
        are put back into moto's pool object itself (the only place it can be set). Their
        passwords are kept as moto keeps them, in clear, in the data folder: this is the
        offline stand-in's data, never a deployed pool's.
        """
        self.user_pool = (region, pool_id)
        path = self.root / "cognito" / "users.json"
        if not path.is_file():
            return 0
        cognito = aws.client("cognito-idp")
        pool = _moto_pool(region, pool_id)
        users = json.loads(path.read_text(encoding="utf-8"))
        for kept in users:
            attributes = [a for a in kept["attributes"] if a["Name"] != "sub"]
            email = next((a["Value"] for a in attributes if a["Name"] == "email"), None)
            # The pool signs people in by e-mail: moto then names the user by a new `sub`.
            created = cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=email or kept["username"],
                UserAttributes=attributes,
                MessageAction="SUPPRESS",
            )["User"]["Username"]
            user = pool.users.pop(created)
            user.id = kept["sub"]
            user.username = kept["username"]
            pool.users[user.username] = user
            user.update_attributes([{"Name": "sub", "Value": kept["sub"]}])
            user.password = kept["password"]
            user.status = kept["status"]
            user.enabled = kept["enabled"]
            for group in kept["groups"]:
                cognito.admin_add_user_to_group(
                    UserPoolId=pool_id, Username=kept["username"], GroupName=group
                )
        return len(users)

    def _save_users(self) -> None:
        if self.user_pool is None:
            return
        pool = _moto_pool(*self.user_pool)
        users = [
            {
                "username": user.username,
                "sub": user.id,
                "password": user.password,
                "status": user.status,
                "enabled": user.enabled,
                "attributes": [a for a in user.attributes if a["Name"] != "sub"],
                "groups": sorted(group.group_name for group in user.groups),
            }
            for user in pool.users.values()
        ]
        raw = json.dumps(sorted(users, key=lambda u: u["username"]), sort_keys=True).encode()
        digest = hashlib.sha256(raw).hexdigest()
        if self._table_digests.get("cognito users") != digest:
            _write_atomically(self.root / "cognito" / "users.json", raw)
            self._table_digests["cognito users"] = digest

    # -- saving --------------------------------------------------------------------------
    def save(self, bucket: str, tables: list[str]) -> None:
        """Write what is new since the last save."""
        with self._lock:
            self._save_objects(bucket)
            for table in tables:
                self._save_table(table)
            self._save_users()

    def _save_objects(self, bucket: str) -> None:
        s3 = aws.client("s3")
        folder = self.root / "s3" / bucket
        saved = self._saved_keys.setdefault(bucket, set())
        new_lines = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key in saved:
                    continue
                got = s3.get_object(Bucket=bucket, Key=key)
                name = hashlib.sha256(key.encode()).hexdigest()
                _write_atomically(folder / name, got["Body"].read())
                new_lines.append(
                    json.dumps(
                        {
                            "key": key,
                            "file": name,
                            "content_type": got.get("ContentType"),
                            "metadata": got.get("Metadata") or {},
                        }
                    )
                )
                saved.add(key)
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
