"""SalesOps: the deal funnel, its win rate, its velocity and its bottleneck, from ``marts.fct_sales_funnel``.

``review_sales(runtime, sql, request=…, decision=…)``:

* **offline** — one funnel of the mart (``all_deals`` by default; ``first_deal``, each contact's first
  deal, when the request speaks of acquisition / new customers, or when ``funnel`` says so):

  - conversion stage by stage along HubSpot's default pipeline (``deals_reached`` and
    ``conversion_from_previous_rate``; ``closedlost`` is an exit, not a step);
  - win rate (won ÷ (won + lost)) and velocity (median and average days from create to close of won
    deals). Under one day it says plainly that deals close the same day they are created, with the
    median in minutes;
  - the bottleneck: the transition that loses the most deals (reached of the stage before minus reached
    of the stage after: the deals still open in the stage before, plus, after the first stage, the lost
    deals — the mart only knows a lost deal entered the pipeline), and, when another one, the
    transition with the lowest conversion rate;
  - with ``all_deals``, the acquisition funnel's win rate beside it (renewals are closed-won deals too);
  - 2–4 concrete recommendations from rules on those numbers, in the request's language.

  Every number is a :class:`~agents.schemas.Figure` with the one-value query that returns it.
* **LLM** — the model gets the allowed tables, the rules, and the offline funnel and figures as vetted
  facts; it returns a :class:`~agents.schemas.SalesReview`. The validators re-run every figure, check the
  language, and check the stages, win rate and velocity against the mart (a model cannot restate them).

The mart has no period: it covers every deal to date, and the review says so when the request names one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.analysis import Work, brl, lit, no_data, num, pct
from agents.guardrails import figures_rule, language_rule, same_number
from agents.router import detect_language, fold, route
from agents.runtime import AgentRuntime
from agents.schemas import Figure, FunnelStage, RouteDecision, SalesReview
from agents.sql_tool import SqlTool
from integrations.hubspot.contracts import DEAL_STAGES

TABLE = "marts.fct_sales_funnel"
FUNNELS = ("all_deals", "first_deal")
DEFAULT_FUNNEL = "all_deals"
#: HubSpot's default deal pipeline, in order; ``closedlost`` is an exit, not a step.
PIPELINE = tuple(stage for stage in DEAL_STAGES if stage != "closedlost")
MINUTES_PER_DAY = 1440.0
MAX_RECOMMENDATIONS = 4
TOLERANCE = 1e-3

STAGE_NAMES = {
    "pt": {
        "appointmentscheduled": "reunião agendada",
        "qualifiedtobuy": "qualificado para compra",
        "presentationscheduled": "apresentação agendada",
        "decisionmakerboughtin": "decisor convencido",
        "contractsent": "contrato enviado",
        "closedwon": "ganho",
        "closedlost": "perdido",
    },
    "en": {
        "appointmentscheduled": "appointment scheduled",
        "qualifiedtobuy": "qualified to buy",
        "presentationscheduled": "presentation scheduled",
        "decisionmakerboughtin": "decision maker bought in",
        "contractsent": "contract sent",
        "closedwon": "closed won",
        "closedlost": "closed lost",
    },
}

#: What to do about deals that do not reach a stage (keyed by the stage they fail to reach).
_ADVICE = {
    "pt": {
        "qualifiedtobuy": "qualifique no primeiro contato (pet, plano e orçamento) e faça o follow-up em até 24 h",
        "presentationscheduled": "agende a apresentação na própria conversa de qualificação",
        "decisionmakerboughtin": "traga quem decide para a apresentação e envie a comparação de planos no mesmo dia",
        "contractsent": "envie a proposta ou o link de checkout assim que o decisor aprovar",
        "closedwon": "faça follow-up dos contratos enviados em até 48 h, com prazo de validade para a oferta",
    },
    "en": {
        "qualifiedtobuy": "qualify on the first contact (pet, plan and budget) and follow up within 24 h",
        "presentationscheduled": "book the presentation during the qualification conversation itself",
        "decisionmakerboughtin": (
            "bring the decision maker to the presentation and send the plan comparison the same day"
        ),
        "contractsent": "send the proposal or checkout link as soon as the decision maker agrees",
        "closedwon": "follow up on contracts sent within 48 h, with an expiry date on the offer",
    },
}

_FIRST_DEAL = re.compile(
    r"\b(aquisicao|acquisition|first[ _-]deals?|primeir[oa]s? (negocios?|deals?|compras?)"
    r"|novos clientes|clientes novos|new customers|new business)\b"
)


def detect_funnel(request: str | None) -> str:
    """``first_deal`` when the request is about acquisition / new customers, else ``all_deals``."""
    return "first_deal" if request and _FIRST_DEAL.search(fold(request)) else DEFAULT_FUNNEL


# -- the funnel as the mart holds it ----------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    stage: str
    deals_in_stage: int
    amount_brl: float
    deals_reached: int
    conversion: float | None


@dataclass
class FunnelFacts:
    """One funnel of ``marts.fct_sales_funnel``: pipeline stages in order and the funnel-wide numbers."""

    funnel: str
    stages: list[StageRow] = field(default_factory=list)
    won_deals: int = 0
    lost_deals: int = 0
    win_rate: float | None = None
    median_days_to_win: float | None = None
    avg_days_to_win: float | None = None

    @staticmethod
    def query(funnel: str) -> str:
        return (
            "select deal_stage, deals_in_stage, amount_brl, deals_reached, conversion_from_previous_rate, "
            "won_deals, lost_deals, win_rate, median_days_to_win, avg_days_to_win "
            f"from {TABLE} where funnel = {lit(funnel)} order by stage_order"
        )

    @classmethod
    def from_rows(cls, funnel: str, rows: Sequence[tuple[Any, ...]]) -> FunnelFacts:
        facts = cls(funnel)
        for stage, in_stage, amount, reached, conversion, won, lost, win_rate, median, avg in rows:
            facts.won_deals, facts.lost_deals = int(won or 0), int(lost or 0)
            facts.win_rate, facts.median_days_to_win, facts.avg_days_to_win = (
                _float(win_rate),
                _float(median),
                _float(avg),
            )
            if stage in PIPELINE:
                facts.stages.append(
                    StageRow(str(stage), int(in_stage or 0), float(amount or 0), int(reached or 0), _float(conversion))
                )
        return facts

    @classmethod
    def load(cls, sql: SqlTool, funnel: str) -> FunnelFacts:
        """Read straight from the mart (for the validators); empty when the table is missing."""
        if TABLE not in sql.tables():
            return cls(funnel)
        return cls.from_rows(funnel, sql.run(cls.query(funnel)).rows)

    def as_stages(self) -> list[FunnelStage]:
        return [
            FunnelStage(
                stage=s.stage,
                deals=s.deals_reached,
                deals_in_stage=s.deals_in_stage,
                conversion_from_previous_rate=s.conversion,
                median_days_to_win=self.median_days_to_win if s.stage == "closedwon" else None,
            )
            for s in self.stages
        ]


def _n(value: float, lang: str) -> str:
    """A count, written the language's way (33.224 / 33,224)."""
    return num(value, lang, 0)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Transition:
    index: int  # position of the stage after, in FunnelFacts.stages
    before: StageRow
    after: StageRow

    @property
    def lost(self) -> int:
        return self.before.deals_reached - self.after.deals_reached

    @property
    def conversion(self) -> float:
        if self.after.conversion is not None:
            return self.after.conversion
        return self.after.deals_reached / self.before.deals_reached if self.before.deals_reached else 1.0


