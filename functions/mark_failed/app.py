"""Mark Failed: on a Step Functions execution status change (FAILED, TIMED_OUT, ABORTED),
mark the upload's record FAILED with the error and the execution ARN.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.observability import for_handler
from platescan.stages.mark_failed import mark_failed

observability = for_handler()
logger, metrics = observability.logger, observability.metrics


@observability.handler
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
