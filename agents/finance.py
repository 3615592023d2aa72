"""Finance: the month's DRE commented, its unit economics, and the projected scenarios, from the marts.

``report_finance(runtime, sql, month=…, scenarios=…, request=…, decision=…)``:

* **the month** — ``month`` if given, else one the request names ("DRE de setembro de 2026", "set/2026",
  "September 2026", "2026-09", "09/2026"; a month name alone is its latest occurrence up to the last
  complete month), else the last complete month of ``marts.fct_dre_monthly`` ("DRE do mês passado").
* **the scenarios** — ``scenarios`` if given, else the ones the request names (otimista/optimistic,
  conservador/conservative, base — "cenário base", not "com base em"), else all of
  ``marts.fct_dre_projected``; always in ``scenario_order``. The sums cover the whole projection, or its
  first N months with ``horizon_months`` (default: the request's "próximos N meses").
* **offline** — the commentary, in the request's language: receita bruta, receita líquida, margem bruta %,
  EBITDA and its margin, lucro líquido and its margin (``pct_of_net_revenue`` of the month's rows); the
  change of receita líquida, EBITDA and lucro líquido against the previous month and the same month a year
  before, when those months are there (change ÷ |previous|, so a loss shrinking reads as an improvement);
  the three cost lines that moved most against the previous month (every ``line`` after receita líquida,
  by absolute change, as signed in the DRE: a negative change lowers the result); the month's unit
  economics (``marts.fct_unit_economics``: LTV:CAC, CAC payback, logo churn); and per scenario the sums of
  receita líquida and lucro líquido over the projection horizon (:class:`~agents.schemas.ScenarioSummary`,
  ``months`` = projected months). Missing tables (no forecast run yet, no unit economics) are said plainly.
  ``lines`` holds the month's DRE with the previous month's amount beside each line. Every number of the
  commentary is a :class:`~agents.schemas.Figure` with the one-value query that returns it.
* **LLM** — the model gets the allowed tables, the rules, and the offline report's period, lines,
  scenarios and figures as vetted facts; it returns a :class:`~agents.schemas.FinanceReport`.

Validators on every path: the figures are re-run (:func:`agents.guardrails.figures_rule`); the period,
the DRE lines and the scenarios must be the marts' (:func:`check_report`: a scenario the projection does
not hold, or one not asked for, or wrong sums or month counts, is rejected); with an LLM, the language.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.analysis import Work, add_months, as_date, brl, date_sql, lit, month_label, num, pct
from agents.guardrails import figures_rule, language_rule, same_number
from agents.router import detect_language, fold, route
from agents.runtime import AgentRuntime
from agents.schemas import DreLine, Figure, FinanceReport, RouteDecision, ScenarioSummary
from agents.sql_tool import SqlTool

DRE = "marts.fct_dre_monthly"
PROJECTED = "marts.fct_dre_projected"
UNIT_ECONOMICS = "marts.fct_unit_economics"
SCENARIOS = ("conservative", "base", "optimistic")
MAX_MOVEMENTS = 3
REL_TOL = 1e-3
ABS_TOL = 0.005

SCENARIO_NAMES = {
    "pt": {"conservative": "conservador", "base": "base", "optimistic": "otimista"},
    "en": {"conservative": "conservative", "base": "base", "optimistic": "optimistic"},
}
LINE_NAMES = {
    "pt": {
        "receita_bruta": "receita bruta",
        "deducoes": "deduções",
        "receita_liquida": "receita líquida",
        "cmv": "CMV",
        "lucro_bruto": "lucro bruto",
        "despesas_vendas": "despesas com vendas",
        "despesas_marketing": "despesas de marketing",
        "despesas_administrativas": "despesas administrativas e pessoal",
        "ebitda": "EBITDA",
        "depreciacao_amortizacao": "depreciação e amortização",
        "ebit": "EBIT",
        "resultado_financeiro": "resultado financeiro",
        "lair": "LAIR",
        "ir_csll": "IRPJ/CSLL",
        "lucro_liquido": "lucro líquido",
    },
    "en": {
        "receita_bruta": "gross revenue",
        "deducoes": "deductions",
        "receita_liquida": "net revenue",
        "cmv": "cost of goods sold",
        "lucro_bruto": "gross profit",
        "despesas_vendas": "selling expenses",
        "despesas_marketing": "marketing expenses",
        "despesas_administrativas": "administrative and payroll expenses",
        "ebitda": "EBITDA",
        "depreciacao_amortizacao": "depreciation and amortization",
        "ebit": "EBIT",
        "resultado_financeiro": "financial result",
        "lair": "profit before income taxes",
        "ir_csll": "income taxes (IRPJ/CSLL)",
        "lucro_liquido": "net income",
    },
}
#: The lines whose change against the previous month is compared: the headline ones.
CHANGE_LINES = ("receita_liquida", "ebitda", "lucro_liquido")


# -- reading the request ----------------------------------------------------------------------------

_SCENARIO_PATTERNS = (
    ("conservative", re.compile(r"\b(conservador\w*|conservative|pessimist\w*)\b")),
    ("optimistic", re.compile(r"\b(otimist\w*|optimist\w*)\b")),
)


#: "base" is an everyday word ("com base em", "base de clientes"): a scenario only beside "cenário"/"scenario".
_BASE_CASE = re.compile(r"\b(base case|baseline)\b")
_SCENARIO_WORD = re.compile(r"\b(cenarios?|scenarios?)\b")
_BASE = re.compile(r"(?<!com )(?<!na )(?<!em )(?<!da )(?<!a )\bbase\b(?!\s+(de|da|do|dos|das|of)\b)")


def parse_scenarios(request: str | None) -> list[str] | None:
    """The scenarios a request names, in scenario order; None when it names none (then: all of them)."""
    if not request:
        return None
    text = fold(request)
    found = {name for name, pattern in _SCENARIO_PATTERNS if pattern.search(text)}
    if _BASE_CASE.search(text) or (_SCENARIO_WORD.search(text) and _BASE.search(text)):
        found.add("base")
    return [s for s in SCENARIOS if s in found] or None


_MONTHS = {
    "janeiro": 1, "fevereiro": 2, "marco": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7, "agosto": 8,
    "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "fev": 2, "feb": 2, "mar": 3, "abr": 4, "apr": 4, "mai": 5, "jun": 6, "jul": 7, "ago": 8,
    "aug": 8, "set": 9, "sep": 9, "sept": 9, "out": 10, "oct": 10, "nov": 11, "dez": 12, "dec": 12,
}  # fmt: skip
#: Abbreviations and names that are everyday words too ("may", "march", "marco", "set", "out"…) count only
#: with a year next to them; "março" counts alone when written with its cedilla.
_NAME_ALONE = frozenset(name for name in _MONTHS if len(name) > 3 and name not in ("may", "march", "marco", "sept"))
_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WITH_YEAR = re.compile(r"\b(" + _NAMES + r")\.?\s*(?:de\s+|of\s+|/\s*|-\s*|,\s*)?((?:19|20)\d{2})\b")
_YEAR_FIRST = re.compile(r"\b((?:19|20)\d{2})-(0?[1-9]|1[0-2])\b")
_NUMERIC = re.compile(r"\b(0?[1-9]|1[0-2])/((?:19|20)\d{2})\b")
_ALONE = re.compile(r"\b(" + "|".join(sorted(_NAME_ALONE, key=len, reverse=True)) + r")\b")


def parse_month(request: str | None, anchor: dt.date | None = None) -> dt.date | None:
    """The month a request names (first day), or None ("mês passado" and no month: the caller's default).

    A month name without a year is its latest occurrence on or before ``anchor`` (the last complete month).
    """
    if not request:
        return None
    text = fold(request)
    if match := _WITH_YEAR.search(text):
        return dt.date(int(match.group(2)), _MONTHS[match.group(1)], 1)
    if match := _YEAR_FIRST.search(text):
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    if match := _NUMERIC.search(text):
        return dt.date(int(match.group(2)), int(match.group(1)), 1)
    match = _ALONE.search(text)
    month = _MONTHS[match.group(1)] if match else 3 if re.search(r"\bmarço\b", request.lower()) else None
    if month is not None:
        anchor = anchor or dt.date.today().replace(day=1)
        return dt.date(anchor.year if month <= anchor.month else anchor.year - 1, month, 1)
    return None


def normalize_scenarios(scenarios: Sequence[str]) -> list[str]:
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}: use {', '.join(SCENARIOS)}")
    return [s for s in SCENARIOS if s in scenarios]


# -- the facts, straight from the marts -------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _lines_sql(month: dt.date) -> str:
    return (
        "select c.line_key, c.line_label, c.amount_brl, c.pct_of_net_revenue, p.amount_brl as previous_amount_brl "
        f"from {DRE} as c left join {DRE} as p "
        f"on p.line_key = c.line_key and p.month = {date_sql(add_months(month, -1))} "
        f"where c.month = {date_sql(month)} order by c.line_order"
    )


def _within(horizon: int | None) -> str:
    """The projected months to sum: all of them, or the first ``horizon``."""
    return f"months_ahead <= {int(horizon)}" if horizon else "months_ahead >= 1"


def scenarios_sql(horizon: int | None = None) -> str:
    return (
        "select scenario, min(scenario_order) as scenario_order, count(distinct month) as months, "
        "sum(case when line_key = 'receita_liquida' then amount_brl else 0 end) as receita_liquida_brl, "
        "sum(case when line_key = 'lucro_liquido' then amount_brl else 0 end) as lucro_liquido_brl "
        f"from {PROJECTED} where {_within(horizon)} group by scenario order by scenario_order, scenario"
    )


@dataclass
class FinanceFacts:
    """What the report must agree with: the month's DRE lines and every projected scenario."""

    period: str
    lines: list[DreLine] = field(default_factory=list)
    #: Every scenario of fct_dre_projected (a name outside SCENARIOS is kept as None: the schema cannot hold it).
    available: dict[str, ScenarioSummary | None] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        sql: SqlTool,
        month: dt.date | None,
        scenarios: Sequence[str] | None,
        *,
        horizon: int | None = None,
        tables: Sequence[str] = (),
    ) -> FinanceFacts:
        tables = tables or list(sql.tables())
        facts = cls(period=f"{month:%Y-%m}" if month else "")
        if month is not None and DRE in tables:
            facts.lines = [
                DreLine(
                    line_key=str(key),
                    line_label=str(label),
                    amount_brl=float(amount),
                    pct_of_net_revenue=_float(share),
                    previous_amount_brl=_float(previous),
                )
                for key, label, amount, share, previous in sql.run(_lines_sql(month)).rows
            ]
        if PROJECTED in tables:
            for name, _order, months, net, profit in sql.run(scenarios_sql(horizon)).rows:
                facts.available[str(name)] = (
                    ScenarioSummary(
                        scenario=name,
                        months=int(months),
                        receita_liquida_brl=float(net),
                        lucro_liquido_brl=float(profit),
                    )
                    if name in SCENARIOS and months
                    else None
                )
        wanted = list(scenarios) if scenarios is not None else list(SCENARIOS)
        facts.requested = [s for s in facts.available if s in wanted and facts.available[s] is not None]
        return facts


