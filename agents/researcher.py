"""Researcher: answers analytical questions from the marts; every number comes from a query it ran.

``research(request, runtime, sql)``:

* **offline** — the question is mapped to a vetted analysis (:func:`detect_topic`):

  - ``churn_by_cohort`` (churn, coorte, cohort, retenção): the last N complete months (N from the request,
    default 3; ``lookback_days`` → ⌈days ÷ 30⌉ months). Monthly logo churn from ``marts.fct_churn_monthly``
    and its average over the window (Σ churned ÷ Σ active at the start); per cohort (the 12 most recent
    with customers at risk) the average monthly logo churn over the window from ``marts.fct_mrr_movements``
    — churn movements ÷ customers with MRR in the previous month, METRICS.md's definition per cohort;
  - ``cac_ltv_by_channel`` (CAC, LTV, payback, canal): paid CAC per channel over the last N complete months
    (default 3) from ``marts.fct_cac`` (Σ spend ÷ Σ new customers), blended CAC over the same months,
    formula LTV per channel from ``marts.fct_ltv`` and LTV:CAC;
  - ``revenue_forecast`` (forecast, previsão, projeção): the next H months (default 6) of gross revenue
    (``receita_bruta``) from ``forecasts.revenue`` with the 80 % interval, and the backtest's MASE beside the
    seasonal-naive baseline from ``forecasts.revenue_backtest`` (said plainly when the baseline wins);
  - ``overview`` otherwise: the latest complete month of ``marts.fct_unit_economics``.

  Each :class:`~agents.schemas.Figure` carries the query that returns exactly its value (dates written
  out, so it can be re-run later and still mean the same thing); ``queries`` lists every query run.
* **LLM** — the model gets the allowed tables and columns, the rules for figures, and the vetted figures
  of the offline analysis as facts it may cite; it returns a :class:`~agents.schemas.ResearchAnswer`.
  Whatever path, the guardrail re-runs every figure's query and the answer is rejected (after one retry
  that tells the model the real values) when a number does not match.

The answer is written in the request's language (``pt`` or ``en`` offline).
"""

from __future__ import annotations

import json
import re

from agents.analysis import (
    Work,
    add_months,
    as_date,
    brl,
    complete_window,
    date_sql,
    lit,
    lookback_months,
    month_label,
    no_data,
    num,
    pct,
    period_label,
)
from agents.guardrails import figures_rule, language_rule
from agents.router import fold, route
from agents.runtime import AgentRuntime
from agents.schemas import Figure, ResearchAnswer, RouteDecision
from agents.sql_tool import SqlTool, UnsafeQuery

DEFAULT_HORIZON_MONTHS = 6
MAX_COHORTS = 12
FORECAST_SERIES = "receita_bruta"

_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("revenue_forecast", re.compile(r"\b(forecast\w*|previs\w*|projec\w*|projet\w*|predict\w*)\b")),
    ("cac_ltv_by_channel", re.compile(r"\b(cac|ltv|payback|lifetime value|custo de aquisicao|acquisition cost)\b")),
    ("churn_by_cohort", re.compile(r"\b(churn|coortes?|cohorts?|retencao|retention|cancelamentos?)\b")),
)


def detect_topic(request: str) -> str:
    text = fold(request)
    for topic, pattern in _TOPICS:
        if pattern.search(text):
            return topic
    return "overview"


