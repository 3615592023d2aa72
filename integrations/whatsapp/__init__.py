"""WhatsApp Cloud API: webhook receiver, durable landing area and vectorized parsing of the landed events.

Cloud API has no "list messages" endpoint; events only arrive by webhook. ``receiver`` verifies and lands each POST
body in ``landing`` (append-only JSONL per UTC day), and ingestion reads what is new since its cursor with
``stage_landing`` (``parse_landing`` gives the same as Arrow tables). The receiver app lives in
``integrations.whatsapp.receiver`` (imported on its own, so ingestion does not load Starlette). The demo world
writes landing files in the same format, so demo and production share one code path.
"""

from integrations.whatsapp.landing import Cursor, LandingArea, LandingError, LandingSlice, advance_cursor
from integrations.whatsapp.optout import is_opt_out
from integrations.whatsapp.parse import ParsedWebhooks, StagedWebhooks, latest_status, parse_landing, stage_landing
from integrations.whatsapp.schemas import MESSAGES_SCHEMA, REJECTED_SCHEMA, STATUS_RANK, STATUSES_SCHEMA
from integrations.whatsapp.signature import sign, verify_signature

__all__ = [
    "MESSAGES_SCHEMA",
    "REJECTED_SCHEMA",
    "STATUSES_SCHEMA",
    "STATUS_RANK",
    "Cursor",
    "LandingArea",
    "LandingError",
    "LandingSlice",
    "ParsedWebhooks",
    "StagedWebhooks",
    "advance_cursor",
    "is_opt_out",
    "latest_status",
    "parse_landing",
    "sign",
    "stage_landing",
    "verify_signature",
]
