"""WhatsApp win-back campaigns: who is targeted, what happens to each message, who comes back.

Campaigns run in date order because each one changes the world the next one sees: converted
customers start ordering again and opt-outs join the suppression list. Inside a campaign every
step is a vector operation over its targets. Variant B carries a true conversion uplift, so the
A/B analysis downstream has a known right answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from integrations.demo_world import config, lifecycle
from integrations.demo_world.frames import Table
from integrations.demo_world.sampling import categorical
from integrations.demo_world.timeline import Timeline

STATUS_SENT, STATUS_DELIVERED, STATUS_READ, STATUS_FAILED = 0, 1, 2, 3
STATUS_NAMES = ("sent", "delivered", "read", "failed")
EVENT_STATUS, EVENT_INBOUND = 0, 1
TEXT_REPLY, TEXT_OPT_OUT, TEXT_SERVICE = 0, 1, 2


@dataclass(frozen=True)
class CampaignResult:
    """Campaign schedule, one row per message sent, organic inbound texts and the win-back spells."""

    campaigns: Table  # campaign_id, base, day, template_a/b, body_a/b
    sends: Table  # one row per message, with its simulated fate and event times
    organic: Table  # service questions not tied to a campaign: cust, ts_s, text
    spells: Table  # SPELL_CAMPAIGN spells of converted customers


def schedule(rng: np.random.Generator, tl: Timeline) -> Table:
    """4-6 campaigns, at least two months apart, from a quarter into the history to the last month.

    Sends happen on a Tuesday-Thursday between the 3rd and the 13th, so the 14-day conversion
    window always ends inside the horizon, and two campaigns' windows never overlap.
    """
    n_months = tl.n_months
    first = max(3, n_months // 4)
    room = n_months - 1 - first
    wanted = int(rng.integers(config.CAMPAIGN_COUNT[0], config.CAMPAIGN_COUNT[1] + 1))
    count = max(1, min(wanted, 1 + room // 2))
    months = np.round(np.linspace(first, n_months - 1, count)).astype(np.int64) if count > 1 else np.array([first])
    rows = []
    regular = [t for t in config.CAMPAIGN_TEMPLATES if t.base != config.BLACK_FRIDAY_TEMPLATE]
    black_friday = next(t for t in config.CAMPAIGN_TEMPLATES if t.base == config.BLACK_FRIDAY_TEMPLATE)
    for number, month in enumerate(months):
        third = int(tl.month_start[month]) + 2
        candidates = [d for d in range(third, third + 11) if (d + 3) % 7 in (1, 2, 3)]
        day = candidates[int(rng.integers(0, len(candidates)))]
        label = tl.labels[month]
        template = black_friday if label.endswith("-11") else regular[number % len(regular)]
        rows.append(
            {
                "campaign_id": f"cmp_{label.replace('-', '')}_{template.base}",
                "base": template.base,
                "month": int(month),
                "day": day,
                "template_a": f"{template.base}_a",
                "template_b": f"{template.base}_b",
                "body_a": template.body_a,
                "body_b": template.body_b,
            }
        )
    return Table({name: np.array([row[name] for row in rows]) for name in rows[0]})


def run(
    rng: np.random.Generator,
    tl: Timeline,
    customers: Table,
    orders: Table,
    spells: Table,
) -> CampaignResult:
    """Simulate every campaign against the customers and their (non-campaign) orders so far."""
    n_customers = len(customers)
    plan_now = _current_plan(spells, n_customers)
    covered_until = lifecycle.coverage_end(orders, n_customers)
    opted_in = customers["opted_in"]
    opt_in_day = tl.to_local_day(customers["opt_in_ms"])
    hazard = customers["hazard"]
    suppressed = np.zeros(n_customers, dtype=bool)

    plan = schedule(rng, tl)
    sends, won_back = [], []
    next_message = 0
    for number in range(len(plan)):
        day = int(plan["day"][number])
        eligible = (
            (covered_until >= 0)
            & (covered_until <= day - (config.CAMPAIGN_INACTIVE_DAYS - 30))
            & opted_in
            & (opt_in_day <= day)
            & ~suppressed
        )
        targets = rng.permutation(np.flatnonzero(eligible)).astype(np.int32)
        batch = _simulate_messages(rng, tl, targets, day, int(number), next_message)
        next_message += len(targets)
        sends.append(batch)
        suppressed[targets[batch["opted_out"]]] = True

        converted = targets[batch["converted"]]
        start_day = day + rng.integers(1, config.CAMPAIGN_CONVERSION_WINDOW_DAYS + 1, len(converted))
        start_month = tl.month_of(start_day)
        new_spells = lifecycle.make_spells(
            len(converted),
            cust=converted,
            kind=lifecycle.SPELL_CAMPAIGN,
            start_month=start_month,
            dom=start_day - tl.month_start[start_month] + 1,
            cycle=0,
            n_paid=rng.geometric(hazard[converted]),
            plan0=plan_now[converted],
            campaign=int(number),
        )
        won_back.append(new_spells)
        covered_until = np.maximum(covered_until, lifecycle.coverage_end(lifecycle.expand(new_spells, tl), n_customers))

    organic = _organic_inbound(rng, tl, customers, plan["day"])
    return CampaignResult(
        campaigns=plan,
        sends=Table.concat(sends),
        organic=organic,
        spells=Table.concat(won_back),
    )


def _current_plan(spells: Table, n_customers: int) -> np.ndarray:
    """The plan each customer's latest spell ends on: a won-back customer returns to it."""
    order = np.lexsort((spells["start_month"], spells["cust"]))
    cust = spells["cust"][order]
    last = np.flatnonzero(np.append(cust[1:] != cust[:-1], True))
    plan = np.zeros(n_customers, dtype=np.int8)
    plan[cust[last]] = lifecycle.last_plan(spells)[order][last]
    return plan