def churn_by_cohort(work: Work, decision: RouteDecision) -> str:
    lang, months = work.lang, lookback_months(decision)
    window = complete_window(work, "marts.fct_churn_monthly", months)
    if window is None:
        return no_data(lang, "churn" if lang == "en" else "o churn")
    start, end = window
    between = f"month between {date_sql(start)} and {date_sql(end)}"
    monthly = []
    month = start
    while month <= end:
        f = work.figure(
            f"logo churn {month:%Y-%m}",
            "%",
            f"select 100.0 * logo_churn_rate from marts.fct_churn_monthly where month = {date_sql(month)}",
        )
        if f is not None:
            monthly.append((month, f))
        month = add_months(month, 1)
    average = work.figure(
        f"logo churn, monthly average {start:%Y-%m}..{end:%Y-%m}",
        "%",
        "select 100.0 * sum(churned_customers) / nullif(sum(active_customers_start), 0) "
        f"from marts.fct_churn_monthly where {between}",
    )
    at_risk = "sum(case when previous_mrr_brl > 0 then 1 else 0 end)"
    churned = "sum(case when movement = 'churn' then 1 else 0 end)"
    cohorts = work.rows(
        f"select cohort_month from marts.fct_mrr_movements where {between} "
        f"group by cohort_month having {at_risk} > 0 order by cohort_month desc limit {MAX_COHORTS}"
    )
    lines = []
    for (cohort_value,) in cohorts:
        cohort = as_date(cohort_value)
        assert cohort is not None
        where = f"from marts.fct_mrr_movements where cohort_month = {date_sql(cohort)} and {between}"
        rate = work.figure(
            f"cohort {cohort:%Y-%m} logo churn", "%", f"select 100.0 * {churned} / nullif({at_risk}, 0) {where}"
        )
        count = work.figure(f"cohort {cohort:%Y-%m} churned customers", "customers", f"select {churned} {where}")
        if rate is not None and count is not None:
            lines.append((cohort, rate, count))

    period = period_label(start, end, lang)
    by_month = ", ".join(f"{month_label(m, lang)}: {pct(f.value, lang)}" for m, f in monthly)
    if lang == "pt":
        text = [f"Churn de logos nos últimos {months} meses completos ({period})"]
        text[0] += f": média de {pct(average.value, lang)} ao mês ({by_month})." if average else "."
        if lines:
            text.append("Por coorte (churn médio mensal no período; coortes mais recentes primeiro):")
            text += [
                f"- {month_label(c, lang)}: {pct(r.value, lang)} ({int(n.value)} cancelamentos)" for c, r, n in lines
            ]
            worst = max(lines, key=lambda x: x[1].value)
            text.append(f"Maior churn entre elas: coorte {month_label(worst[0], lang)} ({pct(worst[1].value, lang)}).")
        text.append(
            "Definição (METRICS.md): clientes que cancelaram no mês ÷ clientes ativos no fim do mês anterior; "
            "por coorte, a soma do período de cada lado."
        )
    else:
        text = [f"Logo churn over the last {months} complete months ({period})"]
        text[0] += f": {pct(average.value, lang)} a month on average ({by_month})." if average else "."
        if lines:
            text.append("By cohort (average monthly churn over the period; newest cohorts first):")
            text += [f"- {month_label(c, lang)}: {pct(r.value, lang)} ({int(n.value)} churned)" for c, r, n in lines]
            worst = max(lines, key=lambda x: x[1].value)
            text.append(f"Highest among them: the {month_label(worst[0], lang)} cohort ({pct(worst[1].value, lang)}).")
        text.append(
            "Definition (METRICS.md): customers who churned in the month ÷ customers active at the end of the "
            "previous month; per cohort, each side summed over the period."
        )
    return "\n".join(text)


