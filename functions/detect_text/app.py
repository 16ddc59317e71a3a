"""Detect Text: Rekognition DetectText or the offline ONNX engine, chosen by DETECTOR_ENGINE.

Both answer in DetectText's response shape. Throttling raises DetectorThrottled, which the
state machine retries with backoff.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import DetectTextInput, DetectTextOutput
from platescan.stages.detect_text import detect_text

logger = Logger()
# Patch botocore only (S3 or Rekognition): a bare Tracer() imports and patches every library
# the X-Ray SDK supports that happens to be installed (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: DetectTextInput, context: LambdaContext) -> DetectTextOutput:
    logger.append_keys(upload_id=event["object"]["upload_id"])
    result = detect_text(event)
    lines = sum(1 for d in result["response"]["TextDetections"] if d["Type"] == "LINE")
    logger.info("text detected", engine=result["engine"], lines=lines)
    metrics.add_metric(
        name="DetectTextMilliseconds", unit=MetricUnit.Milliseconds, value=result["elapsed_ms"]
    )
    return result
