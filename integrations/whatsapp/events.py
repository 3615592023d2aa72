"""Turn the ``bodies`` table (see ``reader.py``) into status and inbound-message tables, plus per-event rejects.

``bodies.entry`` is unnested entry -> changes -> value.statuses / value.messages. Each event is JSON text, parsed
once by ``json_transform`` into the fields below; a row keeps the name of its landing file (``source_file``), where
its id finds the webhook as received. An event without its id, status or a usable timestamp cannot be merged on its
key, so it is quarantined, verbatim, instead of loaded. Within a batch, duplicates (Meta redelivers webhooks) keep
the earliest event. The results are on the caller's connection: views ``STATUSES`` and ``MESSAGES`` over the event
tables (read once, by the merge) and table ``REJECTED``.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from integrations.whatsapp.optout import MAX_OPT_OUT_LENGTH, is_opt_out
from integrations.whatsapp.schemas import (
    MESSAGES_SCHEMA,
    REJECT_MESSAGE_FIELDS,
    REJECT_STATUS_FIELDS,
    STATUSES_SCHEMA,
)

STATUSES, MESSAGES, REJECTED = "wa_statuses", "wa_messages", "wa_rejected"
_DERIVED = frozenset({"campaign_id", "variant", "source_file"})  # output columns that are not in the event tables

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
            SELECT file_index, waba_id, phone_number_id, s, json_transform(s, {json_structure_sql(STATUS_FIELDS)}) AS sv
            FROM events
        )
        SELECT * EXCLUDE (s), CASE WHEN NOT ({_GOOD_STATUS}) THEN s::VARCHAR END AS raw FROM (
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
               s
        FROM parsed)
        """
    )


def build_statuses(con: duckdb.DuckDBPyConnection) -> None:
    """``STATUSES``: status events, one per (message_id, status), with the columns of ``STATUSES_SCHEMA``."""
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
    kept = _dedupe(con, "status_events", _GOOD_STATUS, ("message_id", "status"), STATUSES_SCHEMA.names)
    columns = ", ".join(_column(name) for name in STATUSES_SCHEMA.names)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {STATUSES} AS
        SELECT {columns} FROM ({kept}) AS k LEFT JOIN callback_data AS cd USING (biz_opaque_callback_data)
        LEFT JOIN files AS f USING (file_index)"""
    )


def _column(name: str) -> str:
    """How an output column is selected from the kept events ``k``, ``files`` and the small lookup tables."""
    if name in ("campaign_id", "variant"):
        return f"cd.{name}"
    if name == "source_file":
        return "f.source_file"
    if name == "is_opt_out":
        return "coalesce(k.text_body IN (SELECT text_body FROM opt_out_texts), false) AS is_opt_out"
    return f"k.{_quote(name)}"


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
            SELECT *, json_transform(m, {json_structure_sql(MESSAGE_FIELDS)}) AS mv FROM events
        )
        SELECT * EXCLUDE (m), CASE WHEN NOT ({_GOOD_MESSAGE}) THEN m::VARCHAR END AS raw FROM (
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
               m
        FROM parsed)
        """
    )


def build_messages(con: duckdb.DuckDBPyConnection) -> None:
    """``MESSAGES``: inbound messages, one per message_id, with ``is_opt_out`` set, in ``MESSAGES_SCHEMA``'s columns."""
    kept = _dedupe(con, "message_events", _GOOD_MESSAGE, ("message_id",), MESSAGES_SCHEMA.names)
    # One Python definition of opt-out keeps SQL and app in step. Only short replies can be one, and replies
    # repeat a lot ("Sim", "Parar"), so each distinct short text is checked once.
    short = con.sql(
        f"SELECT DISTINCT text_body FROM ({kept}) WHERE length(text_body) <= {MAX_OPT_OUT_LENGTH}"
    ).fetchall()
    con.execute("CREATE OR REPLACE TEMP TABLE opt_out_texts (text_body VARCHAR)")
    con.execute("INSERT INTO opt_out_texts SELECT unnest(?::VARCHAR[])", [[t for (t,) in short if is_opt_out(t)]])
    columns = ", ".join(_column(name) for name in MESSAGES_SCHEMA.names)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {MESSAGES} AS SELECT {columns} FROM ({kept}) AS k "
        "LEFT JOIN files AS f USING (file_index)"
    )


def _dedupe(con: duckdb.DuckDBPyConnection, table: str, good: str, key: tuple[str, ...], columns: list[str]) -> str:
    """Delete duplicate good rows of ``table`` (same ``key``), keeping the earliest, ties broken by content.

    Duplicates are rare, so they are found with one hash aggregate, and only their rows go through a window
    function; the rest of the table is never rewritten. Returns the query for the remaining good rows.
    """
    key_sql = ", ".join(key)
    matches = " AND ".join(f"t.{column} = d.{column}" for column in key)
    content = ", ".join(f"t.{_quote(c)}" for c in columns if c not in _DERIVED)
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
                                              ORDER BY t."timestamp", t.file_index, {content}) AS copy_number
                    FROM (SELECT rowid AS row_id, * FROM {table} WHERE {good}) AS t
                    SEMI JOIN dup_keys AS d ON {matches}
                )
                WHERE copy_number > 1
            )
            """
        )
    return f"SELECT * FROM {table} WHERE {good}"


def build_rejected(con: duckdb.DuckDBPyConnection) -> None:
    """``REJECTED``: rejected lines and rejected single events together, in ``REJECTED_SCHEMA``'s columns."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {REJECTED} AS
        WITH all_rejects AS (
            SELECT file_index, byte_offset, reason, raw FROM line_rejects
            UNION ALL
            SELECT file_index, NULL, '{REJECT_STATUS_FIELDS}', raw FROM status_events WHERE NOT ({_GOOD_STATUS})
            UNION ALL
            SELECT file_index, NULL, '{REJECT_MESSAGE_FIELDS}', raw FROM message_events WHERE NOT ({_GOOD_MESSAGE})
        )
        SELECT md5(concat(f.source_file, '|', coalesce(r.byte_offset::VARCHAR, 'None'), '|', r.reason, '|', r.raw,
                          -- the same bad event delivered twice is two rejects, with ids of their own
                          CASE WHEN r.copy > 1 THEN '#' || r.copy END)) AS rejected_id,
               f.source_file, r.byte_offset, r.reason, r.raw
        FROM (
            SELECT *, row_number() OVER (PARTITION BY file_index, byte_offset, reason, raw) AS copy FROM all_rejects
        ) AS r LEFT JOIN files AS f USING (file_index)
        ORDER BY f.source_file, r.byte_offset NULLS LAST, r.reason, r.raw
        """
    )
