"""The payload builders keep to the shapes of Meta's documented webhook examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.whatsapp.payloads import status_event, text_message, unix_seconds, webhook_body
from tests.integrations.whatsapp.factories import ENVELOPE, T0, inbound, status


def test_envelope() -> None:
    body = status("wamid.A", "sent")
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["messaging_product"] == "whatsapp"
    assert set(change["value"]["metadata"]) == {"display_phone_number", "phone_number_id"}


def test_sent_status_has_conversation_and_pricing() -> None:
    event = status_event(
        message_id="wamid.A", status="sent", timestamp=T0, recipient_id="5511987654321", conversation_id="c1"
    )
    assert set(event) == {"id", "status", "timestamp", "recipient_id", "conversation", "pricing"}
    assert event["timestamp"] == str(int(T0.timestamp()))
    assert event["conversation"]["origin"] == {"type": "marketing"}
    assert int(event["conversation"]["expiration_timestamp"]) == int(T0.timestamp()) + 86_400
    assert event["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "marketing"}


def test_read_status_is_bare() -> None:
    event = status_event(message_id="wamid.A", status="read", timestamp=T0, recipient_id="1", conversation_id="c1")
    assert set(event) == {"id", "status", "timestamp", "recipient_id"}


def test_failed_status_has_errors_array() -> None:
    event = status_event(message_id="wamid.A", status="failed", timestamp=T0, recipient_id="1", error_code=131047)
    [error] = event["errors"]
    assert set(error) == {"code", "title", "message", "error_data", "href"}
    assert error["code"] == 131047
    assert set(error["error_data"]) == {"details"}


def test_inbound_text_message() -> None:
    value = inbound("wamid.M", "Oi")["entry"][0]["changes"][0]["value"]
    [contact] = value["contacts"]
    [message] = value["messages"]
    assert contact["wa_id"] == message["from"]
    assert set(message) == {"from", "id", "timestamp", "type", "text"}
    assert message["type"] == "text" and message["text"] == {"body": "Oi"}
    replied = text_message(message_id="m", wa_id="1", body="x", timestamp=T0, context_message_id="wamid.C")
    assert replied["context"]["id"] == "wamid.C"


def test_empty_lists_are_omitted() -> None:
    assert set(webhook_body(**ENVELOPE)["entry"][0]["changes"][0]["value"]) == {"messaging_product", "metadata"}


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        unix_seconds(datetime(2025, 5, 12, 13))
    assert unix_seconds(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)) == "60"