def _simulate_messages(
    rng: np.random.Generator, tl: Timeline, targets: np.ndarray, day: int, campaign: int, first_message: int
) -> Table:
    """The fate of each message: failed / delivered / read, replies, opt-outs, conversion, and when."""
    n = len(targets)
    variant_b = rng.random(n) < 0.5
    failed = rng.random(n) < config.FAIL_SHARE
    error_share = np.array([share for *_, share in config.WHATSAPP_ERRORS])
    error = categorical(rng, error_share, n).astype(np.int8)
    failed_after_sent = failed & (rng.random(n) < config.FAILED_AFTER_SENT_SHARE)
    delivered = ~failed & (rng.random(n) < config.DELIVERED_SHARE)
    read = delivered & (rng.random(n) < config.READ_SHARE)
    skip_delivered_webhook = read & (rng.random(n) < config.NO_DELIVERED_WEBHOOK_SHARE)
    replied = read & (rng.random(n) < config.REPLY_SHARE)
    opted_out = replied & (rng.random(n) < config.OPT_OUT_SHARE_OF_REPLIES)
    conversion = np.where(variant_b, config.CONVERSION_GIVEN_READ["B"], config.CONVERSION_GIVEN_READ["A"])
    converted = read & ~opted_out & (rng.random(n) < conversion)
    reply_text = np.where(
        opted_out,
        rng.integers(0, len(config.OPT_OUT_TEXTS), n),
        rng.integers(0, len(config.REPLY_TEXTS), n),
    ).astype(np.int16)
    reply_context = rng.random(n) < config.REPLY_CONTEXT_SHARE

    start_s = int(tl.to_utc_ms(np.array([day]), np.array([10 * 3600]))[0]) // 1000
    send_s = start_s + np.arange(n, dtype=np.int64) // config.SEND_RATE_PER_SECOND
    sent_s = send_s + rng.integers(1, 4, n)
    offline = rng.random(n) < 0.08  # phone off: delivered hours later
    delivered_s = sent_s + 1 + rng.exponential(20.0, n).astype(np.int64)
    delivered_s += np.where(offline, rng.integers(3600, 36 * 3600, n), 0)
    read_s = delivered_s + np.minimum(rng.exponential(9000.0, n), 72 * 3600).astype(np.int64) + 1
    read_s = np.where(skip_delivered_webhook, delivered_s, read_s)  # read while the chat was open
    failed_s = np.where(failed_after_sent, sent_s + rng.integers(30, 7200, n), send_s + rng.integers(1, 6, n))
    reply_s = read_s + 5 + np.minimum(rng.exponential(900.0, n), 6 * 3600).astype(np.int64)
    return Table(
        {
            "message": np.arange(first_message, first_message + n, dtype=np.int64),
            "campaign": np.full(n, campaign, dtype=np.int16),
            "variant_b": variant_b,
            "cust": targets,
            "send_ms": send_s * 1000 + rng.integers(0, 1000, n),
            "failed": failed,
            "error": error,
            "failed_after_sent": failed_after_sent,
            "delivered": delivered,
            "read": read,
            "skip_delivered_webhook": skip_delivered_webhook,
            "replied": replied,
            "opted_out": opted_out,
            "converted": converted,
            "reply_text": reply_text,
            "reply_context": reply_context,
            "sent_s": sent_s,
            "delivered_s": delivered_s,
            "read_s": read_s,
            "failed_s": failed_s,
            "reply_s": reply_s,
        }
    )


