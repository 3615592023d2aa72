"""The +Pet demo world: a deterministic simulation written in the vendors' exact API shapes.

``generate_world(WorldConfig(...), out_dir)`` writes HubSpot list pages, WhatsApp webhook bodies,
Google Sheets worksheets and the ground truth; the same config always gives byte-identical files.
See ``README.md`` in this folder for every file's format.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from integrations.demo_world import faults, ground_truth, write_hubspot, write_sheets, write_whatsapp
from integrations.demo_world.config import FAULTS, WorldConfig
from integrations.demo_world.duck import connect
from integrations.demo_world.simulate import simulate

__all__ = ["FAULTS", "ProgressCallback", "WorldConfig", "WorldSummary", "generate_world"]

ProgressCallback = Callable[[str, int, int], None]

CONTACTS = "hubspot/contacts.pages.jsonl"
DEALS = "hubspot/deals.pages.jsonl"
WEBHOOKS = "whatsapp/webhooks"
SENDS = "whatsapp/campaign_sends.csv"
SPEND = "sheets/marketing_spend.csv"
EXPENSES = "sheets/expenses.csv"
ORDERS = "sheets/orders.csv"
GROUND_TRUTH = "ground_truth.json"
CUSTOMERS = "ground_truth_customers.parquet"
MANIFEST = "manifest.json"
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.jsonl$")


@dataclass(frozen=True)
class WorldSummary:
    """What ``generate_world`` wrote: data rows per file (objects, bodies, or CSV rows) and the time taken."""

    out_dir: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _clear(out_dir: Path) -> None:
    """Remove a previous world's files (only ours), so no stale webhook day survives a new config."""
    for name in (MANIFEST, CONTACTS, DEALS, SENDS, SPEND, EXPENSES, ORDERS, GROUND_TRUTH, CUSTOMERS):
        (out_dir / name).unlink(missing_ok=True)
    webhooks = out_dir / WEBHOOKS
    if webhooks.is_dir():
        for path in webhooks.iterdir():
            if _DAY_FILE.match(path.name):
                path.unlink()


