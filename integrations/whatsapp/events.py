"""Turn the ``bodies`` table (see ``reader.py``) into status and inbound-message rows, plus per-event rejects.

``bodies.entry`` is unnested entry -> changes -> value.statuses / value.messages. Each event is JSON text, parsed
once by ``json_transform`` into the fields below and kept verbatim as ``raw``. An event without its id, status or a
usable timestamp cannot be merged on its key, so it is quarantined instead of loaded. Within a batch, duplicates
(Meta redelivers webhooks) keep the earliest event.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from integrations.whatsapp.optout import is_opt_out
from integrations.whatsapp.schemas import (
    MESSAGES_SCHEMA,
    REJECT_MESSAGE_FIELDS,
    REJECT_STATUS_FIELDS,
    REJECTED_SCHEMA,
    STATUSES_SCHEMA,
)

MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z; anything larger is garbage and overflows to_timestamp

# The fields we model, as ``json_transform`` structures: one parse per event. Scalars are read as VARCHAR and cast
# with TRY_CAST so an odd type in one event nulls a field instead of failing the batch.
STATUS_FIELDS: dict[str, Any] = {
    "id": "VARCHAR",
    "status": "VARCHAR",
    "timestamp": "VARCHAR",
    "recipient_id": "VARCHAR",
    "biz_opaque_callback_data": "VARCHAR",
    "conversation": {"id": "VARCHAR", "origin": {"type": "VARCHAR"}},
    "pricing": {"category": "VARCHAR", "pricing_model": "VARCHAR", "billable": "VARCHAR"},
    "errors": [{"code": "VARCHAR", "title": "VARCHAR", "error_data": {"details": "VARCHAR"}}],
}

MESSAGE_FIELDS: dict[str, Any] = {
    "id": "VARCHAR",
    "from": "VARCHAR",
    "timestamp": "VARCHAR",
    "type": "VARCHAR",
    "text": {"body": "VARCHAR"},
    "button": {"text": "VARCHAR"},
    "interactive": {"button_reply": {"title": "VARCHAR"}, "list_reply": {"title": "VARCHAR"}},
    "context": {"id": "VARCHAR"},
}

_CHANGES = """
    WITH entries AS (SELECT file_index, unnest(entry) AS e FROM bodies),
    changes AS (SELECT file_index, e.id AS waba_id, unnest(e.changes) AS c FROM entries)
"""

_GOOD_STATUS = 'message_id IS NOT NULL AND status IS NOT NULL AND "timestamp" IS NOT NULL'
_GOOD_MESSAGE = 'message_id IS NOT NULL AND "timestamp" IS NOT NULL'


def json_structure_sql(fields: dict[str, Any]) -> str:
    """``fields`` as the quoted JSON structure literal ``json_transform`` takes."""
    return "'" + json.dumps(fields, separators=(",", ":")).replace("'", "''") + "'"


def _timestamp(value: str) -> str:
    """Meta's unix-seconds string as timestamptz; NULL (so the event is rejected) when absent or absurd."""
    seconds = f"TRY_CAST({value} AS BIGINT)"
    return f"CASE WHEN {seconds} BETWEEN 0 AND {MAX_UNIX_SECONDS} THEN to_timestamp({seconds}) END"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_event_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``status_events`` and ``message_events`` from ``bodies``; afterwards ``bodies`` can be dropped."""
    _build_status_events(con)
    _build_message_events(con)


def _build_status_events(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE status_events AS
        {_CHANGES},
        events AS (
            SELECT file_index, waba_id, c.value.metadata.phone_number_id AS phone_number_id,
                   unnest(c.value.statuses) AS s
            FROM changes
        ),
        parsed AS (
            SELECT file_index, waba_id, phone_number_id, s::VARCHAR AS raw,
                   json_transform(s, {json_structure_sql(STATUS_FIELDS)}) AS sv
            FROM events
        )
        SELECT file_index,
               sv.id AS message_id,
               sv.status AS status,
               {_timestamp("sv.timestamp")} AS "timestamp",
               sv.recipient_id AS recipient_id,
               sv.biz_opaque_callback_data AS biz_opaque_callback_data,
               sv.conversation.id AS conversation_id,
               sv.conversation.origin.type AS conversation_origin_type,
               sv.pricing.category AS pricing_category,
               sv.pricing.pricing_model AS pricing_model,
               TRY_CAST(sv.pricing.billable AS BOOLEAN) AS billable,
               TRY_CAST(sv.errors[1].code AS BIGINT) AS error_code,
               sv.errors[1].title AS error_title,
               sv.errors[1].error_data.details AS error_details,
               phone_number_id,
               waba_id,
               raw
        FROM parsed
        """
    )


def statuses_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Status events, one per (message_id, status), in ``STATUSES_SCHEMA``."""
    # Few distinct callback strings (one per campaign variant) and many events: parse each once, join back.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE callback_data AS
        SELECT biz_opaque_callback_data,
               {_callback_field("campaign")} AS campaign_id,
               {_callback_field("variant")} AS variant
        FROM (SELECT DISTINCT biz_opaque_callback_data FROM status_events WHERE biz_opaque_callback_data IS NOT NULL)
        """
    )
    kept = _dedupe(con, "status_events", _GOOD_STATUS, ("message_id", "status"))
    columns = ", ".join(
        f"cd.{name}" if name in ("campaign_id", "variant") else f"k.{_quote(name)}" for name in STATUSES_SCHEMA.names
    )
    table = con.sql(
        f"SELECT {columns} FROM ({kept}) AS k LEFT JOIN callback_data AS cd USING (biz_opaque_callback_data)"
    ).to_arrow_table()
    return table.cast(STATUSES_SCHEMA)