def bottlenecks(facts: FunnelFacts) -> tuple[Transition, Transition] | None:
    """(the transition losing the most deals, the one with the lowest conversion); first one on a tie."""
    transitions = [Transition(i, facts.stages[i - 1], facts.stages[i]) for i in range(1, len(facts.stages))]
    transitions = [t for t in transitions if t.before.deals_reached > 0]
    if not transitions or all(t.lost <= 0 for t in transitions):
        return None
    by_count = max(transitions, key=lambda t: (t.lost, -t.index))
    by_rate = min(transitions, key=lambda t: (t.conversion, t.index))
    return by_count, by_rate


# -- the offline review -----------------------------------------------------------------------------


class _Figures:
    """Work.figure, once per label."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self._seen: dict[str, Figure | None] = {}

    def __call__(self, label: str, unit: str, query: str) -> Figure | None:
        if label not in self._seen:
            self._seen[label] = self.work.figure(label, unit, query)
        return self._seen[label]


def _stage_sql(funnel: str, stage: str, expression: str) -> str:
    return f"select {expression} from {TABLE} where funnel = {lit(funnel)} and deal_stage = {lit(stage)}"


def _lost_sql(funnel: str, before: str, after: str) -> str:
    # scalar subqueries, not subqueries in FROM: the fallback tokenizer of the SQL tool accepts these
    return f"select ({_stage_sql(funnel, before, 'deals_reached')}) - ({_stage_sql(funnel, after, 'deals_reached')})"


def review_offline(
    sql: SqlTool, *, lang: str = "pt", funnel: str = DEFAULT_FUNNEL, decision: RouteDecision | None = None
) -> SalesReview:
    """The deterministic review of ``funnel`` (see the module doc)."""
    lang = "pt" if lang == "pt" else "en"
    pt = lang == "pt"
    work = Work(sql, lang)
    fig = _Figures(work)
    names = STAGE_NAMES[lang]
    if TABLE not in sql.tables():
        return SalesReview(
            language=lang,
            funnel=funnel,
            stages=[],
            summary=(
                "Não há funil de vendas no warehouse: materialize o mart marts.fct_sales_funnel primeiro."
                if pt
                else "There is no sales funnel in the warehouse: materialize the marts.fct_sales_funnel mart first."
            ),
            bottleneck="n/d" if pt else "n/a",
            recommendations=[],
        )
    facts = FunnelFacts.from_rows(funnel, work.rows(FunnelFacts.query(funnel)))
    if not facts.stages or facts.stages[0].deals_reached == 0:
        return SalesReview(
            language=lang,
            funnel=funnel,
            stages=facts.as_stages(),
            summary=no_data(lang, f"o funil {funnel}" if pt else f"the {funnel} funnel"),
            bottleneck="n/d" if pt else "n/a",
            recommendations=[],
            figures=work.figures,
        )

    f = funnel
    # conversion stage by stage
    lines = []
    for i, stage in enumerate(facts.stages):
        reached = fig(f"{f} deals reaching {stage.stage}", "deals", _stage_sql(f, stage.stage, "deals_reached"))
        count = int(reached.value) if reached else stage.deals_reached
        line = f"- {names[stage.stage]}: {_n(count, lang)} {'negócios' if pt else 'deals'}"
        details = []
        if i > 0:
            conv = fig(
                f"{f} conversion to {stage.stage}",
                "%",
                _stage_sql(f, stage.stage, "100.0 * conversion_from_previous_rate"),
            )
            if conv:
                details.append(f"{pct(conv.value, lang)} {'da etapa anterior' if pt else 'of the previous stage'}")
        if stage.stage != "closedwon" and stage.deals_in_stage:
            open_text = (
                ("aberto nela agora" if stage.deals_in_stage == 1 else "abertos nela agora") if pt else "open in it now"
            )
            details.append(f"{_n(stage.deals_in_stage, lang)} {open_text}")
        lines.append(line + (f" ({'; '.join(details)})" if details else ""))
    # deals_in_stage is said in the text too: keep those numbers as figures
    for stage in facts.stages:
        if stage.stage != "closedwon" and stage.deals_in_stage:
            fig(f"{f} open deals in {stage.stage}", "deals", _stage_sql(f, stage.stage, "deals_in_stage"))

    won = fig(f"{f} won deals", "deals", _stage_sql(f, "closedwon", "won_deals"))
    lost = fig(f"{f} lost deals", "deals", _stage_sql(f, "closedwon", "lost_deals"))
    win = fig(f"{f} win rate", "%", _stage_sql(f, "closedwon", "100.0 * win_rate"))
    median = fig(f"{f} median days to win", "days", _stage_sql(f, "closedwon", "median_days_to_win"))
    average = fig(f"{f} average days to win", "days", _stage_sql(f, "closedwon", "avg_days_to_win"))
    minutes = None
    if median is not None and median.value < 1:
        minutes = fig(
            f"{f} median minutes to win",
            "minutes",
            _stage_sql(f, "closedwon", f"{MINUTES_PER_DAY:g} * median_days_to_win"),
        )

    head = (
        {
            "all_deals": (
                "Funil de vendas, todos os negócios (cada pedido pago é um negócio ganho: renovações incluídas)"
            ),
            "first_deal": "Funil de aquisição (o primeiro negócio de cada contato)",
        }
        if pt
        else {
            "all_deals": "Sales funnel, all deals (every paid order is a won deal: renewals included)",
            "first_deal": "Acquisition funnel (each contact's first deal)",
        }
    ).get(f, f"Funil {f}" if pt else f"Funnel {f}")
    text = [head + ":", *lines]
    if win is not None:
        outcome = f"Taxa de ganho: {pct(win.value, lang)}" if pt else f"Win rate: {pct(win.value, lang)}"
        if won is not None and lost is not None:
            outcome += (
                f" ({_n(won.value, lang)} ganhos, {_n(lost.value, lang)} perdidos)."
                if pt
                else f" ({_n(won.value, lang)} won, {_n(lost.value, lang)} lost)."
            )
        else:
            outcome += "."
        text.append(outcome)
    if median is not None:
        if minutes is not None:
            text.append(
                "Velocidade: os negócios fecham no mesmo dia em que são criados — mediana de "
                f"{num(minutes.value, lang, 1)} minutos da criação ao fechamento dos ganhos "
                f"({num(median.value, lang, 4)} dia). Sinal de que o negócio é criado no checkout, "
                "não no início da negociação."
                if pt
                else "Velocity: deals close the same day they are created — a median of "
                f"{num(minutes.value, lang, 1)} minutes from create to close of won deals "
                f"({num(median.value, lang, 4)} days). A sign that the deal is created at checkout, "
                "not when the sale starts."
            )
        else:
            avg_text = (
                (
                    f" (média de {num(average.value, lang, 1)} dias)"
                    if pt
                    else f" (average {num(average.value, lang, 1)} days)"
                )
                if average
                else ""
            )
            text.append(
                f"Velocidade: mediana de {num(median.value, lang, 1)} dias da criação ao fechamento dos negócios "
                f"ganhos{avg_text}."
                if pt
                else f"Velocity: a median of {num(median.value, lang, 1)} days from create to close of won deals"
                f"{avg_text}."
            )

    acquisition_win = None
    if f == "all_deals":
        has_first = work.value(f"select count(*) from {TABLE} where funnel = 'first_deal'")
        if has_first:
            acquisition_win = fig("first_deal win rate", "%", _stage_sql("first_deal", "closedwon", "100.0 * win_rate"))
            first_won = fig("first_deal won deals", "deals", _stage_sql("first_deal", "closedwon", "won_deals"))
            if acquisition_win is not None and first_won is not None:
                text.append(
                    f"Funil de aquisição (primeiro negócio de cada contato): taxa de ganho "
                    f"{pct(acquisition_win.value, lang)} ({_n(first_won.value, lang)} novos clientes ganhos)."
                    if pt
                    else f"Acquisition funnel (each contact's first deal): win rate {pct(acquisition_win.value, lang)} "
                    f"({_n(first_won.value, lang)} new customers won)."
                )
    if decision is not None and (decision.lookback_months or decision.lookback_days):
        text.append(
            "O mart do funil cobre todos os negócios até hoje, sem recorte por período: "
            "o período pedido não foi aplicado."
            if pt
            else "The funnel mart covers every deal to date, with no split by period: "
            "the period asked for was not applied."
        )

    bottleneck, recommendations = _bottleneck(facts, lang, fig)
    if median is not None and minutes is not None:
        recommendations.insert(
            min(2, len(recommendations)),
            "Crie o negócio quando o lead é qualificado, não no pagamento: hoje os ganhos fecham "
            f"{num(minutes.value, lang, 1)} minutos após a criação, e assim o CRM não mede a velocidade real de vendas."
            if pt
            else "Create the deal when the lead is qualified, not at payment: won deals now close "
            f"{num(minutes.value, lang, 1)} minutes after they are created, so the CRM cannot measure real "
            "sales velocity.",
        )
    if lost is not None and lost.value > 0:
        recommendations.append(
            f"Registre o motivo e a etapa de perda dos {_n(lost.value, lang)} negócios perdidos: hoje o funil só "
            "sabe que entraram no pipeline, e as perdas ficam todas na primeira etapa."
            if pt
            else f"Record the reason and the stage of loss of the {_n(lost.value, lang)} lost deals: the funnel only "
            "knows they entered the pipeline, so every loss lands on the first stage."
        )
    if acquisition_win is not None and win is not None and acquisition_win.value < win.value - 1:
        recommendations.append(
            f"Acompanhe a taxa de ganho do funil de aquisição ({pct(acquisition_win.value, lang)}), não só a de "
            f"todos os negócios ({pct(win.value, lang)}), que as renovações inflam."
            if pt
            else f"Track the acquisition funnel's win rate ({pct(acquisition_win.value, lang)}), not only the "
            f"all-deals one ({pct(win.value, lang)}), which renewals inflate."
        )
    if len(recommendations) < 2:
        recommendations.append(
            "Revise toda semana a conversão de cada etapa e os negócios abertos há mais de 14 dias, com um responsável "
            "e um próximo passo datado para cada um."
            if pt
            else "Review each stage's conversion every week, and every deal open for more than 14 days, with an owner "
            "and a dated next step for each."
        )
    return SalesReview(
        language=lang,
        funnel=f,
        stages=facts.as_stages(),
        win_rate=facts.win_rate,
        median_days_to_win=facts.median_days_to_win,
        summary="\n".join(text),
        bottleneck=bottleneck,
        recommendations=recommendations[:MAX_RECOMMENDATIONS],
        figures=work.figures,
    )


def _bottleneck(facts: FunnelFacts, lang: str, fig: Callable[[str, str, str], Figure | None]) -> tuple[str, list[str]]:
    pt, f, names, advice = lang == "pt", facts.funnel, STAGE_NAMES[lang], _ADVICE[lang]
    found = bottlenecks(facts)
    if found is None:
        return ("Nenhuma etapa perde negócios." if pt else "No stage loses deals."), []
    by_count, by_rate = found
    b, a = by_count.before.stage, by_count.after.stage
    lost = fig(f"{f} deals lost {b} -> {a}", "deals", _lost_sql(f, b, a))
    rate = fig(f"{f} drop-off rate {b} -> {a}", "%", _stage_sql(f, a, "100.0 * (1 - conversion_from_previous_rate)"))
    reached = fig(f"{f} deals reaching {b}", "deals", _stage_sql(f, b, "deals_reached"))
    lost_n = int(lost.value) if lost else by_count.lost
    open_n = by_count.before.deals_in_stage
    first = by_count.index == 1
    lost_deals = facts.lost_deals if first else 0
    rate_text = f" ({pct(rate.value, lang)})" if rate else ""
    of_text = (
        f" dos {_n(reached.value, lang)}" if pt and reached else f" of the {_n(reached.value, lang)}" if reached else ""
    )
    if pt:
        text = (
            f"Gargalo: {names[b]} → {names[a]}, onde o funil perde mais negócios: {_n(lost_n, lang)}{of_text} "
            f"que chegaram a {names[b]}{rate_text}"
        )
        parts = []
        if open_n:
            parts.append(f"{_n(open_n, lang)} ainda abertos em {names[b]}")
        if lost_deals:
            parts.append(
                f"{_n(lost_deals, lang)} perdidos (o funil conta os perdidos só na primeira etapa: "
                "não se sabe onde saíram)"
            )
        text += (" — " + " e ".join(parts) if parts else "") + "."
    else:
        text = (
            f"Bottleneck: {names[b]} → {names[a]}, where the funnel loses the most deals: {_n(lost_n, lang)}{of_text} "
            f"that reached {names[b]}{rate_text}"
        )
        parts = []
        if open_n:
            parts.append(f"{_n(open_n, lang)} still open in {names[b]}")
        if lost_deals:
            parts.append(
                f"{_n(lost_deals, lang)} lost (the funnel counts lost deals on the first stage only: "
                "where they left is unknown)"
            )
        text += (" — " + " and ".join(parts) if parts else "") + "."

    recommendations = []
    if open_n:
        fig(f"{f} open deals in {b}", "deals", _stage_sql(f, b, "deals_in_stage"))
        amount = fig(f"{f} open amount in {b}", "BRL", _stage_sql(f, b, "amount_brl"))
        amount_text = f" ({brl(amount.value, lang)} {'em aberto' if pt else 'open'})" if amount else ""
        recommendations.append(
            f"Trabalhe os {_n(open_n, lang)} negócios parados em {names[b]}{amount_text}: {advice[a]}; "
            "encerre como perdidos os que não avançarem em 14 dias."
            if pt
            else f"Work the {_n(open_n, lang)} deals stuck in {names[b]}{amount_text}: {advice[a]}; "
            "close as lost those that do not move within 14 days."
        )
    elif lost_n:
        recommendations.append(
            f"Em {names[b]} → {names[a]} saem {_n(lost_n, lang)} negócios: {advice[a]}."
            if pt
            else f"{_n(lost_n, lang)} deals leave at {names[b]} → {names[a]}: {advice[a]}."
        )

    if by_rate.index != by_count.index:
        b2, a2 = by_rate.before.stage, by_rate.after.stage
        conv = fig(f"{f} conversion to {a2}", "%", _stage_sql(f, a2, "100.0 * conversion_from_previous_rate"))
        lost2 = fig(f"{f} deals lost {b2} -> {a2}", "deals", _lost_sql(f, b2, a2))
        if conv and lost2:
            text += (
                f" Pela taxa, a pior passagem é {names[b2]} → {names[a2]}: só {pct(conv.value, lang)} avançam "
                f"({_n(lost2.value, lang)} negócios a menos)."
                if pt
                else f" By rate, the worst step is {names[b2]} → {names[a2]}: only {pct(conv.value, lang)} move on "
                f"({_n(lost2.value, lang)} deals fewer)."
            )
            recommendations.append(
                f"Em {names[b2]} → {names[a2]} só {pct(conv.value, lang)} avançam: {advice[a2]}."
                if pt
                else f"Only {pct(conv.value, lang)} move from {names[b2]} to {names[a2]}: {advice[a2]}."
            )
    return text, recommendations


# -- validators -------------------------------------------------------------------------------------


def _close(a: float | None, b: float | None) -> bool:
    return same_number(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def check_funnel(review: SalesReview, facts: FunnelFacts) -> list[str]:
    """The stages, win rate and velocity must be the mart's, stage for stage."""
    errors: list[str] = []
    if review.funnel != facts.funnel:
        errors.append(f"funnel must be {facts.funnel!r}, not {review.funnel!r}")
    expected = [s.stage for s in facts.stages]
    given = [s.stage for s in review.stages]
    if given != expected:
        errors.append(f"stages must be {expected} in this order (from {TABLE}), not {given}")
    else:
        for stage, row in zip(review.stages, facts.stages, strict=True):
            if stage.deals != row.deals_reached:
                errors.append(f"stage {row.stage!r}: deals is {row.deals_reached} in {TABLE}, not {stage.deals}")
            if stage.deals_in_stage is not None and stage.deals_in_stage != row.deals_in_stage:
                errors.append(
                    f"stage {row.stage!r}: deals_in_stage is {row.deals_in_stage} in {TABLE}, "
                    f"not {stage.deals_in_stage}"
                )
            if not _close(stage.conversion_from_previous_rate, row.conversion):
                errors.append(
                    f"stage {row.stage!r}: conversion_from_previous_rate is {row.conversion} in {TABLE}, "
                    f"not {stage.conversion_from_previous_rate}"
                )
    if not _close(review.win_rate, facts.win_rate):
        errors.append(f"win_rate is {facts.win_rate} in {TABLE}, not {review.win_rate}")
    if not _close(review.median_days_to_win, facts.median_days_to_win):
        errors.append(f"median_days_to_win is {facts.median_days_to_win} in {TABLE}, not {review.median_days_to_win}")
    if facts.stages and not 2 <= len(review.recommendations) <= MAX_RECOMMENDATIONS:
        errors.append(f"give 2 to {MAX_RECOMMENDATIONS} recommendations, not {len(review.recommendations)}")
    return errors