def generate_world(config: WorldConfig, out_dir: Path, progress: ProgressCallback | None = None) -> WorldSummary:
    """Simulate +Pet for ``config`` and write every file under ``out_dir``; returns row counts.

    The output is a pure function of ``config``: no clock, no environment, no global random state.
    ``manifest.json`` is written last, so its presence means the world is complete.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def report(step: str) -> Callable[[int, int], None]:
        def callback(done: int, total: int) -> None:
            if progress is not None:
                progress(step, done, total)

        return callback

    report("simulating the business")(0, 1)
    _clear(out_dir)
    world = simulate(config)
    report("simulating the business")(1, 1)

    share = config.bad_share
    rng = world.rngs["bad_rows"]
    plans = {
        CONTACTS: faults.plan_bad_rows(rng, len(world.contacts), share, faults.CONTACT_MIX),
        DEALS: faults.plan_deals(rng, world.deals, share),
        SPEND: faults.plan_bad_rows(rng, len(world.spend), share, faults.SPEND_MIX, duplicate_reason="duplicate_row"),
        EXPENSES: faults.plan_expenses(rng, world.expenses, share),
        ORDERS: faults.plan_bad_rows(
            rng, len(world.one_offs), share, faults.ORDER_MIX, duplicate_reason="duplicate_row"
        ),
    }
    fault_rng = world.rngs["faults"]
    applied: dict[str, object] = {}
    events = world.events
    if "webhook_burst" in config.faults:
        events, burst = faults.burst(fault_rng, events)
        applied["webhook_burst"] = {"file": f"{WEBHOOKS}/{burst['day']}.jsonl", "deliveries": burst["deliveries"]}
    truncate_line = None
    if "truncated_page" in config.faults:
        n_pages = (plans[DEALS].rows + write_hubspot.PAGE_SIZE - 1) // write_hubspot.PAGE_SIZE
        truncate_line = faults.truncated_line(fault_rng, n_pages)
        first = truncate_line * write_hubspot.PAGE_SIZE
        lost = world.deals["deal_id"][plans[DEALS].order[first : first + write_hubspot.PAGE_SIZE]]
        applied["truncated_page"] = {
            "file": DEALS,
            "line": truncate_line + 1,
            "lost_ids": [str(i) for i in lost.tolist()],
        }
    if "renamed_column" in config.faults:
        applied["renamed_column"] = {"file": SPEND, "from": "spend_brl", "to": write_sheets.RENAMED_SPEND_COLUMN}

    con = connect()
    try:
        counts: dict[str, int] = {}
        files: dict[str, dict[str, int]] = {}
        contacts = write_hubspot.write_contacts(
            con, world, plans[CONTACTS], out_dir / CONTACTS, report("writing HubSpot contacts")
        )
        deals = write_hubspot.write_deals(
            con, world, plans[DEALS], out_dir / DEALS, truncate_line, report("writing HubSpot deals")
        )
        counts[CONTACTS], counts[DEALS] = contacts["rows"], deals["rows"]
        files[CONTACTS] = {"rows": contacts["rows"], "pages": contacts["pages"]}
        files[DEALS] = {"rows": deals["rows"], "pages": deals["pages"]}
        hooks = write_whatsapp.write_webhooks(
            con, world, events, out_dir / WEBHOOKS, report("writing WhatsApp webhooks")
        )
        counts[WEBHOOKS] = hooks["rows"]
        files[WEBHOOKS] = {"rows": hooks["rows"], "files": hooks["files"]}
        step = report("writing worksheets and ground truth")
        step(0, 5)
        counts[SENDS] = write_whatsapp.write_sends(con, world, out_dir / SENDS)
        counts[SPEND] = write_sheets.write_spend(
            con, world, plans[SPEND], out_dir / SPEND, renamed="renamed_column" in config.faults
        )
        counts[EXPENSES] = write_sheets.write_expenses(con, world, plans[EXPENSES], out_dir / EXPENSES)
        counts[ORDERS] = write_sheets.write_orders(con, world, plans[ORDERS], out_dir / ORDERS)
        step(1, 5)
    finally:
        con.close()

    truth = {
        "format_version": ground_truth.FORMAT_VERSION,
        "params": ground_truth.params(world),
        "counts": {
            "customers": len(world.customers),
            "leads": len(world.leads),
            "contacts": len(world.contacts),
            "subscription_orders": len(world.orders),
            "one_off_orders": len(world.one_offs),
            "deals": len(world.deals),
            "campaign_messages": len(world.campaigns.sends),
        },
        "acquisition": ground_truth.acquisition(world),
        "revenue_monthly": ground_truth.revenue_monthly(world),
        "mrr_monthly": ground_truth.mrr_monthly(world),
        "expenses_monthly": ground_truth.expenses_monthly(world),
        "churn_by_channel": ground_truth.churn_by_channel(world),
        "campaigns": ground_truth.campaign_results(world),
        "funnel": ground_truth.funnel(world),
        "webhooks": ground_truth.webhook_summary(hooks["rows"], events, world.campaigns),
        "bad_rows": ground_truth.bad_rows(plans),
        "bad_records": ground_truth.bad_records(
            plans, {CONTACTS: world.contacts["contact_id"], DEALS: world.deals["deal_id"]}
        ),
        "faults_applied": applied,
    }
    step(3, 5)
    (out_dir / GROUND_TRUTH).write_text(ground_truth.dumps(truth) + "\n", encoding="utf-8")
    counts[CUSTOMERS] = ground_truth.write_customers(world, out_dir / CUSTOMERS)
    step(4, 5)

    for name in (SENDS, SPEND, EXPENSES, ORDERS, CUSTOMERS):
        files[name] = {"rows": counts[name]}
    for name, entry in files.items():
        path = out_dir / name
        entry["bytes"] = (
            sum(p.stat().st_size for p in path.iterdir() if _DAY_FILE.match(p.name))
            if path.is_dir()
            else path.stat().st_size
        )
    manifest = {
        "generator": "integrations.demo_world",
        "format_version": ground_truth.FORMAT_VERSION,
        "config": config.as_manifest(),
        "files": files,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    step(5, 5)
    return WorldSummary(out_dir=out_dir, row_counts=counts, seconds=time.perf_counter() - started)
