"""Pydantic v2 output models of the agents (structured output).

Every model is what an agent *proposes*; nothing here acts. Each carries ``generated_by`` (``"llm"`` or
``"offline"``) and a ``notice`` in plain words; both are stamped by :class:`agents.runtime.AgentRuntime`
after the output is parsed, so a model cannot claim to be something it is not.

The models stay compatible with OpenAI's strict structured outputs: no free-form dicts (key/value data
is a list of small models), every field typed. Business limits (budget caps, approved templates,
segments that exist, contactable audiences, numbers that match the marts) are *not* schema rules: they
need facts from the warehouse and live in :mod:`agents.guardrails`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

Intent = Literal["plan", "analyse", "campaign", "sales", "finance", "automate"]
GeneratedBy = Literal["llm", "offline"]
#: Channels a request can name: outbound (campaigns) and acquisition (media, CAC).
Channel = Literal["whatsapp", "email", "google_ads", "meta_ads", "instagram", "organic", "referral"]

OFFLINE_NOTICE = (
    "Sem LLM: gerado por regras determinísticas a partir dos dados do warehouse. "
    "No LLM wrote this: deterministic, data-driven rules over the warehouse."
)
LLM_NOTICE = (
    "Escrito por um LLM ({provider}/{model}) e validado pelas guardrails; requer aprovação humana antes de "
    "qualquer ação. Written by an LLM ({provider}/{model}), checked by the guardrails; needs human approval."
)


def _strip_defaults(schema: dict[str, Any]) -> None:
    """Drop ``default`` from the JSON schema sent to a model (OpenAI's strict mode refuses it).

    Defaults still apply when Python builds or validates the model.
    """
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class AgentOutput(BaseModel):
    """Base of every agent output: who wrote it, said plainly."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_strip_defaults)

    generated_by: GeneratedBy = Field(
        default="offline", description="Set by the runtime: 'llm' or 'offline' (deterministic rules, no model)."
    )
    notice: str = Field(default=OFFLINE_NOTICE, description="Set by the runtime: who wrote this, in plain words.")


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_strip_defaults)


# -- routing ----------------------------------------------------------------------------------------


class RouteDecision(AgentOutput):
    """Which agent handles a request, in which language, with the parameters read from it."""

    intent: Intent = Field(
        description=(
            "plan: retention or media plans; analyse: questions answered from the marts (churn, cohorts, CAC, LTV, "
            "revenue forecast); campaign: WhatsApp / e-mail campaigns; sales: deal funnel and velocity; "
            "finance: DRE, scenarios, margins; automate: run a playbook, sync a system, schedule an action."
        )
    )
    language: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code of the request's language: 'pt', 'en'.")
    budget_brl: float | None = Field(default=None, ge=0, description="Budget named in the request, BRL.")
    lookback_days: int | None = Field(default=None, ge=1, description="'last 90 days' -> 90.")
    lookback_months: int | None = Field(default=None, ge=1, description="'last 3 months' -> 3; 'last month' -> 1.")
    horizon_months: int | None = Field(default=None, ge=1, description="'next 6 months' -> 6.")
    channel: Channel | None = Field(default=None, description="A channel the request names explicitly.")
    region: str | None = Field(default=None, description="A Brazilian state or city the request names.")
    segment: str | None = Field(
        default=None, description="A customer segment: new, vip, loyal, at_risk, inactive_60d, churned."
    )
    reason: str = Field(default="", description="One line: why this intent.")


# -- researcher -------------------------------------------------------------------------------------


class Figure(_Item):
    """One number stated in an answer, with the query that produced it.

    ``sql`` must return exactly one value (one row, one column) equal to ``value``: the guardrail runs it
    again through the read-only SQL tool and compares.
    """

    label: str
    value: float
    unit: str = Field(description="'BRL', '%', 'customers', 'months', 'ratio', ...")
    sql: str = Field(description="A single SELECT over the allowed schemas returning exactly this value.")


