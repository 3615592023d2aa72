"""HubSpot CRM v3 list responses: one ``GET /crm/v3/objects/{contacts|deals}`` body per line.

Each object is rendered by DuckDB as a JSON fragment that also carries its page's opening
(``{"results":[``) or closing (``],"paging":{...}}`` and a newline), so concatenating the rows gives
the file. Every property value is a string or null, as HubSpot sends them; bad rows are rendered
from their reason code, never patched afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from integrations.demo_world import config, people
from integrations.demo_world.duck import BackgroundWriter, labels, write_text
from integrations.demo_world.faults import BadPlan
from integrations.demo_world.simulate import LIFECYCLE_STAGES, World

PAGE_SIZE = 100
CHUNK_PAGES = 2000  # 200k objects per DuckDB query keeps memory flat at any world size
API = "https://api.hubapi.com/crm/v3/objects"

Progress = Callable[[int, int], None]


def _page_columns(ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per stream position: does it open or close a page, and the cursor of the next page."""
    n = len(ids)
    pos = np.arange(n)
    last = (pos % PAGE_SIZE == PAGE_SIZE - 1) | (pos == n - 1)
    next_first = np.minimum(pos + 1, n - 1)
    next_after = np.where(last & (pos < n - 1), ids[next_first], -1)
    return {"first_in_page": pos % PAGE_SIZE == 0, "last_in_page": last, "next_after": next_after}


def _wrap(object_sql: str, object_type: str) -> str:
    """Add the page opening/closing around each object's JSON."""
    link = f"{API}/{object_type}?after="
    return f"""
    SELECT concat(
        CASE WHEN first_in_page THEN '{{"results":[' ELSE '' END,
        {object_sql},
        CASE WHEN NOT last_in_page THEN ','
             WHEN next_after < 0 THEN ']}}' || chr(10)
             ELSE '],"paging":{{"next":{{"after":"' || next_after || '","link":"{link}' || next_after
                  || '"}}}}}}' || chr(10) END) AS line
    FROM stream"""


