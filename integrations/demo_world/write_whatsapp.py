"""WhatsApp Cloud API webhook bodies, one per line, one file per UTC day of arrival.

The layout is the landing area's (``integrations/whatsapp/landing.py``): the receiver appends each
POST body as it arrives, so a file holds re-deliveries and out-of-order statuses. The platform's
own record of what it sent (``campaign_sends.csv``) is not a webhook and is written beside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from integrations.demo_world import campaigns, config, people
from integrations.demo_world.duck import labels, render
from integrations.demo_world.frames import Table
from integrations.demo_world.simulate import World

Progress = Callable[[int, int], None]
ERRORS_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
ROWS_PER_QUERY = 250_000


def wa_parts(world: World, cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area code and subscriber number of customers, as in their HubSpot phone."""
    row = world.customers["contact_row"][cust]
    ddd = people.CITY_DDD[world.contacts["city"][row]]
    return ddd, people.subscriber_numbers(row, world.phone_offset)


def _error_json() -> list[str]:
    """The ``errors`` array of a failed status, per catalogued error, as JSON text."""
    return [
        json.dumps(
            [
                {
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": {"details": details},
                    "href": ERRORS_URL,
                }
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for code, title, details, _ in config.WHATSAPP_ERRORS
    ]


def _pmp_from_s() -> int:
    return int(np.datetime64(config.PMP_FROM, "s").astype(np.int64))


def write_webhooks(
    con: duckdb.DuckDBPyConnection, world: World, events: Table, folder: Path, progress: Progress | None = None
) -> dict[str, int]:
    """One ``YYYY-MM-DD.jsonl`` per UTC day; returns bodies and files written."""
    sends = world.campaigns.sends
    plan = world.campaigns.campaigns
    message = events["message"]
    status_row = np.where(message >= 0, message, 0)  # message numbers are positions in ``sends``
    campaign = sends["campaign"][status_row] if len(sends) else np.zeros(len(events), dtype=np.int16)
    variant_b = sends["variant_b"][status_row] if len(sends) else np.zeros(len(events), dtype=bool)
    error = sends["error"][status_row] if len(sends) else np.zeros(len(events), dtype=np.int8)
    ddd, local = wa_parts(world, events["cust"])
    texts = [*config.REPLY_TEXTS, *config.OPT_OUT_TEXTS, *config.SERVICE_TEXTS]
    text_base = np.array([0, len(config.REPLY_TEXTS), len(config.REPLY_TEXTS) + len(config.OPT_OUT_TEXTS)])
    text_code = np.where(events["text"] >= 0, text_base[np.maximum(events["text_kind"], 0)] + events["text"], -1)
    first_name = world.contacts["first_name"][world.customers["contact_row"][events["cust"]]]
    status_names = np.where(events["status"] >= 0, events["status"], 0)
    table = pa.table(
        {
            "inbound": events["kind"] == campaigns.EVENT_INBOUND,
            "message": message,
            "inbound_id": events["inbound_id"],
            "status": labels(status_names, campaigns.STATUS_NAMES),
            "status_code": events["status"],
            "ts": events["ts_s"],
            "wa": ddd.astype(np.int64) * 1_000_000_000 + local,
            "campaign_id": labels(campaign, list(plan["campaign_id"])),
            "variant": labels(variant_b.astype(np.int8), ["A", "B"]),
            "errors": labels(error, _error_json()),
            "body": labels(text_code, texts, escaped=True),
            "profile": labels(first_name, people.FIRST_NAMES, escaped=True),
            "context": events["context"],
            "day": events["day"],
        }
    )
    seed = world.config.seed
    head = (
        '{"object":"whatsapp_business_account","entry":[{"id":"' + config.WABA_ID + '","changes":[{"value":'
        '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"' + config.DISPLAY_PHONE_NUMBER + '",'
        '"phone_number_id":"' + config.PHONE_NUMBER_ID + '"},'
    )
    tail = '},"field":"messages"}]}]}'
    pricing = f"""CASE WHEN ts < {_pmp_from_s()}
        THEN '"pricing":{{"billable":true,"pricing_model":"CBP","category":"marketing"}}'
        ELSE '"pricing":{{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}' END"""
    conversation = """'"conversation":{"id":"' || md5('conversation:' || $seed || ':' || message) || '",'
        || CASE WHEN status_code = 0 THEN '"expiration_timestamp":"' || (ts + 86400) || '",' ELSE '' END
        || '"origin":{"type":"marketing"}},'""".replace("$seed", str(seed))
    status_body = f"""concat('"statuses":[{{"id":"', wamid(wa_id, {seed}, 'out', message),
        '","status":"', status, '","timestamp":"', ts, '","recipient_id":"', wa_id,
        '","biz_opaque_callback_data":"campaign=', campaign_id, ';variant=', variant, '"',
        CASE WHEN status_code IN (0, 1) THEN ',' || {conversation} || {pricing} ELSE '' END,
        CASE WHEN status_code = 3 THEN ',"errors":' || errors ELSE '' END, '}}]')"""
    inbound_body = f"""concat('"contacts":[{{"profile":{{"name":"', profile, '"}},"wa_id":"', wa_id,
        '"}}],"messages":[{{"from":"', wa_id, '","id":"', wamid(wa_id, {seed}, 'in', inbound_id),
        '","timestamp":"', ts, '",',
        CASE WHEN context THEN '"context":{{"from":"{config.DISPLAY_PHONE_NUMBER}","id":"'
             || wamid(wa_id, {seed}, 'out', message) || '"}},' ELSE '' END,
        '"type":"text","text":{{"body":"', body, '"}}}}]')"""
    sql = f"""SELECT concat('{head}', CASE WHEN inbound THEN {inbound_body} ELSE {status_body} END,
        '{tail}', chr(10)) AS line FROM (SELECT *, '55' || wa AS wa_id FROM stream)"""

    folder.mkdir(parents=True, exist_ok=True)
    day = events["day"]
    days = np.unique(day)
    bounds = np.searchsorted(day, days, side="left")
    ends = np.append(bounds[1:], len(day))
    # one query per batch of whole days: DuckDB planning costs more than rendering a small day
    batch_start = 0
    while batch_start < len(days):
        batch_end = batch_start + 1
        while batch_end < len(days) and ends[batch_end] - bounds[batch_start] <= ROWS_PER_QUERY:
            batch_end += 1
        lo, hi = int(bounds[batch_start]), int(ends[batch_end - 1])
        con.register("stream", table.slice(lo, hi - lo))
        data, offsets = render(con, sql)
        con.unregister("stream")
        for index in range(batch_start, batch_end):
            first, stop = int(bounds[index]) - lo, int(ends[index]) - lo
            with (folder / f"{np.datetime64(int(days[index]), 'D')}.jsonl").open("wb") as out:
                out.write(data[int(offsets[first]) : int(offsets[stop])])
        batch_start = batch_end
        if progress:
            progress(batch_end, len(days))
    return {"rows": len(events), "files": len(days)}


def write_sends(con: duckdb.DuckDBPyConnection, world: World, path: Path) -> int:
    """``campaign_sends.csv``: what the platform sent (every message, failed ones included)."""
    sends = world.campaigns.sends
    plan = world.campaigns.campaigns
    ddd, local = wa_parts(world, sends["cust"])
    template_codes = sends["campaign"].astype(np.int32) * 2 + sends["variant_b"]
    templates = [name for a, b in zip(plan["template_a"], plan["template_b"], strict=True) for name in (a, b)]
    table = pa.table(
        {
            "campaign_id": labels(sends["campaign"], list(plan["campaign_id"])),
            "variant": labels(sends["variant_b"].astype(np.int8), ["A", "B"]),
            "template_name": labels(template_codes, templates),
            "contact_id": world.customers["contact_id"][sends["cust"]],
            "wa": ddd.astype(np.int64) * 1_000_000_000 + local,
            "message": sends["message"],
            "send_ms": sends["send_ms"],
        }
    )
    con.register("sends", table)
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT campaign_id::VARCHAR AS campaign_id, variant::VARCHAR AS variant,
                template_name::VARCHAR AS template_name, contact_id::VARCHAR AS contact_id,
                '55' || wa AS wa_id, wamid('55' || wa, {world.config.seed}, 'out', message) AS message_id,
                iso_ms(send_ms) AS sent_at
            FROM sends) TO '{_sql_path(path)}' (FORMAT csv, HEADER true)"""
    )
    con.unregister("sends")
    return len(sends)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
