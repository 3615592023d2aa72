"""The webhook receiver: a small Starlette app that verifies Meta's POSTs and lands them durably.

It does as little as possible before answering, because Meta retries any POST that is not acknowledged quickly
with a 200: check the signature on the raw bytes, check the body is JSON, append it to the landing area (fsync'd, in
a worker thread so the event loop keeps serving), answer. Parsing and loading happen later, in ingestion.

Secrets are passed in by the caller (orchestration reads them from the environment); nothing here reads
``os.environ``. Log lines never carry a phone number in clear.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from integrations.whatsapp.landing import LandingArea
from integrations.whatsapp.masking import mask_phone
from integrations.whatsapp.signature import verify_signature

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY_BYTES = 1 << 20  # Meta's webhook bodies are a few KB; refuse anything that could exhaust memory


def create_app(
    landing: LandingArea,
    app_secret: str,
    verify_token: str,
    *,
    clock: Callable[[], datetime] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The ASGI app serving ``GET /webhook`` (subscription handshake), ``POST /webhook`` and ``GET /healthz``.

    ``clock`` decides the receipt time (and so the landing file); tests pass a fixed one.
    """
    if not app_secret or not verify_token:
        raise ValueError("app_secret and verify_token must be non-empty")
    now = clock or (lambda: datetime.now(UTC))

    async def handshake(request: Request) -> Response:
        """Meta's subscription check: echo ``hub.challenge`` only to someone who knows our verify token."""
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            return PlainTextResponse(params.get("hub.challenge", ""))
        logger.warning("whatsapp webhook handshake refused (mode=%r)", params.get("hub.mode"))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return PlainTextResponse("payload too large", status_code=413)
        raw = await _read_limited(request, max_body_bytes)
        if raw is None:
            return PlainTextResponse("payload too large", status_code=413)
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None:
            logger.warning("whatsapp webhook without %s refused", SIGNATURE_HEADER)
            return PlainTextResponse("missing signature", status_code=401)
        if not verify_signature(app_secret, raw, signature):
            logger.warning("whatsapp webhook with a bad signature refused (%d bytes)", len(raw))
            return PlainTextResponse("invalid signature", status_code=403)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return PlainTextResponse("body is not JSON", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("body is not a JSON object", status_code=400)
        try:
            path = await run_in_threadpool(landing.append, body, now())
        except ValueError:  # e.g. NaN, which Python's json accepts but JSON does not
            return PlainTextResponse("body is not JSON", status_code=400)
        except OSError:
            # Not landed, so not acknowledged: Meta keeps retrying until the disk is back.
            logger.exception("whatsapp webhook could not be landed in %s", landing.root)
            return PlainTextResponse("landing unavailable", status_code=503)
        logger.info("whatsapp webhook landed in %s: %s", path.name, _summary(body))
        return PlainTextResponse("ok")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/webhook", handshake, methods=["GET"]),
            Route("/webhook", receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The raw body, or None once it exceeds ``limit`` (a missing or lying Content-Length cannot bypass it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _summary(body: dict[str, Any]) -> str:
    """Counts for the log line, senders only as masked numbers; tolerant of any shape, since the body is landed."""
    statuses = messages = 0
    senders: list[str] = []
    for value in _change_values(body):
        found = value.get("statuses")
        statuses += len(found) if isinstance(found, list) else 0
        inbound = value.get("messages")
        for message in inbound if isinstance(inbound, list) else []:
            messages += 1
            if isinstance(message, dict):
                senders.append(mask_phone(str(message.get("from") or "")))
    text = f"{statuses} statuses, {messages} messages"
    return text + (f" from {', '.join(senders[:5])}" if senders else "")


def _change_values(body: dict[str, Any]) -> list[dict[str, Any]]:
    entries = body.get("entry")
    values: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                values.append(value)
    return values