def cac_ltv_by_channel(work: Work, decision: RouteDecision) -> str:
    lang, months = work.lang, lookback_months(decision)
    window = complete_window(work, "marts.fct_cac", months)
    if window is None:
        return no_data(lang, "CAC")
    start, end = window
    between = f"month between {date_sql(start)} and {date_sql(end)}"
    spend = work.rows(
        "select channel, sum(spend_brl) as spend_brl, sum(new_customers) as new_customers "
        f"from marts.fct_cac where {between} group by channel order by channel"
    )
    ltv_channels = {
        str(r[0])
        for r in work.rows(
            "select dimension_value from marts.fct_ltv where method = 'formula' and dimension = 'channel' "
            "order by dimension_value"
        )
    }
    cac_sql = (
        "select sum(spend_brl) / nullif(sum(new_customers), 0) as cac_brl from marts.fct_cac "
        "where channel = {ch} and " + between
    )
    ltv_sql = (
        "select ltv_brl from marts.fct_ltv "
        "where method = 'formula' and dimension = 'channel' and dimension_value = {ch}"
    )
    paid, unpaid = [], []
    for channel_value, spent, _new in spend:
        channel = str(channel_value)
        ch = lit(channel)
        new = work.figure(
            f"{channel} new customers",
            "customers",
            f"select sum(new_customers) from marts.fct_cac where channel = {ch} and {between}",
        )
        ltv = work.figure(f"{channel} LTV (formula)", "BRL", ltv_sql.format(ch=ch)) if channel in ltv_channels else None
        if spent and float(spent) > 0:
            cac = work.figure(f"{channel} paid CAC", "BRL", cac_sql.format(ch=ch))
            ratio = None
            if cac is not None and ltv is not None:
                ratio = work.figure(
                    f"{channel} LTV:CAC",
                    "ratio",
                    f"select l.ltv_brl / c.cac_brl from ({ltv_sql.format(ch=ch)}) as l, ({cac_sql.format(ch=ch)}) as c",
                )
            paid.append((channel, new, cac, ltv, ratio))
        else:
            unpaid.append((channel, new, ltv))
    blended = work.figure(
        f"blended CAC {start:%Y-%m}..{end:%Y-%m}",
        "BRL",
        "select sum(sales_marketing_spend_brl) / nullif(sum(total_new_customers), 0) from "
        "(select distinct month, sales_marketing_spend_brl, total_new_customers "
        f"from marts.fct_cac where {between}) as m",
    )

    period = period_label(start, end, lang)
    pt = lang == "pt"

    def money(f: Figure | None) -> str:
        return brl(f.value, lang) if f else "n/d" if pt else "n/a"

    text = [
        f"CAC e LTV por canal de aquisição ({period}):" if pt else f"CAC and LTV by acquisition channel ({period}):"
    ]
    for channel, new, cac, ltv, ratio in sorted(paid, key=lambda p: -(p[4].value if p[4] else 0)):
        ratio_text = f"{num(ratio.value, lang, 1)}x" if ratio else ("n/d" if pt else "n/a")
        customers = int(new.value) if new else 0
        text.append(
            f"- {channel}: CAC {money(cac)}, LTV {money(ltv)}, LTV:CAC {ratio_text} "
            + (f"({customers} novos clientes)" if pt else f"({customers} new customers)")
        )
    for channel, new, ltv in unpaid:
        customers = int(new.value) if new else 0
        text.append(
            f"- {channel}: sem mídia paga, LTV {money(ltv)} ({customers} novos clientes)"
            if pt
            else f"- {channel}: no paid spend, LTV {money(ltv)} ({customers} new customers)"
        )
    if blended:
        text.append(
            f"CAC blended (todo o gasto de vendas e marketing ÷ todos os novos clientes): {brl(blended.value, lang)}."
            if pt
            else f"Blended CAC (all sales & marketing spend ÷ all new customers): {brl(blended.value, lang)}."
        )
    text.append(
        "LTV pela fórmula (ARPA × margem bruta ÷ churn médio de 6 meses); a referência usual é LTV:CAC ≥ 3."
        if pt
        else "LTV by formula (ARPA × gross margin ÷ trailing 6-month churn); the usual bar is LTV:CAC ≥ 3."
    )
    return "\n".join(text)