def last_complete_month(sql: SqlTool) -> dt.date | None:
    if DRE not in sql.tables():
        return None
    return as_date(sql.scalar(f"select max(month) from {DRE} where is_complete"))


# -- the offline report -----------------------------------------------------------------------------


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _signed_pct(value: float, lang: str) -> str:
    return ("+" if value > 0 else "") + pct(value, lang)


def _signed_brl(value: float, lang: str) -> str:
    return ("+" if value > 0 else "") + brl(value, lang)


def _line_sql(month: dt.date, key: str, expression: str = "amount_brl") -> str:
    return f"select {expression} from {DRE} where month = {date_sql(month)} and line_key = {lit(key)}"


def _change_sql(month: dt.date, other: dt.date, key: str) -> str:
    # scalar subqueries, not subqueries in FROM: the fallback tokenizer of the SQL tool accepts these
    now, then = f"({_line_sql(month, key)})", f"({_line_sql(other, key)})"
    return f"select 100.0 * ({now} - {then}) / nullif(abs({then}), 0)"


def _delta_sql(month: dt.date, other: dt.date, key: str) -> str:
    return f"select ({_line_sql(month, key)}) - ({_line_sql(other, key)})"


def report_offline(
    sql: SqlTool,
    *,
    lang: str = "pt",
    month: dt.date | None = None,
    scenarios: Sequence[str] | None = None,
    horizon: int | None = None,
) -> FinanceReport:
    """The deterministic report (see the module doc); ``month`` None = the last complete month.

    ``horizon``: sum the first ``horizon`` projected months of each scenario (None: all of them).
    """
    lang = "pt" if lang == "pt" else "en"
    pt = lang == "pt"
    work = Work(sql, lang)
    tables = list(sql.tables())
    names = LINE_NAMES[lang]
    if DRE not in tables:
        return FinanceReport(
            language=lang,
            period=f"{month:%Y-%m}" if month else "",
            commentary=(
                f"Não há DRE no warehouse: materialize o mart {DRE} primeiro."
                if pt
                else f"There is no DRE in the warehouse: materialize the {DRE} mart first."
            ),
        )
    last = as_date(work.value(f"select max(month) from {DRE} where is_complete"))
    month = month or last
    facts = FinanceFacts.load(sql, month, scenarios, horizon=horizon, tables=tables)
    text: list[str] = []
    if month is None or not facts.lines:
        first = as_date(work.value(f"select min(month) from {DRE}"))
        newest = as_date(work.value(f"select max(month) from {DRE}"))
        span = (
            f" (há meses de {month_label(first, lang)} a {month_label(newest, lang)})"
            if pt and first and newest
            else f" (it holds {month_label(first, lang)} to {month_label(newest, lang)})"
            if first and newest
            else ""
        )
        what = month_label(month, lang) if month else ("nenhum mês completo" if pt else "no complete month")
        text.append(f"O DRE não tem {what}{span}." if pt else f"The DRE has no {what}{span}.")
    else:
        complete = work.value(f"select bool_and(is_complete) from {DRE} where month = {date_sql(month)}")
        text += _month_commentary(work, month, names, in_progress=not complete)
        text += _unit_economics(work, month, tables)
    summaries = _scenarios(work, facts, scenarios, horizon, tables, text)
    return FinanceReport(
        language=lang,
        period=facts.period,
        commentary="\n".join(text),
        lines=facts.lines,
        scenarios=summaries,
        figures=work.figures,
    )


