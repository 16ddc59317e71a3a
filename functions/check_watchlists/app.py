"""Check Watchlists: match a written record against its owner's watchlist, alert once per entry."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import CheckWatchlistsInput, CheckWatchlistsOutput
from platescan.stages.check_watchlists import check_watchlists

logger = Logger()
# Patch botocore only: the one library this function calls out with.
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: CheckWatchlistsInput, context: LambdaContext) -> CheckWatchlistsOutput:
    result = check_watchlists(event)
    # Ids and counts only: plates are personal data and stay out of the logs.
    logger.info(
        "watchlists checked",
        upload_id=result["upload_id"],
        matched=result["matched"],
        raised=result["raised"],
    )
    metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=result["raised"])
    return result
