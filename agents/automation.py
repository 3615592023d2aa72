"""Automation agent: an approved plan item, or an "automate" request, as a concrete automation request.

``automation_request(runtime, item=…)`` or ``automation_request(runtime, request=…)`` only *proposes*: the
:class:`~agents.schemas.AutomationRequest` is always ``pending_approval`` and the executor runs it later.

Offline mapping (:func:`request_offline`, deterministic):

* :class:`~agents.schemas.CampaignDraft` → ``send_campaign`` (campaign_id, channel, segment, template and
  variant_b_template for WhatsApp, schedule, budget, audience_size); source = the campaign id;
* :class:`~agents.schemas.RetentionItem` → on WhatsApp or e-mail, the segments that lapsed (``inactive_60d``,
  ``churned``) get ``run_playbook`` ``reactivation_campaign`` (segment, channel, inactive_days 60 for
  ``inactive_60d``, budget when the decision names one); other segments ``send_campaign`` (segment, channel,
  customers, budget); channel ``none`` → ``notify_slack`` (the team acts by hand); source ``retention:<segment>``;
* :class:`~agents.schemas.MediaPlan` → ``create_notion_page`` (title, budget, region, one
  ``allocation.<channel>`` per channel); source ``media_plan``;
* :class:`~agents.schemas.FinanceReport` → ``create_notion_page`` (title, period); source
  ``finance_report:<period>``;
* a request with no item (the router's ``automate`` intent; parameters from the
  :class:`~agents.schemas.RouteDecision`, else :func:`agents.router.route_offline`), first keyword that
  matches: HubSpot/sincronizar/sync → ``sync_hubspot``; Notion → ``create_notion_page`` (the report named:
  campaigns, DRE, churn, media); churn → ``run_playbook`` ``churn_analysis`` (lookback_days: the request's,
  months × 30, default 90); DRE/P&L/fechamento → ``monthly_dre`` (month: ``YYYY-MM``, a month name with or
  without a year, "mês passado"; default the last complete São Paulo month); reativação/inativos/win-back →
  ``reactivation_campaign`` (segment, inactive_days from "inativos há 90 dias", else 60, channel, budget);
  Slack/avise/notifique → ``notify_slack`` (a ``#channel`` named, else ``#revenue-ops``; the message is the
  request with phone numbers and e-mail addresses removed).

``idempotency_key`` = ``<action>:<source>:<first 12 hex of sha256 of the canonical parameters>`` (parameters
sorted by name, JSON): the same item gives the same key, a changed item a new one. It is always recomputed
in code, also on the LLM path.

LLM path: the model fills the schema from the item's JSON (and the request), with the parameters code
derived as facts. :func:`check_automation` rejects, after one retry, an action the item's kind does not
allow, a source other than the item's, the item's parameters changed, and any parameter that names
recipients (``to``, ``phone``, ``recipients``, ``wa_id``, …) or carries a phone number or an e-mail address:
recipients are chosen at send time from the marts (:func:`agents.untrusted.pick_recipients`), never here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence

from agents.analysis import brl
from agents.router import fold, route_offline
from agents.runtime import AgentRuntime
from agents.schemas import (
    SAO_PAULO,
    AutomationParameter,
    AutomationRequest,
    CampaignDraft,
    FinanceReport,
    MediaPlan,
    RetentionItem,
    RouteDecision,
)

Item = CampaignDraft | RetentionItem | MediaPlan | FinanceReport

DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_INACTIVE_DAYS = 60
DEFAULT_SLACK_CHANNEL = "#revenue-ops"
REACTIVATION_SEGMENTS = frozenset({"inactive_60d", "churned"})
INACTIVE_DAYS = {"inactive_60d": 60}
MAX_MESSAGE_CHARS = 280

#: The actions an item of each kind may become ("request": no item, a bare request).
ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
    "CampaignDraft": frozenset({"send_campaign"}),
    "RetentionItem": frozenset({"run_playbook", "send_campaign", "notify_slack"}),
    "MediaPlan": frozenset({"create_notion_page"}),
    "FinanceReport": frozenset({"create_notion_page"}),
    "request": frozenset({"send_campaign", "sync_hubspot", "run_playbook", "notify_slack", "create_notion_page"}),
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])\+?\(?\d(?:[\s().-]{0,2}\d){9,13}(?![\w-])")
_RECIPIENT_NAME = re.compile(
    r"^(to|cc|bcc|para|emails?|e_mails?|phones?|telefones?|celular(es)?|numbers?|numeros?|wa_?ids?|whatsapp_?ids?)$"
    r"|recipient|destinat|phone|telefone|msisdn|wa_id|contact_list|contatos"
)
_SAFE_SOURCE = re.compile(r"[^A-Za-z0-9_.:-]+")


class AutomationError(ValueError):
    """Nothing to automate: no item and no recognisable automate request."""


# -- parameters and the key -------------------------------------------------------------------------


def _money(value: float) -> str:
    return f"{value:.2f}"


def _params(pairs: Sequence[tuple[str, object]]) -> list[AutomationParameter]:
    """Parameters in a stable order, None left out, numbers written one way."""
    out = []
    for name, value in pairs:
        if value is None or value == "":
            continue
        text = _money(value) if isinstance(value, float) else str(value)
        out.append(AutomationParameter(name=name, value=text))
    return out


def canonical_parameters(parameters: Sequence[AutomationParameter]) -> str:
    return json.dumps(sorted([p.name, p.value] for p in parameters), ensure_ascii=False, separators=(",", ":"))


def idempotency_key(action: str, source: str, parameters: Sequence[AutomationParameter]) -> str:
    """``<action>:<source>:<sha256 of the canonical parameters, 12 hex>``."""
    digest = hashlib.sha256(canonical_parameters(parameters).encode()).hexdigest()[:12]
    return f"{action}:{_SAFE_SOURCE.sub('_', source) or 'request'}:{digest}"


def redact(text: str) -> str:
    """The text without phone numbers and e-mail addresses."""
    return _PHONE.sub("[removido]", _EMAIL.sub("[removido]", text))


def _request(action: str, source: str, pairs: Sequence[tuple[str, object]], reason: str) -> AutomationRequest:
    parameters = _params(pairs)
    return AutomationRequest(
        action=action,  # type: ignore[arg-type]
        source=source,
        parameters=parameters,
        idempotency_key=idempotency_key(action, source, parameters),
        reason=reason,
    )


# -- items ------------------------------------------------------------------------------------------


def kind_of(item: Item | None) -> str:
    return "request" if item is None else type(item).__name__


def from_campaign(draft: CampaignDraft, lang: str) -> AutomationRequest:
    b_template = next((v.whatsapp_template for v in draft.variants if v.name == "B"), None)
    pairs: list[tuple[str, object]] = [
        ("campaign_id", draft.campaign_id),
        ("channel", draft.channel),
        ("segment", draft.segment),
        ("template", draft.whatsapp_template),
        ("variant_b_template", b_template if b_template != draft.whatsapp_template else None),
        ("email_subject", draft.email_subject if draft.channel == "email" else None),
        ("schedule", draft.schedule.isoformat()),
        ("budget", float(draft.budget_brl)),
        ("audience_size", draft.audience_size),
    ]
    reason = (
        f"Enviar a campanha {draft.campaign_id} aprovada ({draft.channel}, {draft.segment}) no horário marcado."
        if lang == "pt"
        else f"Send the approved campaign {draft.campaign_id} ({draft.channel}, {draft.segment}) at its time."
    )
    return _request("send_campaign", draft.campaign_id, pairs, reason)


def from_retention(item: RetentionItem, decision: RouteDecision | None, lang: str) -> AutomationRequest:
    budget = float(decision.budget_brl) if decision and decision.budget_brl is not None else None
    source = f"retention:{item.segment}"
    pt_ = lang == "pt"
    if item.channel == "none":
        return _request(
            "notify_slack",
            source,
            [
                ("slack_channel", DEFAULT_SLACK_CHANNEL),
                ("segment", item.segment),
                ("customers", item.customers),
                ("message", redact(item.action)[:MAX_MESSAGE_CHARS]),
            ],
            "Sem canal de envio: avisar o time para agir." if pt_ else "No outbound channel: tell the team to act.",
        )
    if item.segment in REACTIVATION_SEGMENTS:
        return _request(
            "run_playbook",
            source,
            [
                ("playbook", "reactivation_campaign"),
                ("segment", item.segment),
                ("channel", item.channel),
                ("inactive_days", INACTIVE_DAYS.get(item.segment)),
                ("budget", budget),
            ],
            f"Segmento {item.segment}: playbook de reativação." if pt_ else f"{item.segment}: reactivation playbook.",
        )
    return _request(
        "send_campaign",
        source,
        [("segment", item.segment), ("channel", item.channel), ("customers", item.customers), ("budget", budget)],
        f"Campanha de retenção para {item.segment}." if pt_ else f"Retention campaign for {item.segment}.",
    )


def from_media_plan(plan: MediaPlan, lang: str) -> AutomationRequest:
    title = ("Plano de mídia " if lang == "pt" else "Media plan ") + brl(
        plan.budget_brl, "pt" if lang == "pt" else "en"
    )
    if plan.region:
        title += f" ({plan.region})"
    pairs: list[tuple[str, object]] = [
        ("title", title),
        ("budget", float(plan.budget_brl)),
        ("region", plan.region),
    ]
    pairs += [(f"allocation.{a.channel}", float(a.budget_brl)) for a in plan.allocations]
    reason = "Publicar o plano de mídia no Notion." if lang == "pt" else "Publish the media plan in Notion."
    return _request("create_notion_page", "media_plan", pairs, reason)


def from_finance_report(report: FinanceReport, lang: str) -> AutomationRequest:
    title = f"DRE {report.period}" if lang == "pt" else f"P&L {report.period}"
    reason = f"Publicar a DRE de {report.period} no Notion." if lang == "pt" else f"Publish the {report.period} P&L."
    return _request(
        "create_notion_page", f"finance_report:{report.period}", [("title", title), ("period", report.period)], reason
    )


# -- bare requests ----------------------------------------------------------------------------------

_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sync_hubspot", re.compile(r"\b(hubspot|sincroniz\w*|sync\w*)\b")),
    ("create_notion_page", re.compile(r"\b(notion)\b")),
    ("churn_analysis", re.compile(r"\b(churn|cancelamentos?)\b")),
    ("monthly_dre", re.compile(r"\b(dre|p&l|fechamento)\b|p&l")),
    ("reactivation_campaign", re.compile(r"\b(reativ\w*|inativ\w*|win-?back|reactivat\w*|inactive|reengaj\w*)\b")),
    ("notify_slack", re.compile(r"\b(slack|avise|notifique|notify|alert\w*)\b")),
)
_REPORTS = (
    ("campaign_results", re.compile(r"\b(campanhas?|campaigns?)\b"), "Relatório de campanhas", "Campaign report"),
    ("dre", re.compile(r"\b(dre|p&l)\b|p&l"), "DRE", "P&L"),
    ("churn", re.compile(r"\b(churn|coortes?|cohorts?)\b"), "Relatório de churn", "Churn report"),
    ("media_plan", re.compile(r"\b(midia|media)\b"), "Plano de mídia", "Media plan"),
)
_MONTHS = {
    **{m: i for i, m in enumerate(
        ["janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
         "novembro", "dezembro"], 1)},
    **{m: i for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
         "november", "december"], 1)},
}  # fmt: skip
_MONTH_NAME = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b(?:\s*(?:de|/|of)?\s*(20\d\d))?")
_ISO_MONTH = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])\b")
_PREVIOUS = re.compile(r"\b(mes passado|ultimo mes|last month|previous month)\b")
_INACTIVE_DAYS = (
    re.compile(r"\b(?:inativ\w*|inactive|sem comprar|sem pedir)\D{0,25}?(\d+)\s*(?:dias|days)\b"),
    re.compile(r"\b(\d+)\s*(?:dias|days)\s*(?:sem|de inatividade|inativ\w*|without|inactive)"),
)
_SLACK_CHANNEL = re.compile(r"(#[a-z0-9][a-z0-9_-]{0,79})")


def sao_paulo_now(now: dt.datetime | None = None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(SAO_PAULO)
    return now.replace(tzinfo=SAO_PAULO) if now.tzinfo is None else now.astimezone(SAO_PAULO)


def _previous_month(now: dt.datetime) -> str:
    first = now.date().replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def parse_month(text: str, now: dt.datetime) -> str:
    """``YYYY-MM`` named in ``text`` (ISO, a month name with or without year, "mês passado"); else last month."""
    folded = fold(text)
    if match := _ISO_MONTH.search(folded):
        return f"{match.group(1)}-{match.group(2)}"
    if match := _MONTH_NAME.search(folded):
        month = _MONTHS[match.group(1)]
        year = int(match.group(2)) if match.group(2) else now.year - (1 if month > now.month else 0)
        return f"{year}-{month:02d}"
    return _previous_month(now)


def parse_inactive_days(text: str) -> int | None:
    folded = fold(text)
    for pattern in _INACTIVE_DAYS:
        if match := pattern.search(folded):
            return int(match.group(1))
    return None


def lookback_days(decision: RouteDecision) -> int:
    if decision.lookback_days:
        return decision.lookback_days
    if decision.lookback_months:
        return decision.lookback_months * 30
    return DEFAULT_LOOKBACK_DAYS


def from_request(request: str, decision: RouteDecision, now: dt.datetime) -> AutomationRequest:
    if decision.intent != "automate":
        raise AutomationError(
            f"not an automation request (intent {decision.intent!r}): route it to its agent, then automate the item"
        )
    folded = fold(request)
    found = next((name for name, pattern in _KEYWORDS if pattern.search(folded)), None)
    pt_ = decision.language == "pt"
    budget = float(decision.budget_brl) if decision.budget_brl is not None else None
    if found == "sync_hubspot":
        obj = "deals" if re.search(r"\b(deals?|negocios)\b", folded) else "contacts"
        return _request(
            "sync_hubspot",
            f"hubspot:{obj}",
            [("object", obj), ("segment", decision.segment)],
            f"Sincronizar {obj} com o HubSpot." if pt_ else f"Sync {obj} with HubSpot.",
        )
    if found == "create_notion_page":
        report, title_pt, title_en = next(
            ((key, pt, en) for key, pattern, pt, en in _REPORTS if pattern.search(folded)),
            ("report", "Relatório", "Report"),
        )
        period = parse_month(request, now) if report == "dre" else None
        title = (title_pt if pt_ else title_en) + (f" {period}" if period else "")
        return _request(
            "create_notion_page",
            f"notion:{report}",
            [
                ("title", title),
                ("report", report),
                ("period", period),
                ("lookback_days", decision.lookback_days),
                ("lookback_months", decision.lookback_months),
            ],
            f"Exportar {title} para o Notion." if pt_ else f"Export {title} to Notion.",
        )
    if found == "churn_analysis":
        days = lookback_days(decision)
        return _request(
            "run_playbook",
            "playbook:churn_analysis",
            [("playbook", "churn_analysis"), ("lookback_days", days), ("segment", decision.segment)],
            f"Análise de churn dos últimos {days} dias." if pt_ else f"Churn analysis of the last {days} days.",
        )
    if found == "monthly_dre":
        month = parse_month(request, now)
        return _request(
            "run_playbook",
            "playbook:monthly_dre",
            [("playbook", "monthly_dre"), ("month", month)],
            f"DRE de {month}." if pt_ else f"P&L for {month}.",
        )
    if found == "reactivation_campaign":
        segment = decision.segment or "inactive_60d"
        days = parse_inactive_days(request) or INACTIVE_DAYS.get(segment) or DEFAULT_INACTIVE_DAYS
        channel = decision.channel if decision.channel in ("whatsapp", "email") else "whatsapp"
        return _request(
            "run_playbook",
            "playbook:reactivation_campaign",
            [
                ("playbook", "reactivation_campaign"),
                ("segment", segment),
                ("inactive_days", days),
                ("channel", channel),
                ("budget", budget),
            ],
            f"Reativação de {segment} ({days} dias sem pedido)." if pt_ else f"Reactivate {segment} ({days} days).",
        )
    if found == "notify_slack":
        match = _SLACK_CHANNEL.search(request.lower())
        return _request(
            "notify_slack",
            "slack",
            [
                ("slack_channel", match.group(1) if match else DEFAULT_SLACK_CHANNEL),
                ("message", redact(request).strip()[:MAX_MESSAGE_CHARS]),
            ],
            "Avisar o time no Slack." if pt_ else "Notify the team on Slack.",
        )
    raise AutomationError(
        "no automation recognised in the request: name HubSpot, Notion, Slack or a playbook "
        "(churn_analysis, monthly_dre, reactivation_campaign)"
    )


def request_offline(
    item: Item | None, request: str | None, decision: RouteDecision | None, now: dt.datetime | None = None
) -> AutomationRequest:
    """The deterministic mapping of the module doc."""
    lang = decision.language if decision else "pt"
    if isinstance(item, CampaignDraft):
        return from_campaign(item, lang)
    if isinstance(item, RetentionItem):
        return from_retention(item, decision, lang)
    if isinstance(item, MediaPlan):
        return from_media_plan(item, lang)
    if isinstance(item, FinanceReport):
        return from_finance_report(item, lang)
    if item is not None:
        raise AutomationError(f"cannot automate a {type(item).__name__}")
    if not request or not request.strip():
        raise AutomationError("nothing to automate: give an approved item or a request")
    return from_request(request, decision or route_offline(request), sao_paulo_now(now))


# -- validation -------------------------------------------------------------------------------------


def parameter_errors(parameters: Sequence[AutomationParameter]) -> list[str]:
    """Recipients, phone numbers and e-mail addresses have no place in parameters."""
    errors = []
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        errors.append("each parameter name may appear once")
    for p in parameters:
        if _RECIPIENT_NAME.search(p.name.lower()):
            errors.append(
                f"parameter {p.name!r} names recipients: recipients are chosen at send time from the marts, remove it"
            )
        if _PHONE.search(p.value) or _EMAIL.search(p.value):
            errors.append(f"parameter {p.name!r} carries a phone number or an e-mail address: remove it")
    return errors


def check_automation(output: AutomationRequest, kind: str, reference: AutomationRequest | None) -> list[str]:
    """What is wrong with ``output`` for an item of ``kind``, given code's own mapping ``reference``."""
    errors = []
    allowed = ALLOWED_ACTIONS[kind]
    if output.action not in allowed:
        errors.append(f"action {output.action!r} does not fit a {kind}: use one of {', '.join(sorted(allowed))}")
    errors.extend(parameter_errors(output.parameters))
    if reference is not None and kind != "request" and output.source != reference.source:
        errors.append(f"source must be {reference.source!r} (the item's), not {output.source!r}")
    if reference is not None and output.action == reference.action:
        given = {p.name: p.value for p in output.parameters}
        for p in reference.parameters:
            if p.name not in ("message", "title") and given.get(p.name) != p.value:
                errors.append(f"parameter {p.name!r} must be {p.value!r} (from the item), not {given.get(p.name)!r}")
    return errors


