"""Python values to DynamoDB attribute values and back, for the low-level botocore client.

The Lambda functions talk to DynamoDB through botocore's client, which takes and returns
attribute values in the wire shape (`{"S": "text"}`, `{"N": "12"}`, `{"M": {...}}`), not
Python values as boto3's Table resource does (boto3 costs ~80 ms of every cold
start). This maps the types the records hold, with the same results as the resource:

| Python | DynamoDB | back |
| --- | --- | --- |
| str | S | str |
| bool | BOOL | bool (checked before int: True is an int in Python) |
| int, Decimal | N | Decimal |
| None | NULL | None |
| list, tuple | L | list |
| dict (str keys) | M | dict |
| set/frozenset of str | SS | set |
| set/frozenset of numbers | NS | set of Decimal |
| bytes, bytearray | B | bytes |

Floats are refused, as DynamoDB's numbers are decimal and a float's binary value rarely
is: `platescan.records.to_dynamo` turns them into Decimals (rounded to 6 places) first.
Numbers must fit DynamoDB's range (38 significant digits, exponent -130 to +125); an
inexact or out of range number is refused rather than rounded. Infinity and NaN too.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import (
    Clamped,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
)
from typing import Any

# DynamoDB numbers: up to 38 digits of precision, magnitudes from 1E-130 to below 1E+126.
# Any rounding or clamping raises instead of silently changing the value.
_NUMBERS = Context(
    prec=38,
    Emin=-128,
    Emax=126,
    traps=[Clamped, Overflow, Inexact, Rounded, Underflow, InvalidOperation],
)


def _number(value: int | Decimal) -> str:
    try:
        number = _NUMBERS.create_decimal(value)
    except (Clamped, Overflow, Inexact, Rounded, Underflow, InvalidOperation) as exc:
        raise TypeError(f"{value!r} does not fit a DynamoDB number") from exc
    if not number.is_finite():
        raise TypeError(f"{value!r} is not a number DynamoDB can store")
    return str(number)


def serialize(value: Any) -> dict[str, Any]:
    """One Python value -> one attribute value, e.g. `3` -> `{"N": "3"}`."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, float):
        raise TypeError(
            f"float {value!r}: DynamoDB numbers are decimal; pass a Decimal (records.to_dynamo)"
        )
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"map key {key!r}: DynamoDB map keys are strings")
        return {"M": {key: serialize(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    if isinstance(value, set | frozenset):
        return _serialize_set(value)
    raise TypeError(f"{type(value).__name__} {value!r} has no DynamoDB type")


def _serialize_set(value: set[Any] | frozenset[Any]) -> dict[str, Any]:
    if not value:
        raise TypeError("DynamoDB has no empty sets; store an empty list instead")
    if all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in value):
        return {"NS": sorted(_number(v) for v in value)}
    raise TypeError("a set must hold only strings or only numbers (int or Decimal)")


def deserialize(attribute: Mapping[str, Any]) -> Any:
    """One attribute value -> one Python value, e.g. `{"N": "3"}` -> `Decimal("3")`."""
    if len(attribute) != 1:
        raise TypeError(f"an attribute value has exactly one type, not {sorted(attribute)}")
    ((kind, raw),) = attribute.items()
    if kind == "S":
        return raw
    if kind == "N":
        return _NUMBERS.create_decimal(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {key: deserialize(item) for key, item in raw.items()}
    if kind == "L":
        return [deserialize(item) for item in raw]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_NUMBERS.create_decimal(n) for n in raw}
    if kind == "B":
        return bytes(raw)
    if kind == "BS":
        return {bytes(b) for b in raw}
    raise TypeError(f"unknown DynamoDB type {kind!r}")


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A record (or key, or expression values) -> a map of attribute values."""
    return {name: serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An item as the client returns it -> a dict of Python values."""
    return {name: deserialize(value) for name, value in item.items()}