def _organic_inbound(rng: np.random.Generator, tl: Timeline, customers: Table, campaign_days: np.ndarray) -> Table:
    """Service questions from customers on days outside every campaign's reply window.

    Keeping them out of the windows makes campaign attribution exact: any inbound text within seven
    days after a campaign message to the same number is a reply to that campaign.
    """
    n_customers = len(customers)
    n = round(config.ORGANIC_INBOUND_SHARE * n_customers)
    cust = rng.integers(0, n_customers, n).astype(np.int32)
    first_day = customers["first_day"][cust].astype(np.int64)
    day = first_day + 1 + (rng.random(n) * np.maximum(tl.end_day - first_day - 1, 0)).astype(np.int64)
    keep = day < tl.end_day
    for campaign_day in campaign_days:
        keep &= ~((day >= campaign_day) & (day < campaign_day + 9))
    seconds = rng.integers(9 * 3600, 20 * 3600, n)
    text = rng.integers(0, len(config.SERVICE_TEXTS), n).astype(np.int16)
    ts_s = tl.to_utc_ms(day, seconds) // 1000
    return Table({"cust": cust, "ts_s": ts_s, "text": text}).take(keep).sorted_by("ts_s")


def webhook_events(rng: np.random.Generator, result: CampaignResult) -> Table:
    """Every webhook POST Meta makes, with re-deliveries, in the order they arrive.

    One status or one inbound message per POST (the common case). A few percent are delivered
    twice; arrival order within a UTC day is shuffled, so a "read" can land before its
    "delivered", exactly what the landing area sees in production.
    """
    s = result.sends
    parts = []
    sent_mask = ~s["failed"] | s["failed_after_sent"]
    delivered_mask = s["delivered"] & ~s["skip_delivered_webhook"]
    for status, mask, column in (
        (STATUS_SENT, sent_mask, "sent_s"),
        (STATUS_DELIVERED, delivered_mask, "delivered_s"),
        (STATUS_READ, s["read"], "read_s"),
        (STATUS_FAILED, s["failed"], "failed_s"),
    ):
        parts.append(
            Table(
                {
                    "kind": np.int8(EVENT_STATUS),
                    "message": s["message"][mask],
                    "status": np.int8(status),
                    "ts_s": s[column][mask],
                    "cust": s["cust"][mask],
                    "text_kind": np.int8(-1),
                    "text": np.int16(-1),
                    "context": False,
                }
            )
        )
    replied = s["replied"]
    parts.append(
        Table(
            {
                "kind": np.int8(EVENT_INBOUND),
                "message": s["message"][replied],
                "status": np.int8(-1),
                "ts_s": s["reply_s"][replied],
                "cust": s["cust"][replied],
                "text_kind": np.where(s["opted_out"][replied], TEXT_OPT_OUT, TEXT_REPLY).astype(np.int8),
                "text": s["reply_text"][replied],
                "context": s["reply_context"][replied],
            }
        )
    )
    organic = result.organic
    parts.append(
        Table(
            {
                "kind": np.int8(EVENT_INBOUND),
                "message": np.int64(-1),
                "status": np.int8(-1),
                "ts_s": organic["ts_s"],
                "cust": organic["cust"],
                "text_kind": np.int8(TEXT_SERVICE),
                "text": organic["text"],
                "context": False,
            }
        )
    )
    events = Table.concat(parts)
    inbound = events["kind"] == EVENT_INBOUND
    # every inbound message gets its own id, numbered in time order
    inbound_order = np.argsort(events["ts_s"][inbound], kind="stable")
    inbound_id = np.full(len(events), -1, dtype=np.int64)
    inbound_id[np.flatnonzero(inbound)[inbound_order]] = np.arange(inbound.sum())
    events["inbound_id"] = inbound_id
    events["arrival_s"] = events["ts_s"] + rng.integers(0, 3, len(events))
    events["duplicate"] = False

    dup = np.flatnonzero(rng.random(len(events)) < config.DUPLICATE_WEBHOOK_SHARE)
    copies = events.take(dup)
    copies["arrival_s"] = copies["arrival_s"] + rng.integers(30, 3600, len(copies))
    copies["duplicate"] = True
    events = Table.concat([events, copies])
    events["day"] = (events["arrival_s"] // 86_400).astype(np.int32)  # landing files are UTC days
    events["shuffle"] = rng.random(len(events))
    events["burst"] = False
    return events.sorted_by("day", "shuffle")
