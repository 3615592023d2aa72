"""The +Pet business simulated as numpy arrays: customers, subscriptions, orders, leads, spend.

Everything here is clean data; corruption happens later (``faults.py``) and only on the way to the
files, so the ground truth can be computed from exactly what the business did. Loops run over
months, channels and campaigns, never over customers or orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from integrations.demo_world import campaigns, config, finance, lifecycle, people
from integrations.demo_world.config import WorldConfig
from integrations.demo_world.frames import Table
from integrations.demo_world.sampling import categorical
from integrations.demo_world.timeline import DAY_MS, Timeline, business_seconds

CONTACT_ID_BASE = 10_000_000
DEAL_ID_BASE = 2_000_000_000
PLAN_MIX = tuple(p.mix for p in config.PLANS)
CHANNEL_MIX = tuple(c.mix for c in config.CHANNELS)
STAGE_CODE = {stage: code for code, stage in enumerate(config.DEAL_STAGES)}
LIFECYCLE_STAGES = ("lead", "opportunity", "customer")
STREAMS = (
    "acquisition",
    "customers",
    "lifetimes",
    "reactivation",
    "campaigns",
    "orders",
    "one_offs",
    "leads",
    "contacts",
    "deals",
    "spend",
    "expenses",
    "webhooks",
    "bad_rows",
    "faults",
)


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per concern, so adding draws in one place leaves the others alone."""
    children = np.random.default_rng(seed).spawn(len(STREAMS))
    return dict(zip(STREAMS, children, strict=True))


@dataclass(frozen=True)
class World:
    """The clean simulated business, ready to be written in the vendors' shapes."""

    config: WorldConfig
    tl: Timeline
    rngs: dict[str, np.random.Generator]
    acquisition_counts: np.ndarray  # new customers per (month, channel) as sampled
    customers: Table
    spells: Table
    orders: Table  # subscription orders = closedwon deals
    one_offs: Table
    leads: Table
    lead_deals: Table
    contacts: Table  # customers and leads, sorted by contact id
    deals: Table  # orders and lead deals, sorted by deal id
    spend: Table
    campaigns: campaigns.CampaignResult
    events: Table  # webhook POSTs in arrival order
    expenses: Table
    phone_offset: int


def simulate(cfg: WorldConfig) -> World:
    """Run the whole simulation for ``cfg``; a pure function of the config."""
    tl = Timeline.build(cfg.start_month, cfg.months)
    rngs = streams(cfg.seed)
    counts, acq_month, channel, first_day = _acquire(rngs["acquisition"], tl, cfg.customers)
    customers = _customers(rngs["customers"], tl, acq_month, channel, first_day)

    first = _first_spells(rngs["lifetimes"], tl, customers)
    natural = _natural_reactivations(rngs["reactivation"], tl, customers, first)
    spells = Table.concat([first, natural])
    orders = lifecycle.expand(spells, tl)

    result = campaigns.run(rngs["campaigns"], tl, customers, orders, spells)
    won_back = lifecycle.expand(result.spells, tl, first_spell_id=len(spells))
    spells = Table.concat([spells, result.spells])
    orders = Table.concat([orders, won_back])
    orders = _price_orders(rngs["orders"], tl, orders, customers)
    one_offs = _one_offs(rngs["one_offs"], tl, orders, customers)

    leads, lead_deals = _leads(rngs["leads"], tl, round(config.LEAD_SHARE * cfg.customers))
    contacts, phone_offset = _contacts(rngs["contacts"], tl, customers, leads, orders, lead_deals)
    customers["contact_row"] = _rows_of(contacts["customer"], len(customers))
    customers["contact_id"] = contacts["contact_id"][customers["contact_row"]]
    deals = _deals(rngs["deals"], tl, orders, lead_deals, customers, contacts)
    spend = _spend(rngs["spend"], tl, counts)
    events = campaigns.webhook_events(rngs["webhooks"], result)
    expenses = finance.expenses(rngs["expenses"], tl, cfg.customers, orders, one_offs, spend, result)
    return World(
        config=cfg,
        tl=tl,
        rngs=rngs,
        acquisition_counts=counts,
        customers=customers,
        spells=spells,
        orders=orders,
        one_offs=one_offs,
        leads=leads,
        lead_deals=lead_deals,
        contacts=contacts,
        deals=deals,
        spend=spend,
        campaigns=result,
        events=events,
        expenses=expenses,
        phone_offset=phone_offset,
    )


