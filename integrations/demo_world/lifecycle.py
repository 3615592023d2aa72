"""Subscription spells and the orders they produce, fully vectorized.

A *spell* is one uninterrupted subscription: a start month, a billing day, a cycle and a number of
paid periods drawn from a geometric lifetime (the monthly churn hazard). Pauses and plan changes
are attributes of a spell, so expanding every spell into its orders is one ``np.repeat``: no loop
over customers, whatever their number.
"""

from __future__ import annotations

import numpy as np

from integrations.demo_world import config
from integrations.demo_world.frames import Table
from integrations.demo_world.timeline import Timeline

SPELL_FIRST = 0  # the subscription a customer starts with
SPELL_NATURAL = 1  # came back on their own after churning
SPELL_CAMPAIGN = 2  # won back by a WhatsApp campaign

PRICE_CENTS = np.array([p.price_cents for p in config.PLANS], dtype=np.int64)
ANNUAL_CENTS = np.array([config.annual_price_cents(p) for p in config.PLANS], dtype=np.int64)

SPELL_COLUMNS: dict[str, type] = {
    "cust": np.int32,
    "kind": np.int8,
    "start_month": np.int32,
    "dom": np.int16,  # billing day of month (clamped to short months)
    "cycle": np.int8,  # 0 monthly, 1 annual
    "n_paid": np.int32,  # paid periods before cancelling (months, or years when annual)
    "pause_after": np.int32,  # paid months before a pause, -1 if none
    "pause_len": np.int8,
    "change_at": np.int32,  # first paid month on the new plan, -1 if none
    "plan0": np.int8,
    "plan1": np.int8,
    "campaign": np.int16,  # campaign index for SPELL_CAMPAIGN, -1 otherwise
}


def make_spells(n: int, **columns: np.ndarray | int) -> Table:
    """A spell table of ``n`` rows; omitted columns get their neutral default."""
    defaults: dict[str, int] = {"pause_after": -1, "pause_len": 0, "change_at": -1, "campaign": -1}
    if "plan0" in columns and "plan1" not in columns:
        columns = {**columns, "plan1": columns["plan0"]}
    data = {}
    for name, dtype in SPELL_COLUMNS.items():
        value = columns.get(name, defaults.get(name))
        if value is None:
            raise ValueError(f"spell column {name!r} is required")
        data[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    return Table(data)


def draw_pauses_and_changes(rng: np.random.Generator, spells: Table) -> None:
    """Give some monthly spells one pause (1-2 months) and some one plan change, in place."""
    n = len(spells)
    n_paid = spells["n_paid"]
    monthly = spells["cycle"] == 0
    u_pause, u_at, u_len = rng.random(n), rng.random(n), rng.integers(1, 3, n)
    pause = monthly & (n_paid >= 3) & (u_pause < config.PAUSE_SHARE)
    # pause after 1..n_paid-1 paid months, so at least one paid month follows it
    spells["pause_after"] = np.where(pause, 1 + (u_at * (n_paid - 1)).astype(np.int64), -1).astype(np.int32)
    spells["pause_len"] = np.where(pause, u_len, 0).astype(np.int8)
    u_change, u_when, shift = rng.random(n), rng.random(n), rng.integers(1, len(config.PLANS), n)
    change = monthly & (n_paid >= 2) & (u_change < config.PLAN_CHANGE_SHARE)
    spells["change_at"] = np.where(change, 1 + (u_when * (n_paid - 1)).astype(np.int64), -1).astype(np.int32)
    plan0 = spells["plan0"]
    spells["plan1"] = np.where(change, (plan0 + shift) % len(config.PLANS), plan0).astype(np.int8)


def spell_end_month(spells: Table) -> np.ndarray:
    """First month without an order after the spell (>= n_months means still active at the end)."""
    n_paid = spells["n_paid"].astype(np.int64)
    span = np.where(
        spells["cycle"] == 1,
        12 * n_paid,
        n_paid + np.where(spells["pause_after"] >= 0, spells["pause_len"], 0),
    )
    return (spells["start_month"] + span).astype(np.int64)


def last_plan(spells: Table) -> np.ndarray:
    """Plan a spell ends on (after any plan change)."""
    return np.where(spells["change_at"] >= 0, spells["plan1"], spells["plan0"])


def expand(spells: Table, tl: Timeline, first_spell_id: int = 0) -> Table:
    """Every order of every spell within the horizon: one row per paid period, in spell order."""
    n_months = tl.n_months
    start = spells["start_month"].astype(np.int64)
    cycle = spells["cycle"]
    annual = cycle == 1
    room = np.maximum(n_months - start, 0)
    cap = np.where(annual, (room + 11) // 12, room)
    counts = np.minimum(spells["n_paid"].astype(np.int64), cap)
    idx = np.repeat(np.arange(len(spells)), counts)
    j = np.arange(len(idx), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)

    pause_after = spells["pause_after"][idx]
    shift = np.where((pause_after >= 0) & (j >= pause_after), spells["pause_len"][idx], 0)
    month = start[idx] + np.where(annual[idx], 12 * j, j + shift)
    keep = month < n_months
    idx, j, month = idx[keep], j[keep], month[keep]

    change_at = spells["change_at"][idx]
    plan = np.where((change_at >= 0) & (j >= change_at), spells["plan1"][idx], spells["plan0"][idx]).astype(np.int8)
    order_cycle = cycle[idx]
    dom = spells["dom"][idx].astype(np.int32)
    day = tl.month_start[month] + np.minimum(dom, tl.days_in_month[month]) - 1
    amount = np.where(order_cycle == 1, ANNUAL_CENTS[plan], PRICE_CENTS[plan])
    return Table(
        {
            "cust": spells["cust"][idx],
            "spell": (idx + first_spell_id).astype(np.int32),
            "kind": spells["kind"][idx],
            "j": j.astype(np.int32),
            "month": month.astype(np.int32),
            "day": day.astype(np.int32),
            "plan": plan,
            "cycle": order_cycle,
            "amount_c": amount.astype(np.int64),
        }
    )


def coverage_end(orders: Table, n_customers: int) -> np.ndarray:
    """Per customer, the day their last paid period runs out (last order + 30 or 365 days); -1 if none."""
    covered = orders["day"].astype(np.int64) + np.where(orders["cycle"] == 1, 365, 30)
    out = np.full(n_customers, -1, dtype=np.int64)
    np.maximum.at(out, orders["cust"], covered)
    return out
