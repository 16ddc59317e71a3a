"""The pipeline's stages as plain functions: what each Lambda handler does, minus Lambda.

Each takes the Task's input as the state machine passes it (see the ASL's `Parameters`) and
returns a small JSON-able result. They know nothing of Powertools or of the runtime they
run in, so unit tests call them directly and the handlers stay a few lines long.

One module per stage, each importing only what its stage uses, so a cold Lambda container
imports no more than its own function needs: Validate Plate no AWS client and no
Pillow, Write Result and Mark Failed no Pillow and no plate formats, and none boto3
(`platescan.aws` hands out botocore's clients). Import the stage's own module
(`from platescan.stages.write_result import write_result`); this package imports none.
"""

from __future__ import annotations

import time


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()` reading), to 0.1 ms."""
    return round((time.perf_counter() - started) * 1000, 1)