def _month_commentary(work: Work, month: dt.date, names: dict[str, str], *, in_progress: bool) -> list[str]:
    lang, pt = work.lang, work.lang == "pt"
    label = month_label(month, lang)
    ym = f"{month:%Y-%m}"

    def amount(key: str) -> Figure | None:
        return work.figure(f"{key} {ym}", "BRL", _line_sql(month, key))

    def margin(key: str, what: str) -> Figure | None:
        return work.figure(f"{what} {ym}", "%", _line_sql(month, key, "100.0 * pct_of_net_revenue"))

    gross, net = amount("receita_bruta"), amount("receita_liquida")
    gross_margin = margin("lucro_bruto", "gross margin")
    ebitda, ebitda_margin = amount("ebitda"), margin("ebitda", "EBITDA margin")
    profit, net_margin = amount("lucro_liquido"), margin("lucro_liquido", "net margin")

    head = f"DRE de {label}" if pt else f"DRE (income statement) for {label}"
    if in_progress:
        head += " — mês em andamento, números parciais" if pt else " — month in progress, partial numbers"
    text = [head + ":"]
    revenue = []
    if gross:
        revenue.append(f"{names['receita_bruta']} {brl(gross.value, lang)}")
    if net:
        revenue.append(f"{names['receita_liquida']} {brl(net.value, lang)}")
    if revenue:
        text.append("- " + _first_upper("; ".join(revenue)) + ".")
    results = []
    if gross_margin:
        results.append(f"{'margem bruta' if pt else 'gross margin'} {pct(gross_margin.value, lang)}")
    if ebitda:
        results.append(
            f"EBITDA {brl(ebitda.value, lang)}"
            + (f" ({'margem de' if pt else 'margin'} {pct(ebitda_margin.value, lang)})" if ebitda_margin else "")
        )
    if profit:
        results.append(
            f"{names['lucro_liquido']} {brl(profit.value, lang)}"
            + (f" ({'margem de' if pt else 'margin'} {pct(net_margin.value, lang)})" if net_margin else "")
        )
    if results:
        text.append("- " + _first_upper("; ".join(results)) + ".")

    available = {as_date(r[0]) for r in work.rows(f"select distinct month from {DRE} order by month")}
    for other, tag in ((add_months(month, -1), "previous month"), (add_months(month, -12), "same month last year")):
        if other not in available:
            continue
        changes = []
        for key in CHANGE_LINES:
            change = work.figure(f"{key} change vs {tag} ({other:%Y-%m})", "%", _change_sql(month, other, key))
            if change is not None:
                changes.append(f"{names[key]} {_signed_pct(change.value, lang)}")
        if changes:
            versus = f"Contra {month_label(other, lang)}" if pt else f"Against {month_label(other, lang)}"
            text.append(f"{versus}: {', '.join(changes)}.")
    previous = add_months(month, -1)
    if previous not in available:
        text.append(
            f"Não há {month_label(previous, lang)} no DRE: sem comparação com o mês anterior."
            if pt
            else f"The DRE has no {month_label(previous, lang)}: no comparison with the previous month."
        )
    else:
        text += _movements(work, month, previous, names)
    if add_months(month, -12) not in available:
        text.append(
            f"Não há {month_label(add_months(month, -12), lang)} no DRE: sem comparação anual."
            if pt
            else f"The DRE has no {month_label(add_months(month, -12), lang)}: no year-on-year comparison."
        )
    return text


