"""A test webhook on loopback: what the stack's API destination would call, recorded.

In AWS an alert reaches a webhook through an EventBridge API destination. Locally the same
rule delivers to this small server (see `gaps`), which keeps every call it got, prints it
on the console and answers `GET /` with the calls as JSON, so an operator can see what a
real endpoint would receive, headers included.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("platescan.local")

# The header the local connection authenticates with, as a deployed API_KEY connection does.
API_KEY_HEADER = "X-Platescan-Key"
MAX_BODY = 256 * 1024


class WebhookRecorder:
    """`with WebhookRecorder() as hook:` serves on 127.0.0.1; `hook.calls` holds what came."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.debug("webhook: " + format, *args)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, MAX_BODY))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                recorder.record(dict(self.headers.items()), body)
                self._answer(200, {"received": True})

            def do_GET(self) -> None:
                self._answer(200, {"calls": recorder.snapshot()})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def record(self, headers: dict[str, str], body: Any) -> None:
        with self._lock:
            self.calls.append({"headers": headers, "body": body})
        detail = body.get("detail", {}) if isinstance(body, dict) else {}
        log.warning(
            "webhook received %s for upload %s (entry %s)",
            body.get("detail-type") if isinstance(body, dict) else "a call",
            detail.get("upload_id"),
            (detail.get("entry") or {}).get("plate"),
        )

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.calls)

    def start(self) -> WebhookRecorder:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> WebhookRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