class ResearchAnswer(AgentOutput):
    """An analytical answer from the marts."""

    question: str
    language: str = Field(pattern=r"^[a-z]{2}$")
    answer: str = Field(description="The answer in the request's language; every number comes from `figures`.")
    figures: list[Figure] = Field(default_factory=list)
    queries: list[str] = Field(default_factory=list, description="Every query run to write the answer.")


# -- planner ----------------------------------------------------------------------------------------


class RetentionItem(_Item):
    segment: str
    customers: int = Field(ge=0, description="Customers in the segment (reachable on `channel`).")
    action: str = Field(description="What to do, pt-BR.")
    channel: Literal["whatsapp", "email", "none"]
    expected_churn_reduction_pct: float = Field(ge=0, le=100, description="Percentage points of monthly churn.")
    assumption: str = Field(description="Where the expected reduction comes from.")


class RetentionPlan(AgentOutput):
    """Which segments to work on, how, and the expected churn reduction."""

    language: str = Field(default="pt", pattern=r"^[a-z]{2}$")
    items: list[RetentionItem]
    summary: str = ""
    figures: list[Figure] = Field(default_factory=list, description="The numbers used, each with its query.")


class ChannelAllocation(_Item):
    """A channel's share of a media budget (not constrained here: the budget guardrail checks the numbers)."""

    channel: str
    budget_brl: float
    cac_brl: float | None = None
    ltv_brl: float | None = None
    ltv_cac: float | None = None
    payback_months: float | None = None
    expected_new_customers: float | None = None


class MediaPlan(AgentOutput):
    """A budget split by channel from CAC, LTV and payback, within the budget the user gave."""

    language: str = Field(default="pt", pattern=r"^[a-z]{2}$")
    budget_brl: float = Field(ge=0)
    region: str | None = None
    allocations: list[ChannelAllocation]
    rationale: str
    figures: list[Figure] = Field(default_factory=list, description="The numbers used, each with its query.")


# -- campaigns --------------------------------------------------------------------------------------


class CampaignVariant(_Item):
    name: Literal["A", "B"]
    copy_pt_br: str = Field(min_length=1, description="The message (pt-BR); for WhatsApp, the template body.")
    whatsapp_template: str | None = Field(
        default=None, description="This variant's approved template, if not the draft's."
    )


class CampaignDraft(AgentOutput):
    """A WhatsApp or e-mail campaign proposal; sending needs an approval (the automation issue)."""

    campaign_id: str = Field(pattern=r"^[a-z0-9_]+$")
    channel: Literal["whatsapp", "email"]
    segment: str
    audience_size: int = Field(ge=0, description="Contactable customers of the segment (opted in, not suppressed).")
    whatsapp_template: str | None = Field(default=None, description="Approved template name (WhatsApp).")
    email_subject: str | None = Field(default=None, description="Subject line (e-mail).")
    variants: list[CampaignVariant] = Field(min_length=2, max_length=2)
    schedule: dt.datetime = Field(description="Send time, America/Sao_Paulo (a naive time is read as São Paulo).")
    budget_brl: float = Field(ge=0, description="The budget the campaign may spend (the cap given), BRL.")
    success_metric: str
    status: Literal["draft", "pending_approval"] = "draft"
    language: str = Field(
        default="pt", pattern=r"^[a-z]{2}$", description="Language of rationale and success_metric; copy is pt-BR."
    )
    cost_per_message_brl: float | None = Field(default=None, ge=0, description="Assumed cost of one message, BRL.")
    expected_cost_brl: float | None = Field(
        default=None, ge=0, description="audience_size × cost_per_message_brl, BRL; at most budget_brl."
    )
    baseline_conversion_rate: float | None = Field(
        default=None, ge=0, le=1, description="Historical converted ÷ sent the campaign is judged against (0–1)."
    )
    expected_conversions: float | None = Field(
        default=None, ge=0, description="audience_size × the chosen template's historical conversion rate."
    )
    rationale: str = Field(default="", description="Why this audience, template and schedule, with the numbers.")
    figures: list[Figure] = Field(default_factory=list, description="The numbers used, each with its query.")

    @field_validator("schedule")
    @classmethod
    def _sao_paulo(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=SAO_PAULO)
        return value.astimezone(SAO_PAULO)

    @model_validator(mode="after")
    def _channel_fields(self) -> CampaignDraft:
        if self.channel == "whatsapp" and not self.whatsapp_template:
            raise ValueError("a WhatsApp campaign needs whatsapp_template (an approved template name)")
        if self.channel == "email" and not self.email_subject:
            raise ValueError("an e-mail campaign needs email_subject")
        if sorted(v.name for v in self.variants) != ["A", "B"]:
            raise ValueError("variants must be exactly A and B")
        return self


