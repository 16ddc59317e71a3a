"""Write Result: one idempotent DynamoDB write per upload and object version (also REJECTED)."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import WriteRejectionInput, WriteResultInput, WriteResultOutput
from platescan.observability import for_handler
from platescan.stages.write_result import write_result

observability = for_handler()
logger, metrics = observability.logger, observability.metrics


@observability.handler
def lambda_handler(
    event: WriteResultInput | WriteRejectionInput, context: LambdaContext
) -> WriteResultOutput:
    result = write_result(event)
    logger.info(
        "result written",
        upload_id=result["upload_id"],
        status=result["status"],
        alerts_raised=result["alerts_raised"],
    )
    metrics.add_metric(
        name=f"Result{result['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=result["alerts_raised"])
    return result