def _callback_field(key: str) -> str:
    """One ``key=value`` field of ``biz_opaque_callback_data``; our sends use ``campaign=...;variant=...``."""
    return f"nullif(trim(regexp_extract(biz_opaque_callback_data, '(?:^|;)\\s*{key}\\s*=([^;]*)', 1)), '')"


def _build_message_events(con: duckdb.DuckDBPyConnection) -> None:
    """``text_body`` also takes the title of a tapped quick-reply button or list row, because that is how customers
    answer templates; the sender's profile name comes from the ``contacts`` entry with the same ``wa_id``."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE message_events AS
        {_CHANGES},
        events AS (
            SELECT file_index, waba_id,
                   c.value.metadata.phone_number_id AS phone_number_id,
                   c.value.metadata.display_phone_number AS display_phone_number,
                   c.value.contacts AS contacts,
                   unnest(c.value.messages) AS m
            FROM changes
        ),
        parsed AS (
            SELECT *, m::VARCHAR AS raw, json_transform(m, {json_structure_sql(MESSAGE_FIELDS)}) AS mv FROM events
        )
        SELECT file_index,
               mv.id AS message_id,
               mv."from" AS wa_id,
               json_extract_string(
                   coalesce(
                       list_filter(contacts, lambda x: json_extract_string(x, '$.wa_id') = mv."from")[1],
                       CASE WHEN len(contacts) = 1 THEN contacts[1] END
                   ),
                   '$.profile.name'
               ) AS profile_name,
               mv.type AS type,
               coalesce(mv.text.body, mv.button.text, mv.interactive.button_reply.title,
                        mv.interactive.list_reply.title) AS text_body,
               mv.context.id AS context_message_id,
               {_timestamp("mv.timestamp")} AS "timestamp",
               phone_number_id,
               display_phone_number,
               waba_id,
               false AS is_opt_out,
               raw
        FROM parsed
        """
    )


def messages_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Inbound messages, one per message_id, with ``is_opt_out`` set, in ``MESSAGES_SCHEMA``."""
    kept = _dedupe(con, "message_events", _GOOD_MESSAGE, ("message_id",))
    columns = ", ".join(_quote(name) for name in MESSAGES_SCHEMA.names)
    table = con.sql(f"SELECT {columns} FROM ({kept})").to_arrow_table()
    # Inbound text is a small share of the volume, and one Python definition of opt-out keeps SQL and app in step.
    flags = pa.array([is_opt_out(text) for text in table.column("text_body").to_pylist()], pa.bool_())
    table = table.set_column(table.schema.get_field_index("is_opt_out"), "is_opt_out", flags)
    return table.cast(MESSAGES_SCHEMA)


def _dedupe(con: duckdb.DuckDBPyConnection, table: str, good: str, key: tuple[str, ...]) -> str:
    """Delete duplicate good rows of ``table`` (same ``key``), keeping the earliest, then the smallest raw text.

    Duplicates are rare, so they are found with one hash aggregate, and only their rows go through a window
    function; the rest of the table is never rewritten. Returns the query for the remaining good rows.
    """
    key_sql = ", ".join(key)
    matches = " AND ".join(f"t.{column} = d.{column}" for column in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dup_keys AS SELECT {key_sql} FROM {table} WHERE {good}"
        " GROUP BY ALL HAVING count(*) > 1"
    )
    if con.execute("SELECT count(*) FROM dup_keys").fetchall()[0][0] > 0:
        con.execute(
            f"""
            DELETE FROM {table} WHERE rowid IN (
                SELECT row_id FROM (
                    SELECT t.row_id,
                           row_number() OVER (PARTITION BY {", ".join(f"t.{c}" for c in key)}
                                              ORDER BY t."timestamp", t.raw) AS copy_number
                    FROM (SELECT rowid AS row_id, * FROM {table} WHERE {good}) AS t
                    SEMI JOIN dup_keys AS d ON {matches}
                )
                WHERE copy_number > 1
            )
            """
        )
    return f"SELECT * FROM {table} WHERE {good}"


def rejected_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Rejected lines and rejected single events together, in ``REJECTED_SCHEMA``, in file order."""
    table = con.sql(
        f"""
        WITH all_rejects AS (
            SELECT file_index, byte_offset, reason, raw FROM line_rejects
            UNION ALL
            SELECT file_index, NULL, '{REJECT_STATUS_FIELDS}', raw FROM status_events WHERE NOT ({_GOOD_STATUS})
            UNION ALL
            SELECT file_index, NULL, '{REJECT_MESSAGE_FIELDS}', raw FROM message_events WHERE NOT ({_GOOD_MESSAGE})
        )
        SELECT f.source_file, r.byte_offset, r.reason, r.raw
        FROM all_rejects AS r LEFT JOIN files AS f USING (file_index)
        ORDER BY f.source_file, r.byte_offset NULLS LAST, r.reason, r.raw
        """
    ).to_arrow_table()
    return table.cast(REJECTED_SCHEMA)