# -- sales, finance, automation ---------------------------------------------------------------------


class FunnelStage(_Item):
    stage: str = Field(description="HubSpot deal stage id, e.g. 'qualifiedtobuy'.")
    deals: int = Field(ge=0, description="Deals that reached at least this stage (`fct_sales_funnel.deals_reached`).")
    deals_in_stage: int | None = Field(default=None, ge=0, description="Deals sitting in the stage now.")
    conversion_from_previous_rate: float | None = Field(
        default=None, description="deals ÷ deals of the previous stage, a 0–1 fraction; null on the first stage."
    )
    median_days_to_win: float | None = Field(
        default=None, description="The funnel's median days from create to close of won deals (closedwon row only)."
    )


class SalesReview(AgentOutput):
    """Funnel conversion and velocity from deal stages."""

    language: str = Field(default="pt", pattern=r"^[a-z]{2}$")
    funnel: str = Field(default="all_deals", description="'all_deals' or 'first_deal' (the acquisition funnel).")
    stages: list[FunnelStage]
    win_rate: float | None = Field(default=None, description="won ÷ (won + lost), a 0–1 fraction.")
    median_days_to_win: float | None = Field(default=None, description="Median days from create to close, won deals.")
    summary: str = Field(default="", description="Conversion stage by stage, win rate and velocity, in words.")
    bottleneck: str = Field(description="The stage that loses the most deals, and why it matters.")
    recommendations: list[str]
    figures: list[Figure] = Field(default_factory=list)


class ScenarioSummary(_Item):
    scenario: Literal["conservative", "base", "optimistic"]
    months: int = Field(ge=1)
    receita_liquida_brl: float
    lucro_liquido_brl: float


class DreLine(_Item):
    """One line of the month's DRE (`marts.fct_dre_monthly`), signed as the DRE shows it."""

    line_key: str
    line_label: str
    amount_brl: float
    pct_of_net_revenue: float | None = Field(default=None, description="amount ÷ receita líquida, a fraction.")
    previous_amount_brl: float | None = Field(default=None, description="The same line in the previous month.")


class FinanceReport(AgentOutput):
    """DRE commentary, scenario summary and unit economics."""

    language: str = Field(default="pt", pattern=r"^[a-z]{2}$")
    period: str = Field(description="The month commented, 'YYYY-MM'.")
    commentary: str
    lines: list[DreLine] = Field(default_factory=list, description="The month's DRE, in DRE order.")
    scenarios: list[ScenarioSummary] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)


class AutomationParameter(_Item):
    name: str
    value: str


class AutomationRequest(AgentOutput):
    """An approved plan item turned into a concrete automation; always waits for approval."""

    action: Literal["send_campaign", "sync_hubspot", "run_playbook", "notify_slack", "create_notion_page"]
    source: str = Field(description="What it comes from: a campaign_id, a plan item, a playbook name.")
    parameters: list[AutomationParameter] = Field(default_factory=list)
    idempotency_key: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    status: Literal["pending_approval"] = "pending_approval"
    reason: str = ""


__all__ = [
    "LLM_NOTICE",
    "OFFLINE_NOTICE",
    "SAO_PAULO",
    "AgentOutput",
    "AutomationParameter",
    "AutomationRequest",
    "CampaignDraft",
    "CampaignVariant",
    "Channel",
    "ChannelAllocation",
    "DreLine",
    "Figure",
    "FinanceReport",
    "FunnelStage",
    "GeneratedBy",
    "Intent",
    "MediaPlan",
    "ResearchAnswer",
    "RetentionItem",
    "RetentionPlan",
    "RouteDecision",
    "SalesReview",
    "ScenarioSummary",
]
