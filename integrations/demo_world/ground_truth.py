"""What really happened in the world: parameters, aggregates, bad records and per-customer truth.

Every aggregate is computed from the clean simulated data, before bad rows and faults are applied
to the files; a correct pipeline that drops exactly the recorded bad records recovers them. The
warehouse tests compare marts against these numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from integrations.demo_world import campaigns, config, faults, lifecycle
from integrations.demo_world.duck import labels
from integrations.demo_world.simulate import LIFECYCLE_STAGES, World

FORMAT_VERSION = 1
CHANNEL_KEYS = [c.key for c in config.CHANNELS]
PLAN_KEYS = [p.key for p in config.PLANS]


def _brl(cents: float) -> float:
    return round(float(cents) / 100, 2)


def params(world: World) -> dict[str, Any]:
    """The true parameters the simulation drew from (the answers analytics should recover)."""
    cfg = world.config
    reach = (1 - config.FAIL_SHARE) * config.DELIVERED_SHARE * config.READ_SHARE
    keep = 1 - config.REPLY_SHARE * config.OPT_OUT_SHARE_OF_REPLIES
    per_send = {v: round(reach * keep * p, 6) for v, p in config.CONVERSION_GIVEN_READ.items()}
    plan = world.campaigns.campaigns
    return {
        "seed": cfg.seed,
        "customers": cfg.customers,
        "months": cfg.months,
        "start_month": cfg.start_month,
        "end_month": cfg.end_month,
        "bad_share": cfg.bad_share,
        "faults": sorted(cfg.faults),
        "currency": "BRL",
        "timezone": "America/Sao_Paulo",
        "plans": [
            {
                "plan": p.key,
                "label": p.label,
                "price_brl": _brl(p.price_cents),
                "annual_price_brl": _brl(config.annual_price_cents(p)),
                "cogs_rate": p.cogs_rate,
                "mix": p.mix,
                "hazard_multiplier": p.hazard_multiplier,
            }
            for p in config.PLANS
        ],
        "billing": {
            "annual_share": config.ANNUAL_SHARE,
            "annual_price_factor": config.ANNUAL_PRICE_FACTOR,
            "annual_hazard_multiplier": config.ANNUAL_HAZARD_MULTIPLIER,
            "coupon_share": config.COUPON_SHARE,
            "coupon_rate": config.COUPON_RATE,
            "refund_share": config.REFUND_SHARE,
            "free_shipping_from_brl": _brl(config.FREE_SHIPPING_FROM_CENTS),
            "one_off_share": config.ONE_OFF_SHARE,
            "lead_share": config.LEAD_SHARE,
        },
        "channels": [
            {
                "channel": c.key,
                "paid": c.paid,
                "mix": c.mix,
                "base_hazard": c.base_hazard,
                "cac_brl": c.cac_brl if c.paid else None,
                "hs_analytics_source": [value for value, _ in c.hs_sources],
            }
            for c in config.CHANNELS
        ],
        "hazard": {c.key: {p.key: round(config.hazard(c, p), 6) for p in config.PLANS} for c in config.CHANNELS},
        "true_cac_brl": {c.key: c.cac_brl for c in config.CHANNELS if c.paid},
        "tax": {"regime": config.TAX_REGIME, "das_rate": config.DAS_RATE},
        "costs": {
            "gateway_fee_rate": config.GATEWAY_FEE_RATE,
            "sales_commission_rate": config.SALES_COMMISSION_RATE,
            "marketplace_commission_rate": config.MARKETPLACE_COMMISSION_RATE,
            "whatsapp_message_brl": _brl(config.WHATSAPP_MESSAGE_COST_CENTS),
        },
        "whatsapp": {
            "opt_in_share": config.OPT_IN_SHARE,
            "inactive_days": config.CAMPAIGN_INACTIVE_DAYS,
            "conversion_window_days": config.CAMPAIGN_CONVERSION_WINDOW_DAYS,
            "conversion_given_read": dict(config.CONVERSION_GIVEN_READ),
            "conversion_per_send": per_send,
            "uplift_given_read": round(config.CONVERSION_GIVEN_READ["B"] - config.CONVERSION_GIVEN_READ["A"], 6),
            "reply_attribution_days": 7,
        },
        "campaigns": [
            {
                "campaign_id": plan["campaign_id"][i],
                "date": str(np.datetime64(int(plan["day"][i]), "D")),
                "target": f"opted-in customers whose subscription lapsed >= {config.CAMPAIGN_INACTIVE_DAYS} days "
                "before the send, with no later order, not opted out",
                "variants": {
                    "A": {"template": plan["template_a"][i], "body": plan["body_a"][i]},
                    "B": {"template": plan["template_b"][i], "body": plan["body_b"][i]},
                },
            }
            for i in range(len(plan))
        ],
    }


def acquisition(world: World) -> list[dict[str, Any]]:
    """Spend and new customers (first paid order) per month and channel."""
    s = world.spend
    n_ch = len(config.CHANNELS)
    spend = np.bincount(s["month"] * n_ch + s["channel"], weights=s["spend_c"], minlength=world.tl.n_months * n_ch)
    rows = []
    for month, label in enumerate(world.tl.labels):
        for code, channel in enumerate(config.CHANNELS):
            new = int(world.acquisition_counts[month, code])
            cents = float(spend[month * n_ch + code])
            rows.append(
                {
                    "month": label,
                    "channel": channel.key,
                    "spend_brl": _brl(cents),
                    "new_customers": new,
                    "cac_brl": round(cents / 100 / new, 2) if channel.paid and new else None,
                }
            )
    return rows


def revenue_monthly(world: World) -> list[dict[str, Any]]:
    o, a, m = world.orders, world.one_offs, world.tl.n_months

    def total(month: np.ndarray, cents: np.ndarray) -> np.ndarray:
        return np.bincount(month, weights=cents, minlength=m)

    sub = total(o["month"], o["amount_c"])
    one = total(a["month"], a["amount_c"])
    freight = total(o["month"], o["shipping_c"])
    discounts = total(o["month"], o["discount_c"])
    refunds = total(o["month"], o["refund_c"])
    count = np.bincount(o["month"], minlength=m) + np.bincount(a["month"], minlength=m)
    return [
        {
            "month": label,
            "subscription_brl": _brl(sub[i]),
            "one_off_brl": _brl(one[i]),
            "freight_brl": _brl(freight[i]),
            "discounts_brl": _brl(discounts[i]),
            "refunds_brl": _brl(refunds[i]),
            "orders": int(count[i]),
        }
        for i, label in enumerate(world.tl.labels)
    ]


def mrr_monthly(world: World) -> list[dict[str, Any]]:
    """Normalized MRR: monthly orders at their amount; an annual bill spread over its 12 months."""
    o, m = world.orders, world.tl.n_months
    monthly = o["cycle"] == 0
    mrr = np.bincount(o["month"][monthly], weights=o["amount_c"][monthly], minlength=m).astype(np.float64)
    active = np.bincount(o["month"][monthly], minlength=m).astype(np.int64)
    for offset in range(12):
        month = o["month"][~monthly] + offset
        inside = month < m
        mrr += np.bincount(month[inside], weights=o["amount_c"][~monthly][inside] / 12, minlength=m)
        active += np.bincount(month[inside], minlength=m)
    return [
        {"month": label, "mrr": _brl(mrr[i]), "active_customers": int(active[i])}
        for i, label in enumerate(world.tl.labels)
    ]


def expenses_monthly(world: World) -> list[dict[str, Any]]:
    e = world.expenses
    rows = []
    for month, label in enumerate(world.tl.labels):
        in_month = e["month"] == month
        for category in config.EXPENSE_CATEGORIES:
            cents = e["amount_c"][in_month & (e["category"] == category)].sum()
            rows.append({"month": label, "category": category, "amount_brl": _brl(cents)})
    return rows


def churn_by_channel(world: World) -> list[dict[str, Any]]:
    """Monthly-billing subscriptions: churn events and exposure months versus the true hazard.

    Each paid month is one trial of the hazard; a trial is observed when the following month is
    inside the horizon (paid month <= end_month - 1). The exposure-weighted true hazard is what
    ``observed_churned / exposure_months`` estimates, whatever the plan mix of survivors.
    """
    m = world.tl.n_months
    spells, orders = world.spells, world.orders
    hazard = world.customers["hazard"]
    channel = world.customers["channel"]
    monthly_spell = spells["cycle"] == 0
    ended = monthly_spell & (lifecycle.spell_end_month(spells) < m)
    observed = (orders["cycle"] == 0) & (orders["month"] <= m - 2)
    churned = np.bincount(channel[spells["cust"][ended]], minlength=len(config.CHANNELS))
    exposure = np.bincount(channel[orders["cust"][observed]], minlength=len(config.CHANNELS))
    weighted = np.bincount(
        channel[orders["cust"][observed]], weights=hazard[orders["cust"][observed]], minlength=len(config.CHANNELS)
    )
    rows = []
    for code, c in enumerate(config.CHANNELS):
        e = int(exposure[code])
        rows.append(
            {
                "channel": c.key,
                "base_hazard": c.base_hazard,
                "true_hazard": round(weighted[code] / e, 6) if e else None,
                "observed_churned": int(churned[code]),
                "exposure_months": e,
                "observed_hazard": round(int(churned[code]) / e, 6) if e else None,
            }
        )
    return rows


def campaign_results(world: World) -> list[dict[str, Any]]:
    s = world.campaigns.sends
    plan = world.campaigns.campaigns
    rows = []
    for i in range(len(plan)):
        for variant, is_b in (("A", False), ("B", True)):
            mask = (s["campaign"] == i) & (s["variant_b"] == is_b)
            rows.append(
                {
                    "campaign_id": plan["campaign_id"][i],
                    "variant": variant,
                    "template": plan["template_b" if is_b else "template_a"][i],
                    "date": str(np.datetime64(int(plan["day"][i]), "D")),
                    "sent": int(mask.sum()),
                    "delivered": int((mask & s["delivered"]).sum()),
                    "read": int((mask & s["read"]).sum()),
                    "failed": int((mask & s["failed"]).sum()),
                    "replied": int((mask & s["replied"]).sum()),
                    "opted_out": int((mask & s["opted_out"]).sum()),
                    "converted": int((mask & s["converted"]).sum()),
                }
            )
    return rows


def funnel(world: World) -> dict[str, Any]:
    stages = np.bincount(world.deals["stage"], minlength=len(config.DEAL_STAGES))
    lifecycle_counts = np.bincount(world.contacts["lifecycle"], minlength=len(LIFECYCLE_STAGES))
    return {
        "deals_by_stage": {stage: int(stages[i]) for i, stage in enumerate(config.DEAL_STAGES)},
        "contacts_by_lifecyclestage": {stage: int(lifecycle_counts[i]) for i, stage in enumerate(LIFECYCLE_STAGES)},
    }


def bad_rows(plans: dict[str, faults.BadPlan]) -> dict[str, Any]:
    return {
        name: {
            "rows": plan.rows,
            "bad": plan.bad,
            "share": round(plan.bad / plan.rows, 6) if plan.rows else 0.0,
            "by_reason": plan.counts(),
        }
        for name, plan in plans.items()
    }


def bad_records(plans: dict[str, faults.BadPlan], ids: dict[str, np.ndarray]) -> dict[str, list[dict[str, Any]]]:
    """Every corrupted record: HubSpot objects by id (and page line), worksheet rows by 1-based number."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, plan in plans.items():
        position_kind = plan.kind_at_positions()
        positions = np.flatnonzero((position_kind > 0) | plan.duplicate)
        reason_names = np.array(["", *plan.reasons, plan.duplicate_reason or ""], dtype=object)
        codes = np.where(plan.duplicate[positions], len(plan.reasons) + 1, position_kind[positions])
        reasons = reason_names[codes].tolist()
        if name in ids:
            record_ids = ids[name][plan.order[positions]].tolist()
            lines = (positions // 100 + 1).tolist()
            out[name] = [
                {"id": str(i), "line": line, "reason": r} for i, line, r in zip(record_ids, lines, reasons, strict=True)
            ]
        else:
            first_copy = _first_positions(plan)
            records = []
            for position, reason in zip(positions.tolist(), reasons, strict=True):
                record: dict[str, Any] = {"row": position + 1, "reason": reason}
                if plan.duplicate[position]:
                    record["duplicate_of"] = int(first_copy[plan.order[position]]) + 1
                records.append(record)
            out[name] = records
    return out


def _first_positions(plan: faults.BadPlan) -> np.ndarray:
    """Output position of each clean row's first (original) appearance."""
    first = np.empty(len(plan.kind), dtype=np.int64)
    originals = np.flatnonzero(~plan.duplicate)
    first[plan.order[originals]] = originals
    return first


def customers_table(world: World) -> pa.Table:
    """One row per customer: the truth behind their records (channel, plan, churn, campaigns)."""
    c, spells, tl = world.customers, world.spells, world.tl
    n, m = len(c), tl.n_months
    months = list(tl.labels)

    def month_labels(month: np.ndarray) -> pa.Array:
        return labels(np.where((month >= 0) & (month < m), month, -1), months).cast(pa.string())

    end = lifecycle.spell_end_month(spells)
    last_end = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_end, spells["cust"], end)
    first = spells["kind"] == lifecycle.SPELL_FIRST
    first_cust = spells["cust"][first]
    first_end = np.full(n, -1, dtype=np.int64)
    first_end[first_cust] = end[first]
    pause_month = np.full(n, -1, dtype=np.int64)
    pause_len = np.zeros(n, dtype=np.int8)
    paused = first & (spells["pause_after"] >= 0)
    pause_month[spells["cust"][paused]] = spells["start_month"][paused] + spells["pause_after"][paused]
    pause_len[spells["cust"][paused]] = spells["pause_len"][paused]
    change = first & (spells["change_at"] >= 0)
    change_month = np.full(n, -1, dtype=np.int64)
    shifted = (spells["pause_after"] >= 0) & (spells["change_at"] >= spells["pause_after"])
    change_at_month = spells["start_month"] + spells["change_at"] + np.where(shifted, spells["pause_len"], 0)
    change_month[spells["cust"][change]] = change_at_month[change]
    new_plan = np.full(n, -1, dtype=np.int64)
    new_plan[spells["cust"][change]] = spells["plan1"][change]
    natural = spells["kind"] == lifecycle.SPELL_NATURAL
    natural_month = np.full(n, -1, dtype=np.int64)
    natural_month[spells["cust"][natural]] = spells["start_month"][natural]

    sends = world.campaigns.sends
    plan = world.campaigns.campaigns
    targeted = np.bincount(sends["cust"], minlength=n)
    last_send = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_send, sends["cust"], sends["campaign"].astype(np.int64) * 2 + sends["variant_b"])
    won = sends["converted"]
    converted = np.full(n, -1, dtype=np.int64)
    np.maximum.at(converted, sends["cust"][won], sends["campaign"][won].astype(np.int64) * 2 + sends["variant_b"][won])
    campaign_ids = list(plan["campaign_id"])
    orders = np.bincount(world.orders["cust"], minlength=n)
    revenue = np.bincount(world.orders["cust"], weights=world.orders["amount_c"], minlength=n) / 100
    signup_day = tl.to_local_day(c["create_ms"])
    opt_in_day = np.where(c["opted_in"], tl.to_local_day(c["opt_in_ms"]), 0)

    def campaign_of(code: np.ndarray) -> pa.Array:
        return labels(np.where(code >= 0, code // 2, -1), campaign_ids).cast(pa.string())

    def variant_of(code: np.ndarray) -> pa.Array:
        return labels(np.where(code >= 0, code % 2, -1), ["A", "B"]).cast(pa.string())

    return pa.table(
        {
            "contact_id": c["contact_id"],
            "channel": labels(c["channel"], CHANNEL_KEYS).cast(pa.string()),
            "plan": labels(c["plan"], PLAN_KEYS).cast(pa.string()),
            "billing_cycle": labels(c["cycle"], ["monthly", "annual"]).cast(pa.string()),
            "signup_date": pa.array(signup_day, pa.date32()),
            "first_order_date": pa.array(c["first_day"], pa.date32()),
            "hazard": np.round(c["hazard"], 6),
            "first_churn_month": month_labels(np.where(first_end < m, first_end, -1)),
            "churn_month": month_labels(np.where(last_end < m, last_end, -1)),
            "pause_month": month_labels(pause_month),
            "pause_months": pause_len,
            "plan_change_month": month_labels(change_month),
            "new_plan": labels(new_plan, PLAN_KEYS).cast(pa.string()),
            "natural_reactivation_month": month_labels(natural_month),
            "opted_in": c["opted_in"],
            "opt_in_date": pa.array(opt_in_day, pa.date32(), mask=~c["opted_in"]),
            "campaigns_targeted": targeted.astype(np.int16),
            "last_campaign_id": campaign_of(last_send),
            "last_variant": variant_of(last_send),
            "converted_campaign_id": campaign_of(converted),
            "converted_variant": variant_of(converted),
            "subscription_orders": orders.astype(np.int32),
            "subscription_revenue_brl": np.round(revenue, 2),
        }
    )


def write_customers(world: World, path: Path) -> int:
    table = customers_table(world)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def webhook_summary(events_table_rows: int, events: Any, result: campaigns.CampaignResult) -> dict[str, int]:
    return {
        "bodies": events_table_rows,
        "status_events": int((events["kind"] == campaigns.EVENT_STATUS).sum()),
        "inbound_messages": int((events["kind"] == campaigns.EVENT_INBOUND).sum()),
        "duplicate_deliveries": int(events["duplicate"].sum()),
        "burst_deliveries": int(events["burst"].sum()),
        "organic_inbound": len(result.organic),
    }


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with nesting on separate lines but each record (a dict of scalars) on one line."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value and not _flat(value):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and not all(_scalar(v) for v in value):
        items = [inner + dumps(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flat(value: dict[str, Any]) -> bool:
    return all(_scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v)) for v in value.values())
