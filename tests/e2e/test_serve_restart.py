"""`make run` (python -m platescan serve --data DIR) keeps a record across a restart."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import multipart, plate_photo, request

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(port: int, data: Path, log: Path) -> Iterator[str]:
    """The service as `make run` starts it (Rekognition on moto: no OCR needed here)."""
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "platescan", "serve", "--port", str(port),
             "--engine", "rekognition", "--data", str(data)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (_up(port) and request(f"{url}/config.json")[0] == 200):
                assert process.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.3)
            yield url
        finally:
            # As a service manager stops it: SIGTERM, then the data is written on the way out.
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _up(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _cognito(url: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call of the user pool's API, as the site makes it."""
    status, raw, _ = request(
        f"{url}/local-cognito/",
        json.dumps(body).encode(),
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
        },
        "POST",
    )
    assert status == 200, raw
    return dict(json.loads(raw))


def sign_in(url: str, email: str, *, create: bool = False) -> dict[str, str]:
    """The Authorization header of `email`, signed in (and signed up first if asked)."""
    client_id = json.loads(request(f"{url}/config.json")[1])["auth"]["client_id"]
    password = "a long enough passphrase"
    if create:
        _cognito(url, "SignUp", {"ClientId": client_id, "Username": email, "Password": password})
    tokens = _cognito(
        url,
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": email, "PASSWORD": password},
        },
    )["AuthenticationResult"]
    return {"Authorization": f"Bearer {tokens['AccessToken']}"}


def test_a_record_survives_a_restart_of_make_run(tmp_path: Path) -> None:
    port, data, log = _free_port(), tmp_path / "data", tmp_path / "serve.log"
    photo = plate_photo("7ABC123")
    # Given a photo uploaded as the site does, by someone with an account, and processed
    with serving(port, data, log) as url:
        auth = sign_in(url, "keeper@example.com", create=True)
        body = {"file_name": "car.jpg", "content_type": "image/jpeg", "size": len(photo)}
        status, raw, _ = request(
            f"{url}/api/uploads",
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **auth},
        )
        assert status == 201, raw
        upload = json.loads(raw)
        form, form_type = multipart(upload["fields"], photo)
        assert request(upload["url"], form, {"Content-Type": form_type}, "POST")[0] == 204
        deadline = time.monotonic() + 60
        while True:
            status, raw, _ = request(f"{url}/api/results/{upload['upload_id']}", headers=auth)
            if status == 200 and json.loads(raw)["status"] != "PROCESSING":
                break
            assert time.monotonic() < deadline, raw
            time.sleep(0.3)
        before = json.loads(raw)
    # When the service is stopped and started again on the same folder
    with serving(port, data, log) as url:
        # Then the account is there, the same one (its uploads stay its own)
        auth = sign_in(url, "keeper@example.com")
        status, raw, _ = request(f"{url}/api/results/{upload['upload_id']}", headers=auth)
        # and the record is there, unchanged, and its photo is still served
        assert status == 200, raw
        after = json.loads(raw)
        assert {k: v for k, v in after.items() if k != "image_url"} == {
            k: v for k, v in before.items() if k != "image_url"
        }
        assert request(after["image_url"])[1] == photo