def revenue_forecast(work: Work, decision: RouteDecision) -> str:
    lang, pt = work.lang, work.lang == "pt"
    horizon = decision.horizon_months or DEFAULT_HORIZON_MONTHS
    tables = work.sql.tables()
    if "forecasts.revenue" not in tables:
        return (
            "Não há previsão de receita no warehouse: materialize o asset forecasts/revenue primeiro."
            if pt
            else "There is no revenue forecast in the warehouse: materialize the forecasts/revenue asset first."
        )
    series = lit(FORECAST_SERIES)
    months = [
        as_date(r[0])
        for r in work.rows(f"select ds from forecasts.revenue where series = {series} order by ds limit {horizon}")
    ]
    if not months:
        return no_data(lang, "a previsão de receita" if pt else "the revenue forecast")
    model = work.value(f"select max(model) from forecasts.revenue where series = {series}")
    lines = []
    for month in months:
        assert month is not None
        where = f"from forecasts.revenue where series = {series} and ds = {date_sql(month)}"
        y = work.figure(f"gross revenue forecast {month:%Y-%m}", "BRL", f"select yhat {where}")
        lo = work.figure(f"gross revenue forecast {month:%Y-%m}, 80% lower bound", "BRL", f"select yhat_lower {where}")
        hi = work.figure(f"gross revenue forecast {month:%Y-%m}, 80% upper bound", "BRL", f"select yhat_upper {where}")
        if y and lo and hi:
            lines.append(
                f"- {month_label(month, lang)}: {brl(y.value, lang)} ({brl(lo.value, lang)} – {brl(hi.value, lang)})"
            )
    total = work.figure(
        f"gross revenue forecast, next {len(months)} months",
        "BRL",
        "select sum(yhat) from (select yhat from forecasts.revenue "
        f"where series = {series} order by ds limit {len(months)}) as f",
    )
    if pt:
        text = [f"Previsão de receita bruta para os próximos {len(months)} meses (modelo {model}; intervalo de 80%):"]
        if len(months) < horizon:
            text[0] = f"A previsão cobre só {len(months)} dos {horizon} meses pedidos. " + text[0]
    else:
        text = [f"Gross revenue forecast for the next {len(months)} months (model {model}; 80% interval):"]
        if len(months) < horizon:
            text[0] = f"The forecast covers only {len(months)} of the {horizon} months asked. " + text[0]
    text += lines
    if total:
        text.append(f"Total: {brl(total.value, lang)}.")
    if "forecasts.revenue_backtest" in tables:
        chosen = work.figure(
            "backtest MASE, published model",
            "ratio",
            f"select max(mase) from forecasts.revenue_backtest where series = {series} and chosen",
        )
        naive = work.figure(
            "backtest MASE, seasonal naive",
            "ratio",
            f"select max(mase) from forecasts.revenue_backtest where series = {series} and model = 'seasonal_naive'",
        )
        if chosen and naive:
            beaten = chosen.value >= naive.value
            if pt:
                text.append(
                    f"Backtest: MASE {num(chosen.value, lang, 3)} contra {num(naive.value, lang, 3)} "
                    "do ingênuo sazonal"
                    + (" — ATENÇÃO: o ingênuo sazonal foi melhor; use esta previsão com cautela." if beaten else ".")
                )
            else:
                text.append(
                    f"Backtest: MASE {num(chosen.value, lang, 3)} against {num(naive.value, lang, 3)} "
                    "for seasonal naive"
                    + (" — WARNING: seasonal naive did better; use this forecast with care." if beaten else ".")
                )
    return "\n".join(text)


def overview(work: Work, decision: RouteDecision) -> str:
    lang, pt = work.lang, work.lang == "pt"
    last = as_date(work.value("select max(month) from marts.fct_unit_economics where is_complete"))
    if last is None:
        return no_data(lang, "os indicadores" if pt else "the metrics")
    where = f"from marts.fct_unit_economics where month = {date_sql(last)}"
    mrr = work.figure(f"MRR {last:%Y-%m}", "BRL", f"select mrr_brl {where}")
    active = work.figure(f"active customers {last:%Y-%m}", "customers", f"select active_customers {where}")
    churn = work.figure(f"logo churn {last:%Y-%m}", "%", f"select 100.0 * logo_churn_rate {where}")
    arpa = work.figure(f"ARPA {last:%Y-%m}", "BRL", f"select arpa_brl {where}")
    cac = work.figure(f"blended CAC {last:%Y-%m}", "BRL", f"select blended_cac_brl {where}")
    ratio = work.figure(f"LTV:CAC {last:%Y-%m}", "ratio", f"select ltv_to_cac_ratio {where}")
    parts = []
    if mrr:
        parts.append(f"MRR {brl(mrr.value, lang)}")
    if active:
        parts.append(f"{int(active.value)} {'clientes ativos' if pt else 'active customers'}")
    if churn:
        parts.append(f"churn {pct(churn.value, lang)}")
    if arpa:
        parts.append(f"ARPA {brl(arpa.value, lang)}")
    if cac:
        parts.append(f"CAC blended {brl(cac.value, lang)}")
    if ratio:
        parts.append(f"LTV:CAC {num(ratio.value, lang, 1)}x")
    head = f"Resumo de {month_label(last, lang)}: " if pt else f"Summary for {month_label(last, lang)}: "
    return head + ", ".join(parts) + "."


