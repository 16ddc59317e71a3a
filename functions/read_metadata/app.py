"""Read Metadata: HeadObject plus a look at the bytes (JPEG/PNG, size, pixels).

Raises UnsupportedImage for input the pipeline cannot read; the state machine writes it
as REJECTED with the reason.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import ReadMetadataInput, ReadMetadataOutput
from platescan.stages.read_metadata import read_metadata

logger = Logger()
# Patch botocore only: the one library this function calls out with. A bare Tracer() runs
# the X-Ray SDK's patch_all at import, which imports and patches every supported library
# it finds installed (requests, sqlite3, ...) though nothing here uses them (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: ReadMetadataInput, context: LambdaContext) -> ReadMetadataOutput:
    logger.append_keys(key=event["detail"]["object"]["key"])
    result = read_metadata(event)
    obj = result["object"]
    logger.info("object read", width=obj["width"], height=obj["height"], size=obj["size"])
    metrics.add_metric(name="PhotosRead", unit=MetricUnit.Count, value=1)
    return result
