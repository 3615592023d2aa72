"""The consent ledger and the suppression list it implies (LGPD art. 7 I, art. 8; METRICS.md "WhatsApp and consent").

``consent.ledger`` holds one row per consent event — who (channel and address), opted in or out, where it
came from, why, when — keyed by ``event_id``, so recording the same event again (a replayed webhook, a
re-run sync) changes nothing and the ledger is the proof of what was known when.

An address is *suppressed* on a channel when its latest event (by ``recorded_at``) is ``opted_out``; an
opt-out and an opt-in at the same instant count as an opt-out. The outbox asks :meth:`ConsentLedger.is_suppressed`
right before every WhatsApp and e-mail send, so an opt-out recorded after a campaign was queued still
stops the message.

Inbound WhatsApp replies feed the ledger through :meth:`ConsentLedger.sync_whatsapp_inbound`: every reply
that is exactly an opt-out keyword (SAIR, PARAR, STOP, … — :func:`integrations.whatsapp.optout.is_opt_out`)
becomes an ``opted_out`` event. Replies never opt anyone *in*: METRICS.md defines no opt-in keyword and a
consent must be provable and purpose-specific, so an opt-in comes from a source that records one (the CRM
form, a double opt-in flow) through :meth:`ConsentLedger.record`.

Addresses are normalised before they are stored or compared: WhatsApp ids to their digits, e-mail
addresses trimmed and lower-cased.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from integrations.whatsapp.masking import mask_phone
from integrations.whatsapp.optout import MAX_OPT_OUT_LENGTH, is_opt_out, normalize_reply
from orchestration.outbound._sql import ensure_table, sql, timestamptz, utc, utcnow
from orchestration.warehouse import Warehouse

logger = logging.getLogger(__name__)

CONSENT_SCHEMA = "consent"
LEDGER_TABLE = "ledger"
INBOUND_SOURCE = "whatsapp_inbound"
#: How far before the cursor each inbound sync looks again. The cursor is the newest message time seen, but
#: a message can reach ``raw_whatsapp.messages`` after newer ones (Meta retries a webhook for days; the
#: loader runs on its own schedule); recording is idempotent, so looking again costs nothing.
INBOUND_LOOKBACK = dt.timedelta(days=7)

LEDGER_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("channel", pa.string()),
        ("address", pa.string()),
        ("status", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("inserted_at", pa.timestamp("us", tz="UTC")),
    ]
)

ConsentStatus = Literal["opted_in", "opted_out"]


@dataclass(frozen=True)
class ConsentEvent:
    channel: str  # "whatsapp", "email"
    address: str  # wa_id (phone digits) or e-mail address
    status: ConsentStatus
    source: str  # where it came from: "whatsapp_inbound", "hubspot", "support", …
    reason: str  # e.g. "reply 'SAIR' (wamid.…)"
    recorded_at: dt.datetime  # when the person gave or withdrew consent (aware; naive is read as UTC)
    event_id: str  # stable id: the same event recorded twice is stored once


def normalize_address(channel: str, address: str) -> str:
    """The form addresses are stored and compared in: phone digits for WhatsApp, lower case for e-mail."""
    if channel == "whatsapp":
        return "".join(ch for ch in address if ch.isdigit())
    if channel == "email":
        return address.strip().lower()
    return address.strip()


class ConsentLedger:
    """``consent.ledger`` on the warehouse: record consent events, answer "may we message this address?"."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._exists = False

    # -- writing ---------------------------------------------------------------------------------

    def record(self, events: Sequence[ConsentEvent]) -> int:
        """Store the events not stored yet (by ``event_id``); returns how many were new."""
        with self.warehouse.session():
            return self._record(events)

    def _record(self, events: Sequence[ConsentEvent]) -> int:
        self._ensure_table()
        if not events:
            return 0
        now = utcnow()
        rows: dict[str, dict[str, object]] = {}
        for event in events:
            if event.status not in ("opted_in", "opted_out"):
                raise ValueError(f"consent event {event.event_id!r}: status must be opted_in or opted_out")
            address = normalize_address(event.channel, event.address)
            if not address:
                raise ValueError(f"consent event {event.event_id!r} has no address")
            rows.setdefault(
                event.event_id,  # the first of a repeated id wins, as it would across calls
                {
                    "event_id": event.event_id,
                    "channel": event.channel,
                    "address": address,
                    "status": event.status,
                    "source": event.source,
                    "reason": event.reason,
                    "recorded_at": utc(event.recorded_at),
                    "inserted_at": now,
                },
            )
        table = pa.Table.from_pylist(list(rows.values()), schema=LEDGER_SCHEMA)
        result = self.warehouse.merge(
            CONSENT_SCHEMA, LEDGER_TABLE, table, ["event_id"], keep_existing=True, unique_keys=True
        )
        return result.inserted

    def sync_whatsapp_inbound(self, *, after: str | None = None) -> tuple[int, str | None]:
        """Record an ``opted_out`` event for every opt-out reply in ``raw_whatsapp.messages`` received after ``after``.

        ``raw_whatsapp.messages`` holds inbound messages only (what customers sent us; our own sends come back
        as statuses). ``after`` is the cursor a previous call returned (an ISO 8601 UTC time, the newest
        message time seen), or None for everything. Messages up to :data:`INBOUND_LOOKBACK` before the
        cursor are read again, to catch late arrivals; the ledger's event ids (``whatsapp_inbound:<message
        id>``) make that free. Returns (opt-outs new to the ledger, the new cursor); with no messages at
        all the cursor stays ``after``.
        """
        with self.warehouse.session():
            return self._sync_whatsapp_inbound(after=after)

    def _sync_whatsapp_inbound(self, *, after: str | None = None) -> tuple[int, str | None]:
        if not self.warehouse.table_exists("raw_whatsapp", "messages"):
            return 0, after
        cursor = utc(after) if after else None
        where, params = "", ()
        if cursor is not None:
            where, params = 'and "timestamp" > ?', (cursor - INBOUND_LOOKBACK,)
        candidates = self.warehouse.query(
            sql(
                self.warehouse,
                'select message_id, wa_id, text_body, "timestamp" from raw_whatsapp.messages '
                f"where wa_id is not null and text_body is not null and length(text_body) <= {MAX_OPT_OUT_LENGTH} "
                f"{where}",
            ),
            params,
        )
        events = [
            ConsentEvent(
                channel="whatsapp",
                address=wa_id,
                status="opted_out",
                source=INBOUND_SOURCE,
                reason=f"reply {normalize_reply(text)!r} ({message_id})",
                recorded_at=utc(received_at),  # type: ignore[arg-type]
                event_id=f"{INBOUND_SOURCE}:{message_id}",
            )
            for message_id, wa_id, text, received_at in candidates
            if is_opt_out(text) and normalize_address("whatsapp", wa_id)
        ]
        new = self.record(events)
        newest_sql = 'select max("timestamp") from raw_whatsapp.messages'
        newest = utc(
            self.warehouse.query(sql(self.warehouse, f'{newest_sql} where "timestamp" > ?'), (cursor,))[0][0]
            if cursor is not None
            else self.warehouse.query(newest_sql)[0][0]
        )
        if newest is not None and (cursor is None or newest > cursor):
            cursor = newest
        if new:
            logger.info(
                "consent: %d new WhatsApp opt-out(s) from inbound replies (%s)",
                new,
                ", ".join(mask_phone(e.address) for e in events[:5]) + (", …" if len(events) > 5 else ""),
            )
        return new, cursor.isoformat(timespec="microseconds") if cursor is not None else None

    # -- reading ---------------------------------------------------------------------------------

    def inbound_cursor(self) -> str | None:
        """The newest inbound opt-out already in the ledger (ISO UTC), a cursor for :meth:`sync_whatsapp_inbound`
        when the caller keeps none of its own (``send_campaign``): it re-reads only what came after, plus the
        late-arrival window."""
        if not self._table_exists():
            return None
        rows = self.warehouse.query(
            sql(self.warehouse, f"select max(recorded_at) from {CONSENT_SCHEMA}.{LEDGER_TABLE} where source = ?"),
            (INBOUND_SOURCE,),
        )
        newest = utc(rows[0][0]) if rows and rows[0][0] is not None else None
        return newest.isoformat() if newest is not None else None

    def is_suppressed(self, channel: str, address: str) -> bool:
        """True when the latest consent event of ``address`` on ``channel`` is ``opted_out``."""
        if not self._table_exists():
            return False
        rows = self.warehouse.query(
            sql(
                self.warehouse,
                f"select status from {CONSENT_SCHEMA}.{LEDGER_TABLE} where channel = ? and address = ? "
                "order by recorded_at desc, case when status = 'opted_out' then 0 else 1 end limit 1",
            ),
            (channel, normalize_address(channel, address)),
        )
        return bool(rows) and rows[0][0] == "opted_out"

    def suppressed(self, channel: str) -> set[str]:
        """Every address (normalised) whose latest event on ``channel`` is ``opted_out``: the suppression list."""
        if not self._table_exists():
            return set()
        rows = self.warehouse.query(
            sql(
                self.warehouse,
                "select address from ("
                "select address, status, row_number() over (partition by address "
                "order by recorded_at desc, case when status = 'opted_out' then 0 else 1 end) as n "
                f"from {CONSENT_SCHEMA}.{LEDGER_TABLE} where channel = ?) latest "
                "where n = 1 and status = 'opted_out'",
            ),
            (channel,),
        )
        return {r[0] for r in rows}

    # -- table -----------------------------------------------------------------------------------

    def _table_exists(self) -> bool:
        if not self._exists:  # tables are never dropped: once seen, no need to ask again before every send
            self._exists = self.warehouse.table_exists(CONSENT_SCHEMA, LEDGER_TABLE)
        return self._exists

    def _ensure_table(self) -> None:
        if self._exists:
            return
        ts = timestamptz(self.warehouse)
        ensure_table(
            self.warehouse,
            CONSENT_SCHEMA,
            LEDGER_TABLE,
            [
                f"create schema if not exists {CONSENT_SCHEMA}",
                f"create table if not exists {CONSENT_SCHEMA}.{LEDGER_TABLE} ("
                "event_id varchar primary key, channel varchar not null, address varchar not null, "
                "status varchar not null, source varchar, reason varchar, "
                f"recorded_at {ts} not null, inserted_at {ts})",
                f"create index if not exists consent_ledger_address on {CONSENT_SCHEMA}.{LEDGER_TABLE} "
                "(channel, address)",
            ],
        )
        self._exists = True


__all__ = [
    "CONSENT_SCHEMA",
    "INBOUND_LOOKBACK",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentStatus",
    "normalize_address",
]