def _movements(work: Work, month: dt.date, previous: dt.date, names: dict[str, str]) -> list[str]:
    """The cost lines (every ``line`` after receita líquida) that moved most against the previous month."""
    lang, pt = work.lang, work.lang == "pt"
    rows = work.rows(
        "select c.line_key, c.line_label, c.amount_brl - p.amount_brl as change_brl "
        f"from {DRE} as c inner join {DRE} as p on p.line_key = c.line_key and p.month = {date_sql(previous)} "
        f"where c.month = {date_sql(month)} and c.line_type = 'line' "
        "and c.line_order > (select min(line_order) from "
        f"{DRE} where line_key = 'receita_liquida' and month = {date_sql(month)}) "
        "order by abs(c.amount_brl - p.amount_brl) desc, c.line_order"
    )
    moved = [(str(k), str(label)) for k, label, change in rows if change is not None and float(change) != 0]
    if not moved:
        return [
            f"Nenhuma linha de custo mudou contra {month_label(previous, lang)}."
            if pt
            else f"No cost line changed against {month_label(previous, lang)}."
        ]
    text = [
        f"Maiores variações de custos e despesas contra {month_label(previous, lang)} (efeito no resultado):"
        if pt
        else f"Largest cost and expense movements against {month_label(previous, lang)} (effect on the result):"
    ]
    for key, label in moved[:MAX_MOVEMENTS]:
        now = work.figure(f"{key} {month:%Y-%m}", "BRL", _line_sql(month, key))
        before = work.figure(f"{key} {previous:%Y-%m}", "BRL", _line_sql(previous, key))
        delta = work.figure(
            f"{key} change vs previous month ({previous:%Y-%m})", "BRL", _delta_sql(month, previous, key)
        )
        if now and before and delta:
            name = _first_upper(names.get(key, label))
            text.append(
                f"- {name}: {brl(now.value, lang)}, {'era' if pt else 'was'} {brl(before.value, lang)} "
                f"({_signed_brl(delta.value, lang)})."
            )
    return text