def funnel_rule(facts: FunnelFacts) -> Callable[[SalesReview], list[str]]:
    return lambda review: check_funnel(review, facts)


# -- the LLM path -----------------------------------------------------------------------------------

SYSTEM_PROMPT = """You are SalesOps, the sales-operations analyst of a revenue-operations platform for +Pet, a \
Brazilian pet-care subscription e-commerce (money in BRL). Review the deal funnel '{funnel}' of {table} in the \
language '{language}': conversion stage by stage, win rate, velocity (days from create to close of won deals; \
below one day, say plainly that deals close the same day they are created), the bottleneck (the stage transition \
that loses the most deals, in count and in rate) and 2 to {max_recs} concrete recommendations.
Copy `funnel`, `stages`, `win_rate` and `median_days_to_win` from the vetted facts below exactly: they are checked \
against the mart. Rules for numbers: every number you state must be a figure in `figures`, and each figure's `sql` \
must be one SELECT over the tables below, schema-qualified, that returns exactly one value (one row, one column) \
equal to `value`: it is run again and compared. Never invent a number.

Tables (schema.table(column type, ...)):
{tables}

Vetted facts (the funnel and figures already computed from these tables):
{facts}"""


def review_messages(request: str, lang: str, tables: str, facts: SalesReview) -> list[tuple[str, str]]:
    vetted = json.dumps(
        facts.model_dump(include={"funnel", "stages", "win_rate", "median_days_to_win", "figures"}), ensure_ascii=False
    )
    system = SYSTEM_PROMPT.format(
        funnel=facts.funnel, table=TABLE, language=lang, max_recs=MAX_RECOMMENDATIONS, tables=tables, facts=vetted
    )
    return [("system", system), ("human", request)]