def automation_rule(kind: str, reference: AutomationRequest | None) -> Callable[[AutomationRequest], list[str]]:
    return lambda output: check_automation(output, kind, reference)


def finalize(output: AutomationRequest, kind: str, reference: AutomationRequest | None) -> AutomationRequest:
    """The key recomputed from the parameters, the item's source, pending approval."""
    source = reference.source if reference is not None and kind != "request" else output.source
    return output.model_copy(
        update={
            "source": source,
            "status": "pending_approval",
            "idempotency_key": idempotency_key(output.action, source, output.parameters),
        }
    )


# -- the LLM path -----------------------------------------------------------------------------------

SYSTEM_PROMPT = """You are the Automation agent of a revenue-operations platform for +Pet, a Brazilian pet-care \
subscription e-commerce. You turn an approved plan item, or an operator's request, into ONE AutomationRequest \
that waits for approval (status pending_approval); you execute nothing.
Actions: send_campaign (send an approved campaign), sync_hubspot (sync contacts or deals), run_playbook \
(parameter playbook: churn_analysis with lookback_days, monthly_dre with month YYYY-MM, reactivation_campaign \
with segment, inactive_days, channel, budget), notify_slack (slack_channel, message), create_notion_page (title, \
report or the item's fields).
This item is a {kind}; allowed actions: {allowed}. Keep the item's values exactly; write numbers as plain \
decimals (budget 1000.00). Never add recipients, phone numbers or e-mail addresses: recipients are chosen by the \
system at send time. The idempotency_key is recomputed by the system. Write `reason` in the language '{language}'.
Parameters the system derived from the item (keep them; you may add others):
{reference}"""