def _unit_economics(work: Work, month: dt.date, tables: Sequence[str]) -> list[str]:
    lang, pt = work.lang, work.lang == "pt"
    label = month_label(month, lang)
    if UNIT_ECONOMICS not in tables:
        return [
            f"Unit economics: {UNIT_ECONOMICS} não está no warehouse."
            if pt
            else f"Unit economics: {UNIT_ECONOMICS} is not in the warehouse."
        ]
    where = f"from {UNIT_ECONOMICS} where month = {date_sql(month)}"
    ym = f"{month:%Y-%m}"
    ratio = work.figure(f"LTV:CAC {ym}", "ratio", f"select ltv_to_cac_ratio {where}")
    payback = work.figure(f"CAC payback {ym}", "months", f"select cac_payback_months {where}")
    churn = work.figure(f"logo churn {ym}", "%", f"select 100.0 * logo_churn_rate {where}")
    parts = []
    if ratio:
        parts.append(f"LTV:CAC {num(ratio.value, lang, 1)}x")
    if payback:
        parts.append(
            f"payback do CAC {num(payback.value, lang, 1)} meses"
            if pt
            else f"CAC payback {num(payback.value, lang, 1)} months"
        )
    if churn:
        parts.append(f"churn de logos {pct(churn.value, lang)}" if pt else f"logo churn {pct(churn.value, lang)}")
    if not parts:
        return [f"Sem unit economics para {label}." if pt else f"No unit economics for {label}."]
    line = f"Unit economics de {label}: " if pt else f"Unit economics for {label}: "
    if ratio and ratio.value < 3:
        parts[0] += " (abaixo da referência de 3x)" if pt else " (below the usual 3x bar)"
    return [line + ", ".join(parts) + "."]


