"""Markdown for every agent output: what `cro ask` prints, asset metadata shows and report files hold.

``to_markdown(output)`` picks the layout by the output's type; every layout ends with the output's
``notice`` (who wrote it: the offline rules or an LLM) and, when the output carries figures, a
collapsible list of each figure with the query that produced it. Headings and labels follow the
output's ``language`` (``pt`` or ``en``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agents.analysis import brl, num, pct
from agents.schemas import (
    AgentOutput,
    AutomationRequest,
    CampaignDraft,
    Figure,
    FinanceReport,
    MediaPlan,
    ResearchAnswer,
    RetentionPlan,
    SalesReview,
)

_LABELS: dict[str, dict[str, str]] = {
    "pt": {
        "research": "Análise",
        "retention": "Plano de retenção",
        "media": "Plano de mídia",
        "campaign": "Campanha",
        "sales": "Revisão comercial",
        "finance": "Relatório financeiro",
        "automation": "Pedido de automação",
        "segment": "Segmento",
        "customers": "Clientes",
        "action": "Ação",
        "channel": "Canal",
        "reduction": "Redução esperada do churn (p.p.)",
        "assumption": "Premissa",
        "budget": "Orçamento",
        "region": "Região",
        "new_customers": "Novos clientes esperados",
        "payback": "Payback (meses)",
        "audience": "Público",
        "template": "Template",
        "subject": "Assunto",
        "schedule": "Envio",
        "success": "Métrica de sucesso",
        "status": "Status",
        "variant": "Variante",
        "copy": "Texto",
        "stage": "Etapa",
        "deals": "Negócios",
        "conversion": "Conversão da etapa anterior",
        "days": "Mediana de dias até ganhar",
        "win_rate": "Taxa de ganho",
        "bottleneck": "Gargalo",
        "recommendations": "Recomendações",
        "scenario": "Cenário",
        "months": "Meses",
        "net_revenue": "Receita líquida",
        "net_income": "Lucro líquido",
        "line": "Linha",
        "amount": "Valor",
        "of_net": "% da receita líquida",
        "previous": "Mês anterior",
        "action_name": "Ação",
        "source": "Origem",
        "key": "Chave de idempotência",
        "parameters": "Parâmetros",
        "figures": "Números e as consultas que os produziram",
        "approval": "Aguarda aprovação humana antes de qualquer envio.",
        "cost": "Custo estimado",
        "baseline": "Conversão de referência",
        "expected": "Conversões esperadas",
    },
    "en": {
        "research": "Analysis",
        "retention": "Retention plan",
        "media": "Media plan",
        "campaign": "Campaign",
        "sales": "Sales review",
        "finance": "Finance report",
        "automation": "Automation request",
        "segment": "Segment",
        "customers": "Customers",
        "action": "Action",
        "channel": "Channel",
        "reduction": "Expected churn reduction (pp)",
        "assumption": "Assumption",
        "budget": "Budget",
        "region": "Region",
        "new_customers": "Expected new customers",
        "payback": "Payback (months)",
        "audience": "Audience",
        "template": "Template",
        "subject": "Subject",
        "schedule": "Send time",
        "success": "Success metric",
        "status": "Status",
        "variant": "Variant",
        "copy": "Copy",
        "stage": "Stage",
        "deals": "Deals",
        "conversion": "Conversion from previous stage",
        "days": "Median days to win",
        "win_rate": "Win rate",
        "bottleneck": "Bottleneck",
        "recommendations": "Recommendations",
        "scenario": "Scenario",
        "months": "Months",
        "net_revenue": "Net revenue",
        "net_income": "Net income",
        "line": "Line",
        "amount": "Amount",
        "of_net": "% of net revenue",
        "previous": "Previous month",
        "action_name": "Action",
        "source": "Source",
        "key": "Idempotency key",
        "parameters": "Parameters",
        "figures": "Figures and the queries behind them",
        "approval": "Waits for human approval before anything is sent.",
        "cost": "Estimated cost",
        "baseline": "Baseline conversion",
        "expected": "Expected conversions",
    },
}


def _lang(output: Any) -> str:
    return "en" if getattr(output, "language", "pt") == "en" else "pt"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_block(text: str) -> str:
    """Agent prose as markdown that keeps its lines: a blank line before every line that is not a list item."""
    out: list[str] = []
    for line in text.strip().splitlines():
        if out and not line.lstrip().startswith(("- ", "* ")):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _money(value: float | None, lang: str) -> str:
    return "–" if value is None else brl(value, lang)


def _rate(value: float | None, lang: str) -> str:
    """A 0–1 rate as a percentage."""
    return "–" if value is None else pct(100 * value, lang)


def _number(value: float | None, lang: str, decimals: int = 1) -> str:
    return "–" if value is None else num(value, lang, decimals)


def figures_block(figures: Sequence[Figure], lang: str) -> str:
    if not figures:
        return ""
    rows = [f"- **{f.label}** = {num(f.value, lang, 4)} {f.unit}\n  ```sql\n  {f.sql}\n  ```" for f in figures]
    return (
        f"<details><summary>{_LABELS[lang]['figures']} ({len(figures)})</summary>\n\n"
        + "\n".join(rows)
        + ("\n\n</details>")
    )


def _footer(output: AgentOutput, lang: str) -> list[str]:
    parts = [f"_{output.notice}_"]
    block = figures_block(getattr(output, "figures", []) or [], lang)
    if block:
        parts.append(block)
    return parts


def _research(answer: ResearchAnswer, lang: str) -> list[str]:
    return [f"## {_LABELS[lang]['research']}", f"> {answer.question}", text_block(answer.answer)]


def _retention(plan: RetentionPlan, lang: str) -> list[str]:
    t = _LABELS[lang]
    rows = [
        (
            item.segment,
            item.customers,
            item.channel,
            item.action,
            num(item.expected_churn_reduction_pct, lang, 2),
            item.assumption,
        )
        for item in plan.items
    ]
    header = [t["segment"], t["customers"], t["channel"], t["action"], t["reduction"], t["assumption"]]
    return [f"## {t['retention']}", text_block(plan.summary), table(header, rows)]


def _media(plan: MediaPlan, lang: str) -> list[str]:
    t = _LABELS[lang]
    title = f"## {t['media']}: {brl(plan.budget_brl, lang)}" + (f" — {plan.region}" if plan.region else "")
    rows = [
        (
            a.channel,
            _money(a.budget_brl, lang),
            _money(a.cac_brl, lang),
            _money(a.ltv_brl, lang),
            "–" if a.ltv_cac is None else f"{num(a.ltv_cac, lang, 1)}x",
            _number(a.payback_months, lang),
            _number(a.expected_new_customers, lang, 0),
        )
        for a in plan.allocations
    ]
    header = [t["channel"], t["budget"], "CAC", "LTV", "LTV:CAC", t["payback"], t["new_customers"]]
    return [title, table(header, rows), text_block(plan.rationale)]


def _campaign(draft: CampaignDraft, lang: str) -> list[str]:
    t = _LABELS[lang]
    label = t["template"] if draft.channel == "whatsapp" else t["subject"]
    facts = [
        (t["segment"], draft.segment),
        (t["channel"], draft.channel),
        (t["audience"], draft.audience_size),
        (label, draft.whatsapp_template or draft.email_subject),
        (t["schedule"], draft.schedule.strftime("%Y-%m-%d %H:%M (America/Sao_Paulo)")),
        (t["budget"], brl(draft.budget_brl, lang)),
        (t["success"], draft.success_metric),
        (t["status"], draft.status),
    ]
    if draft.expected_cost_brl is not None:
        facts.append((t["cost"], brl(draft.expected_cost_brl, lang)))
    if draft.baseline_conversion_rate is not None:
        facts.append((t["baseline"], _rate(draft.baseline_conversion_rate, lang)))
    if draft.expected_conversions is not None:
        facts.append((t["expected"], num(draft.expected_conversions, lang, 0)))
    variants = [(v.name, v.whatsapp_template or draft.whatsapp_template or "", v.copy_pt_br) for v in draft.variants]
    return [
        f"## {t['campaign']} `{draft.campaign_id}`",
        table(["", ""], facts),
        table([t["variant"], t["template"], t["copy"]], variants),
        text_block(draft.rationale),
        f"**{t['approval']}**",
    ]


def _days(value: float | None, lang: str) -> str:
    """Days, or minutes/hours when under a day (deals that close the day they are created)."""
    if value is None:
        return "–"
    if value < 1 / 24:
        return f"{num(value * 1440, lang, 1)} min"
    if value < 1:
        return f"{num(value * 24, lang, 1)} h"
    return num(value, lang, 1)


def _sales(review: SalesReview, lang: str) -> list[str]:
    t = _LABELS[lang]
    rows = [
        (s.stage, s.deals, _rate(s.conversion_from_previous_rate, lang), _days(s.median_days_to_win, lang))
        for s in review.stages
    ]
    parts = [f"## {t['sales']}", text_block(review.summary)]
    parts.append(table([t["stage"], t["deals"], t["conversion"], t["days"]], rows))
    if review.win_rate is not None:
        parts.append(f"**{t['win_rate']}:** {_rate(review.win_rate, lang)}")
    bottleneck = review.bottleneck
    if bottleneck.lower().startswith(t["bottleneck"].lower() + ":"):
        bottleneck = bottleneck[len(t["bottleneck"]) + 1 :].strip()
    parts.append(f"**{t['bottleneck']}:** {bottleneck}")
    if review.recommendations:
        parts.append(f"**{t['recommendations']}:**\n" + "\n".join(f"- {r}" for r in review.recommendations))
    return parts


def _finance(report: FinanceReport, lang: str) -> list[str]:
    t = _LABELS[lang]
    parts = [f"## {t['finance']} — {report.period}", text_block(report.commentary)]
    lines = getattr(report, "lines", None) or []
    if lines:
        rows = []
        for line in lines:
            previous = getattr(line, "previous_amount_brl", None)
            share = getattr(line, "pct_of_net_revenue", None)
            rows.append((line.line_label, _money(line.amount_brl, lang), _rate(share, lang), _money(previous, lang)))
        parts.append(table([t["line"], t["amount"], t["of_net"], t["previous"]], rows))
    if report.scenarios:
        rows = [
            (s.scenario, s.months, brl(s.receita_liquida_brl, lang), brl(s.lucro_liquido_brl, lang))
            for s in report.scenarios
        ]
        parts.append(table([t["scenario"], t["months"], t["net_revenue"], t["net_income"]], rows))
    return parts


def _automation(request: AutomationRequest, lang: str) -> list[str]:
    t = _LABELS[lang]
    facts = [
        (t["action_name"], request.action),
        (t["source"], request.source),
        (t["key"], f"`{request.idempotency_key}`"),
        (t["status"], request.status),
    ]
    parts = [f"## {t['automation']}", table(["", ""], facts)]
    if request.parameters:
        parts.append(table([t["parameters"], ""], [(p.name, p.value) for p in request.parameters]))
    if request.reason:
        parts.append(text_block(request.reason))
    parts.append(f"**{t['approval']}**")
    return parts


_LAYOUTS: dict[type[Any], Callable[[Any, str], list[str]]] = {
    ResearchAnswer: _research,
    RetentionPlan: _retention,
    MediaPlan: _media,
    CampaignDraft: _campaign,
    SalesReview: _sales,
    FinanceReport: _finance,
    AutomationRequest: _automation,
}


def to_markdown(output: AgentOutput) -> str:
    """The output as a markdown document (see the module doc)."""
    layout = next((fn for kind, fn in _LAYOUTS.items() if isinstance(output, kind)), None)
    if layout is None:
        raise TypeError(f"no markdown layout for {type(output).__name__}")
    lang = _lang(output)
    parts = [p for p in layout(output, lang) if p] + _footer(output, lang)
    return "\n\n".join(parts) + "\n"


__all__ = ["figures_block", "table", "text_block", "to_markdown"]
