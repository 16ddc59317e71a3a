"""DynamoDB attribute values written and read without boto3 (platescan.dynamo).

Each case is checked against the wire shape written out here, and against boto3's own
TypeSerializer/TypeDeserializer (what the Table resource did before botocore replaced it), so the
records the functions write and read are the same as they were.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from platescan import dynamo, records

# (python value, attribute value, value read back)
CASES: list[tuple[str, Any, dict[str, Any], Any]] = [
    ("string", "7ABC123", {"S": "7ABC123"}, "7ABC123"),
    ("empty string", "", {"S": ""}, ""),
    ("unicode", "ü 車", {"S": "ü 車"}, "ü 車"),
    ("int", 1280, {"N": "1280"}, Decimal(1280)),
    ("zero", 0, {"N": "0"}, Decimal(0)),
    ("negative int", -5, {"N": "-5"}, Decimal(-5)),
    ("big int", 10**37, {"N": str(10**37)}, Decimal(10**37)),
    ("decimal", Decimal("0.93"), {"N": "0.93"}, Decimal("0.93")),
    ("decimal trailing zero", Decimal("1.50"), {"N": "1.50"}, Decimal("1.50")),
    ("true", True, {"BOOL": True}, True),
    ("false", False, {"BOOL": False}, False),
    ("none", None, {"NULL": True}, None),
    ("empty list", [], {"L": []}, []),
    ("empty map", {}, {"M": {}}, {}),
    ("tuple", ("a", 1), {"L": [{"S": "a"}, {"N": "1"}]}, ["a", Decimal(1)]),
    (
        "bool and int side by side",
        [True, 1, False, 0],
        {"L": [{"BOOL": True}, {"N": "1"}, {"BOOL": False}, {"N": "0"}]},
        [True, Decimal(1), False, Decimal(0)],
    ),
    (
        "nested",
        {"box": {"left": Decimal("0.4"), "tags": ["a", {"x": None}]}, "n": [[], {}]},
        {
            "M": {
                "box": {
                    "M": {
                        "left": {"N": "0.4"},
                        "tags": {"L": [{"S": "a"}, {"M": {"x": {"NULL": True}}}]},
                    }
                },
                "n": {"L": [{"L": []}, {"M": {}}]},
            }
        },
        {"box": {"left": Decimal("0.4"), "tags": ["a", {"x": None}]}, "n": [[], {}]},
    ),
    ("string set", {"b", "a"}, {"SS": ["a", "b"]}, {"a", "b"}),
    ("number set", {2, Decimal("1.5")}, {"NS": ["1.5", "2"]}, {Decimal("1.5"), Decimal(2)}),
    ("bytes", b"\x00\xff", {"B": b"\x00\xff"}, b"\x00\xff"),
]


@pytest.mark.parametrize(
    ("python", "wire", "back"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_values_map_to_their_dynamodb_types_and_back(python: Any, wire: Any, back: Any) -> None:
    assert dynamo.serialize(python) == wire
    read = dynamo.deserialize(wire)
    assert read == back
    assert type(read) is type(back)  # True stays a bool, 1 comes back a Decimal
    assert dynamo.serialize(read) == wire  # round trip


@pytest.mark.parametrize(
    ("python", "wire", "back"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_same_as_boto3s_serializers(python: Any, wire: Any, back: Any) -> None:
    ours = dynamo.serialize(python)
    theirs = TypeSerializer().serialize(python)
    if "SS" in theirs or "NS" in theirs:  # boto3 keeps the set's order; DynamoDB ignores it
        theirs = {kind: sorted(values) for kind, values in theirs.items()}
    assert ours == theirs
    read = TypeDeserializer().deserialize(wire)
    assert (bytes(read) if isinstance(read, Binary) else read) == dynamo.deserialize(wire)


@pytest.mark.parametrize(
    ("value", "boto3_refuses"),
    [
        pytest.param(0.5, True, id="float"),
        pytest.param(Decimal("NaN"), True, id="nan"),
        pytest.param(Decimal("Infinity"), True, id="infinity"),
        pytest.param(10**38 + 1, True, id="39 digits"),
        pytest.param(Decimal("1E+200"), True, id="too large"),
        pytest.param({"a", 1}, True, id="mixed set"),
        pytest.param(object(), True, id="object"),
        # boto3 passes these on and DynamoDB (or botocore's validation) refuses them
        pytest.param(set(), False, id="empty set"),
        pytest.param({1: "x"}, False, id="non-string map key"),
    ],
)
def test_what_dynamodb_cannot_hold_is_refused(value: Any, boto3_refuses: bool) -> None:
    with pytest.raises(TypeError):
        dynamo.serialize(value)
    if boto3_refuses:
        with pytest.raises((TypeError, ArithmeticError)):  # boto3 lets decimal's errors out
            TypeSerializer().serialize(value)


@pytest.mark.parametrize("bad", [{}, {"S": "a", "N": "1"}, {"X": "?"}])
def test_malformed_attribute_values_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        dynamo.deserialize(bad)


def test_a_record_round_trips_with_floats_made_decimals_first() -> None:
    record = records.build_result(
        {"upload_id": "Abcdefghijklmnop123456", "bucket": "b", "key": "uploads/x/car.jpg",
         "width": 1280, "height": 720, "uploaded_at": "2026-01-01T00:00:00Z"},
        status=records.DONE,
        plates=[{"text": "7ABC123", "confidence": 0.9312345678, "box": {"left": 0.4},
                 "candidates": [], "valid": True}],
        engine="onnx",
        timings_ms={"detect_text": 250.5, "validate_plate": 0.0},
        execution_arn="arn:exec:1",
    )  # fmt: skip
    item = dynamo.to_item(records.to_dynamo(record))
    assert item["plates"]["L"][0]["M"]["confidence"] == {"N": "0.931235"}
    assert item["plates"]["L"][0]["M"]["valid"] == {"BOOL": True}
    assert item["plates"]["L"][0]["M"]["candidates"] == {"L": []}
    assert item["width"] == {"N": "1280"}
    assert "error" not in item  # None values are left out of a record
    back = records.from_dynamo(dynamo.from_item(item))
    assert back["plates"][0]["confidence"] == 0.931235
    assert back["width"] == 1280 and isinstance(back["width"], int)
    assert back["timings_ms"] == {"detect_text": 250.5, "validate_plate": 0}
    assert back["plates"][0]["valid"] is True
    assert back["plate_texts"] == ["7ABC123"] and back["plate_search"] == "|7ABC123|"
