"""Realistically bad rows and the harsh faults, planned as arrays before anything is written.

A plan says, per clean row, whether and how it is corrupted (a reason code the writer renders in
SQL) and the output order, which interleaves exact duplicates after their originals. Planning
here and rendering in the writers keeps every corruption recorded: the ground truth lists each
bad record, so a test can compute exactly what a correct validator must keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from integrations.demo_world import config
from integrations.demo_world.frames import Table


@dataclass(frozen=True)
class BadPlan:
    """Which rows of one output are bad, why, and where the duplicates go."""

    reasons: tuple[str, ...]  # reason names; code k in ``kind`` means reasons[k - 1]
    kind: np.ndarray  # int8 per clean row: 0 = clean, k = corrupted with reasons[k - 1]
    order: np.ndarray  # clean row shown at each output position (duplicated rows appear twice)
    duplicate: np.ndarray  # bool per output position: a later exact copy of an earlier row
    duplicate_reason: str | None

    @property
    def rows(self) -> int:
        return len(self.order)

    @property
    def bad(self) -> int:
        return int((self.kind > 0).sum() + self.duplicate.sum())

    def counts(self) -> dict[str, int]:
        """Bad rows by reason (only reasons that occur)."""
        counts = {name: int((self.kind == code).sum()) for code, name in enumerate(self.reasons, start=1)}
        if self.duplicate_reason is not None:
            counts[self.duplicate_reason] = int(self.duplicate.sum())
        return {name: count for name, count in counts.items() if count}

    def kind_at_positions(self) -> np.ndarray:
        """Corruption code at each output position (duplicates are exact copies of clean rows: 0)."""
        return np.where(self.duplicate, 0, self.kind[self.order]).astype(np.int8)


def clean_plan(n: int) -> BadPlan:
    return BadPlan((), np.zeros(n, dtype=np.int8), np.arange(n), np.zeros(n, dtype=bool), None)


def plan_bad_rows(
    rng: np.random.Generator,
    n: int,
    share: float,
    mix: dict[str, float],
    *,
    eligible: dict[str, np.ndarray] | None = None,
    duplicate_reason: str | None = None,
    duplicate_gap: tuple[int, int] = (0, 40),
) -> BadPlan:
    """Corrupt about ``share`` of the output rows, split over reasons by ``mix``.

    Duplicates add rows, so their number d and the total bad b solve b = round(share * (n + d)):
    the realized share is ``share`` up to one row. ``eligible`` restricts a reason to some rows
    (a missing close date only makes sense on a won deal). ``duplicate_gap`` is how many rows
    later the copy appears; HubSpot pages use >= 100 so the copy lands on a later page.
    """
    mods = {name: weight for name, weight in mix.items() if name != duplicate_reason}
    reasons = tuple(mods)
    if share <= 0 or n == 0:
        return BadPlan(reasons, np.zeros(n, dtype=np.int8), np.arange(n), np.zeros(n, dtype=bool), duplicate_reason)
    dup_weight = mix.get(duplicate_reason, 0.0) if duplicate_reason else 0.0
    total_weight = sum(mix.values())
    n_dup = round(share * dup_weight / total_weight * n)
    n_bad = round(share * (n + n_dup))
    n_mod = max(n_bad - n_dup, 0)

    kind = np.zeros(n, dtype=np.int8)
    weights = np.array(list(mods.values()), dtype=np.float64)
    per_reason = rng.multinomial(n_mod, weights / weights.sum()) if len(weights) else []
    for code, (name, count) in enumerate(zip(reasons, per_reason, strict=True), start=1):
        allowed = kind == 0
        if eligible and name in eligible:
            allowed &= eligible[name]
        candidates = np.flatnonzero(allowed)
        take = min(int(count), len(candidates))
        kind[candidates[rng.choice(len(candidates), take, replace=False)]] = code

    lo, hi = duplicate_gap
    clean = np.flatnonzero(kind == 0)
    roomy = clean[clean < n - lo - 1]
    pool = roomy if len(roomy) >= n_dup else clean
    source = np.sort(pool[rng.choice(len(pool), min(n_dup, len(pool)), replace=False)])
    target = np.minimum(source + rng.integers(lo, hi + 1, len(source)), n - 1)
    keys = np.concatenate([2 * np.arange(n, dtype=np.int64), 2 * target.astype(np.int64) + 1])
    rows = np.concatenate([np.arange(n), source])
    is_dup = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(source), dtype=bool)])
    order = np.argsort(keys, kind="stable")
    return BadPlan(reasons, kind, rows[order], is_dup[order], duplicate_reason)


CONTACT_MIX = {"malformed_email": 0.6, "malformed_phone": 0.4}
DEAL_MIX = {"negative_amount": 0.2, "text_amount": 0.25, "missing_closedate": 0.2, "duplicate_record": 0.35}
SPEND_MIX = {
    "unknown_channel": 0.25,
    "text_amount": 0.2,
    "negative_amount": 0.15,
    "missing_date": 0.15,
    "duplicate_row": 0.25,
}
EXPENSE_MIX = {"text_amount": 0.3, "missing_month": 0.2, "negative_amount": 0.2, "duplicate_row": 0.3}
ORDER_MIX = {"text_amount": 0.3, "negative_amount": 0.2, "missing_date": 0.2, "duplicate_row": 0.3}


def plan_deals(rng: np.random.Generator, deals: Table, share: float) -> BadPlan:
    """Deals: bad amounts and missing close dates on won deals; duplicates on a later page."""
    won = deals["stage"] == config.DEAL_STAGES.index("closedwon")
    return plan_bad_rows(
        rng,
        len(deals),
        share,
        DEAL_MIX,
        eligible={name: won for name in DEAL_MIX},
        duplicate_reason="duplicate_record",
        duplicate_gap=(100, 3000),
    )


def plan_expenses(rng: np.random.Generator, expenses: Table, share: float) -> BadPlan:
    """Expenses: a negative amount is only an error on cost lines (resultado_financeiro is signed)."""
    cost = expenses["category"] != "resultado_financeiro"
    return plan_bad_rows(
        rng, len(expenses), share, EXPENSE_MIX, eligible={"negative_amount": cost}, duplicate_reason="duplicate_row"
    )


def burst(rng: np.random.Generator, events: Table) -> tuple[Table, dict[str, object]]:
    """``webhook_burst``: Meta retries a batch hundreds of times; copies go to the end of the busiest day."""
    days, counts = np.unique(events["day"], return_counts=True)
    day = int(days[np.argmax(counts)])
    on_day = np.flatnonzero(events["day"] == day)
    copies = events.take(on_day[rng.integers(0, len(on_day), config.WEBHOOK_BURST_SIZE)])
    copies["shuffle"] = 1.0 + np.arange(len(copies)) / len(copies)
    copies["burst"] = True
    merged = Table.concat([events, copies]).sorted_by("day", "shuffle")
    return merged, {"day": str(np.datetime64(day, "D")), "deliveries": config.WEBHOOK_BURST_SIZE}


def truncated_line(rng: np.random.Generator, n_pages: int) -> int:
    """``truncated_page``: which page line (0-based) of the deals file is cut mid-JSON."""
    return int(rng.integers(1, n_pages - 1)) if n_pages >= 3 else 0
