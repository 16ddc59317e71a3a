"""HTTP API (API Gateway HTTP API, payload v2): uploads, results, search, the caller's data.

Routes are thin: each takes the caller from the claims API Gateway's JWT authorizer
verified, and hands over to `platescan.api`. Powertools' resolver routes, serialises and
answers CORS; its OpenAPI schema describes the routes (the local service serves it with
Swagger UI under /api/).
"""

from typing import Any

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from platescan import api, watch_api, web
from platescan.auth import Caller, caller_from_event
from platescan.errors import RequestRefused
from platescan.observability import for_handler
from platescan.settings import get_settings

observability = for_handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
logger, tracer, metrics = observability.logger, observability.tracer, observability.metrics
app = APIGatewayHttpResolver(
    cors=CORSConfig(allow_origin=get_settings().site_origin, max_age=web.API_CORS.max_age_s),
)


def caller() -> Caller:
    """The verified caller. API Gateway refuses unauthenticated requests before they get
    here; refusing again costs nothing and keeps a misconfigured route closed."""
    found = caller_from_event(app.current_event.raw_event)
    if found is None:
        raise api.ApiError(401, "sign in first: this request carries no valid token")
    return found


def _json(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/uploads", summary="Ask for a presigned POST for one photo")
@tracer.capture_method
def create_upload() -> Response[Any]:
    who = caller()
    try:
        body = app.current_event.json_body
    except ValueError:  # not JSON, not UTF-8 or not base64: the API says what to send
        body = None
    upload = api.create_upload(body, who)
    logger.info("upload created", upload_id=upload["upload_id"])
    return _json(201, upload)


@app.get("/results/<upload_id>", summary="One upload's record and a link to its photo")
@tracer.capture_method
def get_result(upload_id: str) -> dict[str, Any]:
    return api.get_result(upload_id, caller())


@app.delete("/results/<upload_id>", summary="Delete one upload: its photo and its record")
@tracer.capture_method
def delete_result(upload_id: str) -> Response[Any]:
    api.delete_result(upload_id, caller())
    return Response(status_code=204, content_type=None, body="")


@app.get("/results", summary="Search your records by plate (exact, or * and ? wildcards)")
@tracer.capture_method
def search(plate: str | None = None) -> dict[str, Any]:
    # Query parameters are declared in the signature for the OpenAPI schema; without
    # Powertools' validation (which imports pydantic: a cost on every cold start) the
    # resolver passes path parameters only, so the value is read from the event.
    return api.search(app.current_event.get_query_string_value("plate"), caller())


@app.get("/me/export", summary="Everything held about your uploads (JSON, or CSV)")
@tracer.capture_method
def export(format: str | None = None) -> Response[Any]:
    who = caller()
    wanted = app.current_event.get_query_string_value("format") or "json"
    if wanted == "csv":
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=api.export_csv(who),
            headers={"Content-Disposition": 'attachment; filename="platescan-export.csv"'},
        )
    if wanted != "json":
        raise api.ApiError(400, "format must be json or csv")
    return _json(200, api.export(who))


@app.delete("/me", summary="Delete all your uploads: photos and records")
@tracer.capture_method
def delete_me() -> dict[str, Any]:
    return api.delete_me(caller())


# -- watchlist, alerts, review -----------------------------------------------------------


def _body() -> Any:
    try:
        return app.current_event.json_body
    except ValueError:  # not JSON: the route says what to send
        return None


@app.get("/watchlist", summary="Your watchlist entries")
@tracer.capture_method
def list_watchlist() -> dict[str, Any]:
    return watch_api.list_entries(caller().sub)


@app.post(
    "/watchlist",
    summary="Add an entry (plate, label, note, mode); the same plate and mode replaces it",
)
@tracer.capture_method
def add_watchlist_entry() -> Response[Any]:
    return _json(201, watch_api.add_entry(caller().sub, _body()))


@app.delete("/watchlist/<entry_id>", summary="Remove one entry")
@tracer.capture_method
def delete_watchlist_entry(entry_id: str) -> Response[Any]:
    watch_api.delete_entry(caller().sub, entry_id)
    return Response(status_code=204, content_type=None, body="")


@app.get("/watchlist/export", summary="Your watchlist as CSV (plate, label, note, mode)")
@tracer.capture_method
def export_watchlist() -> Response[Any]:
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=watch_api.export_csv(caller().sub),
        headers={"Content-Disposition": 'attachment; filename="platescan-watchlist.csv"'},
    )


@app.post("/watchlist/import", summary="Add every row of a CSV; one bad row keeps them all out")
@tracer.capture_method
def import_watchlist() -> dict[str, Any]:
    who = caller()
    try:
        text = app.current_event.decoded_body
    except ValueError:  # not UTF-8, or not base64 where API Gateway said it was
        text = None
    return watch_api.import_csv(who.sub, text)


@app.get("/alerts", summary="Your alerts, newest first, each with a link to its photo")
@tracer.capture_method
def list_alerts() -> dict[str, Any]:
    return watch_api.list_alerts(caller().sub)


@app.get("/review", summary="Your readings that need a person's look, newest first")
@tracer.capture_method
def list_review() -> dict[str, Any]:
    return watch_api.list_review(caller().sub)


@app.post(
    "/results/<upload_id>/correction", summary="Correct a reading; the watchlist is checked again"
)
@tracer.capture_method
def correct_reading(upload_id: str) -> dict[str, Any]:
    return watch_api.correct(caller().sub, upload_id, _body())


@app.exception_handler(RequestRefused)
def refuse(exc: RequestRefused) -> Response[Any]:
    return _json(exc.status, {"message": exc.message})


@app.not_found
def no_route(exc: Exception) -> Response[Any]:
    return _json(404, {"message": "no such route"})


@app.exception_handler(Exception)
def internal_error(exc: Exception) -> Response[Any]:
    # No stack trace, nor the exception's text, goes to the client; the log keeps both.
    # Answered here (not left to fail the invocation) so the answer carries CORS headers
    # and the site can read it.
    event = app.current_event
    logger.exception(f"unhandled error in {event.http_method} {event.path}")
    return _json(500, {"message": "internal error"})


@observability.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
