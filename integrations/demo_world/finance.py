"""The monthly expenses worksheet, derived from what the simulated business actually did.

Variable costs (CMV, freight, gateway fees, commissions, paid media, WhatsApp messages) are
computed from the clean orders, spend and campaign sends; fixed costs scale with the size of the
world so a 1M-customer +Pet is not run by a five-person payroll. Amounts are integer cents.
"""

from __future__ import annotations

import numpy as np

from integrations.demo_world import campaigns, config
from integrations.demo_world.frames import Table
from integrations.demo_world.timeline import Timeline

COGS_RATE = np.array([p.cogs_rate for p in config.PLANS])
FOOD_PLANS = np.array([p.key.startswith("racao") for p in config.PLANS])
MARKETPLACE = next(i for i, (_, outlet, _) in enumerate(config.ONE_OFF_OUTLETS) if outlet == "marketplace")
MEDIA_ACCOUNTS = {"google_ads": "Google Ads", "meta_ads": "Meta Ads", "instagram": "Instagram"}


def _by_month(month: np.ndarray, values: np.ndarray, n_months: int) -> np.ndarray:
    return np.bincount(month, weights=values.astype(np.float64), minlength=n_months)[:n_months]


def expenses(
    rng: np.random.Generator,
    tl: Timeline,
    n_customers: int,
    orders: Table,
    one_offs: Table,
    spend: Table,
    result: campaigns.CampaignResult,
) -> Table:
    """One row per (month, account): month index, account, DRE category, amount in cents (signed)."""
    m = tl.n_months
    o_month, o_plan, o_amount = orders["month"], orders["plan"], orders["amount_c"]
    a_month, a_plan, a_amount = one_offs["month"], one_offs["plan"], one_offs["amount_c"]
    cogs_o, cogs_a = COGS_RATE[o_plan] * o_amount, COGS_RATE[a_plan] * a_amount
    marketplace = one_offs["outlet"] == MARKETPLACE
    charged = o_amount - orders["discount_c"] + orders["shipping_c"]

    lines: list[tuple[str, str, np.ndarray]] = [
        (
            "CMV - Rações",
            "cmv",
            _by_month(o_month, cogs_o * FOOD_PLANS[o_plan], m) + _by_month(a_month, cogs_a * FOOD_PLANS[a_plan], m),
        ),
        (
            "CMV - Higiene e petiscos",
            "cmv",
            _by_month(o_month, cogs_o * ~FOOD_PLANS[o_plan], m) + _by_month(a_month, cogs_a * ~FOOD_PLANS[a_plan], m),
        ),
        ("Fretes sobre vendas", "despesas_vendas", _by_month(o_month, orders["freight_cost_c"], m)),
        (
            "Taxas do gateway de pagamento",
            "despesas_vendas",
            config.GATEWAY_FEE_RATE * (_by_month(o_month, charged, m) + _by_month(a_month, a_amount, m)),
        ),
        ("Comissões de vendas", "despesas_vendas", config.SALES_COMMISSION_RATE * _by_month(o_month, o_amount, m)),
        (
            "Comissões de marketplace",
            "despesas_vendas",
            config.MARKETPLACE_COMMISSION_RATE * _by_month(a_month, a_amount * marketplace, m),
        ),
    ]
    for code, channel in enumerate(config.CHANNELS):
        if channel.paid:
            mask = spend["channel"] == code
            media = _by_month(spend["month"][mask], spend["spend_c"][mask], m)
            lines.append((f"Mídia paga - {MEDIA_ACCOUNTS[channel.key]}", "despesas_marketing", media))
    sends = result.sends
    send_month = result.campaigns["month"][sends["campaign"]]
    whatsapp = config.WHATSAPP_MESSAGE_COST_CENTS * _by_month(send_month, sends["delivered"], m)
    lines.append(("WhatsApp Business API - mensagens de marketing", "despesas_marketing", whatsapp))

    scale = n_customers / 5000
    growth = (1 + config.FIXED_COST_GROWTH) ** np.arange(m)
    for account, category, base, exponent, sign in config.FIXED_COSTS:
        noise = rng.lognormal(0.0, 0.04, m)
        lines.append((account, category, sign * base * scale**exponent * growth * noise))
    advance = -config.RECEIVABLES_ADVANCE_RATE * _by_month(o_month, charged, m)
    lines.append(("Custo de antecipação de recebíveis", "resultado_financeiro", advance))

    parts = []
    for position, (account, category, amounts) in enumerate(lines):
        cents = np.round(amounts).astype(np.int64)
        keep = cents != 0  # an account with nothing that month has no row, as in a real sheet
        parts.append(
            Table(
                {
                    "month": np.arange(m, dtype=np.int32)[keep],
                    "position": position,
                    "account": account,
                    "category": category,
                    "amount_c": cents[keep],
                }
            )
        )
    table = Table.concat(parts)
    return table.sorted_by("month", "position").drop("position")
