"""Validate Plate: match detected lines against regional plate formats and rank the readings."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import ValidatePlateInput, ValidatePlateOutput
from platescan.settings import get_settings
from platescan.stages.validate_plate import validate_plate

logger = Logger()
# Nothing to patch: this function calls out to nothing (no AWS API, no HTTP). The handler's
# subsegment, its annotations and metadata are recorded as with a bare Tracer() (issue 7).
tracer = Tracer(auto_patch=False)
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: ValidatePlateInput, context: LambdaContext) -> ValidatePlateOutput:
    logger.append_keys(upload_id=event["object"]["upload_id"])
    result = validate_plate(event)
    facts: dict[str, Any] = {"status": result["status"], "plate_count": len(result["plates"])}
    if get_settings().log_personal_data:  # plates are personal data: only when asked for
        facts["plates"] = [p["text"] for p in result["plates"]]
    logger.info("plates validated", extra=facts)
    metrics.add_metric(name="PlatesFound", unit=MetricUnit.Count, value=len(result["plates"]))
    return result
