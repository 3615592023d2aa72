"""Builders for the webhook bodies WhatsApp Cloud API POSTs to us.

The shapes follow Meta's documented examples ("messages" webhook reference: incoming text messages and status
messages). Tests and the demo world build their events here so that the demo landing files are byte-for-byte the
same kind of data production receives, and the parser has a single code path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

JsonDict = dict[str, Any]

ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def unix_seconds(moment: datetime) -> str:
    """Meta sends timestamps as a string of unix seconds; keep that quirk so parsing is tested against it."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return str(int(moment.timestamp()))


def webhook_body(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    statuses: list[JsonDict] | None = None,
    messages: list[JsonDict] | None = None,
    contacts: list[JsonDict] | None = None,
) -> JsonDict:
    """Wrap events in the envelope every ``messages`` webhook POST has (object -> entry -> changes -> value)."""
    value: JsonDict = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
    }
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def status_event(
    *,
    message_id: str,
    status: str,
    timestamp: datetime,
    recipient_id: str,
    conversation_id: str | None = None,
    origin_type: str = "marketing",
    pricing_category: str = "marketing",
    biz_opaque_callback_data: str | None = None,
    error_code: int | None = None,
    error_title: str | None = None,
    error_message: str | None = None,
    error_details: str | None = None,
) -> JsonDict:
    """One element of ``value.statuses``.

    ``sent`` and ``delivered`` carry conversation and pricing; ``read`` usually does not; ``failed`` carries an
    ``errors`` array instead, which is what the builder emits when ``status == "failed"``.
    """
    event: JsonDict = {
        "id": message_id,
        "status": status,
        "timestamp": unix_seconds(timestamp),
        "recipient_id": recipient_id,
    }
    if biz_opaque_callback_data is not None:
        event["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status in ("sent", "delivered") and conversation_id is not None:
        conversation: JsonDict = {"id": conversation_id, "origin": {"type": origin_type}}
        if status == "sent":
            # The conversation (24-hour window) opened by this message expires a day after it was sent.
            conversation["expiration_timestamp"] = str(int(timestamp.timestamp()) + 24 * 3600)
        event["conversation"] = conversation
        event["pricing"] = {"billable": True, "pricing_model": "CBP", "category": pricing_category}
    if status == "failed":
        code = 131026 if error_code is None else error_code
        title = error_title or "Message undeliverable"
        event["errors"] = [
            {
                "code": code,
                "title": title,
                "message": error_message or title,
                "error_data": {"details": error_details or title},
                "href": ERROR_CODES_URL,
            }
        ]
    return event


def text_message(
    *,
    message_id: str,
    wa_id: str,
    body: str,
    timestamp: datetime,
    context_message_id: str | None = None,
    context_from: str | None = None,
) -> JsonDict:
    """One element of ``value.messages`` for an inbound text; ``context`` is set when the user replied to ours.

    ``context_from`` is the business display number the replied-to message came from, as Meta sends it.
    """
    message: JsonDict = {
        "from": wa_id,
        "id": message_id,
        "timestamp": unix_seconds(timestamp),
        "type": "text",
        "text": {"body": body},
    }
    if context_message_id is not None:
        message["context"] = {"from": context_from, "id": context_message_id}
    return message


def contact(*, wa_id: str, profile_name: str) -> JsonDict:
    """One element of ``value.contacts``: who sent the inbound messages in the same change."""
    return {"profile": {"name": profile_name}, "wa_id": wa_id}


def status_webhook(*, waba_id: str, phone_number_id: str, display_phone_number: str, **status_kwargs: Any) -> JsonDict:
    """A whole POST body carrying one status event, the common case in production."""
    return webhook_body(
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        statuses=[status_event(**status_kwargs)],
    )


def text_message_webhook(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    profile_name: str,
    **message_kwargs: Any,
) -> JsonDict:
    """A whole POST body carrying one inbound text message and its sender's contact card."""
    message = text_message(**message_kwargs)
    return webhook_body(
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        contacts=[contact(wa_id=message["from"], profile_name=profile_name)],
        messages=[message],
    )
