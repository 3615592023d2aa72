"""The weekly growth brief: the week's numbers and every agent's proposals on one page.

``growth_brief(runtime, sql, retention=…, media=…, campaigns=…, finance=…, sales=…)`` asks the
Researcher four questions (overview, churn by cohort, CAC and LTV by channel, revenue forecast) and
puts the answers beside the plans the other agents made. The composition itself is code, not a model:
each section is an agent's validated output (figures re-checked against the marts), so the brief adds
no number of its own. ``generated_by`` is ``llm`` when any section was written by a model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from agents.analysis import brl, num
from agents.render import figures_block, text_block
from agents.researcher import research
from agents.router import route_offline
from agents.runtime import AgentRuntime
from agents.schemas import (
    LLM_NOTICE,
    OFFLINE_NOTICE,
    SAO_PAULO,
    AgentOutput,
    CampaignDraft,
    Figure,
    FinanceReport,
    MediaPlan,
    RetentionPlan,
    SalesReview,
)
from agents.sql_tool import SqlTool

QUESTIONS = {
    "pt": (
        ("Resumo", "Como estão os indicadores do último mês?"),
        ("Churn por coorte", "Analise o churn dos últimos 3 meses por coorte"),
        ("CAC e LTV por canal", "Calcule CAC e LTV por canal de aquisição nos últimos 3 meses"),
        ("Previsão de receita", "Gere forecast de receita para os próximos 6 meses"),
    ),
    "en": (
        ("Summary", "How did the metrics do last month?"),
        ("Churn by cohort", "Analyse churn over the last 3 months by cohort"),
        ("CAC and LTV by channel", "Compute CAC and LTV by acquisition channel over the last 3 months"),
        ("Revenue forecast", "Forecast revenue for the next 6 months"),
    ),
}
TITLES = {
    "pt": {
        "head": "Growth brief — semana de {week}",
        "retention": "Retenção: o que fazer",
        "media": "Mídia",
        "campaigns": "Campanhas aguardando aprovação",
        "finance": "Financeiro",
        "sales": "Comercial",
        "none": "Nenhuma campanha proposta.",
    },
    "en": {
        "head": "Growth brief — week of {week}",
        "retention": "Retention: what to do",
        "media": "Media",
        "campaigns": "Campaigns waiting for approval",
        "finance": "Finance",
        "sales": "Sales",
        "none": "No campaign proposed.",
    },
}


class BriefSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    markdown: str


class GrowthBrief(AgentOutput):
    """The week's brief: a headline, sections by topic, every figure with its query."""

    language: str = Field(default="pt", pattern=r"^[a-z]{2}$")
    week_of: dt.date = Field(description="Monday of the week, São Paulo calendar.")
    headline: str
    sections: list[BriefSection]
    figures: list[Figure] = Field(default_factory=list)


def week_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=today.weekday())


def _retention_section(plan: RetentionPlan, lang: str) -> str:
    lines = [plan.summary] if plan.summary else []
    for item in plan.items[:3]:
        lines.append(f"- **{item.segment}** ({item.customers}, {item.channel}): {item.action}")
    return "\n".join(lines)


def _media_section(plan: MediaPlan, lang: str) -> str:
    split = ", ".join(f"{a.channel} {brl(a.budget_brl, lang)}" for a in plan.allocations if a.budget_brl > 0)
    return f"{brl(plan.budget_brl, lang)}: {split}.\n\n{plan.rationale}"


def _campaigns_section(drafts: Sequence[CampaignDraft], lang: str) -> str:
    if not drafts:
        return TITLES[lang]["none"]
    return "\n".join(
        f"- `{d.campaign_id}`: {d.channel}, {d.segment}, {d.audience_size} "
        f"{'clientes' if lang == 'pt' else 'customers'}, {d.schedule:%Y-%m-%d %H:%M}, {brl(d.budget_brl, lang)}"
        for d in drafts
    )


def _sales_section(review: SalesReview, lang: str) -> str:
    win = f" Win rate {num(100 * review.win_rate, lang, 1)}%." if review.win_rate is not None else ""
    return review.bottleneck + win


def growth_brief(
    runtime: AgentRuntime,
    sql: SqlTool,
    *,
    retention: RetentionPlan | None = None,
    media: MediaPlan | None = None,
    campaigns: Sequence[CampaignDraft] = (),
    finance: FinanceReport | None = None,
    sales: SalesReview | None = None,
    language: str = "pt",
    today: dt.date | None = None,
) -> GrowthBrief:
    """The brief for the week of ``today`` (default: today in São Paulo); see the module doc."""
    lang = "en" if language == "en" else "pt"
    titles = TITLES[lang]
    week = week_start(today or dt.datetime.now(SAO_PAULO).date())
    sections: list[BriefSection] = []
    figures: list[Figure] = []
    outputs: list[AgentOutput] = []
    headline = ""
    for title, question in QUESTIONS[lang]:
        answer = research(question, runtime, sql, decision=route_offline(question))
        outputs.append(answer)
        figures.extend(answer.figures)
        headline = headline or answer.answer.splitlines()[0]
        sections.append(BriefSection(title=title, markdown=answer.answer))
    if retention is not None:
        outputs.append(retention)
        sections.append(BriefSection(title=titles["retention"], markdown=_retention_section(retention, lang)))
    if media is not None:
        outputs.append(media)
        sections.append(BriefSection(title=titles["media"], markdown=_media_section(media, lang)))
    outputs.extend(campaigns)
    sections.append(BriefSection(title=titles["campaigns"], markdown=_campaigns_section(campaigns, lang)))
    if finance is not None:
        outputs.append(finance)
        figures.extend(finance.figures)
        sections.append(BriefSection(title=f"{titles['finance']} ({finance.period})", markdown=finance.commentary))
    if sales is not None:
        outputs.append(sales)
        figures.extend(sales.figures)
        sections.append(BriefSection(title=titles["sales"], markdown=_sales_section(sales, lang)))
    by_llm = [o for o in outputs if o.generated_by == "llm"]
    notice = (
        LLM_NOTICE.format(provider=runtime.provider.name, model=runtime.provider.model) if by_llm else OFFLINE_NOTICE
    )
    return GrowthBrief(
        generated_by="llm" if by_llm else "offline",
        notice=notice,
        language=lang,
        week_of=week,
        headline=headline,
        sections=sections,
        figures=figures,
    )


def brief_markdown(brief: GrowthBrief) -> str:
    lang = "en" if brief.language == "en" else "pt"
    parts = [f"# {TITLES[lang]['head'].format(week=brief.week_of.isoformat())}", f"**{brief.headline}**"]
    parts += [f"## {s.title}\n\n{text_block(s.markdown)}" for s in brief.sections]
    parts.append(f"_{brief.notice}_")
    block = figures_block(brief.figures, lang)
    if block:
        parts.append(block)
    return "\n\n".join(parts) + "\n"


__all__ = ["BriefSection", "GrowthBrief", "brief_markdown", "growth_brief", "week_start"]
