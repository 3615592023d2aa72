"""Router: which agent handles a request, in which language, with which parameters.

``route(request, runtime)`` goes through the runtime: with an LLM provider the model fills a
:class:`~agents.schemas.RouteDecision` (structured output); offline, :func:`route_offline` applies the
rules below. Both paths return the same schema.

Offline rules (accents and case ignored, pt-BR and English):

* **intent**, first rule that matches: *automate* (playbook, sincronizar/sync, automação, HubSpot, Notion,
  Slack; or a request that starts with dispare/envie/agende/send/schedule) → *campaign* (campanha,
  campaign, template, e-mail marketing, teste A/B) → *plan* (plano de mídia/retenção/…, media/retention
  plan, mídia, alocar/allocate budget, planejar) → *finance* (DRE, P&L, cenários/scenarios, EBITDA,
  margem, lucro, financeiro) → *sales* (funil/funnel, pipeline, deals, vendas/sales, win rate,
  velocidade) → *analyse* (everything else: churn, coortes, CAC, LTV, MRR, forecast, …).
  A **revenue forecast** ("Gere forecast de receita para próximos 6 meses") is *analyse*: the
  Researcher answers it from ``forecasts.revenue``; *finance* is the DRE, its scenarios and margins.
* **language**: ``pt`` or ``en`` by counting common function words of each language (accented letters
  count for Portuguese); a tie, or no clue, is ``pt`` — the company's language.
* **parameters**: a budget (``R$ 1000``, ``R$ 1.500,50``, ``5 mil reais``, ``budget 5000``, ``BRL 5k``);
  ``últimos/last N dias|semanas|meses|anos`` → ``lookback_days`` or ``lookback_months`` (weeks → days,
  years → months; "mês passado"/"last month" → 1 month); ``próximos/next N meses`` → ``horizon_months``;
  a channel named explicitly (WhatsApp, e-mail, Google Ads, Meta Ads, Instagram, orgânico, indicação); a
  segment (inativos → ``inactive_60d``, em risco → ``at_risk``, VIP, fiéis → ``loyal``, novos → ``new``,
  cancelados → ``churned``); a region (Brazilian state names, large cities, or a state code after
  em/no/na/para/in, e.g. "em SP").
"""

from __future__ import annotations

import math
import re
import unicodedata

from agents.runtime import AgentRuntime
from agents.schemas import RouteDecision


