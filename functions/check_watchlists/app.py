"""Check Watchlists: match a written record against its owner's watchlist, alert once per entry."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan.contract import CheckWatchlistsInput, CheckWatchlistsOutput
from platescan.observability import for_handler
from platescan.stages.check_watchlists import check_watchlists

observability = for_handler()
logger, metrics = observability.logger, observability.metrics


@observability.handler
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