def _acquire(
    rng: np.random.Generator, tl: Timeline, n_customers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """New customers per (month, channel), exactly ``n_customers`` in total, and their first-order days."""
    day_weight = tl.daily_weights()
    day_month = tl.month_of(np.arange(tl.first_day, tl.end_day))
    month_weight = np.bincount(day_month, weights=day_weight, minlength=tl.n_months)
    mix = np.array([c.mix for c in config.CHANNELS])
    paid = np.array([c.paid for c in config.CHANNELS])
    progress = np.linspace(-0.5, 0.5, tl.n_months)
    drift = np.where(paid[None, :], 1.0 + config.PAID_SHARE_DRIFT * progress[:, None], 1.0)
    cell = month_weight[:, None] * mix[None, :] * drift
    counts = rng.multinomial(n_customers, (cell / cell.sum()).ravel()).reshape(tl.n_months, len(mix))

    months, channels, days = [], [], []
    for month in range(tl.n_months):
        n = int(counts[month].sum())
        lo, hi = int(tl.month_start[month]), int(tl.month_start[month + 1])
        w = day_weight[lo - tl.first_day : hi - tl.first_day]
        months.append(np.full(n, month, dtype=np.int32))
        channels.append(np.repeat(np.arange(len(mix), dtype=np.int8), counts[month]))
        days.append((lo + categorical(rng, w, n)).astype(np.int32))
    return counts, np.concatenate(months), np.concatenate(channels), np.concatenate(days)


def _customers(
    rng: np.random.Generator, tl: Timeline, acq_month: np.ndarray, channel: np.ndarray, first_day: np.ndarray
) -> Table:
    """Who the customers are: plan, cycle, hazard, identity, consent, and when they signed up."""
    n = len(acq_month)
    plan = categorical(rng, PLAN_MIX, n).astype(np.int8)
    cycle = (rng.random(n) < config.ANNUAL_SHARE).astype(np.int8)
    base = np.array([c.base_hazard for c in config.CHANNELS])[channel]
    hazard = base * np.array([p.hazard_multiplier for p in config.PLANS])[plan]
    first_ms = tl.to_utc_ms(first_day, business_seconds(rng, n), rng.integers(0, 1000, n))
    same_day = rng.random(n) < config.SIGNUP_SAME_DAY_SHARE
    lag_days = np.where(same_day, 0, np.minimum(rng.geometric(0.2, n), 30))
    create_ms = first_ms - lag_days * DAY_MS - rng.integers(10 * 60_000, 3 * 3_600_000, n)
    opted_in = rng.random(n) < config.OPT_IN_SHARE
    frame = Table(
        {
            "channel": channel,
            "plan": plan,
            "cycle": cycle,
            "acq_month": acq_month,
            "first_day": first_day,
            "first_ms": first_ms,
            "create_ms": create_ms,
            "hazard": hazard,
            "coupon": rng.random(n) < config.COUPON_SHARE,
            "opted_in": opted_in,
            "opt_in_ms": create_ms + rng.integers(0, 3_600_000, n),
        }
    )
    for name, values in people.draw_people(rng, n).items():
        frame[name] = values
    frame["region"] = people.CITY_REGION[frame["city"]]
    return frame


def _first_spells(rng: np.random.Generator, tl: Timeline, customers: Table) -> Table:
    """Each customer's initial subscription: geometric lifetime from the monthly (or yearly) hazard."""
    n = len(customers)
    hazard = customers["hazard"]
    cycle = customers["cycle"]
    yearly = 1.0 - (1.0 - hazard * config.ANNUAL_HAZARD_MULTIPLIER) ** 12
    n_paid = np.where(cycle == 1, rng.geometric(yearly), rng.geometric(hazard))
    first_day = customers["first_day"]
    spells = lifecycle.make_spells(
        n,
        cust=np.arange(n),
        kind=lifecycle.SPELL_FIRST,
        start_month=customers["acq_month"],
        dom=first_day - tl.month_start[customers["acq_month"]] + 1,
        cycle=cycle,
        n_paid=n_paid,
        plan0=customers["plan"],
    )
    lifecycle.draw_pauses_and_changes(rng, spells)
    return spells


def _natural_reactivations(rng: np.random.Generator, tl: Timeline, customers: Table, first: Table) -> Table:
    """Some churned customers return by themselves 2-8 months later, on a monthly plan."""
    end = lifecycle.spell_end_month(first)
    gap = rng.integers(config.REACTIVATION_GAP_MONTHS[0], config.REACTIVATION_GAP_MONTHS[1] + 1, len(first))
    back = (end < tl.n_months) & (rng.random(len(first)) < config.REACTIVATION_SHARE) & (end + gap < tl.n_months)
    cust = first["cust"][back]
    hazard = customers["hazard"][cust]
    return lifecycle.make_spells(
        len(cust),
        cust=cust,
        kind=lifecycle.SPELL_NATURAL,
        start_month=(end + gap)[back],
        dom=rng.integers(1, 29, len(cust)),
        cycle=0,
        n_paid=rng.geometric(hazard),
        plan0=lifecycle.last_plan(first)[back],
    )


def _price_orders(rng: np.random.Generator, tl: Timeline, orders: Table, customers: Table) -> Table:
    """Timestamps, coupons, freight charged and paid, refunds: everything money about an order."""
    # a customer has at most one subscription order a day (spells never overlap): (day, cust) is a key
    key = orders["day"].astype(np.int64) * (1 << 24) + orders["cust"]
    orders = orders.sorted_by(key)
    n = len(orders)
    cust = orders["cust"]
    kind = orders["kind"]
    first_of_spell = orders["j"] == 0
    acquisition = first_of_spell & (kind == lifecycle.SPELL_FIRST)
    ms = tl.to_utc_ms(orders["day"], business_seconds(rng, n), rng.integers(0, 1000, n))
    orders["ms"] = np.where(acquisition, customers["first_ms"][cust], ms)

    amount = orders["amount_c"]
    coupon = (acquisition & customers["coupon"][cust]) | (first_of_spell & (kind == lifecycle.SPELL_CAMPAIGN))
    orders["discount_c"] = np.where(coupon, (amount * round(config.COUPON_RATE * 100) + 50) // 100, 0)
    region = customers["region"][cust]
    monthly = orders["cycle"] == 0
    charged = monthly & (amount < config.FREE_SHIPPING_FROM_CENTS)
    orders["shipping_c"] = np.where(charged, np.asarray(config.SHIPPING_FEE_CENTS)[region], 0)
    refunded = rng.random(n) < config.REFUND_SHARE
    net = amount - orders["discount_c"] + orders["shipping_c"]
    orders["refund_c"] = np.where(refunded, net, 0)
    orders["freight_cost_c"] = np.asarray(config.FREIGHT_COST_CENTS)[region] * np.where(monthly, 1, 12)
    return orders


def _one_offs(rng: np.random.Generator, tl: Timeline, orders: Table, customers: Table) -> Table:
    """Avulso orders (marketplace, loja física) by existing customers, busier around retail dates."""
    target = round(config.ONE_OFF_SHARE / (1 - config.ONE_OFF_SHARE) * len(orders))
    n = 2 * target + 16
    source = rng.integers(0, len(orders), n)
    day = orders["day"][source].astype(np.int64) + rng.integers(2, 30, n)
    inside = day < tl.end_day
    boost = np.where(inside, tl.event_boost(np.minimum(day, tl.end_day - 1)), 0.0)
    accepted = np.flatnonzero(inside & (rng.random(n) * boost.max() < boost))[:target]
    cust = orders["cust"][source][accepted]
    day = day[accepted]
    seconds = business_seconds(rng, len(cust))
    plan = categorical(rng, PLAN_MIX, len(cust))
    quantity = 1 + categorical(rng, config.ONE_OFF_QUANTITY_WEIGHTS, len(cust))
    outlet = categorical(rng, [share for *_, share in config.ONE_OFF_OUTLETS], len(cust))
    frame = Table(
        {
            "cust": cust.astype(np.int32),
            "day": day.astype(np.int32),
            "ms": tl.to_utc_ms(day, seconds),
            "month": tl.month_of(day),
            "plan": plan.astype(np.int8),
            "amount_c": lifecycle.PRICE_CENTS[plan] * quantity,
            "outlet": outlet.astype(np.int8),
            "channel": customers["channel"][cust],
        }
    )
    frame = frame.sorted_by("ms")
    frame["seq"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _leads(rng: np.random.Generator, tl: Timeline, n: int) -> tuple[Table, Table]:
    """Contacts who never buy, and their deals: open pipeline stages or lost."""
    day_weight = tl.daily_weights()
    day = tl.first_day + categorical(rng, day_weight, n)
    create_ms = tl.to_utc_ms(day, business_seconds(rng, n), rng.integers(0, 1000, n))
    channel = categorical(rng, CHANNEL_MIX, n)
    opportunity = rng.random(n) < config.LEAD_OPPORTUNITY_SHARE
    opted_in = rng.random(n) < config.OPT_IN_SHARE
    leads = Table(
        {
            "channel": channel.astype(np.int8),
            "create_ms": create_ms,
            "lifecycle": np.where(opportunity, 1, 0).astype(np.int8),
            "opted_in": opted_in,
            "opt_in_ms": create_ms + rng.integers(0, 3_600_000, n),
        }
    )
    for name, values in people.draw_people(rng, n).items():
        leads[name] = values

    lost = ~opportunity & (rng.random(n) < config.LEAD_CLOSEDLOST_SHARE)
    has_deal = opportunity | lost
    stage_weights = people.weights(tuple(w for _, w in config.OPEN_DEAL_STAGES))
    stage = np.where(lost, STAGE_CODE["closedlost"], categorical(rng, stage_weights, n))
    plan = categorical(rng, PLAN_MIX, n).astype(np.int8)
    cycle = (rng.random(n) < config.ANNUAL_SHARE).astype(np.int8)
    end_ms = tl.end_ms - 1
    deal_create = np.minimum(create_ms + rng.integers(0, 10 * DAY_MS, n), end_ms)
    close = np.where(lost, np.minimum(deal_create + rng.integers(2 * DAY_MS, 30 * DAY_MS, n), end_ms), -1)
    modified = np.where(lost, close + rng.integers(0, 3_600_000, n), deal_create + rng.integers(0, 5 * DAY_MS, n))
    lead_deals = Table(
        {
            "lead": np.arange(n, dtype=np.int32),
            "stage": stage.astype(np.int8),
            "plan": plan,
            "cycle": cycle,
            "amount_c": np.where(cycle == 1, lifecycle.ANNUAL_CENTS[plan], lifecycle.PRICE_CENTS[plan]),
            "create_ms": deal_create,
            "close_ms": close,
            "modified_ms": np.minimum(modified, end_ms),
        }
    )
    lead_deals = lead_deals.take(has_deal)
    return leads, lead_deals


def _contacts(
    rng: np.random.Generator,
    tl: Timeline,
    customers: Table,
    leads: Table,
    orders: Table,
    lead_deals: Table,
) -> tuple[Table, int]:
    """Customers and leads as CRM contacts, with ids in creation order as HubSpot assigns them."""
    n_cust, n_lead = len(customers), len(leads)
    end_ms = tl.end_ms - 1
    last_order = np.full(n_cust, -1, dtype=np.int64)
    np.maximum.at(last_order, orders["cust"], orders["ms"])
    cust_modified = np.maximum(customers["create_ms"], last_order)
    last_deal = leads["create_ms"].copy()
    np.maximum.at(last_deal, lead_deals["lead"], lead_deals["modified_ms"])

    columns = ["channel", "create_ms", "opted_in", "opt_in_ms", *people.PEOPLE_COLUMNS]
    frame = Table({name: np.concatenate([customers[name], leads[name]]) for name in columns})
    frame["customer"] = np.concatenate([np.arange(n_cust), np.full(n_lead, -1)]).astype(np.int32)
    frame["lead"] = np.concatenate([np.full(n_cust, -1), np.arange(n_lead)]).astype(np.int32)
    frame["lifecycle"] = np.concatenate([np.full(n_cust, 2), leads["lifecycle"]]).astype(np.int8)
    modified = np.concatenate([cust_modified, last_deal]) + rng.integers(0, 2 * DAY_MS, n_cust + n_lead)
    frame["modified_ms"] = np.maximum(np.minimum(modified, end_ms), frame["create_ms"])
    frame["hs_source"] = _hs_sources(rng, frame["channel"])

    frame = frame.sorted_by("create_ms")  # customers first on equal times
    frame["contact_id"] = CONTACT_ID_BASE + np.cumsum(rng.integers(1, 4, len(frame)))
    return frame, int(rng.integers(0, 100_000_000))


def _hs_sources(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """HubSpot's own source attribution, drawn per channel from its coarser enum."""
    out = np.zeros(len(channel), dtype=np.int8)
    draw = rng.random(len(channel))
    for code, chan in enumerate(config.CHANNELS):
        mask = channel == code
        values = np.array([config.HS_ANALYTICS_SOURCES.index(v) for v, _ in chan.hs_sources])
        cumulative = np.cumsum([share for _, share in chan.hs_sources])
        out[mask] = values[np.minimum(np.searchsorted(cumulative, draw[mask]), len(values) - 1)]
    return out


def _deals(
    rng: np.random.Generator,
    tl: Timeline,
    orders: Table,
    lead_deals: Table,
    customers: Table,
    contacts: Table,
) -> Table:
    """One closedwon deal per paid order plus the leads' deals, ids in creation order."""
    lead_row = _rows_of(contacts["lead"], int(contacts["lead"].max()) + 1)
    n_orders = len(orders)
    order_close = orders["ms"]
    order_create = order_close - rng.integers(60_000, 10 * 60_000, n_orders)
    refunded = orders["refund_c"] > 0
    order_modified = order_close + np.where(
        refunded, rng.integers(2 * DAY_MS, 10 * DAY_MS, n_orders), rng.integers(1000, 120_000, n_orders)
    )
    won = np.int8(STAGE_CODE["closedwon"])
    deals = Table(
        {
            "contact_row": np.concatenate([customers["contact_row"][orders["cust"]], lead_row[lead_deals["lead"]]]),
            "order": np.concatenate([np.arange(n_orders), np.full(len(lead_deals), -1)]).astype(np.int64),
            "stage": np.concatenate([np.full(n_orders, won), lead_deals["stage"]]),
            "plan": np.concatenate([orders["plan"], lead_deals["plan"]]),
            "cycle": np.concatenate([orders["cycle"], lead_deals["cycle"]]),
            "month": np.concatenate([orders["month"], np.full(len(lead_deals), -1)]).astype(np.int32),
            "amount_c": np.concatenate([orders["amount_c"], lead_deals["amount_c"]]),
            "discount_c": np.concatenate([orders["discount_c"], np.zeros(len(lead_deals))]),
            "shipping_c": np.concatenate([orders["shipping_c"], np.zeros(len(lead_deals))]),
            "refund_c": np.concatenate([orders["refund_c"], np.zeros(len(lead_deals))]),
            "create_ms": np.concatenate([order_create, lead_deals["create_ms"]]),
            "close_ms": np.concatenate([order_close, lead_deals["close_ms"]]),
            "modified_ms": np.concatenate([np.minimum(order_modified, tl.end_ms - 1), lead_deals["modified_ms"]]),
        }
    )
    for column in ("discount_c", "shipping_c", "refund_c"):
        deals[column] = deals[column].astype(np.int64)
    deals = deals.sorted_by("create_ms")  # orders first on equal times
    deals["deal_id"] = DEAL_ID_BASE + np.cumsum(rng.integers(1, 4, len(deals)))
    deals["contact_id"] = contacts["contact_id"][deals["contact_row"]]
    return deals


def _rows_of(index: np.ndarray, n: int) -> np.ndarray:
    """Inverse of a column holding entity numbers (-1 = none): the row of entity 0..n-1."""
    rows = np.full(n, -1, dtype=np.int64)
    present = index >= 0
    rows[index[present]] = np.flatnonzero(present)
    return rows


def _spend(rng: np.random.Generator, tl: Timeline, counts: np.ndarray) -> Table:
    """Daily ad spend per paid campaign: new customers x true CAC x noise, spread over the month."""
    day_weight = tl.daily_weights()
    parts = []
    campaign_code = 0
    for code, channel in enumerate(config.CHANNELS):
        if not channel.paid:
            continue
        k = len(channel.spend_campaigns)
        shares = rng.dirichlet(np.full(k, 4.0))
        for month in range(tl.n_months):
            lo, hi = int(tl.month_start[month]), int(tl.month_start[month + 1])
            total = max(int(counts[month, code]), 0.5) * channel.cac_brl * rng.lognormal(0.0, config.SPEND_NOISE_SIGMA)
            noise = rng.gamma(config.SPEND_DAILY_NOISE_SHAPE, 1.0 / config.SPEND_DAILY_NOISE_SHAPE, (hi - lo, k))
            w = day_weight[lo - tl.first_day : hi - tl.first_day, None] * shares[None, :] * noise
            cents = np.round(total * 100 * w / w.sum()).astype(np.int64)
            parts.append(
                Table(
                    {
                        "day": np.repeat(np.arange(lo, hi, dtype=np.int32), k),
                        "month": np.int32(month),
                        "channel": np.int8(code),
                        "campaign": np.tile(np.arange(campaign_code, campaign_code + k, dtype=np.int16), hi - lo),
                        "spend_c": cents.ravel(),
                    }
                )
            )
        campaign_code += k
    spend = Table.concat(parts)
    keys = (spend["day"], spend["channel"], spend["campaign"])
    return spend.sorted_by(*keys)


SPEND_CAMPAIGNS: tuple[str, ...] = tuple(name for c in config.CHANNELS for name in c.spend_campaigns)