def fold(text: str) -> str:
    """Lower case without accents: 'Análise' -> 'analise'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


# -- intent -----------------------------------------------------------------------------------------

_AUTOMATE = re.compile(r"\b(playbook|sincroniz\w*|sync\w*|automat\w*|automacao|automacoes|hubspot|notion|slack)\b")
_AUTOMATE_START = re.compile(r"^\W*(dispar[ae]\w*|envi[ea]r?|agend[ae]r?|send|schedule)\b")
_INTENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("campaign", re.compile(r"\b(campanhas?|campaigns?|templates?|e-?mail marketing|teste a/?b|a/?b test)\b")),
    (
        "plan",
        re.compile(
            r"\b(planos? de (midia|retencao|acao|marketing|crescimento|investimento)"
            r"|(media|retention|marketing|growth|action) plan|midia|planej\w*|aloca\w*|allocat\w*"
            r"|distribu\w*\W+(\w+\W+){0,2}(budget|orcamento|verba))\b"
        ),
    ),
    (
        "finance",
        re.compile(
            r"\b(dre|p&l|income statement|demonstracao do resultado|cenarios?|scenarios?|ebitda|margem|margens"
            r"|margins?|lucro|profit|financeir\w*|financial)\b"
        ),
    ),
    (
        "sales",
        re.compile(
            r"\b(funil|funnel|pipeline|deals?|negocios|vendas|sales|win rate|taxa de ganho|velocidade|velocity)\b"
        ),
    ),
)


def classify_intent(request: str) -> tuple[str, str]:
    """(intent, the keyword that decided it)."""
    text = fold(request)
    if match := _AUTOMATE.search(text) or _AUTOMATE_START.search(text):
        return "automate", match.group(1)
    for intent, pattern in _INTENT_RULES:
        if match := pattern.search(text):
            return intent, match.group(1)
    return "analyse", ""


# -- language ---------------------------------------------------------------------------------------

_PT_WORDS = frozenset(
    [
        "de",
        "do",
        "da",
        "dos",
        "das",
        "para",
        "com",
        "os",
        "um",
        "uma",
        "uns",
        "umas",
        "por",
        "que",
        "nao",
        "sim",
        "e",
        "o",
        "ao",
        "aos",
        "no",
        "na",
        "nos",
        "nas",
        "em",
        "meses",
        "mes",
        "dias",
        "ultimos",
        "ultimas",
        "proximos",
        "proximas",
        "clientes",
        "crie",
        "gere",
        "analise",
        "calcule",
        "preciso",
        "qual",
        "quais",
        "quanto",
        "quantos",
        "como",
        "sincronize",
        "contatos",
        "canal",
        "canais",
        "receita",
        "orcamento",
        "plano",
        "passado",
        "cenarios",
        "coorte",
        "coortes",
        "inativos",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "of",
        "for",
        "with",
        "and",
        "last",
        "next",
        "months",
        "month",
        "days",
        "by",
        "to",
        "what",
        "which",
        "how",
        "is",
        "are",
        "customers",
        "create",
        "build",
        "show",
        "calculate",
        "analyze",
        "please",
        "channel",
        "channels",
        "revenue",
        "plan",
        "past",
        "scenarios",
        "cohort",
        "cohorts",
        "inactive",
        "our",
        "my",
        "give",
        "make",
        "run",
        "me",
    ]
)
_PT_LETTERS = re.compile(r"[ãõçáéíóúâêôà]", re.IGNORECASE)


def detect_language(text: str) -> str:
    """'pt' or 'en' (see the module doc)."""
    words = re.findall(r"[a-z]+", fold(text))
    pt = sum(w in _PT_WORDS for w in words) + 2 * len(_PT_LETTERS.findall(text))
    en = sum(w in _EN_WORDS for w in words)
    return "en" if en > pt else "pt"


# -- parameters -------------------------------------------------------------------------------------


def parse_amount(number: str, multiplier: str | None = None) -> float:
    """'1.000,50' -> 1000.5, '1,000.50' -> 1000.5, '5.000' -> 5000, '2,5' + 'mil' -> 2500."""
    number = number.strip().rstrip(".,")
    if "." in number and "," in number:
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        value = float(number.replace(thousands, "").replace(decimal, "."))
    elif "." in number or "," in number:
        sep = "." if "." in number else ","
        groups = number.split(sep)
        if len(groups) > 2 or all(len(g) == 3 for g in groups[1:]):
            value = float("".join(groups))  # thousands separators
        else:
            value = float(number.replace(",", "."))
    else:
        value = float(number)
    if multiplier in ("mil", "k"):
        value *= 1000
    elif multiplier in ("mi", "milhao", "milhoes", "m"):
        value *= 1_000_000
    return value


_NUMBER = r"(\d[\d.,]*\d|\d)"
_MULT = r"(?:\s*(mil|k|mi|milhao|milhoes)\b)?"
_BUDGET_PATTERNS = (
    re.compile(r"(?:r\$|brl)\s*" + _NUMBER + _MULT),
    re.compile(_NUMBER + _MULT + r"\s*(?:reais|brl)\b"),
    re.compile(r"\b(?:budget|orcamento|verba|investimento)\s*(?:de|of|:|=)?\s*(?:r\$|brl)?\s*" + _NUMBER + _MULT),
)


def extract_budget(text: str) -> float | None:
    folded = fold(text)
    for pattern in _BUDGET_PATTERNS:
        if match := pattern.search(folded):
            return parse_amount(match.group(1), match.group(2))
    return None


_UNIT = r"(dias?|days?|semanas?|weeks?|mes|meses|months?|anos?|years?)"
_LOOKBACK = re.compile(r"\b(?:ultim[oa]s|last|past|previous)\s+(\d+)\s+" + _UNIT + r"\b")
_LAST_PERIOD = re.compile(
    r"\b(mes passado|ultimo mes|last month|previous month|trimestre passado|ultimo trimestre|last quarter"
    r"|ano passado|ultimo ano|last year)\b"
)
_HORIZON = re.compile(r"\b(?:proxim[oa]s|next|coming|following|seguintes)\s+(\d+)\s+" + _UNIT + r"\b")


def _months(n: int, unit: str) -> int:
    if unit.startswith(("ano", "year")):
        return n * 12
    if unit.startswith(("semana", "week")):
        return max(1, math.ceil(n * 7 / 30))
    if unit.startswith(("dia", "day")):
        return max(1, math.ceil(n / 30))
    return n


def extract_periods(text: str) -> dict[str, int]:
    folded = fold(text)
    out: dict[str, int] = {}
    if match := _LOOKBACK.search(folded):
        n, unit = int(match.group(1)), match.group(2)
        if unit.startswith(("dia", "day")):
            out["lookback_days"] = n
        elif unit.startswith(("semana", "week")):
            out["lookback_days"] = 7 * n
        else:
            out["lookback_months"] = _months(n, unit)
    elif match := _LAST_PERIOD.search(folded):
        phrase = match.group(1)
        out["lookback_months"] = (
            3 if "trimestre" in phrase or "quarter" in phrase else 12 if "ano" in phrase or "year" in phrase else 1
        )
    if match := _HORIZON.search(folded):
        out["horizon_months"] = _months(int(match.group(1)), match.group(2))
    return out


_CHANNELS = (
    ("whatsapp", r"\b(whatsapp|whats|zap|wpp)\b"),
    ("email", r"\b(e-?mails?)\b"),
    ("google_ads", r"\b(google ads|google)\b"),
    ("meta_ads", r"\b(meta ads|facebook ads|facebook|meta)\b"),
    ("instagram", r"\b(instagram|insta)\b"),
    ("organic", r"\b(organico|organic|seo)\b"),
    ("referral", r"\b(indicacao|indicacoes|referral|referrals)\b"),
)


def extract_channel(text: str) -> str | None:
    folded = fold(text)
    found = [(m.start(), channel) for channel, p in _CHANNELS if (m := re.search(p, folded))]
    return min(found)[1] if found else None


_SEGMENTS = (
    ("inactive_60d", r"\b(inativ\w*|inactive|dormant|lapsed|win-?back)\b"),
    ("at_risk", r"\b(em risco|at[ -]risk|risco de churn)\b"),
    ("vip", r"\b(vips?)\b"),
    ("loyal", r"\b(fieis|fiel|leais|loyal)\b"),
    ("new", r"\b(clientes novos|novos clientes|new customers|recem[- ]chegados)\b"),
    ("churned", r"\b(churned|cancelad[oa]s|ex-?clientes|clientes perdidos|lost customers)\b"),
)


def extract_segment(text: str) -> str | None:
    folded = fold(text)
    found = [(m.start(), segment) for segment, p in _SEGMENTS if (m := re.search(p, folded))]
    return min(found)[1] if found else None


_STATES = {
    "AC": "Acre", "AL": "Alagoas", "AP": "Amapá", "AM": "Amazonas", "BA": "Bahia", "CE": "Ceará",
    "DF": "Distrito Federal", "ES": "Espírito Santo", "GO": "Goiás", "MA": "Maranhão", "MT": "Mato Grosso",
    "MS": "Mato Grosso do Sul", "MG": "Minas Gerais", "PA": "Pará", "PB": "Paraíba", "PR": "Paraná",
    "PE": "Pernambuco", "PI": "Piauí", "RJ": "Rio de Janeiro", "RN": "Rio Grande do Norte",
    "RS": "Rio Grande do Sul", "RO": "Rondônia", "RR": "Roraima", "SC": "Santa Catarina", "SP": "São Paulo",
    "SE": "Sergipe", "TO": "Tocantins",
}  # fmt: skip
_CITIES = (
    "São Paulo", "Rio de Janeiro", "Belo Horizonte", "Porto Alegre", "Curitiba", "Brasília", "Salvador",
    "Campinas", "Fortaleza", "Recife", "Manaus", "Belém", "Goiânia", "Florianópolis", "Niterói", "Santos",
    "Vitória", "Natal", "São Luís", "Maceió", "João Pessoa", "Teresina", "Campo Grande", "Cuiabá",
    "Ribeirão Preto", "Sorocaba", "Joinville", "Londrina", "Uberlândia",
)  # fmt: skip
# Longest first, so "Rio Grande do Sul" wins over shorter names inside it.
_REGIONS = sorted({*_STATES.values(), *_CITIES}, key=len, reverse=True)
_STATE_CODE = re.compile(r"\b(?:em|no|na|para|de|do|da|in|for)\s+(" + "|".join(_STATES) + r")\b")


# Names that fold to everyday words ("para", "natal", "vitoria") must be written as the name: capital and accent.
_EXACT_ONLY = frozenset({"Pará", "Natal", "Vitória"})


def extract_region(text: str) -> str | None:
    """The first region named (the longest name where several start at the same place)."""
    folded = fold(text)
    found: list[tuple[int, int, str]] = []
    for region in _REGIONS:
        if region in _EXACT_ONLY:
            match = re.search(r"\b" + re.escape(region) + r"\b", text)
        else:
            match = re.search(r"\b" + re.escape(fold(region)) + r"\b", folded)
        if match:
            found.append((match.start(), -len(region), region))
    if found:
        return min(found)[2]
    if match := _STATE_CODE.search(text):
        return _STATES[match.group(1)]
    return None


def route_offline(request: str) -> RouteDecision:
    """The rules of the module doc: deterministic, no model."""
    intent, keyword = classify_intent(request)
    language = detect_language(request)
    reason = f"keyword {keyword!r}" if keyword else "no plan/campaign/finance/sales/automation keyword: analysis"
    return RouteDecision(
        intent=intent,  # type: ignore[arg-type]
        language=language,
        budget_brl=extract_budget(request),
        channel=extract_channel(request),  # type: ignore[arg-type]
        region=extract_region(request),
        segment=extract_segment(request),
        reason=reason,
        **extract_periods(request),
    )


SYSTEM_PROMPT = """You route requests to the agents of a revenue-operations platform for +Pet, a Brazilian \
pet-care subscription e-commerce (money in BRL, time zone America/Sao_Paulo).
Choose exactly one intent:
- plan: retention plans (which segments, which actions) and media plans (budget split by channel);
- analyse: questions answered from the metrics: churn, cohorts, CAC, LTV, MRR, payback, revenue forecasts;
- campaign: a WhatsApp or e-mail campaign (segment, template, copy, schedule, budget);
- sales: deal funnel, conversion, win rate, sales velocity;
- finance: the DRE (income statement), its scenarios, margins, unit economics commentary;
- automate: run a playbook, sync contacts with HubSpot, notify Slack/Notion, schedule or send something approved.
A revenue forecast question is 'analyse'. Set language to the ISO 639-1 code of the request ('pt' or 'en').
Fill a parameter only when the request states it: budget_brl (a number in BRL), lookback_days or lookback_months \
('últimos 90 dias' -> lookback_days 90; 'últimos 3 meses' -> lookback_months 3; 'mês passado' -> lookback_months 1), \
horizon_months ('próximos 6 meses' -> 6), channel (whatsapp, email, google_ads, meta_ads, instagram, organic, \
referral), region (a Brazilian state or city, e.g. 'São Paulo'), segment (new, vip, loyal, at_risk, inactive_60d, \
churned; 'inativos' -> inactive_60d). Give a one-line reason."""


def route_messages(request: str) -> list[tuple[str, str]]:
    return [("system", SYSTEM_PROMPT), ("human", request)]


def route(request: str, runtime: AgentRuntime) -> RouteDecision:
    """Route ``request`` with the runtime's provider (offline rules or an LLM)."""
    return runtime.run(
        "router", RouteDecision, messages=route_messages(request), offline=lambda: route_offline(request)
    )


__all__ = [
    "SYSTEM_PROMPT",
    "classify_intent",
    "detect_language",
    "extract_budget",
    "extract_channel",
    "extract_periods",
    "extract_region",
    "extract_segment",
    "fold",
    "parse_amount",
    "route",
    "route_messages",
    "route_offline",
]
