"""The outbox (``outbox.messages``): every outbound message once per idempotency key, with its per-row log.

Jobs *enqueue* the messages they decided to send (new keys only: a key already stored is left alone,
whatever its status), then *deliver* them through a channel's :class:`~integrations.outbound.Sender`.
A job retried, restarted or launched twice enqueues the same keys, finds them done, and sends nothing.

Exactly once — or, when a process dies at the worst moment, at most once
-----------------------------------------------------------------------

:meth:`Outbox.deliver` takes the rows of a source in status ``pending`` or ``failed_retryable``, in key
order, and for each one:

1. WhatsApp and e-mail: asks the consent ledger *now* (:meth:`ConsentLedger.is_suppressed`); a suppressed
   address becomes ``suppressed`` and never reaches the sender;
2. claims the row — ``pending|failed_retryable → sending`` in one conditional UPDATE, committed before
   anything else happens; a row another process claimed first is skipped;
3. calls ``sender.send``;
4. records what the sender said (``sent`` / ``dry_run`` / ``failed_permanent`` / ``failed_retryable``,
   provider id, error, attempts, times). Results are written in small batches (every
   :attr:`Outbox.RESULT_BATCH_ROWS` rows or :attr:`Outbox.RESULT_BATCH_SECONDS`, and whenever deliver ends
   or fails): a row is never written as sent before its sender returned, and until its result is written
   it stays ``sending``, which no deliver ever sends again.

So a row in ``sending`` when a deliver starts was handed to a sender by a process that died before its
result was written: the message may or may not have left. Deliver marks it ``unknown`` and never sends
it again by itself (sending it again could message a customer twice, and the WhatsApp Cloud API has no
idempotency key to stop that). ``unknown`` rows are counted in every :class:`DeliveryReport` of their source
until a person checks the provider (WhatsApp Manager, the SMTP logs) and settles each with
:meth:`Outbox.resolve`: ``sent``, ``failed_permanent``, or ``pending`` to send it again. Only rows that
really were handed to a sender can end up ``unknown``: the claim is written per row, right before its send.
The same happens when ``sender.send`` raises (a programming error): that row becomes ``unknown`` and the
exception propagates.

Dry run: a sender with ``dry_run`` returns ``dry_run`` and the ``rendered`` text, and the outbox appends it
to ``files_dir/<channel>/<YYYY-MM-DD>.md`` (one section per message: key, masked recipient, text) and to
the ``.jsonl`` beside it (São Paulo date). ``dry_run`` is final like ``sent``: the demo and the tests run the
very code path production runs, and a dry-run warehouse is never the one that sends for real.

Recipients are stored as they are (the outbox needs them to send) and, in ``recipient_masked``, masked for
people; logs and the readable files only ever show the masked form.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import pyarrow as pa

from integrations.outbound import OutboundMessage, Sender, SendResult
from orchestration.outbound._sql import ensure_table, sql, timestamptz, utc, utcnow
from orchestration.outbound.consent import ConsentLedger
from orchestration.outbound.masking import mask_recipient, mask_text
from orchestration.warehouse import Warehouse

logger = logging.getLogger(__name__)

OUTBOX_SCHEMA = "outbox"
MESSAGES_TABLE = "messages"
TABLE = f"{OUTBOX_SCHEMA}.{MESSAGES_TABLE}"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")

Status = Literal[
    "pending", "sending", "sent", "dry_run", "suppressed", "failed_permanent", "failed_retryable", "unknown"
]
#: Rows a deliver picks up.
TO_SEND = ("pending", "failed_retryable")
#: Rows that are finished: a deliver never touches them again.
DONE = ("sent", "dry_run", "suppressed", "failed_permanent")
#: Channels whose recipients are people: consent is checked before each send.
CONSENT_CHANNELS = ("whatsapp", "email")
RESULT_STATUSES = ("sent", "dry_run", "failed_permanent", "failed_retryable")

ROW_SCHEMA = pa.schema(
    [
        ("idempotency_key", pa.string()),
        ("source", pa.string()),
        ("channel", pa.string()),
        ("recipient", pa.string()),
        ("recipient_masked", pa.string()),
        ("contact_id", pa.string()),
        ("variant", pa.string()),
        ("payload_json", pa.string()),
        ("status", pa.string()),
        ("provider_id", pa.string()),
        ("error", pa.string()),
        ("attempts", pa.int64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)
COLUMNS = ROW_SCHEMA.names
TIMESTAMPS = ("created_at", "updated_at", "sent_at")


@dataclass
class DeliveryReport:
    """What one :meth:`Outbox.deliver` did with the rows of its source (on the sender's channel).

    ``sent`` … ``failed_retryable``: rows this call handled, by outcome. ``unknown``: rows of the source
    whose outcome nobody knows, found now or earlier and not resolved yet (see the module doc).
    ``already_done``: rows finished before this call (or by a concurrent one), left alone. ``remaining``:
    rows still to send that ``limit`` left for a later call.
    """

    sent: int = 0
    dry_run: int = 0
    suppressed: int = 0
    failed_permanent: int = 0
    failed_retryable: int = 0
    unknown: int = 0
    already_done: int = 0
    duration_s: float = 0.0
    remaining: int = 0


class Outbox:
    """``outbox.messages`` on the warehouse, and the delivery loop over it."""

    #: Results are written after this many rows, or this many seconds after the oldest unwritten one.
    RESULT_BATCH_ROWS = 200
    RESULT_BATCH_SECONDS = 1.0

    def __init__(self, warehouse: Warehouse, *, files_dir: Path | None = None) -> None:
        """``files_dir``: where the readable dry-run files go (the jobs pass ``data/outbox``); None writes none."""
        self.warehouse = warehouse
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self._exists = False

    # -- enqueue ---------------------------------------------------------------------------------

    def enqueue(self, messages: Sequence[OutboundMessage], *, source: str, run_id: str) -> int:
        """Store the messages whose key is new, as ``pending``; returns how many were new.

        A key already in the outbox is left exactly as it is, whatever its status or source. ``contact_id``
        and ``variant`` are taken from the payload keys of those names when present. The same key twice in
        ``messages`` is refused unless both are the same message.
        """
        with self.warehouse.session():
            return self._enqueue(messages, source=source, run_id=run_id)

    def _enqueue(self, messages: Sequence[OutboundMessage], *, source: str, run_id: str) -> int:
        self._ensure_table()
        if not messages:
            return 0
        now = utcnow()
        rows: dict[str, dict[str, Any]] = {}
        for message in messages:
            payload_json = json.dumps(message.payload, ensure_ascii=False, sort_keys=True, default=str)
            row = {
                "idempotency_key": message.idempotency_key,
                "source": source,
                "channel": message.channel,
                "recipient": message.recipient,
                "recipient_masked": mask_recipient(message.channel, message.recipient),
                "contact_id": _text(message.payload.get("contact_id")),
                "variant": _text(message.payload.get("variant")),
                "payload_json": payload_json,
                "status": "pending",
                "provider_id": None,
                "error": None,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "sent_at": None,
                "run_id": run_id,
            }
            seen = rows.get(message.idempotency_key)
            if seen is not None and (seen["channel"], seen["recipient"], seen["payload_json"]) != (
                row["channel"],
                row["recipient"],
                row["payload_json"],
            ):
                raise ValueError(f"two different messages share the idempotency key {message.idempotency_key!r}")
            rows.setdefault(message.idempotency_key, row)
        table = pa.Table.from_pylist(list(rows.values()), schema=ROW_SCHEMA)
        new = self.warehouse.merge(
            OUTBOX_SCHEMA, MESSAGES_TABLE, table, ["idempotency_key"], keep_existing=True, unique_keys=True
        ).inserted
        logger.info("outbox: %s: %d message(s), %d new", source, len(rows), new)
        return new

    # -- deliver ---------------------------------------------------------------------------------

    def deliver(
        self,
        sender: Sender,
        *,
        source: str,
        run_id: str,
        consent: ConsentLedger | None = None,
        limit: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> DeliveryReport:
        """Send the rows of ``source`` on ``sender.channel`` still to send (at most ``limit``), each at most once.

        See the module doc for the order of things. ``consent`` None skips the consent check (channels whose
        recipients are not people: Slack, Notion, HubSpot). ``progress(done, total)`` is called after each row.
        """
        started = time.perf_counter()
        report = DeliveryReport()
        channel = sender.channel
        with self.warehouse.session():
            self._ensure_table()
            stuck = self.warehouse.execute(
                sql(
                    self.warehouse,
                    f"update {TABLE} set status = 'unknown', updated_at = ?, error = 'interrupted after it was "
                    "handed to the sender and before its result was recorded (run ' || coalesce(run_id, 'unknown') "
                    "|| '): check the provider, then resolve it' "
                    "where source = ? and channel = ? and status = 'sending'",
                ),
                (utcnow(), source, channel),
            )
            if stuck:
                logger.warning(
                    "outbox: %s: %d message(s) were being sent when a previous run died; marked unknown, "
                    "not sent again: check the provider and resolve them",
                    source,
                    stuck,
                )
            counts = dict(
                self.warehouse.query(
                    sql(
                        self.warehouse,
                        f"select status, count(*) from {TABLE} where source = ? and channel = ? group by status",
                    ),
                    (source, channel),
                )
            )
            report.already_done = sum(int(counts.get(s, 0)) for s in DONE)
            report.unknown = int(counts.get("unknown", 0))
            eligible = sum(int(counts.get(s, 0)) for s in TO_SEND)
            todo = self._select(
                f"where source = ? and channel = ? and status in ('pending', 'failed_retryable') "
                f"order by idempotency_key{' limit ?' if limit is not None else ''}",
                (source, channel, *((max(limit, 0),) if limit is not None else ())),
            )
            report.remaining = eligible - len(todo)
            with _Files(self.files_dir) as files:
                self._deliver(sender, todo, report, consent=consent, run_id=run_id, files=files, progress=progress)
        report.duration_s = round(time.perf_counter() - started, 3)
        logger.info("outbox: %s on %s: %s", source, channel, report)
        return report

    def _deliver(
        self,
        sender: Sender,
        todo: list[dict[str, Any]],
        report: DeliveryReport,
        *,
        consent: ConsentLedger | None,
        run_id: str,
        files: _Files,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        pending_results: list[dict[str, Any]] = []
        oldest = 0.0
        # A sender with ``send_batch`` and ``batch_size`` > 1 (HubSpot's batch update) gets up to that many claimed
        # rows at once; any other sender gets each row right after its claim, so a crash leaves one row in flight.
        size = max(1, int(getattr(sender, "batch_size", 1))) if hasattr(sender, "send_batch") else 1
        claimed: list[tuple[dict[str, Any], OutboundMessage]] = []

        def flush() -> None:
            files.flush()  # the readable dry-run files first: a row written dry_run has its section on disk
            if pending_results:
                table = pa.Table.from_pylist(pending_results, schema=ROW_SCHEMA)
                self.warehouse.merge(OUTBOX_SCHEMA, MESSAGES_TABLE, table, ["idempotency_key"], unique_keys=True)
                pending_results.clear()

        def send_claimed() -> None:
            nonlocal oldest
            if not claimed:
                return
            messages = [message for _, message in claimed]
            try:
                results = sender.send_batch(messages) if size > 1 else [sender.send(messages[0])]  # type: ignore[attr-defined]
                if len(results) != len(messages):
                    raise ValueError(f"{type(sender).__name__} returned {len(results)} results for {len(messages)}")
                for result in results:
                    if result.status not in RESULT_STATUSES:
                        raise ValueError(f"{type(sender).__name__}.send returned status {result.status!r}")
            except BaseException as exc:
                flush()
                for row, _ in claimed:
                    self._set(
                        row["idempotency_key"],
                        "unknown",
                        run_id,
                        error=f"the sender raised {type(exc).__name__}: {exc}",
                    )
                    report.unknown += 1
                    logger.error(
                        "outbox: %s to %s: the sender raised; marked unknown",
                        row["idempotency_key"],
                        row["recipient_masked"],
                    )
                claimed.clear()
                raise
            for (row, _), result in zip(claimed, results, strict=True):
                if result.status == "dry_run":
                    files.write(row, result, run_id)
                pending_results.append(_recorded(row, result, run_id))
                setattr(report, result.status, getattr(report, result.status) + 1)
                _log_result(row["idempotency_key"], row["recipient_masked"], result)
                if len(pending_results) == 1:
                    oldest = time.monotonic()
            claimed.clear()
            if len(pending_results) >= self.RESULT_BATCH_ROWS or time.monotonic() - oldest >= self.RESULT_BATCH_SECONDS:
                flush()

        try:
            for done, row in enumerate(todo, start=1):
                key, channel, masked = row["idempotency_key"], row["channel"], row["recipient_masked"]
                if (
                    consent is not None
                    and channel in CONSENT_CHANNELS
                    and consent.is_suppressed(channel, row["recipient"])
                ):
                    if self._set(key, "suppressed", run_id, error="opted out (consent ledger) before the send"):
                        report.suppressed += 1
                        logger.info("outbox: %s suppressed: %s opted out", key, masked)
                    else:
                        report.already_done += 1
                elif not self._claim(key, run_id):
                    report.already_done += 1  # another deliver took it since we read it
                else:
                    message = OutboundMessage(
                        idempotency_key=key,
                        channel=channel,
                        recipient=row["recipient"],
                        payload=json.loads(row["payload_json"]),
                    )
                    claimed.append((row, message))
                    if len(claimed) >= size:
                        send_claimed()
                if progress is not None:
                    progress(done, len(todo))
            send_claimed()
        finally:
            flush()  # on the way out, also after an error: what the senders said is true and must not be lost

    # -- reading and settling --------------------------------------------------------------------

    def rows(self, *, source: str | None = None) -> list[dict[str, Any]]:
        """The outbox rows (of ``source``, or all), in key order, timestamps in UTC."""
        with self.warehouse.session():
            return self._rows(source=source)

    def _rows(self, *, source: str | None = None) -> list[dict[str, Any]]:
        if not self._table_exists():
            return []
        if source is None:
            return self._select("order by idempotency_key", ())
        return self._select("where source = ? order by idempotency_key", (source,))

    def resolve(
        self, idempotency_key: str, *, status: Literal["sent", "failed_permanent", "pending"], note: str, run_id: str
    ) -> bool:
        """Settle an ``unknown`` row once a person checked the provider; False when the row is not ``unknown``.

        ``sent``: it arrived; ``failed_permanent``: it did not and must not be retried; ``pending``: it did
        not arrive, send it with the next deliver.
        """
        if status not in ("sent", "failed_permanent", "pending"):
            raise ValueError(f"an unknown message resolves to sent, failed_permanent or pending, not {status!r}")
        return bool(
            self.warehouse.execute(
                sql(
                    self.warehouse,
                    f"update {TABLE} set status = ?, error = ?, updated_at = ?, run_id = ? "
                    "where idempotency_key = ? and status = 'unknown'",
                ),
                (status, f"resolved by a person: {note}", utcnow(), run_id, idempotency_key),
            )
        )

    # -- internals -------------------------------------------------------------------------------

    def _claim(self, key: str, run_id: str) -> bool:
        """``pending|failed_retryable → sending``, committed; False when the row is not to send any more."""
        return bool(
            self.warehouse.execute(
                sql(
                    self.warehouse,
                    f"update {TABLE} set status = 'sending', run_id = ?, updated_at = current_timestamp "
                    "where idempotency_key = ? and status in ('pending', 'failed_retryable')",
                ),
                (run_id, key),
            )
        )

    def _set(self, key: str, status: Status, run_id: str, *, error: str) -> bool:
        """Suppress a row still to send, or mark the row being sent unknown."""
        allowed = "('sending')" if status == "unknown" else "('pending', 'failed_retryable')"
        return bool(
            self.warehouse.execute(
                sql(
                    self.warehouse,
                    f"update {TABLE} set status = ?, error = ?, run_id = ?, updated_at = ? "
                    f"where idempotency_key = ? and status in {allowed}",
                ),
                (status, error, run_id, utcnow(), key),
            )
        )

    def _select(self, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        columns = ", ".join(COLUMNS)
        found = self.warehouse.query(sql(self.warehouse, f"select {columns} from {TABLE} {where}"), params)
        rows = []
        for values in found:
            row = dict(zip(COLUMNS, values, strict=True))
            for name in TIMESTAMPS:
                row[name] = utc(row[name])
            row["attempts"] = int(row["attempts"] or 0)
            rows.append(row)
        return rows

    def _table_exists(self) -> bool:
        if not self._exists:
            self._exists = self.warehouse.table_exists(OUTBOX_SCHEMA, MESSAGES_TABLE)
        return self._exists

    def _ensure_table(self) -> None:
        if self._exists:
            return
        ts = timestamptz(self.warehouse)
        ddl = [
            f"create schema if not exists {OUTBOX_SCHEMA}",
            f"create table if not exists {TABLE} ("
            "idempotency_key varchar primary key, source varchar not null, channel varchar not null, "
            "recipient varchar, recipient_masked varchar, contact_id varchar, variant varchar, "
            "payload_json varchar, status varchar not null, provider_id varchar, error varchar, "
            f"attempts bigint, created_at {ts}, updated_at {ts}, sent_at {ts}, run_id varchar)",
        ]
        if self.warehouse.kind == "postgres":
            # DuckDB finds a source's rows by scanning (zone maps), and an index on ``status`` would turn every
            # claim there into a delete and insert of the index entry: a third slower per message
            ddl.append(f"create index if not exists outbox_messages_source on {TABLE} (source, status)")
        ensure_table(self.warehouse, OUTBOX_SCHEMA, MESSAGES_TABLE, ddl)
        self._exists = True


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _recorded(row: dict[str, Any], result: SendResult, run_id: str) -> dict[str, Any]:
    """The row as it is once ``result`` came back."""
    now = utcnow()
    return {
        **row,
        "status": result.status,
        "provider_id": result.provider_id,
        "error": result.error,
        "attempts": int(row["attempts"] or 0) + max(int(result.attempts), 0),
        "updated_at": now,
        "sent_at": now if result.status == "sent" else row["sent_at"],
        "run_id": run_id,
    }


def _log_result(key: str, masked: str, result: SendResult) -> None:
    if result.status in ("sent", "dry_run"):
        logger.debug("outbox: %s to %s: %s %s", key, masked, result.status, result.provider_id or "")
    else:
        logger.warning("outbox: %s to %s: %s: %s", key, masked, result.status, mask_text(result.error))


class _Files:
    """The readable dry-run files, ``<dir>/<channel>/<YYYY-MM-DD>.md`` and ``.jsonl``, opened once per deliver."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._open: dict[Path, IO[str]] = {}

    def __enter__(self) -> _Files:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def _handle(self, path: Path, header: str | None) -> IO[str]:
        handle = self._open.get(path)
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists() or path.stat().st_size == 0
            handle = path.open("a", encoding="utf-8")
            if fresh and header:
                handle.write(header)
            self._open[path] = handle
        return handle

    def write(self, row: dict[str, Any], result: SendResult, run_id: str) -> None:
        if self.directory is None:
            return
        now = dt.datetime.now(SAO_PAULO)
        channel, key = row["channel"], row["idempotency_key"]
        stem = self.directory / channel / now.date().isoformat()
        rendered = result.rendered if result.rendered is not None else row["payload_json"]
        md = self._handle(
            stem.with_suffix(".md"),
            f"# Outbox — {channel} — {now.date().isoformat()} (dry run: nothing left the machine)\n\n",
        )
        md.write(
            f"## {key}\n\n"
            f"- to: {row['recipient_masked']}\n"
            f"- source: {row['source']}\n"
            + (f"- variant: {row['variant']}\n" if row.get("variant") else "")
            + f"- run: {run_id}\n"
            f"- at: {now.isoformat(timespec='seconds')}\n\n"
            f"{rendered.rstrip()}\n\n"
        )
        jsonl = self._handle(stem.with_suffix(".jsonl"), None)
        entry = {
            "idempotency_key": key,
            "source": row["source"],
            "channel": channel,
            "to": row["recipient_masked"],
            "variant": row.get("variant"),
            "run_id": run_id,
            "at": now.isoformat(),
            "rendered": rendered,
        }
        jsonl.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        for handle in self._open.values():
            handle.flush()


__all__ = ["OUTBOX_SCHEMA", "DeliveryReport", "Outbox", "Status"]