def _scenarios(
    work: Work,
    facts: FinanceFacts,
    asked: Sequence[str] | None,
    horizon: int | None,
    tables: Sequence[str],
    text: list[str],
) -> list[ScenarioSummary]:
    lang, pt = work.lang, work.lang == "pt"
    names = SCENARIO_NAMES[lang]
    if PROJECTED not in tables or not facts.available:
        text.append(
            f"Cenários: não há projeção no warehouse ({PROJECTED} vazio ou ausente): materialize o asset "
            "forecasts/revenue e o modelo fct_dre_projected."
            if pt
            else f"Scenarios: there is no projection in the warehouse ({PROJECTED} empty or missing): materialize "
            "the forecasts/revenue asset and the fct_dre_projected model."
        )
        return []
    missing = [s for s in (asked or []) if s not in facts.requested]
    if missing:
        listed = ", ".join(names.get(s, s) for s in missing)
        text.append(f"Cenários sem projeção: {listed}." if pt else f"Scenarios without a projection: {listed}.")
    if not facts.requested:
        return []
    span = work.rows(
        f"select min(month), max(month), max(forecast_model), count(distinct month) from {PROJECTED} "
        f"where {_within(horizon)}"
    )
    first, last, model, count = span[0] if span else (None, None, None, 0)
    first, last = as_date(first), as_date(last)
    if horizon and count < horizon:
        text.append(
            f"A projeção cobre só {count} dos {horizon} meses pedidos."
            if pt
            else f"The projection covers only {count} of the {horizon} months asked."
        )
    if first and last:
        text.append(
            f"Cenários projetados de {month_label(first, lang)} a {month_label(last, lang)} (modelo {model}), "
            "somas do período:"
            if pt
            else f"Projected scenarios from {month_label(first, lang)} to {month_label(last, lang)} "
            f"(model {model}), sums over the period:"
        )
    summaries = []
    for scenario in facts.requested:
        where = f"from {PROJECTED} where scenario = {lit(scenario)} and {_within(horizon)}"
        months = work.figure(f"{scenario} projected months", "months", f"select count(distinct month) {where}")
        net = work.figure(
            f"{scenario} receita_liquida, projection sum",
            "BRL",
            f"select sum(amount_brl) {where} and line_key = 'receita_liquida'",
        )
        profit = work.figure(
            f"{scenario} lucro_liquido, projection sum",
            "BRL",
            f"select sum(amount_brl) {where} and line_key = 'lucro_liquido'",
        )
        if months is None or net is None or profit is None or months.value < 1:
            continue
        summaries.append(
            ScenarioSummary(
                scenario=scenario,  # type: ignore[arg-type]
                months=int(months.value),
                receita_liquida_brl=net.value,
                lucro_liquido_brl=profit.value,
            )
        )
        one = int(months.value) == 1
        n = num(months.value, lang, 0) + ((" mês" if one else " meses") if pt else (" month" if one else " months"))
        text.append(
            f"- {names[scenario]} ({n}): receita líquida {brl(net.value, lang)}; "
            f"lucro líquido {brl(profit.value, lang)}."
            if pt
            else f"- {names[scenario]} ({n}): net revenue {brl(net.value, lang)}; net income {brl(profit.value, lang)}."
        )
    return summaries