def review_sales(
    runtime: AgentRuntime,
    sql: SqlTool,
    *,
    request: str | None = None,
    decision: RouteDecision | None = None,
    funnel: str | None = None,
) -> SalesReview:
    """Review the deal funnel through the runtime (offline rules or LLM); figures and stages re-checked."""
    if decision is None and request:
        decision = route(request, runtime)
    lang = decision.language if decision else detect_language(request) if request else "pt"
    lang = "pt" if lang == "pt" else "en"
    funnel = funnel or detect_funnel(request)
    if funnel not in FUNNELS:
        raise ValueError(f"funnel must be one of {FUNNELS}, not {funnel!r}")
    with sql.session():  # one read-only connection for the analysis and the re-check
        facts = FunnelFacts.load(sql, funnel)
        validators = [figures_rule(sql), funnel_rule(facts)]
        messages = None
        if runtime.is_llm:
            vetted = review_offline(sql, lang=lang, funnel=funnel, decision=decision)
            text = request or ("Revise o funil de vendas." if lang == "pt" else "Review the sales funnel.")
            messages = review_messages(text, lang, sql.describe(), vetted)
            validators.append(language_rule(lang))
        return runtime.run(
            "sales_ops",
            SalesReview,
            messages=messages,
            offline=lambda: review_offline(sql, lang=lang, funnel=funnel, decision=decision),
            validators=validators,
        )


__all__ = [
    "FUNNELS",
    "PIPELINE",
    "SYSTEM_PROMPT",
    "FunnelFacts",
    "bottlenecks",
    "check_funnel",
    "detect_funnel",
    "funnel_rule",
    "review_messages",
    "review_offline",
    "review_sales",
]
