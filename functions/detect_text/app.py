"""Detect Text: Rekognition DetectText or the offline ONNX engine, chosen by DETECTOR_ENGINE.

Both answer in DetectText's response shape. Throttling raises DetectorThrottled, which the
state machine retries with backoff.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import DetectTextInput, DetectTextOutput
from platescan.observability import for_handler
from platescan.stages.detect_text import detect_text

observability = for_handler()
logger, metrics = observability.logger, observability.metrics


@observability.handler
def lambda_handler(event: DetectTextInput, context: LambdaContext) -> DetectTextOutput:
    logger.append_keys(upload_id=event["object"]["upload_id"])
    result = detect_text(event)
    lines = sum(1 for d in result["response"]["TextDetections"] if d["Type"] == "LINE")
    logger.info("text detected", engine=result["engine"], lines=lines)
    metrics.add_metric(
        name="DetectTextMilliseconds", unit=MetricUnit.Milliseconds, value=result["elapsed_ms"]
    )
    return result