# -- validators -------------------------------------------------------------------------------------


def _close(a: float | None, b: float | None) -> bool:
    return same_number(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def check_report(report: FinanceReport, facts: FinanceFacts) -> list[str]:
    """The period, the DRE lines and the scenarios must be the marts'."""
    errors: list[str] = []
    if report.period != facts.period:
        errors.append(f"period must be {facts.period!r}, not {report.period!r}")
    expected = [line.line_key for line in facts.lines]
    given = [line.line_key for line in report.lines]
    if given != expected:
        errors.append(f"lines must be the {DRE} lines of {facts.period} in DRE order: {expected}, not {given}")
    else:
        for line, truth in zip(report.lines, facts.lines, strict=True):
            for name in ("amount_brl", "pct_of_net_revenue", "previous_amount_brl"):
                if not _close(getattr(line, name), getattr(truth, name)):
                    errors.append(
                        f"line {truth.line_key!r}: {name} is {getattr(truth, name)} in {DRE}, not {getattr(line, name)}"
                    )
    known = ", ".join(facts.available) or "none"
    seen: list[str] = []
    for summary in report.scenarios:
        name = summary.scenario
        truth = facts.available.get(name)
        if name in seen:
            errors.append(f"scenario {name!r} appears twice")
            continue
        seen.append(name)
        if truth is None:
            errors.append(f"scenario {name!r} is not in {PROJECTED} (scenarios there: {known})")
            continue
        if name not in facts.requested:
            errors.append(f"scenario {name!r} was not asked for (asked: {', '.join(facts.requested) or 'none'})")
            continue
        if summary.months != truth.months:
            errors.append(f"scenario {name!r}: {PROJECTED} projects {truth.months} months, not {summary.months}")
        if not _close(summary.receita_liquida_brl, truth.receita_liquida_brl):
            errors.append(
                f"scenario {name!r}: receita líquida sums to {truth.receita_liquida_brl:.2f} over the projection, "
                f"not {summary.receita_liquida_brl:.2f}"
            )
        if not _close(summary.lucro_liquido_brl, truth.lucro_liquido_brl):
            errors.append(
                f"scenario {name!r}: lucro líquido sums to {truth.lucro_liquido_brl:.2f} over the projection, "
                f"not {summary.lucro_liquido_brl:.2f}"
            )
    absent = [s for s in facts.requested if s not in seen]
    if absent:
        errors.append(f"scenarios asked for and projected are missing: {', '.join(absent)}")
    elif [s for s in seen if s in facts.requested] != facts.requested:
        errors.append(f"scenarios must come in scenario order: {', '.join(facts.requested)}")
    return errors


def report_rule(facts: FinanceFacts) -> Callable[[FinanceReport], list[str]]:
    return lambda report: check_report(report, facts)


# -- the LLM path -----------------------------------------------------------------------------------

SYSTEM_PROMPT = """You are the Finance analyst of a revenue-operations platform for +Pet, a Brazilian pet-care \
subscription e-commerce (money in BRL; the DRE is the Brazilian income statement, signed as it shows: revenue \
positive, costs negative; months are São Paulo calendar months). Comment the DRE of {period} in the language \
'{language}': receita bruta, receita líquida, margem bruta %, EBITDA and margin, lucro líquido and margin; the \
change against the previous month and the same month a year before when the facts have them; the largest cost \
line movements; the month's unit economics (LTV:CAC, CAC payback, churn); and for each scenario the sums of \
receita líquida and lucro líquido over the projection horizon.
Copy `period`, `lines` and `scenarios` from the vetted facts below exactly: they are checked against the marts, \
and a scenario that is not there, or was not asked for, is rejected. Rules for numbers: every number you state \
must be a figure in `figures`, and each figure's `sql` must be one SELECT over the tables below, \
schema-qualified, that returns exactly one value (one row, one column) equal to `value`: it is run again and \
compared. Write dates as DATE 'YYYY-MM-DD'. Never invent a number; when the facts lack something, say so.

Tables (schema.table(column type, ...)):
{tables}

Vetted facts (computed from these tables):
{facts}"""


def report_messages(request: str, lang: str, tables: str, facts: FinanceReport) -> list[tuple[str, str]]:
    vetted = json.dumps(facts.model_dump(include={"period", "lines", "scenarios", "figures"}), ensure_ascii=False)
    system = SYSTEM_PROMPT.format(period=facts.period or "n/a", language=lang, tables=tables, facts=vetted)
    return [("system", system), ("human", request)]


def report_finance(
    runtime: AgentRuntime,
    sql: SqlTool,
    *,
    month: dt.date | None = None,
    scenarios: Sequence[str] | None = None,
    request: str | None = None,
    decision: RouteDecision | None = None,
    horizon_months: int | None = None,
) -> FinanceReport:
    """The month's DRE commented, with unit economics and scenarios, through the runtime (see the module doc).

    ``horizon_months`` (default: the request's "próximos N meses", else the whole projection) limits the
    scenario sums to the first N projected months.
    """
    if decision is None and request:
        decision = route(request, runtime)
    lang = decision.language if decision else detect_language(request) if request else "pt"
    lang = "pt" if lang == "pt" else "en"
    chosen = normalize_scenarios(scenarios) if scenarios is not None else parse_scenarios(request)
    horizon = horizon_months or (decision.horizon_months if decision else None)
    with sql.session():  # one read-only connection for the analysis and the re-check
        last = last_complete_month(sql)
        target = month.replace(day=1) if month else parse_month(request, last) or last
        facts = FinanceFacts.load(sql, target, chosen, horizon=horizon)
        validators = [figures_rule(sql), report_rule(facts)]
        messages = None
        if runtime.is_llm:
            vetted = report_offline(sql, lang=lang, month=target, scenarios=chosen, horizon=horizon)
            text = request or ("Comente o DRE do mês passado." if lang == "pt" else "Comment last month's DRE.")
            messages = report_messages(text, lang, sql.describe(), vetted)
            validators.append(language_rule(lang))
        return runtime.run(
            "finance",
            FinanceReport,
            messages=messages,
            offline=lambda: report_offline(sql, lang=lang, month=target, scenarios=chosen, horizon=horizon),
            validators=validators,
        )


__all__ = [
    "SCENARIOS",
    "SYSTEM_PROMPT",
    "FinanceFacts",
    "check_report",
    "last_complete_month",
    "normalize_scenarios",
    "parse_month",
    "parse_scenarios",
    "report_finance",
    "report_messages",
    "report_offline",
    "report_rule",
    "scenarios_sql",
]