def _write_pages(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    stream: pa.Table,
    sql: str,
    progress: Progress | None,
    truncate_line: int | None = None,
) -> int:
    """Write ``stream`` (objects in page order) in chunks of whole pages; returns the page count."""
    n = stream.num_rows
    n_pages = (n + PAGE_SIZE - 1) // PAGE_SIZE
    chunk_rows = CHUNK_PAGES * PAGE_SIZE
    n_chunks = max(1, (n + chunk_rows - 1) // chunk_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle, BackgroundWriter(handle) as out:
        for number, start in enumerate(range(0, max(n, 1), chunk_rows)):
            con.register("stream", stream.slice(start, chunk_rows))
            cut = None
            if truncate_line is not None and start <= truncate_line * PAGE_SIZE < start + chunk_rows:
                first = truncate_line * PAGE_SIZE - start
                cut = (first, min(first + PAGE_SIZE, n - start))
            write_text(con, sql, out, cut)
            con.unregister("stream")
            if progress:
                progress(number + 1, n_chunks)
    return n_pages


def write_contacts(
    con: duckdb.DuckDBPyConnection, world: World, plan: BadPlan, path: Path, progress: Progress | None = None
) -> dict[str, int]:
    """``contacts.pages.jsonl``: customers and leads in id order (no duplicates; bad e-mails and phones)."""
    c = world.contacts
    ids = c["contact_id"]
    first_ascii = [people.ascii_fold(n) for n in people.FIRST_NAMES]
    last_ascii = [people.ascii_fold(n) for n in people.LAST_NAMES]
    city = c["city"]
    stream = pa.table(
        {
            "id": ids,
            "seq": np.arange(1, len(ids) + 1),
            "suffix": people.email_suffixes(np.arange(len(ids)), world.phone_offset),
            "firstname": labels(c["first_name"], people.FIRST_NAMES, escaped=True),
            "lastname": labels(c["last_name"], people.LAST_NAMES, escaped=True),
            "fa": labels(c["first_name"], first_ascii),
            "la": labels(c["last_name"], last_ascii),
            "city": labels(city, [x.name for x in people.CITIES], escaped=True),
            "state": labels(city, [x.state for x in people.CITIES]),
            "ddd": people.CITY_DDD[city],
            "local": people.subscriber_numbers(np.arange(len(ids)), world.phone_offset),
            "phone_format": c["phone_format"],
            "email_pattern": c["email_pattern"],
            "domain": labels(c["email_domain"], [d for d, _ in people.EMAIL_DOMAINS]),
            "lifecycle": labels(c["lifecycle"], LIFECYCLE_STAGES),
            "source": labels(c["hs_source"], config.HS_ANALYTICS_SOURCES),
            "channel": labels(c["channel"], [ch.key for ch in config.CHANNELS]),
            "opted_in": c["opted_in"],
            "opt_in_ms": c["opt_in_ms"],
            "create_ms": c["create_ms"],
            "modified_ms": c["modified_ms"],
            "bad": plan.kind,
            **_page_columns(ids),
        }
    )
    email_code = plan.reasons.index("malformed_email") + 1 if "malformed_email" in plan.reasons else -1
    phone_code = plan.reasons.index("malformed_phone") + 1 if "malformed_phone" in plan.reasons else -1
    local_part = """(CASE email_pattern WHEN 0 THEN fa || '.' || la WHEN 1 THEN fa || la WHEN 2 THEN fa || '_' || la
        WHEN 3 THEN left(fa, 1) || la ELSE fa || '.' || la || '.' END || suffix)"""
    a, b = "(local // 10000)::VARCHAR", "lpad((local % 10000)::VARCHAR, 4, '0')"
    obj = """concat(
        '{"id":"', id, '","properties":{"acquisition_channel":"', channel,
        '","city":"', city, '","createdate":"', created, '","email":"', email,
        '","firstname":"', firstname, '","hs_analytics_source":"', source, '","hs_object_id":"', id,
        '","lastmodifieddate":"', modified, '","lastname":"', lastname, '","lifecyclestage":"', lifecycle,
        '","phone":"', phone, '","state":"', state,
        '","whatsapp_opt_in":"', CASE WHEN opted_in THEN 'true' ELSE 'false' END,
        '","whatsapp_opt_in_date":', CASE WHEN opted_in THEN '"' || iso_ms(opt_in_ms) || '"' ELSE 'null' END,
        '},"createdAt":"', created, '","updatedAt":"', modified, '","archived":false}')"""
    inner = f"""
        SELECT *, iso_ms(create_ms) AS created, iso_ms(modified_ms) AS modified,
            CASE WHEN bad = {email_code} THEN CASE seq % 4
                    WHEN 0 THEN {local_part} || '@'
                    WHEN 1 THEN {local_part} || '@@' || domain
                    WHEN 2 THEN {local_part} || '@' || split_part(domain, '.', 1)
                    ELSE {local_part} || domain END
                 ELSE {local_part} || '@' || domain END AS email,
            CASE WHEN bad = {phone_code} THEN CASE seq % 2
                    WHEN 0 THEN '(' || ddd || ') ' || (local // 100000)::VARCHAR || '-'
                                || lpad(((local // 100) % 1000)::VARCHAR, 3, '0')
                    ELSE '(' || ddd || ') ' || {a} || '-' || left({b}, 2) || 'OO' END
                 ELSE CASE phone_format
                    WHEN 0 THEN '+55 ' || ddd || ' ' || {a} || '-' || {b}
                    WHEN 1 THEN '(' || ddd || ') ' || {a} || '-' || {b}
                    WHEN 2 THEN ddd || {a} || {b}
                    WHEN 3 THEN '+55' || ddd || {a} || {b}
                    ELSE ddd || ' ' || {a} || ' ' || {b} END END AS phone
        FROM stream"""
    sql = _wrap(obj, "contacts").replace("FROM stream", f"FROM ({inner})")
    pages = _write_pages(con, path, stream, sql, progress)
    return {"rows": len(ids), "pages": pages}


def write_deals(
    con: duckdb.DuckDBPyConnection,
    world: World,
    plan: BadPlan,
    path: Path,
    truncate_line: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """``deals.pages.jsonl``: one closedwon deal per paid order plus the leads' deals, in id order.

    Duplicated deals reappear on a later page, as they do when records change while a client pages.
    """
    d = world.deals.take(plan.order)
    contacts = world.contacts
    row = d["contact_row"]
    ids = d["deal_id"]
    won = d["stage"] == config.DEAL_STAGES.index("closedwon")
    stream = pa.table(
        {
            "id": ids,
            "contact_id": d["contact_id"],
            "stage": labels(d["stage"], config.DEAL_STAGES),
            "plan": labels(d["plan"], [p.key for p in config.PLANS]),
            "plan_label": labels(d["plan"], [p.label for p in config.PLANS], escaped=True),
            "cycle": labels(d["cycle"], ["monthly", "annual"]),
            "cycle_pt": labels(d["cycle"], ["mensal", "anual"]),
            "firstname": labels(contacts["first_name"][row], people.FIRST_NAMES, escaped=True),
            "lastname": labels(contacts["last_name"][row], people.LAST_NAMES, escaped=True),
            "period": labels(d["month"], world.tl.labels),
            "amount": d["amount_c"],
            "discount": d["discount_c"],
            "shipping": d["shipping_c"],
            "refund": d["refund_c"],
            "won": won,
            "create_ms": d["create_ms"],
            "close_ms": d["close_ms"],
            "modified_ms": d["modified_ms"],
            "bad": plan.kind_at_positions(),
            **_page_columns(ids),
        }
    )

    def code(reason: str) -> int:
        return plan.reasons.index(reason) + 1 if reason in plan.reasons else -1

    amount = f"""CASE bad WHEN {code("negative_amount")} THEN '"-' || money(amount) || '"'
        WHEN {code("text_amount")} THEN CASE WHEN id % 3 = 0 THEN '"abc"' ELSE '"' || brl_text(amount) || '"' END
        ELSE '"' || money(amount) || '"' END"""
    closedate = f"""CASE WHEN close_ms < 0 OR bad = {code("missing_closedate")} THEN 'null'
        ELSE '"' || iso_ms(close_ms) || '"' END"""

    def won_money(column: str) -> str:
        return f"""CASE WHEN won THEN '"' || money({column}) || '"' ELSE 'null' END"""

    dealname = """firstname || ' ' || lastname || ' · ' || plan_label || ' ' || cycle_pt || ' · '
        || coalesce(period::VARCHAR, 'proposta')"""
    obj = f"""concat(
        '{{"id":"', id, '","properties":{{"amount":', {amount}, ',"billing_cycle":"', cycle,
        '","closedate":', {closedate}, ',"createdate":"', created, '","dealname":"', {dealname},
        '","dealstage":"', stage, '","discount_amount":', {won_money("discount")},
        ',"hs_lastmodifieddate":"', modified, '","hs_object_id":"', id,
        '","order_type":"subscription","pipeline":"default","plan":"', plan,
        '","refund_amount":', {won_money("refund")},
        ',"shipping_amount":', {won_money("shipping")}, '}},"createdAt":"', created, '","updatedAt":"', modified,
        '","archived":false,"associations":{{"contacts":{{"results":[{{"id":"', contact_id,
        '","type":"deal_to_contact"}}]}}}}}}')"""
    inner = "SELECT *, iso_ms(create_ms) AS created, iso_ms(modified_ms) AS modified FROM stream"
    sql = _wrap(obj, "deals").replace("FROM stream", f"FROM ({inner})")
    pages = _write_pages(con, path, stream, sql, progress, truncate_line)
    return {"rows": len(ids), "pages": pages}
