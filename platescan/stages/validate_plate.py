"""Validate Plate: plate formats on the detected text. No AWS call, so no boto3."""

from __future__ import annotations

import time

from platescan import contract
from platescan.contract import ValidatePlateInput, ValidatePlateOutput
from platescan.plates import read_plates
from platescan.settings import get_settings
from platescan.stages import elapsed_ms


def validate_plate(event: ValidatePlateInput) -> ValidatePlateOutput:
    """Match the detected text against plate formats; DONE with plates, or NO_PLATE."""
    started = time.perf_counter()
    hint = event["object"].get("region_hint") or get_settings().region_hint
    plates = read_plates(event["detection"]["response"], region_hint=hint)
    outcome = contract.DONE if plates else contract.NO_PLATE
    return {"status": outcome, "plates": plates, "elapsed_ms": elapsed_ms(started)}
