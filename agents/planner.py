"""Planner: retention plans and media plans from the marts, inside the guardrails.

``plan_retention(runtime, sql, request=…, decision=…)`` → :class:`~agents.schemas.RetentionPlan`:

* **segments** — the segments that exist in ``marts.dim_segments`` (all of them, or the one the request
  names), each with one concrete pt-BR action (win-back coupon for ``inactive_60d``, a save offer before the
  next charge for ``at_risk``, onboarding for ``new``, loyalty/upsell for ``loyal`` and ``vip``, …);
* **channel** — WhatsApp when the segment has customers who can be messaged (``is_whatsapp_contactable``:
  opted in, not suppressed), else e-mail (customers with an e-mail in ``marts.dim_customers``), else
  ``none``; a channel the request names wins when it reaches anyone. ``customers`` is the reach on that
  channel;
* **expected churn reduction** (percentage points of monthly logo churn) = reach × the historical conversion
  of WhatsApp campaigns (Σ converted ÷ Σ sent of the complete campaigns in ``marts.fct_campaign_results``;
  5 % when there is no history, said so) × the segment's weight in churn (1 for ``at_risk``, the likely
  cancellations of next month, and for ``inactive_60d``/``churned``, whose reactivations offset
  cancellations — net churn; the current monthly logo churn for healthy segments: only those who would
  cancel count) ÷ the active base of the last complete month of ``marts.fct_churn_monthly`` × 100;
* **order** — by expected monthly revenue kept: customers kept × the segment's average monthly value
  (``mrr_brl``, or ``monetary_brl`` ÷ 12 for customers without MRR).

``plan_media(runtime, sql, budget_brl=…, region=…, request=…, decision=…)`` → :class:`~agents.schemas.MediaPlan`:

* per paid channel over the last N complete months (default 6, or the request's lookback): paid CAC = Σ spend
  ÷ Σ new customers (``marts.fct_cac``), formula LTV (``marts.fct_ltv``), LTV:CAC, and payback = CAC ÷ (ARPA
  × gross margin) (METRICS.md) with ARPA of the channel (``marts.fct_churn_by_channel_monthly``) or overall
  and the gross margin of ``marts.fct_unit_economics``, last complete month;
* **allocation** — channels with LTV:CAC < 1 or without CAC/LTV get nothing; the others get weight LTV:CAC
  (× for a region, the fraction of the channel's customers living there, from ``marts.dim_customers``),
  shares proportional to the weights with a cap of 60 % per channel (diminishing returns; the excess goes
  to the others) unless one channel is the only viable one; amounts in centavos summing to the budget;
  ``expected_new_customers`` = amount ÷ CAC;
* **region** — spend has no region in the data, so CAC stays national and the region only re-weights
  channels; "SP" is the state, "São Paulo" is read as the state (the router maps "em SP" to the same name)
  unless the request says the city ("cidade de São Paulo", "capital"); a region without customers of paid
  channels keeps the national split, said plainly.

Both go through :meth:`agents.runtime.AgentRuntime.run` as agent ``"planner"``: offline, the deterministic
plan above; with an LLM the model gets the rules, the tables and the vetted offline plan as facts, and
returns the same schema. Validators: retention — segments exist and reach is at most the contactable
customers (:func:`~agents.guardrails.retention_rules`); media — the user's budget is the cap
(:func:`~agents.guardrails.budget_rule`) and stated unit economics match the marts (:func:`check_media_plan`);
both — every figure re-run (:func:`~agents.guardrails.figures_rule`) and, for a model, the request's language.
Texts are written in the request's language (``pt`` default, ``en``); actions are pt-BR.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.analysis import (
    Work,
    as_date,
    brl,
    complete_window,
    date_sql,
    lit,
    lookback_months,
    month_label,
    num,
    pct,
    period_label,
)
from agents.guardrails import MartFacts, budget_rule, figures_rule, language_rule, retention_rules
from agents.router import _STATES, fold, route_offline
from agents.runtime import AgentRuntime
from agents.schemas import ChannelAllocation, Figure, MediaPlan, RetentionItem, RetentionPlan, RouteDecision
from agents.sql_tool import SqlTool

DEFAULT_MEDIA_LOOKBACK_MONTHS = 6
#: No channel gets more than this share of a media budget, unless it is the only viable one.
MAX_CHANNEL_SHARE = 0.6
#: Conversion assumed for a retention action when the marts hold no finished campaign.
FALLBACK_CONVERSION_RATE = 0.05
#: Tolerance when a model restates the vetted unit economics of a channel.
UNIT_ECONOMICS_REL_TOL = 0.005

#: Segments whose every success counts against churn (weight 1); the others count × the churn rate.
FULL_WEIGHT_SEGMENTS = frozenset({"at_risk", "inactive_60d", "churned"})
REACTIVATION_SEGMENTS = frozenset({"inactive_60d", "churned"})
SEGMENT_ORDER = ("at_risk", "inactive_60d", "churned", "new", "vip", "loyal")

#: One concrete action per segment (pt-BR, what the team would do), by channel.
ACTIONS: dict[str, str] = {
    "inactive_60d": (
        "Reativação: cupom VOLTA10 (10% OFF na volta da assinatura) com template de reativação aprovado "
        "(ex.: reativacao_v1_a / saudade_pet_a)"
    ),
    "churned": (
        "Win-back rápido (cancelou há menos de 60 dias): perguntar o motivo do cancelamento e oferecer frete "
        "grátis no primeiro mês de volta (template aprovado frete_gratis_volta_a)"
    ),
    "at_risk": (
        "Oferta de permanência antes da próxima cobrança: pausa de 1 mês, troca de plano ou de ração, ou 10% na "
        "renovação; contato 1:1 do atendimento para quem não responder"
    ),
    "new": (
        "Onboarding: boas-vindas, dicas de uso e lembrete da 2ª entrega para chegar à primeira renovação (sem desconto)"
    ),
    "loyal": (
        "Fidelização e upsell: migração para o plano anual ou inclusão de petiscos/higiene na assinatura, "
        "com benefício de fidelidade"
    ),
    "vip": (
        "Programa VIP: brinde surpresa, atendimento prioritário e acesso antecipado a lançamentos (sem desconto, "
        "para não treinar o cliente a esperar oferta)"
    ),
}
GENERIC_ACTION = "Revisar o segmento com o time de CRM antes de qualquer contato"
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "email": "e-mail", "none": "nenhum"}


# -- shared -----------------------------------------------------------------------------------------


def resolve_decision(request: str | None, decision: RouteDecision | None) -> RouteDecision | None:
    if decision is not None:
        return decision
    return route_offline(request) if request else None


def writing_language(decision: RouteDecision | None) -> tuple[str, str]:
    """(the language the output must declare, the one the offline texts are written in: pt or en)."""
    code = decision.language if decision is not None else "pt"
    return code, "pt" if code == "pt" else "en"


def _value(figure: Figure | None) -> float | None:
    return figure.value if figure is not None else None


# -- retention ------------------------------------------------------------------------------------


@dataclass
class SegmentPlan:
    segment: str
    customers: int
    whatsapp: int
    email: int | None
    monthly_value: float
    channel: str = "none"
    reach: int = 0
    weight: float = 0.0
    kept: float = 0.0
    reduction_pp: float = 0.0
    revenue_kept: float = 0.0


def _churn_context(work: Work) -> tuple[Any, Figure | None, Figure | None, Figure | None]:
    """(last complete month, logo churn %, churned customers, active customers at its start)."""
    if "marts.fct_churn_monthly" not in work.sql.tables():
        return None, None, None, None
    last = as_date(work.value("select max(month) from marts.fct_churn_monthly where is_complete"))
    if last is None:
        return None, None, None, None
    where = f"from marts.fct_churn_monthly where month = {date_sql(last)}"
    churn = work.figure(f"logo churn {last:%Y-%m}", "%", f"select 100.0 * logo_churn_rate {where}")
    churned = work.figure(f"churned customers {last:%Y-%m}", "customers", f"select churned_customers {where}")
    base = work.figure(
        f"active customers at the start of {last:%Y-%m}", "customers", f"select active_customers_start {where}"
    )
    return last, churn, churned, base


def _conversion(work: Work) -> Figure | None:
    if "marts.fct_campaign_results" not in work.sql.tables():
        return None
    sent = work.value("select sum(sent) from marts.fct_campaign_results where is_complete")
    if not sent:
        return None
    return work.figure(
        "WhatsApp campaign conversion, complete campaigns",
        "%",
        "select 100.0 * sum(converted) / nullif(sum(sent), 0) from marts.fct_campaign_results where is_complete",
    )


def _segments(work: Work, names: list[str], has_customers: bool) -> list[SegmentPlan]:
    out = []
    for name in names:
        where = f"from marts.dim_segments where segment = {lit(name)}"
        customers = work.figure(f"{name} customers", "customers", f"select count(*) {where}")
        whatsapp = work.figure(
            f"{name} WhatsApp-contactable customers",
            "customers",
            f"select sum(case when is_whatsapp_contactable then 1 else 0 end) {where}",
        )
        email = None
        if has_customers:
            email = work.figure(
                f"{name} customers with an e-mail",
                "customers",
                "select count(*) from marts.dim_segments as s inner join marts.dim_customers as c "
                f"on s.customer_id = c.customer_id where s.segment = {lit(name)} "
                "and c.email is not null and c.email <> ''",
            )
        value = work.figure(
            f"{name} average monthly value",
            "BRL",
            f"select avg(case when mrr_brl > 0 then mrr_brl else monetary_brl / 12.0 end) {where}",
        )
        out.append(
            SegmentPlan(
                segment=name,
                customers=int(_value(customers) or 0),
                whatsapp=int(_value(whatsapp) or 0),
                email=int(email.value) if email is not None else None,
                monthly_value=_value(value) or 0.0,
            )
        )
    return out


def _choose_channel(seg: SegmentPlan, wanted: str | None) -> None:
    reach = {"whatsapp": seg.whatsapp, "email": seg.email or 0}
    if wanted in reach and reach[wanted] > 0:
        seg.channel = wanted
    elif seg.whatsapp > 0:
        seg.channel = "whatsapp"
    elif seg.email:
        seg.channel = "email"
    else:
        seg.channel = "none"
    seg.reach = reach.get(seg.channel, 0)


def _action(seg: SegmentPlan, lang: str) -> str:
    text = ACTIONS.get(seg.segment, GENERIC_ACTION)
    if seg.channel == "whatsapp":
        text += f", por WhatsApp para {seg.reach} de {seg.customers} clientes (opt-in, fora da lista de supressão)"
        if seg.email and seg.email > seg.reach:
            text += f"; os demais com e-mail recebem a mesma oferta por e-mail (até {seg.email - seg.reach})"
    elif seg.channel == "email":
        text += f", por e-mail para {seg.reach} de {seg.customers} clientes (nenhum contactável por WhatsApp)"
    else:
        text = (
            f"Nenhum dos {seg.customers} clientes é contactável (sem opt-in de WhatsApp nem e-mail): coletar "
            "consentimento (LGPD) antes de qualquer ação"
        )
    return text + "."


def _assumption(seg: SegmentPlan, lang: str, rate: float, measured: bool, churn: float | None, base: float) -> str:
    pt = lang == "pt"
    if seg.channel == "none":
        return "Sem canal de contato: nenhuma redução esperada." if pt else "No contact channel: no reduction expected."
    source = (
        ("conversão histórica das campanhas concluídas (Σ convertidos ÷ Σ enviados)" if measured else "premissa fixa")
        if pt
        else (
            "historical conversion of finished campaigns (Σ converted ÷ Σ sent)" if measured else "a fixed assumption"
        )
    )
    if not measured:
        source += (
            ": não há campanhas concluídas em fct_campaign_results"
            if pt
            else ": fct_campaign_results holds no finished campaign"
        )
    parts = [f"{seg.reach} × {pct(100 * rate, lang)} ({source})"]
    if seg.segment in FULL_WEIGHT_SEGMENTS:
        if seg.segment in REACTIVATION_SEGMENTS:
            why = (
                "cada reativação compensa um cancelamento (churn líquido)"
                if pt
                else "each reactivation offsets a cancellation (net churn)"
            )
        else:
            why = (
                "tratados como os prováveis cancelamentos do próximo mês"
                if pt
                else "treated as next month's likely cancellations"
            )
        parts.append(f"× 1 ({why})")
    else:
        parts.append(
            f"× {pct(churn or 0.0, lang)} "
            + (
                "(churn mensal atual: só quem cancelaria conta)"
                if pt
                else "(current monthly churn: only would-be churners count)"
            )
        )
    kept = num(seg.kept, lang)
    if pt:
        text = f"{' '.join(parts)} = {kept} clientes mantidos numa rodada no mês ÷ {int(base)} clientes ativos × 100"
        text += f" = {num(seg.reduction_pp, lang, 4)} pp."
        if seg.channel == "email":
            text += " A taxa medida é de WhatsApp; e-mail costuma converter menos: trate como teto."
    else:
        text = (
            f"{' '.join(parts)} = {kept} customers kept by one round in the month ÷ {int(base)} active customers × 100"
        )
        text += f" = {num(seg.reduction_pp, lang, 4)} pp."
        if seg.channel == "email":
            text += " The rate is measured on WhatsApp; e-mail usually converts less: read it as a ceiling."
    return text


def plan_retention_offline(sql: SqlTool, decision: RouteDecision | None) -> RetentionPlan:
    """The deterministic retention plan (see the module doc)."""
    code, lang = writing_language(decision)
    pt = lang == "pt"
    work = Work(sql, lang)
    tables = sql.tables()
    if "marts.dim_segments" not in tables:
        summary = (
            "Não há segmentos no warehouse (marts.dim_segments): materialize os marts antes de planejar."
            if pt
            else "The warehouse has no segments (marts.dim_segments): materialize the marts first."
        )
        return RetentionPlan(language=code, items=[], summary=summary)

    last, churn, churned, base = _churn_context(work)
    conversion = _conversion(work)
    rate = conversion.value / 100 if conversion is not None else FALLBACK_CONVERSION_RATE
    churn_rate = churn.value / 100 if churn is not None else 0.0
    names = [str(r[0]) for r in work.rows("select distinct segment from marts.dim_segments order by segment")]
    notes = []
    wanted_segment = decision.segment if decision is not None else None
    if wanted_segment in names:
        names = [wanted_segment]
    elif wanted_segment:
        notes.append(
            f"O segmento {wanted_segment!r} não existe em dim_segments; o plano cobre todos os segmentos."
            if pt
            else f"Segment {wanted_segment!r} does not exist in dim_segments; the plan covers every segment."
        )
    segments = _segments(work, names, "marts.dim_customers" in tables)
    active_base = base.value if base is not None and base.value > 0 else None
    if active_base is None:  # no churn mart: the active customers of the snapshot
        active_base = float(sum(s.customers for s in segments if s.segment not in REACTIVATION_SEGMENTS)) or 1.0
    wanted_channel = decision.channel if decision is not None else None
    for seg in segments:
        _choose_channel(seg, wanted_channel)
        seg.weight = 1.0 if seg.segment in FULL_WEIGHT_SEGMENTS else churn_rate
        seg.kept = seg.reach * rate * seg.weight
        seg.reduction_pp = min(100.0, 100 * seg.kept / active_base)
        seg.revenue_kept = seg.kept * seg.monthly_value
    rank = {s: i for i, s in enumerate(SEGMENT_ORDER)}
    segments.sort(key=lambda s: (s.channel == "none", -s.revenue_kept, -s.reach, rank.get(s.segment, 99), s.segment))

    items = [
        RetentionItem(
            segment=s.segment,
            customers=s.reach,
            action=_action(s, lang),
            channel=s.channel,  # type: ignore[arg-type]
            expected_churn_reduction_pct=round(s.reduction_pp, 4),
            assumption=_assumption(s, lang, rate, conversion is not None, churn.value if churn else None, active_base),
        )
        for s in segments
    ]
    total = sum(round(s.reduction_pp, 4) for s in segments)
    reached = sum(s.reach for s in segments)
    order = ", ".join(s.segment for s in segments if s.channel != "none")
    text = []
    if churn is not None and last is not None:
        month = month_label(last, lang)
        counts = ""
        if churned is not None and base is not None:
            counts = (
                f" ({int(churned.value)} de {int(base.value)} clientes ativos no início do mês)"
                if pt
                else f" ({int(churned.value)} of {int(base.value)} customers active at the start of the month)"
            )
        text.append(
            f"Churn de logos em {month}: {pct(churn.value, lang)}{counts}."
            if pt
            else f"Logo churn in {month}: {pct(churn.value, lang)}{counts}."
        )
    else:
        text.append(
            "Sem churn mensal no warehouse (marts.fct_churn_monthly)."
            if pt
            else "No monthly churn in the warehouse (marts.fct_churn_monthly)."
        )
    if pt:
        text.append(
            f"Plano para {len(items)} segmento(s), {reached} clientes alcançáveis, em ordem de impacto "
            f"(clientes mantidos × valor mensal): {order or 'nenhum alcançável'}."
        )
        text.append(
            f"Redução esperada total: {num(total, lang, 2)} pp de churn mensal (líquido de reativações), com "
            + (
                f"conversão histórica de {pct(conversion.value, lang)} das campanhas concluídas."
                if conversion
                else f"conversão assumida de {pct(100 * rate, lang)} (sem campanhas concluídas no warehouse)."
            )
        )
        text.append("Premissas em cada item; nenhuma ação sai sem aprovação humana.")
    else:
        text.append(
            f"Plan for {len(items)} segment(s), {reached} reachable customers, by impact "
            f"(customers kept × monthly value): {order or 'none reachable'}."
        )
        text.append(
            f"Expected total reduction: {num(total, lang, 2)} pp of monthly churn (net of reactivations), with "
            + (
                f"the {pct(conversion.value, lang)} historical conversion of finished campaigns."
                if conversion
                else f"an assumed {pct(100 * rate, lang)} conversion (no finished campaign in the warehouse)."
            )
        )
        text.append("Assumptions per item; nothing is sent without human approval.")
    summary = " ".join(notes + text)
    return RetentionPlan(language=code, items=items, summary=summary, figures=work.figures)


# -- media ----------------------------------------------------------------------------------------


@dataclass
class ChannelPlan:
    channel: str
    spend: float
    new_customers: float
    cac: Figure | None = None
    ltv: Figure | None = None
    ratio: Figure | None = None
    payback: Figure | None = None
    region_share: Figure | None = None  # % of the channel's customers living in the region
    weight: float = 0.0
    share: float = 0.0
    budget: float = 0.0
    reason: str = ""


@dataclass
class RegionMatch:
    """How a region name maps to ``marts.dim_customers``."""

    asked: str
    kind: str | None = None  # "state" | "city" | None (not found)
    label: str = ""
    where: str = ""  # a SQL condition on dim_customers
    note: str = ""
    customers: Figure | None = None
    shares: dict[str, float] = field(default_factory=dict)


def split_shares(weights: dict[str, float], cap: float = MAX_CHANNEL_SHARE) -> dict[str, float]:
    """Shares proportional to the positive weights, none above ``cap`` (the excess goes to the others).

    One channel alone takes everything: the cap protects against concentration, not against the only option.
    """
    open_ = {c: w for c, w in weights.items() if w > 0 and math.isfinite(w)}
    if len(open_) <= 1:
        return dict.fromkeys(open_, 1.0)
    shares: dict[str, float] = {}
    left = 1.0
    while open_:
        total = sum(open_.values())
        over = [c for c, w in open_.items() if left * w / total > cap + 1e-12]
        if not over:
            shares.update({c: left * w / total for c, w in open_.items()})
            break
        for c in over:
            shares[c] = cap
            left -= cap
            del open_[c]
    return shares


def to_centavos(budget_brl: float, shares: dict[str, float]) -> dict[str, float]:
    """Amounts in whole centavos: each share of the budget rounded down, the leftover centavos to the
    largest remainders (uncapped channels first), so the amounts sum exactly to the budget."""
    total = math.floor(budget_brl * 100 + 1e-6)
    raw = {c: total * s for c, s in shares.items()}
    cents = {c: math.floor(v + 1e-6) for c, v in raw.items()}
    leftover = round(total * sum(shares.values())) - sum(cents.values())
    capped = {c for c, s in shares.items() if s >= MAX_CHANNEL_SHARE - 1e-12 and len(shares) > 1}
    for c in sorted(cents, key=lambda c: (c in capped, -(raw[c] - cents[c]), c)):
        if leftover <= 0:
            break
        cents[c] += 1
        leftover -= 1
    return {c: v / 100 for c, v in cents.items()}


def resolve_region(work: Work, region: str, request: str | None) -> RegionMatch:
    """Map a state or city name (or a state code) to ``marts.dim_customers`` (see the module doc)."""
    lang = work.lang
    pt = lang == "pt"
    match = RegionMatch(asked=region)
    text = fold(region).strip()
    context = fold(f"{region} {request or ''}")
    city_hint = any(w in context for w in ("cidade", "capital", "municipio", "city"))
    state_hint = any(w in context for w in ("estado", "state"))
    for prefix in ("cidade de ", "estado de ", "city of ", "state of ", "capital "):
        text = text.removeprefix(prefix)
    codes = {code for code, name in _STATES.items() if fold(name) == text or code.lower() == text}
    states = {str(r[0]) for r in work.rows("select distinct state from marts.dim_customers where state is not null")}
    state_values = sorted(s for s in states if s.upper() in codes or any(fold(s) == fold(_STATES[c]) for c in codes))
    city_rows = work.rows(
        "select city, state, count(*) as customers from marts.dim_customers where city is not null "
        "group by city, state order by count(*) desc, city"
    )
    cities = [(str(c), str(s), int(n)) for c, s, n in city_rows if fold(str(c)) == text]
    use_city = bool(cities) and ((city_hint and not state_hint) or not state_values)
    if use_city:
        names = sorted({c for c, _, _ in cities})
        in_states = sorted({s for _, s, _ in cities})
        match.kind = "city"
        match.label = f"{names[0]} ({'/'.join(in_states)})"
        match.where = f"city in ({', '.join(lit(n) for n in names)})"
    elif state_values:
        name = _STATES.get(state_values[0].upper(), state_values[0])
        match.kind = "state"
        match.label = f"{name} ({'/'.join(state_values)})"
        match.where = f"state in ({', '.join(lit(s) for s in state_values)})"
    if match.kind:
        match.customers = work.figure(
            f"customers in {match.label}", "customers", f"select count(*) from marts.dim_customers where {match.where}"
        )
        count = int(match.customers.value) if match.customers else 0
        kind = ("a cidade" if pt else "the city of") if match.kind == "city" else ("o estado" if pt else "the state")
        match.note = (
            f"'{region}' lido como {kind} {match.label}, com {count} clientes"
            if pt
            else f"'{region}' read as {kind} {match.label}, with {count} customers"
        )
        same_name = sum(n for _, s, n in cities if s in state_values)
        if match.kind == "state" and cities:
            match.note += (
                f" ({same_name} deles na cidade de {cities[0][0]}; peça 'cidade de {cities[0][0]}' para usar só a "
                "cidade)"
                if pt
                else f" ({same_name} of them in the city of {cities[0][0]}; ask for 'city of {cities[0][0]}' to use "
                "the city alone)"
            )
        match.note += "."
    else:
        match.note = (
            f"'{region}' não corresponde a nenhum estado ou cidade de clientes em marts.dim_customers"
            if pt
            else f"'{region}' matches no state or city of the customers in marts.dim_customers"
        )
    return match


def _channel_economics(work: Work, months: int) -> tuple[list[ChannelPlan], list[str], str, str | None]:
    """Paid channels with CAC, LTV, LTV:CAC and payback; the unpaid channels; the CAC period; the month of
    ARPA and margin."""
    lang = work.lang
    tables = work.sql.tables()
    window = complete_window(work, "marts.fct_cac", months)
    if window is None:
        return [], [], "", None
    start, end = window
    between = f"month between {date_sql(start)} and {date_sql(end)}"
    rows = work.rows(
        "select channel, sum(spend_brl) as spend_brl, sum(new_customers) as new_customers, "
        "max(case when is_paid_channel then 1 else 0 end) as is_paid "
        f"from marts.fct_cac where {between} group by channel order by channel"
    )
    has_ltv = "marts.fct_ltv" in tables
    ltv_channels = (
        {
            str(r[0])
            for r in work.rows(
                "select distinct dimension_value from marts.fct_ltv where method = 'formula' and dimension = 'channel'"
            )
        }
        if has_ltv
        else set()
    )
    ue_month = None
    if "marts.fct_unit_economics" in tables:
        ue_month = as_date(work.value("select max(month) from marts.fct_unit_economics where is_complete"))
    channel_arpa: set[str] = set()
    if ue_month is not None and "marts.fct_churn_by_channel_monthly" in tables:
        channel_arpa = {
            str(r[0])
            for r in work.rows(
                "select acquisition_channel from marts.fct_churn_by_channel_monthly "
                f"where month = {date_sql(ue_month)} and arpa_brl > 0"
            )
        }
    if ue_month is not None:
        ue_where = f"from marts.fct_unit_economics where month = {date_sql(ue_month)}"
        work.figure(f"ARPA {ue_month:%Y-%m}", "BRL", f"select arpa_brl {ue_where}")
        work.figure(f"gross margin {ue_month:%Y-%m}", "%", f"select 100.0 * gross_margin_pct {ue_where}")

    label = f"{start:%Y-%m}..{end:%Y-%m}"
    paid, unpaid = [], []
    for channel_value, spent, new, is_paid in rows:
        channel = str(channel_value)
        spend = float(spent or 0)
        if not (is_paid or spend > 0):
            unpaid.append(channel)
            continue
        plan = ChannelPlan(channel, spend, float(new or 0))
        ch = lit(channel)
        cac_sql = (
            "select sum(spend_brl) / nullif(sum(new_customers), 0) as cac_brl from marts.fct_cac "
            f"where channel = {ch} and {between}"
        )
        ltv_sql = (
            "select ltv_brl from marts.fct_ltv where method = 'formula' and dimension = 'channel' "
            f"and dimension_value = {ch}"
        )
        if spend > 0 and plan.new_customers > 0:
            plan.cac = work.figure(f"{channel} paid CAC {label}", "BRL", cac_sql)
        if channel in ltv_channels:
            plan.ltv = work.figure(f"{channel} LTV (formula)", "BRL", ltv_sql)
        if plan.cac is not None and plan.ltv is not None:
            plan.ratio = work.figure(
                f"{channel} LTV:CAC",
                "ratio",
                f"select l.ltv_brl / c.cac_brl from ({ltv_sql}) as l, ({cac_sql}) as c",
            )
        if plan.cac is not None and ue_month is not None:
            margin = f"(select gross_margin_pct from marts.fct_unit_economics where month = {date_sql(ue_month)}) as u"
            if channel in channel_arpa:
                arpa = (
                    "(select arpa_brl from marts.fct_churn_by_channel_monthly "
                    f"where month = {date_sql(ue_month)} and acquisition_channel = {ch}) as a"
                )
            else:
                arpa = f"(select arpa_brl from marts.fct_unit_economics where month = {date_sql(ue_month)}) as a"
            plan.payback = work.figure(
                f"{channel} CAC payback",
                "months",
                f"select c.cac_brl / nullif(a.arpa_brl * u.gross_margin_pct, 0) "
                f"from ({cac_sql}) as c, {arpa}, {margin}",
            )
        if plan.cac is None:
            plan.reason = (
                "sem gasto ou sem novos clientes no período: CAC desconhecido"
                if lang == "pt"
                else "no spend or no new customers in the period: CAC unknown"
            )
        elif plan.ltv is None:
            plan.reason = "sem LTV em marts.fct_ltv" if lang == "pt" else "no LTV in marts.fct_ltv"
        elif plan.ratio is None or plan.ratio.value < 1:
            ratio = num(plan.ratio.value, lang, 2) + "x" if plan.ratio else "n/d"
            plan.reason = (
                f"LTV:CAC {ratio} < 1: cada real investido volta menos que custou"
                if lang == "pt"
                else f"LTV:CAC {ratio} < 1: each real spent returns less than it cost"
            )
        paid.append(plan)
    return paid, unpaid, period_label(start, end, lang), (month_label(ue_month, lang) if ue_month else None)


def _apply_region(work: Work, match: RegionMatch, paid: list[ChannelPlan]) -> None:
    region = match.where
    for plan in paid:
        if plan.ratio is None:
            continue
        ch = lit(plan.channel)
        plan.region_share = work.figure(
            f"% of {plan.channel} customers in {match.label}",
            "%",
            f"select 100.0 * sum(case when {region} then 1 else 0 end) / nullif(count(*), 0) "
            f"from marts.dim_customers where acquisition_channel = {ch}",
        )
        match.shares[plan.channel] = plan.region_share.value if plan.region_share else 0.0


def plan_media_offline(
    sql: SqlTool,
    budget_brl: float,
    region: str | None,
    decision: RouteDecision | None,
    request: str | None = None,
) -> MediaPlan:
    """The deterministic media plan (see the module doc)."""
    if not math.isfinite(budget_brl) or budget_brl < 0:
        raise ValueError(f"budget_brl must be a finite amount of 0 or more, not {budget_brl!r}")
    code, lang = writing_language(decision)
    pt = lang == "pt"
    work = Work(sql, lang)
    tables = sql.tables()
    has_lookback = decision is not None and (decision.lookback_months or decision.lookback_days)
    months = lookback_months(decision) if has_lookback and decision else DEFAULT_MEDIA_LOOKBACK_MONTHS
    if "marts.fct_cac" not in tables:
        paid, unpaid, period, ue_month = [], [], "", None
    else:
        paid, unpaid, period, ue_month = _channel_economics(work, months)

    match: RegionMatch | None = None
    region_notes: list[str] = []
    regional = False
    if region:
        if "marts.dim_customers" not in tables:
            region_notes.append(
                f"Sem marts.dim_customers no warehouse: a região '{region}' não pode ponderar os canais; "
                "mantida a divisão nacional."
                if pt
                else f"No marts.dim_customers in the warehouse: region '{region}' cannot weight the channels; "
                "the national split is kept."
            )
        else:
            match = resolve_region(work, region, request)
            if match.kind:
                region_notes.append(match.note)
                _apply_region(work, match, paid)
                regional = any(match.shares.get(p.channel, 0.0) > 0 for p in paid if not p.reason)
                if not regional:
                    region_notes.append(
                        f"Nenhum cliente de canal pago viável em {match.label}: mantida a divisão nacional."
                        if pt
                        else f"No customer of a viable paid channel in {match.label}: the national split is kept."
                    )
            else:
                region_notes.append(
                    match.note + (": mantida a divisão nacional." if pt else ": the national split is kept.")
                )

    for plan in paid:
        if plan.reason or plan.ratio is None:
            continue
        plan.weight = plan.ratio.value
        if regional and match is not None:
            share = match.shares.get(plan.channel, 0.0) / 100
            plan.weight *= share
            if share <= 0:
                plan.reason = (
                    f"nenhum cliente do canal em {match.label}"
                    if pt
                    else f"no customer of the channel in {match.label}"
                )
    shares = split_shares({p.channel: p.weight for p in paid if not p.reason})
    amounts = to_centavos(budget_brl, shares)
    for plan in paid:
        plan.share = shares.get(plan.channel, 0.0)
        plan.budget = amounts.get(plan.channel, 0.0)
    paid.sort(key=lambda p: (-p.budget, -(p.ratio.value if p.ratio else -1), p.channel))

    allocations = [
        ChannelAllocation(
            channel=p.channel,
            budget_brl=p.budget,
            cac_brl=_value(p.cac),
            ltv_brl=_value(p.ltv),
            ltv_cac=_value(p.ratio),
            payback_months=_value(p.payback),
            expected_new_customers=round(p.budget / p.cac.value, 2) if p.cac and p.cac.value > 0 else None,
        )
        for p in paid
    ]
    rationale = _media_rationale(
        lang, budget_brl, paid, unpaid, period, ue_month, match if regional else None, region_notes, tables
    )
    return MediaPlan(
        language=code,
        budget_brl=budget_brl,
        region=region,
        allocations=allocations,
        rationale=rationale,
        figures=work.figures,
    )


def _media_rationale(
    lang: str,
    budget: float,
    paid: list[ChannelPlan],
    unpaid: list[str],
    period: str,
    ue_month: str | None,
    match: RegionMatch | None,
    region_notes: list[str],
    tables: dict[str, Any],
) -> str:
    pt = lang == "pt"
    funded = [p for p in paid if p.budget > 0]
    total = sum(p.budget for p in paid)
    if not paid:
        what = "marts.fct_cac" if "marts.fct_cac" not in tables else ("o CAC pago" if pt else "paid CAC")
        return (
            f"Não há dados de canais pagos ({what}) para dividir {brl(budget, lang)}: nada foi alocado."
            if pt
            else f"There is no paid-channel data ({what}) to split {brl(budget, lang)}: nothing was allocated."
        ) + (" " + " ".join(region_notes) if region_notes else "")

    lines = [
        (
            f"Plano de mídia para {brl(budget, lang)}"
            + (f" com foco em {match.label}" if match else "")
            + f": {len(funded)} de {len(paid)} canais pagos recebem verba. CAC pago de {period} "
            "(gasto ÷ novos clientes, marts.fct_cac), LTV pela fórmula (marts.fct_ltv)"
            + (f", payback = CAC ÷ (ARPA × margem bruta) de {ue_month}." if ue_month else ".")
        )
        if pt
        else (
            f"Media plan for {brl(budget, lang)}"
            + (f" focused on {match.label}" if match else "")
            + f": {len(funded)} of {len(paid)} paid channels funded. Paid CAC over {period} (spend ÷ new customers, "
            "marts.fct_cac), LTV by formula (marts.fct_ltv)"
            + (f", payback = CAC ÷ (ARPA × gross margin) of {ue_month}." if ue_month else ".")
        )
    ]
    na = "n/d" if pt else "n/a"
    for p in paid:
        if p.budget > 0 and p.cac and p.ratio:
            share = 100 * p.budget / budget if budget else 0.0
            payback = f", payback {num(p.payback.value, lang, 1)} {'meses' if pt else 'months'}" if p.payback else ""
            new = p.budget / p.cac.value
            lines.append(
                f"- {p.channel}: {brl(p.budget, lang)} ({pct(share, lang)}) — CAC {brl(p.cac.value, lang)}, "
                f"LTV {brl(p.ltv.value, lang) if p.ltv else na}, LTV:CAC {num(p.ratio.value, lang, 1)}x{payback}, "
                + (f"~{num(new, lang, 1)} novos clientes" if pt else f"~{num(new, lang, 1)} new customers")
                + (
                    (" (abaixo da referência de 3x)" if pt else " (below the usual 3x bar)")
                    if p.ratio.value < 3
                    else ""
                )
            )
        else:
            reason = p.reason or ("peso nulo" if pt else "zero weight")
            lines.append(f"- {p.channel}: {brl(0, lang)} — {reason}")
    weight = "LTV:CAC" + (
        (
            f" × fração dos clientes do canal que moram em {match.label}"
            if pt
            else f" × share of the channel's customers living in {match.label}"
        )
        if match
        else ""
    )
    cap = pct(100 * MAX_CHANNEL_SHARE, lang)
    lines.append(
        f"Regra: canais com LTV:CAC < 1 ou sem dados ficam sem verba; os demais recebem peso {weight}, com teto de "
        f"{cap} por canal (retornos decrescentes; o excedente vai aos outros), salvo um único canal viável; "
        "valores em centavos."
        if pt
        else f"Rule: channels with LTV:CAC < 1 or without data get nothing; the others get weight {weight}, capped at "
        f"{cap} per channel (diminishing returns; the excess goes to the others) unless one channel is the only "
        "viable one; amounts in centavos."
    )
    if region_notes or match:
        text = " ".join(region_notes)
        if match:
            shares = ", ".join(f"{c} {pct(v, lang)}" for c, v in sorted(match.shares.items()))
            text += (
                " O gasto de mídia não é regional nos dados: o CAC é nacional, e a região só repondera os canais "
                f"pela fração dos seus clientes que mora lá ({shares})."
                if pt
                else " Media spend has no region in the data: CAC is national, and the region only re-weights the "
                f"channels by the share of their customers living there ({shares})."
            )
        lines.append(("Região: " if pt else "Region: ") + text.strip())
    if unpaid:
        names = ", ".join(unpaid)
        lines.append(
            f"Canais sem mídia paga ({names}) não entram na divisão."
            if pt
            else f"Channels without paid media ({names}) are not part of the split."
        )
    expected = sum(p.budget / p.cac.value for p in funded if p.cac and p.cac.value > 0)
    tail = (
        f"Total alocado: {brl(total, lang)} de {brl(budget, lang)}; ~{num(expected, lang, 1)} novos clientes "
        "esperados (verba ÷ CAC, supondo CAC estável — na prática ele sobe com o volume)"
        if pt
        else f"Allocated: {brl(total, lang)} of {brl(budget, lang)}; ~{num(expected, lang, 1)} new customers expected "
        "(budget ÷ CAC, assuming a stable CAC — it rises with volume in practice)"
    )
    if match:
        local = sum(
            p.budget / p.cac.value * match.shares.get(p.channel, 0.0) / 100 for p in funded if p.cac and p.cac.value
        )
        tail += f", ~{num(local, lang, 1)} " + ("deles na região" if pt else "of them in the region")
    lines.append(tail + ".")
    if not funded and budget > 0:
        lines.append(
            "Nenhum canal pago é viável com os dados atuais: a verba fica sem alocação."
            if pt
            else "No paid channel is viable on the current data: the budget stays unallocated."
        )
    return "\n".join(lines)


# -- guardrails specific to the planner ----------------------------------------------------------


def check_media_plan(plan: MediaPlan, facts: MediaPlan, *, rel_tol: float = UNIT_ECONOMICS_REL_TOL) -> list[str]:
    """A plan against the vetted offline plan: stated unit economics match the marts, no budget for a channel
    that is not viable (LTV:CAC < 1 or no data), and the concentration cap when several channels are viable."""
    errors: list[str] = []
    vetted = {a.channel: a for a in facts.allocations}
    viable = [a.channel for a in facts.allocations if a.budget_brl > 0]
    for a in plan.allocations:
        v = vetted.get(a.channel)
        for name in ("cac_brl", "ltv_brl", "ltv_cac", "payback_months"):
            stated, known = getattr(a, name), getattr(v, name) if v is not None else None
            if stated is None:
                continue
            if known is None:
                errors.append(f"{a.channel}: {name} {stated:g} is not in the marts; leave it null")
            elif not math.isclose(stated, known, rel_tol=rel_tol, abs_tol=0.005):
                errors.append(f"{a.channel}: {name} is {known:g} in the marts, not {stated:g}")
        if a.budget_brl > 0.005 and a.channel not in viable:
            errors.append(
                f"{a.channel} gets {a.budget_brl:,.2f} BRL but is not viable (LTV:CAC below 1, no CAC/LTV data or no "
                "customer in the region): give it 0"
            )
    if len(viable) > 1:
        limit = MAX_CHANNEL_SHARE * facts.budget_brl + 0.01
        errors.extend(
            f"{a.channel} gets {a.budget_brl:,.2f} BRL, more than {MAX_CHANNEL_SHARE:.0%} of the budget "
            f"({limit - 0.01:,.2f}): spread it over the other viable channels"
            for a in plan.allocations
            if a.budget_brl > limit
        )
    return errors


# -- the LLM path ---------------------------------------------------------------------------------

RETENTION_PROMPT = """You are the Planner of a revenue-operations platform for +Pet, a Brazilian pet-care \
subscription e-commerce (money in BRL; rows with is_complete = false are the month in progress). Propose a \
retention plan: which customer segments to work, on which channel, with which action, and the expected reduction \
of monthly logo churn in percentage points. Write `summary` and every `assumption` in the language '{language}' \
and set `language` to '{language}'; write each `action` in Brazilian Portuguese.
Rules: only segments that exist in marts.dim_segments; `customers` is the reach on the item's channel and may not \
exceed it (WhatsApp: is_whatsapp_contactable = true, opted in and not suppressed; e-mail: customers with an e-mail \
in marts.dim_customers; 'none' when nobody is reachable); WhatsApp messages use approved templates only; say \
where each expected reduction comes from in `assumption`; order items by expected impact. Every number in \
`figures` must come with one SELECT over the tables below, schema-qualified, returning exactly that one value: it \
is run again and compared. Nothing is sent by this plan: it needs human approval.

