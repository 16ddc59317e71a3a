"""Read Metadata: HeadObject plus a look at the bytes (JPEG/PNG, size, pixels).

Raises UnsupportedImage for input the pipeline cannot read; the state machine writes it
as REJECTED with the reason.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan import records
from platescan.contract import ReadMetadataInput, ReadMetadataOutput
from platescan.observability import for_handler
from platescan.stages.read_metadata import read_metadata

observability = for_handler()
logger, metrics = observability.logger, observability.metrics


@observability.handler
def lambda_handler(event: ReadMetadataInput, context: LambdaContext) -> ReadMetadataOutput:
    # the upload's id, not its key: an operator's key may carry a file name (personal data)
    logger.append_keys(upload_id=records.upload_id_from_key(event["detail"]["object"]["key"]))
    result = read_metadata(event)
    obj = result["object"]
    logger.info("object read", width=obj["width"], height=obj["height"], size=obj["size"])
    metrics.add_metric(name="PhotosRead", unit=MetricUnit.Count, value=1)
    return result
