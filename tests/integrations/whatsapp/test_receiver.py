"""The webhook receiver: handshake, signature checks, and durable landing before the 200."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from integrations.whatsapp.landing import LandingArea
from integrations.whatsapp.parse import parse_landing
from integrations.whatsapp.receiver import create_app
from integrations.whatsapp.signature import sign
from tests.integrations.whatsapp.factories import CUSTOMER, T0, inbound, status

SECRET = "test-app-secret"
TOKEN = "test-verify-token"


@pytest.fixture
def landing(tmp_path: Path) -> LandingArea:
    return LandingArea(tmp_path / "landing")


@pytest.fixture
def client(landing: LandingArea) -> Iterator[TestClient]:
    app = create_app(landing, app_secret=SECRET, verify_token=TOKEN, clock=lambda: T0)
    with TestClient(app) as test_client:
        yield test_client


def _landed_lines(landing: LandingArea) -> list[bytes]:
    return [raw for path in landing.files() for raw in path.read_bytes().splitlines()]


def _post(client: TestClient, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhook", content=body, headers=headers)


def test_handshake_echoes_the_challenge(client: TestClient) -> None:
    response = client.get(
        "/webhook", params={"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_refuses_wrong_token_or_mode(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/webhook", params=params)
    assert response.status_code == 403
    assert "1" not in response.text


def test_signed_post_lands_one_line(client: TestClient, landing: LandingArea) -> None:
    body = json.dumps(status("wamid.A", "delivered"), indent=2).encode()  # pretty-printed, as some proxies do
    response = _post(client, body, sign(SECRET, body))
    assert response.status_code == 200
    lines = _landed_lines(landing)
    assert len(lines) == 1
    assert json.loads(lines[0]) == json.loads(body)
    assert landing.files()[0].name == "2025-05-12.jsonl"


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        (None, 401),
        ("sha256=" + "0" * 64, 403),
        ("garbage", 403),
        ("wrong-secret", 403),
    ],
)
def test_unsigned_or_badly_signed_posts_land_nothing(
    client: TestClient, landing: LandingArea, signature: str | None, expected: int
) -> None:
    body = json.dumps(status("wamid.A", "sent")).encode()
    if signature == "wrong-secret":
        signature = sign("not-our-secret", body)
    response = _post(client, body, signature)
    assert response.status_code == expected
    assert _landed_lines(landing) == []


def test_signature_is_checked_on_the_exact_bytes(client: TestClient, landing: LandingArea) -> None:
    body = json.dumps(status("wamid.A", "sent")).encode()
    response = _post(client, body + b" ", sign(SECRET, body))
    assert response.status_code == 403
    assert _landed_lines(landing) == []


@pytest.mark.parametrize("body", [b"not json", b'{"a":', b"[1, 2]", b'{"a": NaN}'])
def test_signed_non_json_is_a_400_and_lands_nothing(client: TestClient, landing: LandingArea, body: bytes) -> None:
    response = _post(client, body, sign(SECRET, body))
    assert response.status_code == 400
    assert _landed_lines(landing) == []


def test_oversized_body_is_refused(landing: LandingArea) -> None:
    app = create_app(landing, app_secret=SECRET, verify_token=TOKEN, max_body_bytes=1000)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [], "pad": "x" * 2000}).encode()
    with TestClient(app) as client:
        assert _post(client, body, sign(SECRET, body)).status_code == 413
    assert _landed_lines(landing) == []


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200


def test_phone_numbers_are_not_logged_in_clear(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps(inbound("wamid.M", "Parar")).encode()
    with caplog.at_level(logging.DEBUG, logger="integrations.whatsapp"):
        assert _post(client, body, sign(SECRET, body)).status_code == 200
    assert "1 messages" in caplog.text
    assert CUSTOMER not in caplog.text


def test_secrets_are_required(landing: LandingArea) -> None:
    with pytest.raises(ValueError):
        create_app(landing, app_secret="", verify_token=TOKEN)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_real_uvicorn_server_lands_what_it_acknowledges(landing: LandingArea) -> None:
    app = create_app(landing, app_secret=SECRET, verify_token=TOKEN)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert thread.is_alive(), "uvicorn exited during start-up"
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        bodies = [json.dumps(status(f"wamid.{i}", "sent")).encode() for i in range(20)]
        with httpx.Client(base_url=base, timeout=5) as http:
            assert http.get("/healthz").status_code == 200
            challenge = http.get(
                "/webhook", params={"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "42"}
            )
            assert (challenge.status_code, challenge.text) == (200, "42")
            for body in bodies:
                response = http.post("/webhook", content=body, headers={"X-Hub-Signature-256": sign(SECRET, body)})
                assert response.status_code == 200
            assert http.post("/webhook", content=bodies[0]).status_code == 401
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
    parsed = parse_landing(landing.files())
    assert parsed.statuses.num_rows == 20
    assert parsed.rejected.num_rows == 0


def test_a_body_that_cannot_be_landed_is_not_acknowledged(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the landing folder should be")
    app = create_app(LandingArea(blocked), app_secret=SECRET, verify_token=TOKEN, clock=lambda: T0)
    body = json.dumps(status("wamid.A", "sent")).encode()
    with TestClient(app) as client:
        assert _post(client, body, sign(SECRET, body)).status_code == 503
