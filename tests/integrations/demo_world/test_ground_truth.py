"""The ground truth is what the files say: each aggregate is re-derived from the files of a clean world.

Months are São Paulo calendar months: a deal closed at 22:30 on the last day of a month (01:30 UTC
the next day) belongs to the earlier month, so every test converts UTC timestamps first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pyarrow.parquet as pq

from tests.integrations.demo_world import readers
from tests.integrations.demo_world.conftest import World


def _won(world: World) -> list[tuple[str, dict[str, Any]]]:
    """(contact id, properties) of every closedwon deal."""
    return [
        (d["associations"]["contacts"]["results"][0]["id"], d["properties"])
        for d in world.deals
        if d["properties"]["dealstage"] == "closedwon"
    ]


def _channel(world: World) -> dict[str, str]:
    return {cid: c["properties"]["acquisition_channel"] for cid, c in world.contacts.items()}


def test_acquisition_new_customers_are_first_won_deals_by_month_and_channel(clean_world: World) -> None:
    first: dict[str, Any] = {}
    for cid, props in _won(clean_world):
        day = readers.local_date(props["closedate"])
        if cid not in first or day < first[cid]:
            first[cid] = day
    channel = _channel(clean_world)
    derived = Counter((readers.month_of(day), channel[cid]) for cid, day in first.items())
    truth = {(r["month"], r["channel"]): r["new_customers"] for r in clean_world.truth["acquisition"]}
    assert sum(truth.values()) == clean_world.config.customers
    assert {k: v for k, v in truth.items() if v} == dict(derived)


def test_acquisition_spend_is_the_sum_of_the_marketing_spend_sheet(clean_world: World) -> None:
    spend: Counter[tuple[str, str]] = Counter()
    for row in clean_world.csv("sheets/marketing_spend.csv")[1]:
        spend[(row["date"][:7], row["channel"])] += readers.cents(row["spend_brl"])
    for row in clean_world.truth["acquisition"]:
        assert round(row["spend_brl"] * 100) == spend[(row["month"], row["channel"])], row
    paid = {r["channel"] for r in clean_world.truth["params"]["channels"] if r["paid"]}
    assert {channel for _, channel in spend} == paid


def test_observed_cac_is_near_the_true_cac(clean_world: World) -> None:
    true_cac = clean_world.truth["params"]["true_cac_brl"]
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in clean_world.truth["acquisition"]:
        if row["channel"] in true_cac:
            totals[row["channel"]][0] += row["spend_brl"]
            totals[row["channel"]][1] += row["new_customers"]
    for channel, (spend, new) in totals.items():
        # 24 monthly lognormal(0, 0.15) draws: the pooled CAC is within a few percent of the truth
        assert abs(spend / new / true_cac[channel] - 1) < 0.08, channel


def test_revenue_monthly_is_the_sum_of_won_deals_and_one_off_orders(clean_world: World) -> None:
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for _, props in _won(clean_world):
        month = readers.month_of(readers.local_date(props["closedate"]))
        totals[month]["subscription"] += readers.cents(props["amount"])
        totals[month]["freight"] += readers.cents(props["shipping_amount"])
        totals[month]["discounts"] += readers.cents(props["discount_amount"])
        totals[month]["refunds"] += readers.cents(props["refund_amount"])
        totals[month]["orders"] += 1
    for row in clean_world.csv("sheets/orders.csv")[1]:
        totals[row["order_date"][:7]]["one_off"] += readers.cents(row["amount_brl"])
        totals[row["order_date"][:7]]["orders"] += 1
        assert row["order_type"] == "avulso" and row["order_id"].split("-")[0] in {"MKT", "LJ"}
    for row in clean_world.truth["revenue_monthly"]:
        got = totals[row["month"]]
        assert round(row["subscription_brl"] * 100) == got["subscription"], row
        assert round(row["one_off_brl"] * 100) == got["one_off"], row
        assert round(row["freight_brl"] * 100) == got["freight"], row
        assert round(row["discounts_brl"] * 100) == got["discounts"], row
        assert round(row["refunds_brl"] * 100) == got["refunds"], row
        assert row["orders"] == got["orders"], row
    one_off_share = sum(r["one_off_brl"] > 0 for r in clean_world.truth["revenue_monthly"])
    assert one_off_share == clean_world.config.months


def test_mrr_normalizes_annual_plans_over_twelve_months(clean_world: World) -> None:
    months = [r["month"] for r in clean_world.truth["mrr_monthly"]]
    mrr: Counter[str] = Counter()
    active: dict[str, set[str]] = defaultdict(set)
    for cid, props in _won(clean_world):
        month = readers.month_of(readers.local_date(props["closedate"]))
        amount = readers.cents(props["amount"])
        spread = range(12) if props["billing_cycle"] == "annual" else range(1)
        for k in spread:
            covered = readers.add_months(month, k)
            mrr[covered] += amount / len(spread)
            active[covered].add(cid)
    for row in clean_world.truth["mrr_monthly"]:
        assert abs(row["mrr"] * 100 - mrr[row["month"]]) < 1, row
        assert row["active_customers"] == len(active[row["month"]]), row
    assert months == sorted(months)


def test_expenses_monthly_is_the_sum_of_the_expenses_sheet(clean_world: World) -> None:
    sums: Counter[tuple[str, str]] = Counter()
    for row in clean_world.csv("sheets/expenses.csv")[1]:
        sums[(row["month"], row["category"])] += readers.cents(row["amount_brl"])
        if row["category"] != "resultado_financeiro":
            assert not row["amount_brl"].startswith("-"), row
    for row in clean_world.truth["expenses_monthly"]:
        assert round(row["amount_brl"] * 100) == sums[(row["month"], row["category"])], row
    media = {(r["month"], r["channel"]): r["spend_brl"] for r in clean_world.truth["acquisition"]}
    for row in clean_world.csv("sheets/expenses.csv")[1]:
        if row["account"] == "Mídia paga - Google Ads":
            assert readers.cents(row["amount_brl"]) == round(media[(row["month"], "google_ads")] * 100)


def _campaign_counts(world: World) -> dict[tuple[str, str], Counter[str]]:
    """Campaign funnel from the files: sends CSV, webhooks deduplicated by (message id, status), deals."""
    sends = world.csv("whatsapp/campaign_sends.csv")[1]
    by_message = {row["message_id"]: row for row in sends}
    by_wa: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sends:
        by_wa[row["wa_id"]].append(row)
    statuses: set[tuple[str, str]] = set()
    inbound: dict[str, dict[str, Any]] = {}
    for _, _, body in world.webhooks:
        value = body["entry"][0]["changes"][0]["value"]
        for status in value.get("statuses", ()):
            row = by_message[status["id"]]
            tag = f"campaign={row['campaign_id']};variant={row['variant']}"
            assert status["biz_opaque_callback_data"] == tag
            assert status["recipient_id"] == row["wa_id"]
            statuses.add((status["id"], status["status"]))
        for message in value.get("messages", ()):
            inbound[message["id"]] = message
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in sends:
        counts[(row["campaign_id"], row["variant"])]["sent"] += 1
    for message_id, status in statuses:
        row = by_message[message_id]
        key = (row["campaign_id"], row["variant"])
        if status == "read" or (status == "delivered" and (message_id, "read") not in statuses):
            counts[key]["delivered"] += 1  # a message read while the chat was open has no "delivered"
        if status in ("read", "failed"):
            counts[key][status] += 1
    replied: set[tuple[str, str, str]] = set()
    opted_out: set[tuple[str, str, str]] = set()
    for message in inbound.values():
        when = int(message["timestamp"])
        if "context" in message:
            row = by_message[message["context"]["id"]]
        else:
            candidates = [
                r
                for r in by_wa.get(message["from"], ())
                if 0
                <= when - readers.datetime.fromisoformat(r["sent_at"].replace("Z", "+00:00")).timestamp()
                <= 7 * 86400
            ]
            if not candidates:
                continue  # a service question, not a campaign reply
            (row,) = candidates
        key = (row["campaign_id"], row["variant"], row["contact_id"])
        replied.add(key)
        if readers.is_opt_out(message["text"]["body"]):
            opted_out.add(key)
    for campaign, variant, _ in replied:
        counts[(campaign, variant)]["replied"] += 1
    for campaign, variant, _ in opted_out:
        counts[(campaign, variant)]["opted_out"] += 1
    won_days: dict[str, list[Any]] = defaultdict(list)
    for cid, props in _won(world):
        won_days[cid].append(readers.local_date(props["closedate"]))
    for row in sends:
        sent = readers.local_date(row["sent_at"])
        window = sent + timedelta(days=world.truth["params"]["whatsapp"]["conversion_window_days"])
        if any(sent < day <= window for day in won_days[row["contact_id"]]):
            counts[(row["campaign_id"], row["variant"])]["converted"] += 1
    return counts


def test_campaign_results_match_the_webhooks_sends_and_deals(clean_world: World) -> None:
    counts = _campaign_counts(clean_world)
    truth = clean_world.truth["campaigns"]
    assert 4 <= len({r["campaign_id"] for r in truth}) <= 6
    for row in truth:
        got = counts[(row["campaign_id"], row["variant"])]
        for field in ("sent", "delivered", "read", "failed", "replied", "opted_out", "converted"):
            assert got[field] == row[field], (row["campaign_id"], row["variant"], field, got[field], row[field])


def test_campaigns_only_reach_opted_in_contacts_who_had_not_opted_out(clean_world: World) -> None:
    sends = clean_world.csv("whatsapp/campaign_sends.csv")[1]
    opted_out_at: dict[str, int] = {}
    for _, _, body in clean_world.webhooks:
        for message in body["entry"][0]["changes"][0]["value"].get("messages", ()):
            if readers.is_opt_out(message["text"]["body"]):
                first = opted_out_at.get(message["from"], 1 << 62)
                opted_out_at[message["from"]] = min(int(message["timestamp"]), first)
    for row in sends:
        props = clean_world.contacts[row["contact_id"]]["properties"]
        assert props["whatsapp_opt_in"] == "true" and props["whatsapp_opt_in_date"] <= row["sent_at"]
        sent = readers.datetime.fromisoformat(row["sent_at"].replace("Z", "+00:00")).timestamp()
        assert sent < opted_out_at.get(row["wa_id"], 1 << 62)
        assert row["template_name"].endswith("_" + row["variant"].lower())


def test_churn_events_in_the_deals_are_the_ground_truth_churn_plus_pauses(clean_world: World) -> None:
    end = clean_world.config.end_month
    months: dict[str, set[str]] = defaultdict(set)
    for cid, props in _won(clean_world):
        if props["billing_cycle"] == "monthly":
            months[cid].add(readers.month_of(readers.local_date(props["closedate"])))
    channel = _channel(clean_world)
    events: Counter[str] = Counter()
    exposure: Counter[str] = Counter()
    for cid, paid in months.items():
        for month in paid:
            following = readers.add_months(month, 1)
            if following <= end:
                exposure[channel[cid]] += 1
                if following not in paid:
                    events[channel[cid]] += 1
    table = pq.read_table(clean_world.out / "ground_truth_customers.parquet").to_pylist()
    pauses = Counter(row["channel"] for row in table if row["pause_month"] is not None)
    for row in clean_world.truth["churn_by_channel"]:
        assert row["exposure_months"] == exposure[row["channel"]], row
        assert row["observed_churned"] == events[row["channel"]] - pauses[row["channel"]], row


def test_funnel_counts_deal_stages_and_lifecycle_stages(clean_world: World) -> None:
    stages = Counter(d["properties"]["dealstage"] for d in clean_world.deals)
    assert clean_world.truth["funnel"]["deals_by_stage"] == {
        stage: stages[stage] for stage in clean_world.truth["funnel"]["deals_by_stage"]
    }
    lifecycle = Counter(c["properties"]["lifecyclestage"] for c in clean_world.contacts.values())
    assert clean_world.truth["funnel"]["contacts_by_lifecyclestage"] == dict(lifecycle)
    leads = lifecycle["lead"] + lifecycle["opportunity"]
    assert abs(leads / clean_world.config.customers - 0.30) < 0.01


def test_one_off_orders_are_about_eight_percent_and_belong_to_existing_customers(clean_world: World) -> None:
    rows = clean_world.csv("sheets/orders.csv")[1]
    won = _won(clean_world)
    assert abs(len(rows) / (len(rows) + len(won)) - 0.08) < 0.005
    first: dict[str, Any] = {}
    for cid, props in won:
        day = readers.local_date(props["closedate"])
        first[cid] = min(day, first.get(cid, day))
    for row in rows:
        assert row["customer_id"] in first
        assert first[row["customer_id"]].isoformat() < row["order_date"]
