"""`python -m platescan export-labels OUT`: corrected photos as a labelled benchmark set.

People's corrections are ground truth the reader can be measured on. This writes each
corrected photo with its plate in the layout `bench` reads (the OpenALPR benchmark's):
`NAME.jpg` (or `.png`) and `NAME.txt` holding one tab-separated line
`NAME.jpg  x  y  width  height  PLATE`, the box in pixels of the upright photo. NAME is the
upload id. A correction of a photo where the reader found no plate has no box, and the
benchmark needs one: such photos are counted and left out.

On AWS it reads the results table and the uploads bucket with the caller's credentials (an
operator's tool): with `--owner`, one person's records through the owner index; without,
every corrected record, by a scan of the table filtered on the correction. For the local
service, `--data` reads the folder `make run` keeps its photos and records in (`.data`),
loaded into an in-process moto of its own: the running service is not touched.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platescan import aws, contract, dynamo, records

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass
class Exported:
    written: int = 0
    without_box: int = 0
    missing_photo: int = 0


def corrected_records(table: str, owner: str | None = None) -> Iterator[dict[str, Any]]:
    """Records that carry a correction: one owner's (queried) or everyone's (scanned)."""
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "attribute_exists(#correction)",
        "ExpressionAttributeNames": {"#correction": "correction"},
    }
    call = client.scan
    if owner:
        call = client.query
        kwargs.update(
            IndexName=contract.OWNER_INDEX,
            KeyConditionExpression="#owner = :owner",
            ExpressionAttributeValues=dynamo.to_item({":owner": owner}),
        )
        kwargs["ExpressionAttributeNames"]["#owner"] = "owner"
    while True:
        page = call(**kwargs)
        for item in page.get("Items", []):
            yield records.from_dynamo(dynamo.from_item(item))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def label_line(name: str, record: dict[str, Any]) -> str | None:
    """The benchmark's label line for a corrected record; None if its plate has no box."""
    correction = record["correction"]
    index = int(correction.get("plate_index", 0))
    plates = record.get("plates") or []
    box = plates[index].get("box") if index < len(plates) else None
    width, height = int(record.get("width") or 0), int(record.get("height") or 0)
    if not box or not width or not height:
        return None
    x, y = round(box["left"] * width), round(box["top"] * height)
    w, h = round(box["width"] * width), round(box["height"] * height)
    return "\t".join([name, str(x), str(y), str(w), str(h), correction["text"]])


def export(out: Path, table: str, owner: str | None = None) -> Exported:
    """Write every corrected photo and its label into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    s3 = aws.client("s3")
    done = Exported()
    for record in corrected_records(table, owner):
        name = record["upload_id"] + EXTENSIONS.get(str(record.get("content_type")), ".jpg")
        line = label_line(name, record)
        if line is None:
            done.without_box += 1
            continue
        version = {"VersionId": record["version_id"]} if record.get("version_id") else {}
        try:
            photo = s3.get_object(Bucket=record["bucket"], Key=record["key"], **version)
        except s3.exceptions.ClientError:
            done.missing_photo += 1  # expired under the bucket's lifecycle rule, or deleted
            continue
        (out / name).write_bytes(photo["Body"].read())
        (out / name).with_suffix(".txt").write_text(line + "\n", encoding="utf-8")
        done.written += 1
    return done


def export_local(out: Path, data: Path, owner: str | None = None) -> Exported:
    """`export` on what the local service keeps in `data` (its `--data` folder)."""
    from moto import mock_aws

    from platescan.local.runtime import LocalConfig
    from platescan.local.store import DataFolder

    if not (data / "dynamodb").is_dir():
        raise FileNotFoundError(f"{data} holds no records of the local service (make run --data)")
    config = LocalConfig()
    with mock_aws():
        aws.reset()
        try:
            aws.client("dynamodb").create_table(**contract.create_table_request(config.table))
            aws.client("s3").create_bucket(Bucket=config.bucket)
            folder = DataFolder(data)
            folder.restore_items(config.table)
            folder.restore_objects(config.bucket)
            return export(out, config.table, owner)
        finally:
            aws.reset()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[1].replace("\n", " ")
    parser.add_argument("out", type=Path, help="folder to write NAME.jpg + NAME.txt into")
    parser.add_argument(
        "--table",
        default=os.environ.get("RESULTS_TABLE"),
        help="results table (default: $RESULTS_TABLE; `pulumi stack output results_table`)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="read the local service's data folder instead of AWS (make run keeps it in .data)",
    )
    parser.add_argument("--owner", help="only this user's corrections (their Cognito sub)")


def main(args: argparse.Namespace) -> int:
    if not args.table and not args.data:
        print("error: give --table (or set RESULTS_TABLE), or --data for the local service",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        if args.data:
            done = export_local(args.out, args.data, args.owner)
        else:
            done = export(args.out, args.table, args.owner)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"{done.written} corrected photos written to {args.out}; "
        f"{done.without_box} left out without a plate box, "
        f"{done.missing_photo} whose photo is gone"
    )
    return 0
