"""`cro webhook serve` as a real process: handshake, signed POST lands, unsigned POST refused, clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from integrations.whatsapp import sign
from orchestration.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_receiver_process_lands_signed_bodies_only(tmp_path: Path) -> None:
    port = free_port()
    landing = tmp_path / "landing"
    env = os.environ | {
        "WHATSAPP_APP_SECRET": "app-secret-for-tests",
        "WHATSAPP_VERIFY_TOKEN": "verify-me",
        "CRO_WHATSAPP_LANDING_DIR": str(landing),
    }
    cro = Path(sys.executable).with_name("cro")
    process = subprocess.Popen(
        [str(cro), "webhook", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "receiver did not start"
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)

        params = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
        assert httpx.get(f"{base}/webhook", params=params).text == "1158201444"
        assert httpx.get(f"{base}/webhook", params=params | {"hub.verify_token": "wrong"}).status_code == 403

        body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
        signed = httpx.post(
            f"{base}/webhook", content=body, headers={"X-Hub-Signature-256": sign("app-secret-for-tests", body)}
        )
        assert signed.status_code == 200
        forged = httpx.post(f"{base}/webhook", content=body, headers={"X-Hub-Signature-256": sign("guess", body)})
        assert forged.status_code == 403
        lines = [line for f in landing.glob("*.jsonl") for line in f.read_text().splitlines()]
        assert len(lines) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) is not None


def test_receiver_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATSAPP_")}
    cro = Path(sys.executable).with_name("cro")
    result = subprocess.run(
        [str(cro), "webhook", "serve"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "WHATSAPP_APP_SECRET is not set" in result.stderr
