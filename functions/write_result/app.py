"""Write Result: one idempotent DynamoDB write per upload and object version (also REJECTED)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import WriteRejectionInput, WriteResultInput, WriteResultOutput
from platescan.stages.write_result import write_result

logger = Logger()
# Patch botocore only: the one library this function calls out with. A bare Tracer() runs
# the X-Ray SDK's patch_all at import, which imports and patches every supported library
# it finds installed (requests, sqlite3, ...) though nothing here uses them (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(
    event: WriteResultInput | WriteRejectionInput, context: LambdaContext
) -> WriteResultOutput:
    result = write_result(event)
    logger.info("result written", upload_id=result["upload_id"], status=result["status"])
    metrics.add_metric(
        name=f"Result{result['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    return result
