"""HTTP API (API Gateway HTTP API, payload v2): create uploads, read results, search plates.

Routes are thin; validation and data access live in `platescan.api`.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan import api
from platescan.settings import get_settings

logger = Logger()
# Patch botocore only: the one library this function calls out with. A bare Tracer() runs
# the X-Ray SDK's patch_all at import, which imports and patches every supported library
# it finds installed (requests, sqlite3, ...) though nothing here uses them (issue 7).
tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
metrics = Metrics()
cors = CORSConfig(allow_origin=get_settings().site_origin, max_age=600)
app = APIGatewayHttpResolver(cors=cors)


@app.post("/uploads")
@tracer.capture_method
def create_upload() -> Response[dict[str, Any]]:
    try:
        body = app.current_event.json_body
    except ValueError:
        body = None
    upload = api.create_upload(body)
    logger.info("upload created", upload_id=upload["upload_id"])
    return Response(status_code=201, content_type="application/json", body=upload)


@app.get("/results/<upload_id>")
@tracer.capture_method
def get_result(upload_id: str) -> dict[str, Any]:
    return api.get_result(upload_id)


@app.get("/results")
@tracer.capture_method
def search() -> dict[str, Any]:
    return api.search(app.current_event.get_query_string_value("plate"))


@app.exception_handler(api.ApiError)
def refuse(exc: api.ApiError) -> Response[dict[str, str]]:
    return Response(
        status_code=exc.status, content_type="application/json", body={"message": exc.message}
    )


@app.not_found
def not_found(exc: NotFoundError) -> Response[dict[str, str]]:
    return Response(
        status_code=404, content_type="application/json", body={"message": "no such route"}
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
