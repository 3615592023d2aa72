"""Business vocabulary shared by every source's contract: acquisition channels and DRE expense lines."""

from __future__ import annotations

CHANNELS = ("google_ads", "meta_ads", "instagram", "referral", "organic", "whatsapp")

# DRE lines that operating expenses are booked to (see METRICS.md); revenue and deductions come from orders.
DRE_EXPENSE_LINES = (
    "cmv",
    "despesas_vendas",
    "despesas_marketing",
    "despesas_administrativas",
    "depreciacao_amortizacao",
    "resultado_financeiro",
)
