"""Fixtures of the outbound tests: a warehouse (DuckDB and PostgreSQL), fake channels, mart and raw tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

from integrations.outbound import Channel, OutboundMessage, SendResult
from integrations.whatsapp.schemas import MESSAGES_SCHEMA
from orchestration.warehouse import Warehouse


@pytest.fixture
def warehouse(warehouse_url: str) -> Warehouse:
    return Warehouse(warehouse_url)


@dataclass
class RecordingSender:
    """A channel that records every message it is handed; ``outcome(message)`` decides the result."""

    channel: Channel = "whatsapp"
    dry_run: bool = False
    outcome: Callable[[OutboundMessage], SendResult] | None = None
    sent: list[OutboundMessage] = field(default_factory=list)

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        if self.outcome is not None:
            return self.outcome(message)
        if self.dry_run:
            return SendResult(status="dry_run", rendered=f"Oi {message.payload.get('name', 'cliente')}!")
        return SendResult(status="sent", provider_id=f"wamid.{message.idempotency_key}")

    @property
    def keys(self) -> list[str]:
        return [m.idempotency_key for m in self.sent]


def whatsapp_messages(n: int, *, prefix: str = "t") -> list[OutboundMessage]:
    return [
        OutboundMessage(
            idempotency_key=f"{prefix}:{i:05d}:whatsapp",
            channel="whatsapp",
            recipient=f"55119{i:08d}",
            payload={"template": "reativacao_v1_a", "name": f"Cliente {i}", "contact_id": str(i), "variant": "A"},
        )
        for i in range(n)
    ]


def statuses(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {r["idempotency_key"]: r["status"] for r in rows}


UTC = dt.UTC


def inbound(message_id: str, wa_id: str, text: str | None, at: dt.datetime) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "wa_id": wa_id,
        "profile_name": "Cliente",
        "type": "text",
        "text_body": text,
        "context_message_id": None,
        "timestamp": at,
        "phone_number_id": "123456",
        "display_phone_number": "5511900000000",
        "waba_id": "waba",
        "is_opt_out": False,  # deliberately wrong: the sync decides from the text itself
        "source_file": f"{at:%Y-%m-%d}.jsonl",
    }


def load_inbound(warehouse: Warehouse, rows: list[dict[str, Any]]) -> None:
    """Messages into ``raw_whatsapp.messages`` as the WhatsApp loader stores them (insert-only on message_id)."""
    table = pa.Table.from_pylist(rows, schema=MESSAGES_SCHEMA)
    warehouse.merge("raw_whatsapp", "messages", table, ["message_id"], keep_existing=True)
