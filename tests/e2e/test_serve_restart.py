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
    """One call to the local Cognito endpoint, as the site's sign-in form makes it."""
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


def _sign_in(url: str, email: str, password: str) -> dict[str, str]:
    client_id = json.loads(request(f"{url}/config.json")[1])["auth"]["client_id"]
    answer = _cognito(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": email, "PASSWORD": password},
        },
    )
    return {"Authorization": f"Bearer {answer['AuthenticationResult']['AccessToken']}"}


def _invited(url: str, email: str, password: str) -> dict[str, str]:
    """An account as `python -m platescan users add` makes one, its password chosen."""
    status, raw, _ = request(
        f"{url}/local-admin/users",
        json.dumps({"email": email}).encode(),
        {"Content-Type": "application/json"},
        "POST",
    )
    assert status == 201, raw
    client_id = json.loads(request(f"{url}/config.json")[1])["auth"]["client_id"]
    challenge = _cognito(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {
                "USERNAME": email,
                "PASSWORD": json.loads(raw)["temporary_password"],
            },
        },
    )
    _cognito(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": challenge["ChallengeName"],
            "ClientId": client_id,
            "Session": challenge["Session"],
            "ChallengeResponses": {"USERNAME": email, "NEW_PASSWORD": password},
        },
    )
    return _sign_in(url, email, password)


def test_a_record_survives_a_restart_of_make_run(tmp_path: Path) -> None:
    port, data, log = _free_port(), tmp_path / "data", tmp_path / "serve.log"
    photo = plate_photo("7ABC123")
    email, password = "driver@platescan.test", "a long enough passphrase"
    # Given a photo uploaded by a signed-in person as the site does, and processed
    with serving(port, data, log) as url:
        auth = _invited(url, email, password)
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
        # Then the same person signs in with the same password and finds their record
        auth = _sign_in(url, email, password)
        status, raw, _ = request(f"{url}/api/results/{upload['upload_id']}", headers=auth)
        # Then the record is there, unchanged, and its photo is still served
        assert status == 200, raw
        after = json.loads(raw)
        assert {k: v for k, v in after.items() if k != "image_url"} == {
            k: v for k, v in before.items() if k != "image_url"
        }
        assert request(after["image_url"])[1] == photo
