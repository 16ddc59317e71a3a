"""Validate Plate: match detected lines against regional plate formats and rank the readings."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import ValidatePlateInput, ValidatePlateOutput
from platescan.observability import for_handler
from platescan.settings import get_settings
from platescan.stages.validate_plate import validate_plate

observability = for_handler(calls_aws=False)
logger, metrics = observability.logger, observability.metrics


@observability.handler
def lambda_handler(event: ValidatePlateInput, context: LambdaContext) -> ValidatePlateOutput:
    logger.append_keys(upload_id=event["object"]["upload_id"])
    result = validate_plate(event)
    facts: dict[str, Any] = {"status": result["status"], "plate_count": len(result["plates"])}
    if get_settings().log_personal_data:  # plates are personal data: only when asked for
        facts["plates"] = [p["text"] for p in result["plates"]]
    logger.info("plates validated", extra=facts)
    metrics.add_metric(name="PlatesFound", unit=MetricUnit.Count, value=len(result["plates"]))
    return result
