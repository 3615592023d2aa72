"""Arrow schemas of the parsed webhook tables and the status ordering.

The loader creates the ``raw_whatsapp`` tables from these schemas and dbt staging documents them, so they are
declared once here instead of being whatever a query happened to return. Every batch, even an empty one, is cast to
them.
"""

from __future__ import annotations

import pyarrow as pa

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("wa_id", pa.string()),  # the sender's WhatsApp id (``from``), i.e. their phone number
        pa.field("profile_name", pa.string()),
        pa.field("type", pa.string()),
        pa.field("text_body", pa.string()),  # text body, or the tapped button / list reply title
        pa.field("context_message_id", pa.string()),  # our message this one replies to, for campaign attribution
        pa.field("timestamp", UTC_TIMESTAMP, nullable=False),
        pa.field("phone_number_id", pa.string()),
        pa.field("display_phone_number", pa.string()),
        pa.field("waba_id", pa.string()),
        pa.field("is_opt_out", pa.bool_(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),  # the landing file it came in, e.g. 2025-05-01.jsonl
    ]
)

STATUSES_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("timestamp", UTC_TIMESTAMP, nullable=False),
        pa.field("recipient_id", pa.string()),
        pa.field("biz_opaque_callback_data", pa.string()),
        pa.field("campaign_id", pa.string()),  # parsed from biz_opaque_callback_data "campaign=...;variant=..."
        pa.field("variant", pa.string()),
        pa.field("conversation_id", pa.string()),
        pa.field("conversation_origin_type", pa.string()),
        pa.field("pricing_category", pa.string()),
        pa.field("pricing_model", pa.string()),
        pa.field("billable", pa.bool_()),
        pa.field("error_code", pa.int64()),
        pa.field("error_title", pa.string()),
        pa.field("error_details", pa.string()),
        pa.field("phone_number_id", pa.string()),
        pa.field("waba_id", pa.string()),
        pa.field("source_file", pa.string(), nullable=False),  # the landing file it came in, e.g. 2025-05-01.jsonl
    ]
)

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),  # landing file name, e.g. 2025-05-01.jsonl
        pa.field("byte_offset", pa.int64()),  # where the rejected line starts; null for a rejected single event
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),  # the line (or event) as text; invalid UTF-8 replaced
    ]
)

# A message only moves forward: sent < delivered < read. ``failed`` is terminal and wins over everything, because
# a failure after "sent" means the message will never be delivered however the events were ordered.
STATUS_RANK: dict[str, int] = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}

# Reasons a line or event is quarantined in ``__rejected``.
REJECT_INVALID_UTF8 = "invalid_utf8"
REJECT_LINE_TOO_LARGE = "line_too_large"
REJECT_INVALID_JSON = "invalid_json"  # not JSON at all, or truncated
REJECT_NOT_AN_OBJECT = "not_an_object"
REJECT_NOT_WABA = "not_whatsapp_business_account"  # "object" is not whatsapp_business_account
REJECT_MISSING_ENTRY = "missing_entry"
REJECT_UNEXPECTED_SHAPE = "unexpected_shape"  # e.g. "statuses" is an object instead of an array
REJECT_STATUS_FIELDS = "status_missing_id_status_or_timestamp"
REJECT_MESSAGE_FIELDS = "message_missing_id_or_timestamp"
