"""One question in, one agent's answer out: what ``cro ask`` runs.

``ask(request, runtime, sql)`` routes the request (:func:`agents.router.route`) and hands it to the one
agent its intent names:

=========== ==================================================================================
intent      agent
=========== ==================================================================================
analyse     Researcher (churn, cohorts, CAC/LTV, revenue forecast, overview)
plan        Planner: a media plan when the request speaks of media, channels or a budget to split
            (mídia, canais, ads, alocar, verba); otherwise a retention plan
campaign    CampaignBuilder: the segment named (default ``inactive_60d``), WhatsApp unless e-mail is named
sales       SalesOps
finance     Finance (DRE, scenarios, unit economics)
automate    Automation: a concrete request that waits for approval (nothing runs from here)
=========== ==================================================================================

A budget the request does not give is taken from the data and said so in the answer: the media plan
uses last complete month's paid media spend, a campaign ``DEFAULT_CAMPAIGN_BUDGET_BRL``. The answer is
in the language of the request (the router decides it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from agents.analysis import brl
from agents.automation import automation_request
from agents.campaigns import build_campaign
from agents.finance import report_finance
from agents.planner import plan_media, plan_retention
from agents.render import to_markdown
from agents.researcher import research
from agents.router import fold, route
from agents.runtime import AgentRuntime
from agents.sales_ops import review_sales
from agents.schemas import AgentOutput, RouteDecision
from agents.sql_tool import SqlTool

DEFAULT_CAMPAIGN_SEGMENT = "inactive_60d"
DEFAULT_CAMPAIGN_BUDGET_BRL = 1000.0
_MEDIA = re.compile(
    r"\b(midia|media|canais|canal|channels?|ads|anuncios?|aloca\w*|allocat\w*|verba|budget|orcamento)\b"
)
_RETENTION = re.compile(r"\b(retencao|retention|reter|retain|churn)\b")


@dataclass
class Answer:
    """What ``ask`` returns: the route, the agent that answered, its output and the markdown to show."""

    request: str
    decision: RouteDecision
    agent: str
    output: AgentOutput
    notes: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        notes = "".join(f"> {n}\n\n" for n in self.notes)
        return notes + to_markdown(self.output)


def wants_media_plan(request: str, decision: RouteDecision) -> bool:
    text = fold(request)
    if _RETENTION.search(text) and not re.search(r"\b(midia|media)\b", text):
        return False
    return bool(_MEDIA.search(text)) or (decision.budget_brl is not None and not _RETENTION.search(text))


def last_month_paid_spend(sql: SqlTool) -> float | None:
    value = sql.scalar(
        "select sum(spend_brl) from marts.fct_cac where is_paid_channel and month = "
        "(select max(month) from marts.fct_cac where is_complete)"
    )
    return float(value) if value is not None and float(value) > 0 else None


def ask(request: str, runtime: AgentRuntime, sql: SqlTool, *, now: dt.datetime | None = None) -> Answer:
    """Route ``request`` and answer it with one agent (see the module doc)."""
    decision = route(request, runtime)
    pt = decision.language == "pt"
    notes: list[str] = []
    with sql.session():
        if decision.intent == "analyse":
            return Answer(request, decision, "researcher", research(request, runtime, sql, decision=decision))
        if decision.intent == "plan" and wants_media_plan(request, decision):
            budget = decision.budget_brl
            if budget is None:
                budget = last_month_paid_spend(sql)
                if budget is None:
                    raise ValueError(
                        "Informe o orçamento do plano de mídia, p.ex. 'com budget R$ 5000'."
                        if pt
                        else "Say the media plan's budget, e.g. 'with a budget of R$ 5000'."
                    )
                notes.append(
                    f"Sem orçamento no pedido: usei o gasto em mídia paga do último mês completo, {brl(budget, 'pt')}."
                    if pt
                    else f"No budget in the request: I used last complete month's paid media spend, "
                    f"{brl(budget, 'en')}."
                )
            plan = plan_media(
                runtime, sql, budget_brl=budget, region=decision.region, request=request, decision=decision
            )
            return Answer(request, decision, "planner", plan, notes)
        if decision.intent == "plan":
            plan = plan_retention(runtime, sql, request=request, decision=decision)
            return Answer(request, decision, "planner", plan)
        if decision.intent == "campaign":
            segment = decision.segment or DEFAULT_CAMPAIGN_SEGMENT
            channel = "email" if decision.channel == "email" else "whatsapp"
            budget = decision.budget_brl
            if budget is None:
                budget = DEFAULT_CAMPAIGN_BUDGET_BRL
                notes.append(
                    f"Sem orçamento no pedido: usei {brl(budget, 'pt')}."
                    if pt
                    else f"No budget in the request: I used {brl(budget, 'en')}."
                )
            draft = build_campaign(
                runtime,
                sql,
                segment=segment,
                budget_brl=budget,
                channel=channel,
                request=request,
                decision=decision,
                now=now,
            )
            return Answer(request, decision, "campaign_builder", draft, notes)
        if decision.intent == "sales":
            review = review_sales(runtime, sql, request=request, decision=decision)
            return Answer(request, decision, "sales_ops", review)
        if decision.intent == "finance":
            report = report_finance(runtime, sql, request=request, decision=decision)
            return Answer(request, decision, "finance", report)
        return Answer(request, decision, "automation", automation_request(runtime, request=request, decision=decision))


__all__ = ["DEFAULT_CAMPAIGN_BUDGET_BRL", "DEFAULT_CAMPAIGN_SEGMENT", "Answer", "ask", "wants_media_plan"]
