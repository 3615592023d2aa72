"""Small builders on top of ``payloads.py`` with +Pet's defaults, shared by the WhatsApp tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integrations.whatsapp.payloads import status_webhook, text_message_webhook

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "5511999990000"
CUSTOMER = "5511987654321"
T0 = datetime(2025, 5, 12, 13, 0, tzinfo=UTC)
CALLBACK = "campaign=reativacao_2025_05;variant=B"
ENVELOPE = {"waba_id": WABA_ID, "phone_number_id": PHONE_NUMBER_ID, "display_phone_number": DISPLAY_NUMBER}


def status(message_id: str, state: str, seconds: int = 0, **kwargs: Any) -> dict[str, Any]:
    """A whole webhook body with one status event, ``seconds`` after T0."""
    defaults: dict[str, Any] = {
        "recipient_id": CUSTOMER,
        "conversation_id": "conv-" + message_id,
        "biz_opaque_callback_data": CALLBACK,
    }
    defaults.update(kwargs)
    return status_webhook(
        **ENVELOPE, message_id=message_id, status=state, timestamp=T0 + timedelta(seconds=seconds), **defaults
    )


def inbound(message_id: str, text: str, seconds: int = 0, **kwargs: Any) -> dict[str, Any]:
    """A whole webhook body with one inbound text message from CUSTOMER."""
    return text_message_webhook(
        **ENVELOPE,
        profile_name=kwargs.pop("profile_name", "Ana Souza"),
        message_id=message_id,
        wa_id=kwargs.pop("wa_id", CUSTOMER),
        body=text,
        timestamp=T0 + timedelta(seconds=seconds),
        **kwargs,
    )


def line(body: dict[str, Any]) -> bytes:
    """One landing line, exactly as the landing area writes it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def write_lines(path: Path, *items: dict[str, Any] | bytes) -> Path:
    """Write bodies (dicts) and raw byte lines (for malformed input) to a landing file."""
    with path.open("ab") as handle:
        for item in items:
            handle.write(line(item) if isinstance(item, dict) else item)
    return path
