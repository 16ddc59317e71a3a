"""`make run` keeps its photos and records across restarts (`serve --data DIR`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from platescan import aws
from platescan.local.runtime import LocalStack
from tests.support import detections, line, plate_photo

BUCKET = "platescan-uploads"
READING = detections(line("7ABC123", 99.0, 0.4, 0.6, 0.2, 0.08))


def _start(stack_factory: Callable[..., LocalStack], data: Path) -> LocalStack:
    return stack_factory(engine="rekognition", data_dir=str(data))


def test_a_record_and_its_photo_survive_a_restart(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    rekognition_returns(READING)
    data = tmp_path / "data"
    # Given a photo processed by a stack that keeps its data
    first = _start(stack_factory, data)
    upload_id = first.put_photo(plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg")
    record = first.wait_for(upload_id)
    assert record["status"] == "DONE"
    first.stop()
    # When the service starts again on the same folder
    second = _start(stack_factory, data)
    # Then the record is there, as it was, and nothing was processed again
    assert second.record(upload_id) == record
    assert second.executions() == []
    key = record["key"]
    kept = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert kept == plate_photo("7ABC123")


def test_a_deleted_photo_does_not_come_back_after_a_restart(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    rekognition_returns(READING)
    data = tmp_path / "data"
    # Given a processed photo that was kept, then deleted (every version, as DELETE does)
    first = _start(stack_factory, data)
    upload_id = first.put_photo(plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg")
    key = first.wait_for(upload_id)["key"]
    assert first.data is not None
    first.data.save(BUCKET, [])
    s3 = aws.client("s3")
    for version in s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]:
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])
    first.stop()
    # When the service starts again on the same folder
    second = _start(stack_factory, data)
    # Then the photo is gone for good: not in the bucket, not in the folder, not processed
    assert "Versions" not in s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    kept = (data / "s3" / BUCKET / "objects.jsonl").read_text(encoding="utf-8")
    assert key not in kept
    assert second.executions() == []


def test_every_version_of_a_photo_survives_a_restart_under_its_version_id(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    rekognition_returns(READING)
    data = tmp_path / "data"
    first_photo, second_photo = plate_photo("7ABC123"), plate_photo("8XYZ999")
    # Given a processed photo, and a second one posted under the same key (refused)
    first = _start(stack_factory, data)
    upload_id = first.put_photo(first_photo, "car.jpg", content_type="image/jpeg")
    record = first.wait_for(upload_id)
    first.put_photo(second_photo, "car.jpg", content_type="image/jpeg", upload_id=upload_id)
    deadline = time.monotonic() + 60
    while len(first.executions()) < 2 or first.executions("RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first.stop()
    # When the service starts again on the same folder
    second = _start(stack_factory, data)
    # Then the version the record names is still the photo it was read from, and the newer
    # version is still the current one
    assert second.record(upload_id) == record
    s3 = aws.client("s3")
    kept = s3.get_object(Bucket=BUCKET, Key=record["key"], VersionId=record["version_id"])
    assert kept["Body"].read() == first_photo
    assert s3.get_object(Bucket=BUCKET, Key=record["key"])["Body"].read() == second_photo
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=record["key"])["Versions"]
    assert len(versions) == 2
    assert second.executions() == []


def test_an_upload_unfinished_at_shutdown_is_processed_after_the_restart(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    rekognition_returns(READING)
    data = tmp_path / "data"
    first = _start(stack_factory, data)
    upload_id = first.put_photo(plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg")
    first.wait_for(upload_id)
    first.stop()
    # Given the kept record says PROCESSING (the service stopped mid-execution)
    table = data / "dynamodb" / "platescan-results.json"
    items = json.loads(table.read_text())
    for item in items:
        item["status"] = {"S": "PROCESSING"}
    table.write_text(json.dumps(items))
    # When the service starts again, Then the photo goes through the pipeline again
    second = _start(stack_factory, data)
    assert second.wait_for(upload_id)["status"] == "DONE"
    assert len(second.executions()) == 1


def test_without_a_data_folder_nothing_is_kept(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
) -> None:
    rekognition_returns(READING)
    first = stack_factory(engine="rekognition")
    upload_id = first.put_photo(plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg")
    first.wait_for(upload_id)
    first.stop()
    assert stack_factory(engine="rekognition").record(upload_id) is None


def test_people_sign_in_again_as_themselves_after_a_restart(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    import base64

    def sub_of(token: str) -> str:
        payload = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])

    rekognition_returns(READING)
    data = tmp_path / "data"
    # Given an account (an admin) on a stack that keeps its data
    first = _start(stack_factory, data)
    sub = first.add_user("driver@platescan.test", "a long enough passphrase", admin=True)
    first.stop()
    # When the service starts again, Then the same password signs in the same person
    second = _start(stack_factory, data)
    tokens = second.sign_in("driver@platescan.test", "a long enough passphrase")
    assert sub_of(tokens["AccessToken"]) == sub  # the owner of their records
    assert "admins" in json.loads(
        base64.urlsafe_b64decode(tokens["AccessToken"].split(".")[1] + "==")
    ).get("cognito:groups", [])