_ANALYSES = {
    "churn_by_cohort": churn_by_cohort,
    "cac_ltv_by_channel": cac_ltv_by_channel,
    "revenue_forecast": revenue_forecast,
    "overview": overview,
}


def research_offline(request: str, decision: RouteDecision, sql: SqlTool) -> ResearchAnswer:
    """The vetted analysis for the question, from the marts (see the module doc)."""
    lang = "pt" if decision.language == "pt" else "en"
    work = Work(sql, lang)
    answer = _ANALYSES[detect_topic(request)](work, decision)
    return ResearchAnswer(question=request, language=lang, answer=answer, figures=work.figures, queries=work.queries)


# -- the LLM path -----------------------------------------------------------------------------------

SYSTEM_PROMPT = """You are the Researcher of a revenue-operations platform for +Pet, a Brazilian pet-care \
subscription e-commerce (money in BRL, months are São Paulo calendar months; rows with is_complete = false are the \
month in progress). Answer the question from the warehouse tables below, in the language '{language}'.
Rules for numbers: every number you state must be a figure in `figures`, and each figure's `sql` must be one \
SELECT over the tables below, schema-qualified (e.g. marts.fct_cac), that returns exactly one value (one row, one \
column) equal to `value`: it is run again and compared. Write dates as DATE 'YYYY-MM-DD'. Put every query you rely \
on in `queries`. Never invent a number; if the tables cannot answer, say so.

Tables (schema.table(column type, ...)):
{tables}

Vetted figures already computed from these tables (value and the query that returns it), which you may cite:
{facts}"""


def research_messages(
    request: str, decision: RouteDecision, tables: str, facts: ResearchAnswer
) -> list[tuple[str, str]]:
    vetted = json.dumps([f.model_dump() for f in facts.figures], ensure_ascii=False)
    system = SYSTEM_PROMPT.format(language=decision.language, tables=tables, facts=vetted)
    return [("system", system), ("human", request)]


def check_queries(answer: ResearchAnswer, sql: SqlTool) -> list[str]:
    """Every listed query must be one the read-only tool accepts."""
    errors = []
    for query in answer.queries:
        try:
            sql.check(query)
        except UnsafeQuery as exc:
            errors.append(f"query {query[:80]!r} is not allowed: {exc}")
    return errors


def research(
    request: str, runtime: AgentRuntime, sql: SqlTool, *, decision: RouteDecision | None = None
) -> ResearchAnswer:
    """Answer ``request`` from the marts through the runtime (offline analysis or LLM); figures re-checked."""
    decision = decision or route(request, runtime)
    validators = [figures_rule(sql), lambda answer: check_queries(answer, sql)]
    with sql.session():  # one read-only connection for the analysis and the re-check
        messages = None
        if runtime.is_llm:
            facts = research_offline(request, decision, sql)
            messages = research_messages(request, decision, sql.describe(), facts)
            validators.append(language_rule(decision.language))
        return runtime.run(
            "researcher",
            ResearchAnswer,
            messages=messages,
            offline=lambda: research_offline(request, decision, sql),
            validators=validators,
        )


__all__ = [
    "SYSTEM_PROMPT",
    "check_queries",
    "detect_topic",
    "research",
    "research_messages",
    "research_offline",
]
