"""Mark Failed: on a Step Functions execution status change (FAILED, TIMED_OUT, ABORTED),
mark the upload's record FAILED with the error and the execution ARN.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.stages.mark_failed import mark_failed

logger = Logger()
# Patch botocore only: the one library this function calls out with. A bare Tracer() runs
# the X-Ray SDK's patch_all at import, which imports and patches every supported library
# it finds installed (requests, sqlite3, ...) though nothing here uses them (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = mark_failed(event)
    logger.warning(
        "execution did not succeed",
        status=event["detail"].get("status"),
        execution_arn=event["detail"].get("executionArn"),
        **result,
    )
    if result["marked"]:
        metrics.add_metric(name="UploadsFailed", unit=MetricUnit.Count, value=1)
    return result