Tables (schema.table(column type, ...)):
{tables}

The vetted plan computed offline from these tables (its figures carry their queries), which you may adopt or \
improve within the rules:
{facts}"""

MEDIA_PROMPT = """You are the Planner of a revenue-operations platform for +Pet, a Brazilian pet-care \
subscription e-commerce (money in BRL; rows with is_complete = false are the month in progress). Split a media \
budget of {budget} BRL across paid acquisition channels{region}. Write `rationale` in the language '{language}' \
(numbers formatted for it) and set `language` to '{language}'.
Rules: `budget_brl` is {budget} at most and the allocations sum to at most it, none negative, each channel once; \
channels with LTV:CAC below 1 or without CAC/LTV data get 0; no channel gets more than {cap:.0%} of the budget \
unless it is the only viable one; cac_brl, ltv_brl, ltv_cac and payback_months are the values in the vetted plan \
(or null); expected_new_customers = budget_brl ÷ cac_brl. CAC is national (media spend has no region): a region \
only re-weights channels by where their customers live; say so. Every number in `figures` must come with one \
SELECT over the tables below, schema-qualified, returning exactly that one value: it is run again and compared.

Tables (schema.table(column type, ...)):
{tables}

The vetted plan computed offline from these tables (its figures carry their queries), which you may adopt or \
adjust within the rules:
{facts}"""


def retention_messages(request: str | None, language: str, tables: str, facts: RetentionPlan) -> list[tuple[str, str]]:
    vetted = json.dumps(facts.model_dump(exclude={"generated_by", "notice"}), ensure_ascii=False)
    system = RETENTION_PROMPT.format(language=language, tables=tables, facts=vetted)
    human = request or (
        "Crie um plano de retenção a partir dos segmentos." if language == "pt" else "Build a retention plan."
    )
    return [("system", system), ("human", human)]


def media_messages(
    request: str | None, language: str, budget_brl: float, region: str | None, tables: str, facts: MediaPlan
) -> list[tuple[str, str]]:
    vetted = json.dumps(facts.model_dump(exclude={"generated_by", "notice"}), ensure_ascii=False)
    where = f" for the region '{region}'" if region else ""
    system = MEDIA_PROMPT.format(
        budget=f"{budget_brl:.2f}", region=where, language=language, cap=MAX_CHANNEL_SHARE, tables=tables, facts=vetted
    )
    if request:
        human = request
    elif language == "pt":
        human = f"Distribua {brl(budget_brl, 'pt')} de mídia" + (f" em {region}" if region else "") + "."
    else:
        human = f"Split a media budget of {brl(budget_brl, 'en')}" + (f" for {region}" if region else "") + "."
    return [("system", system), ("human", human)]


# -- public API -----------------------------------------------------------------------------------


def plan_retention(
    runtime: AgentRuntime,
    sql: SqlTool,
    *,
    request: str | None = None,
    decision: RouteDecision | None = None,
) -> RetentionPlan:
    """A retention plan from the marts through the runtime (offline rules or LLM), checked by the guardrails."""
    decision = resolve_decision(request, decision)
    code, _ = writing_language(decision)
    with sql.session():
        validators: list[Callable[[Any], Sequence[str]]] = [retention_rules(MartFacts.load(sql)), figures_rule(sql)]
        messages = None
        if runtime.is_llm:
            facts = plan_retention_offline(sql, decision)
            messages = retention_messages(request, code, sql.describe(), facts)
            validators.append(language_rule(code))
        return runtime.run(
            "planner",
            RetentionPlan,
            messages=messages,
            offline=lambda: plan_retention_offline(sql, decision),
            validators=validators,
        )


def plan_media(
    runtime: AgentRuntime,
    sql: SqlTool,
    *,
    budget_brl: float,
    region: str | None = None,
    request: str | None = None,
    decision: RouteDecision | None = None,
) -> MediaPlan:
    """A media plan within ``budget_brl`` through the runtime (offline rules or LLM), checked by the guardrails."""
    decision = resolve_decision(request, decision)
    code, _ = writing_language(decision)
    if region is None and decision is not None:
        region = decision.region
    with sql.session():
        facts = plan_media_offline(sql, budget_brl, region, decision, request)
        validators: list[Callable[[Any], Sequence[str]]] = [
            budget_rule(budget_brl),
            figures_rule(sql),
            lambda plan: check_media_plan(plan, facts),
        ]
        messages = None
        if runtime.is_llm:
            messages = media_messages(request, code, budget_brl, region, sql.describe(), facts)
            validators.append(language_rule(code))
        return runtime.run(
            "planner",
            MediaPlan,
            messages=messages,
            offline=lambda: facts,
            validators=validators,
        )


__all__ = [
    "ACTIONS",
    "DEFAULT_MEDIA_LOOKBACK_MONTHS",
    "FALLBACK_CONVERSION_RATE",
    "MAX_CHANNEL_SHARE",
    "MEDIA_PROMPT",
    "RETENTION_PROMPT",
    "check_media_plan",
    "media_messages",
    "plan_media",
    "plan_media_offline",
    "plan_retention",
    "plan_retention_offline",
    "resolve_region",
    "retention_messages",
    "split_shares",
    "to_centavos",
]
