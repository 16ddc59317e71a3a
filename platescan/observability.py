"""The Lambda handlers' logs, traces and metrics, set up one way for every function.

Powertools' `Logger`, `Tracer` and `Metrics`, configured from the environment Lambda gives
each function (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`,
`POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_TRACE_DISABLED`: infra/function.py sets them),
and one decorator that wraps a handler in all three.

The Tracer patches botocore alone, the one library the functions call out with. A bare
`Tracer()` runs the X-Ray SDK's `patch_all` at import, which imports and patches every library
it supports that happens to be installed (requests, sqlite3, ...), which costs cold-start time
for nothing. A function that calls out to nothing (Validate Plate) patches nothing, so it
does not import botocore's client at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Observability:
    logger: Logger
    tracer: Tracer
    metrics: Metrics
    # Where the event carries a request id to log with every line (the API's), if anywhere.
    correlation_id_path: str | None = None

    def handler(self, handler: Handler) -> Handler:
        """The handler with its Lambda context in every log line (cleared between
        invocations), its invocation traced, and its metrics flushed when it returns."""
        wrapped = self.logger.inject_lambda_context(
            correlation_id_path=self.correlation_id_path, clear_state=True
        )(self.tracer.capture_lambda_handler(self.metrics.log_metrics(handler)))
        return cast(Handler, wrapped)


def for_handler(*, calls_aws: bool = True, correlation_id_path: str | None = None) -> Observability:
    """A function's Logger, Tracer and Metrics; `calls_aws=False` for one that calls nothing."""
    tracer = (
        Tracer(auto_patch=True, patch_modules=["botocore"])
        if calls_aws
        else Tracer(auto_patch=False)
    )
    return Observability(
        logger=Logger(), tracer=tracer, metrics=Metrics(), correlation_id_path=correlation_id_path
    )
