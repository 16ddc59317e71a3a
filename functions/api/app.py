"""HTTP API (API Gateway HTTP API, payload v2): create uploads, read results, search plates.

Routes are thin; validation and data access live in `platescan.api`, routing, JSON and CORS
in `platescan.router` (not Powertools' event handler, whose import costs 85-100 ms of
every cold start: issue 7).
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan import api, web
from platescan.router import Cors, Request, Response, Router
from platescan.settings import get_settings

logger = Logger()
# Patch botocore only: the one library this function calls out with. A bare Tracer() runs
# the X-Ray SDK's patch_all at import, which imports and patches every supported library
# it finds installed (requests, sqlite3, ...) though nothing here uses them (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()
app = Router(
    cors=Cors(allow_origin=get_settings().site_origin, max_age=web.API_CORS.max_age_s),
    logger=logger,
)


@app.post("/uploads")
@tracer.capture_method
def create_upload(request: Request) -> Response:
    try:
        body = request.json_body()
    except ValueError:  # not JSON, not UTF-8 or not base64: the API says what to send
        body = None
    upload = api.create_upload(body)
    logger.info("upload created", upload_id=upload["upload_id"])
    return Response(status_code=201, body=upload)


@app.get("/results/{upload_id}")
@tracer.capture_method
def get_result(request: Request, upload_id: str) -> dict[str, Any]:
    return api.get_result(upload_id)


@app.get("/results")
@tracer.capture_method
def search(request: Request) -> dict[str, Any]:
    return api.search(request.query_value("plate"))


@app.exception_handler(api.ApiError)
def refuse(exc: api.ApiError) -> Response:
    return Response(status_code=exc.status, body={"message": exc.message})


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event)