def automation_messages(
    item: Item | None, request: str | None, decision: RouteDecision | None, reference: AutomationRequest | None
) -> list[tuple[str, str]]:
    kind = kind_of(item)
    derived = (
        json.dumps(
            {
                "action": reference.action,
                "source": reference.source,
                "parameters": reference.model_dump()["parameters"],
            },
            ensure_ascii=False,
        )
        if reference is not None
        else "(none: decide from the request)"
    )
    system = SYSTEM_PROMPT.format(
        kind=kind,
        allowed=", ".join(sorted(ALLOWED_ACTIONS[kind])),
        language=decision.language if decision else "pt",
        reference=derived,
    )
    parts = []
    if item is not None:
        parts.append(f"Item ({kind}):\n{item.model_dump_json()}")
    if request:
        parts.append(f"Request: {request}")
    if decision is not None:
        parts.append(f"Router decision: {decision.model_dump_json(exclude={'generated_by', 'notice'})}")
    return [("system", system), ("human", "\n\n".join(parts))]


def automation_request(
    runtime: AgentRuntime,
    *,
    item: Item | None = None,
    request: str | None = None,
    decision: RouteDecision | None = None,
    now: dt.datetime | None = None,
) -> AutomationRequest:
    """An :class:`AutomationRequest` for ``item`` or ``request`` (see the module doc); always pending approval.

    Raises :class:`AutomationError` when there is nothing to automate (offline), and
    :class:`~agents.runtime.GuardrailViolation` when the proposal breaks a rule (after one retry on the LLM path).
    """
    if item is None and request and decision is None:
        decision = route_offline(request)
    kind = kind_of(item)
    if kind not in ALLOWED_ACTIONS:
        raise AutomationError(f"cannot automate a {kind}")
    if not runtime.is_llm:
        reference = None
        offline = lambda: request_offline(item, request, decision, now)  # noqa: E731
    else:
        try:
            reference = request_offline(item, request, decision, now)
        except AutomationError:
            if item is not None or not request:
                raise
            reference = None  # a request the keywords miss: the model may still read it
        offline = None
    validators = [automation_rule(kind, reference)]
    messages = automation_messages(item, request, decision, reference) if runtime.is_llm else None
    output = runtime.run("automation", AutomationRequest, messages=messages, offline=offline, validators=validators)
    return finalize(output, kind, reference)


__all__ = [
    "ALLOWED_ACTIONS",
    "DEFAULT_INACTIVE_DAYS",
    "DEFAULT_LOOKBACK_DAYS",
    "SYSTEM_PROMPT",
    "AutomationError",
    "automation_messages",
    "automation_request",
    "canonical_parameters",
    "check_automation",
    "finalize",
    "idempotency_key",
    "parameter_errors",
    "parse_inactive_days",
    "parse_month",
    "redact",
    "request_offline",
]
