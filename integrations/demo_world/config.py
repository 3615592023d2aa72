"""World configuration and the +Pet catalog: every number the simulation draws from lives here.

Keeping the catalog as typed constants (not scattered literals) means the ground truth can publish
exactly the parameters the simulation used, and a reader can change the business in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from integrations.vocabulary import DRE_EXPENSE_LINES

FAULTS: Final[frozenset[str]] = frozenset({"renamed_column", "truncated_page", "webhook_burst"})

MIN_CUSTOMERS: Final = 100
MAX_CUSTOMERS: Final = 5_000_000
MIN_MONTHS: Final = 6
MAX_MONTHS: Final = 120
MAX_BAD_SHARE: Final = 0.5

_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, kw_only=True)
class WorldConfig:
    """Everything that decides a world: the same config always yields byte-identical files.

    ``end_month`` is the last full month simulated and has no default on purpose: the generator never
    reads the clock, so the caller (the CLI) decides what "last month" means.
    """

    customers: int = 5000
    months: int = 24
    end_month: str
    seed: int = 42
    bad_share: float = 0.02
    faults: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if isinstance(self.customers, bool) or not isinstance(self.customers, int):
            raise ValueError(f"customers must be an integer, got {self.customers!r}")
        if not MIN_CUSTOMERS <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(
                f"customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,} "
                f"(campaigns and funnels need a few hundred people to mean anything), got {self.customers:,}"
            )
        if isinstance(self.months, bool) or not isinstance(self.months, int):
            raise ValueError(f"months must be an integer, got {self.months!r}")
        if not MIN_MONTHS <= self.months <= MAX_MONTHS:
            raise ValueError(
                f"months must be between {MIN_MONTHS} and {MAX_MONTHS} "
                f"(churn, pauses and campaigns need some history), got {self.months}"
            )
        match = _MONTH_PATTERN.match(self.end_month) if isinstance(self.end_month, str) else None
        if match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
            raise ValueError(f"end_month must be 'YYYY-MM' between 2000-01 and 2100-12, got {self.end_month!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if isinstance(self.bad_share, bool) or not isinstance(self.bad_share, (int, float)):
            raise ValueError(f"bad_share must be a number, got {self.bad_share!r}")
        if not 0.0 <= float(self.bad_share) <= MAX_BAD_SHARE:
            raise ValueError(f"bad_share must be between 0 and {MAX_BAD_SHARE}, got {self.bad_share}")
        object.__setattr__(self, "bad_share", float(self.bad_share))
        if isinstance(self.faults, str):
            raise ValueError(f"faults must be a set of names, not the string {self.faults!r}")
        faults = frozenset(self.faults)
        unknown = sorted(faults - FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; expected a subset of {sorted(FAULTS)}")
        object.__setattr__(self, "faults", faults)

    @property
    def start_month(self) -> str:
        """First simulated month, ``months - 1`` months before ``end_month``."""
        year, month = (int(part) for part in self.end_month.split("-"))
        index = year * 12 + (month - 1) - (self.months - 1)
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    def as_manifest(self) -> dict[str, object]:
        """The config as JSON-ready values, in the shape ``dataclasses.asdict`` gives (faults sorted)."""
        return {
            "customers": self.customers,
            "months": self.months,
            "end_month": self.end_month,
            "seed": self.seed,
            "bad_share": self.bad_share,
            "faults": sorted(self.faults),
        }


# ── Products ────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Plan:
    """A subscription plan; ``hazard_multiplier`` scales the channel's monthly churn hazard."""

    key: str
    label: str
    price_cents: int
    cogs_rate: float
    mix: float
    hazard_multiplier: float


PLANS: Final[tuple[Plan, ...]] = (
    Plan("racao_premium", "Ração Premium", 18990, cogs_rate=0.56, mix=0.28, hazard_multiplier=0.85),
    Plan("racao_standard", "Ração Standard", 12990, cogs_rate=0.62, mix=0.34, hazard_multiplier=1.00),
    Plan("kit_higiene", "Kit Higiene", 8990, cogs_rate=0.50, mix=0.22, hazard_multiplier=1.10),
    Plan("petiscos", "Petiscos", 5990, cogs_rate=0.53, mix=0.16, hazard_multiplier=1.25),
)

ANNUAL_SHARE: Final = 0.12  # share of new subscribers choosing the annual cycle
ANNUAL_PRICE_FACTOR: Final = 0.85  # annual bill = 12 x monthly price x 0.85, once a year
ANNUAL_HAZARD_MULTIPLIER: Final = 0.5  # annual subscribers decide once a year and churn less per month


def annual_price_cents(plan: Plan) -> int:
    """The yearly bill of ``plan`` in cents (exact for the catalog prices)."""
    return round(plan.price_cents * 12 * ANNUAL_PRICE_FACTOR)


# ── Acquisition channels ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Channel:
    """An acquisition channel: its mix of new customers, true CAC (paid only) and base churn hazard."""

    key: str
    paid: bool
    cac_brl: float
    base_hazard: float
    mix: float
    # HubSpot's own attribution (hs_analytics_source) is coarser and noisier than ours: (value, share)
    hs_sources: tuple[tuple[str, float], ...]
    # names of the ad campaigns in the marketing_spend worksheet (paid channels only)
    spend_campaigns: tuple[str, ...] = ()


CHANNELS: Final[tuple[Channel, ...]] = (
    Channel(
        "google_ads",
        paid=True,
        cac_brl=85.0,
        base_hazard=0.060,
        mix=0.24,
        hs_sources=(("PAID_SEARCH", 1.0),),
        spend_campaigns=("gads_search_marca", "gads_search_generico", "gads_pmax_racao"),
    ),
    Channel(
        "meta_ads",
        paid=True,
        cac_brl=70.0,
        base_hazard=0.085,
        mix=0.22,
        hs_sources=(("PAID_SOCIAL", 1.0),),
        spend_campaigns=("meta_conversao_assinatura", "meta_remarketing"),
    ),
    Channel(
        "instagram",
        paid=True,
        cac_brl=60.0,
        base_hazard=0.110,
        mix=0.16,
        hs_sources=(("PAID_SOCIAL", 0.75), ("SOCIAL_MEDIA", 0.25)),
        spend_campaigns=("ig_reels_influenciadores", "ig_stories_promo"),
    ),
    Channel("referral", paid=False, cac_brl=0.0, base_hazard=0.045, mix=0.12, hs_sources=(("REFERRALS", 1.0),)),
    Channel(
        "organic",
        paid=False,
        cac_brl=0.0,
        base_hazard=0.055,
        mix=0.18,
        hs_sources=(("ORGANIC_SEARCH", 0.7), ("DIRECT_TRAFFIC", 0.3)),
    ),
    Channel(
        "whatsapp",
        paid=False,
        cac_brl=0.0,
        base_hazard=0.070,
        mix=0.08,
        hs_sources=(("OTHER_CAMPAIGNS", 0.6), ("OFFLINE", 0.4)),
    ),
)

HS_ANALYTICS_SOURCES: Final[tuple[str, ...]] = (
    "PAID_SEARCH",
    "PAID_SOCIAL",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "ORGANIC_SEARCH",
    "DIRECT_TRAFFIC",
    "OTHER_CAMPAIGNS",
    "OFFLINE",
)

PAID_SHARE_DRIFT: Final = 0.30  # paid channels' share of acquisition grows by ~30% over the period
SPEND_NOISE_SIGMA: Final = 0.15  # lognormal noise of monthly spend around new customers x true CAC
SPEND_DAILY_NOISE_SHAPE: Final = 8.0  # gamma shape of day-to-day spend noise (larger = smoother)


def hazard(channel: Channel, plan: Plan) -> float:
    """Monthly churn hazard of a monthly subscriber acquired through ``channel`` on ``plan``."""
    return channel.base_hazard * plan.hazard_multiplier


# ── Growth and seasonality ──────────────────────────────────────────────────────────────────────

GROWTH_PER_MONTH: Final = 0.035  # acquisition grows ~3.5% a month (x2.3 over two years)
WEEKDAY_WEIGHTS: Final[tuple[float, ...]] = (1.10, 1.05, 1.00, 1.00, 0.95, 0.80, 0.75)  # Monday first
BLACK_FRIDAY_DAY_BOOST: Final = 4.0  # last Friday of November
BLACK_FRIDAY_WEEK_BOOST: Final = 2.2  # Monday before to Cyber Monday
CHRISTMAS_BOOST: Final = 1.35  # December 1-23
MOTHERS_DAY_BOOST: Final = 1.6  # the 7 days up to the 2nd Sunday of May
FATHERS_DAY_BOOST: Final = 1.4  # the 7 days up to the 2nd Sunday of August
JANUARY_DIP: Final = 0.85
# local business hours of orders and sign-ups (weights for hours 8..21)
HOUR_WEIGHTS: Final[tuple[float, ...]] = (3, 5, 7, 7, 6, 6, 5, 5, 5, 6, 7, 8, 7, 4)
FIRST_BUSINESS_HOUR: Final = 8

# ── Subscription life ───────────────────────────────────────────────────────────────────────────

PAUSE_SHARE: Final = 0.05  # monthly subscribers (>= 3 paid months) who pause once for 1-2 months
PLAN_CHANGE_SHARE: Final = 0.10  # monthly subscribers (>= 2 paid months) who up- or downgrade once
REACTIVATION_SHARE: Final = 0.12  # churned customers who come back on their own after 2-8 months
REACTIVATION_GAP_MONTHS: Final = (2, 8)

COUPON_SHARE: Final = 0.60  # new customers whose first order uses the 10% welcome coupon
COUPON_RATE: Final = 0.10
REFUND_SHARE: Final = 0.015  # orders refunded in full (cancelamento / devolução)
FREE_SHIPPING_FROM_CENTS: Final = 10000  # monthly orders below R$ 100 pay freight
SIGNUP_SAME_DAY_SHARE: Final = 0.45  # contacts created the day they first buy; the rest days before

# Regions drive freight charged to the customer and freight paid to carriers (cents).
REGIONS: Final[tuple[str, ...]] = ("sp", "sul_sudeste", "outras")
SHIPPING_FEE_CENTS: Final[tuple[int, ...]] = (1290, 1690, 2490)
FREIGHT_COST_CENTS: Final[tuple[int, ...]] = (1350, 1780, 2640)

# ── Leads and one-off orders ────────────────────────────────────────────────────────────────────

LEAD_SHARE: Final = 0.30  # contacts who never buy, on top of customers
LEAD_OPPORTUNITY_SHARE: Final = 0.45  # of those, lifecyclestage opportunity (an open deal); rest lead
LEAD_CLOSEDLOST_SHARE: Final = 0.40  # leads (lifecyclestage lead) whose one deal was lost
OPEN_DEAL_STAGES: Final[tuple[tuple[str, float], ...]] = (
    ("appointmentscheduled", 0.30),
    ("qualifiedtobuy", 0.25),
    ("presentationscheduled", 0.20),
    ("decisionmakerboughtin", 0.15),
    ("contractsent", 0.10),
)
DEAL_STAGES: Final[tuple[str, ...]] = (*(stage for stage, _ in OPEN_DEAL_STAGES), "closedwon", "closedlost")

ONE_OFF_SHARE: Final = 0.08  # one-off (avulso) orders as a share of all orders
ONE_OFF_OUTLETS: Final[tuple[tuple[str, str, float], ...]] = (  # (order_id prefix, outlet, share)
    ("MKT", "marketplace", 0.6),
    ("LJ", "loja_fisica", 0.4),
)
ONE_OFF_QUANTITY_WEIGHTS: Final[tuple[float, ...]] = (0.8, 0.2)  # 1 or 2 units

# ── Costs (the expenses worksheet) and tax ──────────────────────────────────────────────────────

GATEWAY_FEE_RATE: Final = 0.035
SALES_COMMISSION_RATE: Final = 0.02  # on subscription revenue
MARKETPLACE_COMMISSION_RATE: Final = 0.12  # on marketplace one-off orders
WHATSAPP_MESSAGE_COST_CENTS: Final = 35  # per delivered marketing template (~US$ 0.0625)
TAX_REGIME: Final = "simples_nacional"
DAS_RATE: Final = 0.06  # configuration (a warehouse seed), never an expense row

# Fixed monthly costs for a 5,000-customer world in cents, scaled by (customers / 5,000) ** exponent
# and grown by FIXED_COST_GROWTH a month: (account, category, base cents, scale exponent, sign)
FIXED_COST_GROWTH: Final = 0.012
FIXED_COSTS: Final[tuple[tuple[str, str, int, float, int], ...]] = (
    ("Ferramentas de marketing (CRM, automação, design)", "despesas_marketing", 380_000, 0.6, 1),
    ("Folha de pagamento e encargos", "despesas_administrativas", 4_600_000, 1.0, 1),
    ("Aluguel e condomínio (CD e escritório)", "despesas_administrativas", 1_150_000, 0.8, 1),
    ("Contabilidade, jurídico e softwares", "despesas_administrativas", 520_000, 0.7, 1),
    ("Energia, internet e utilidades", "despesas_administrativas", 210_000, 0.8, 1),
    ("Depreciação de máquinas e equipamentos", "depreciacao_amortizacao", 240_000, 0.8, 1),
    ("Amortização de software e marcas", "depreciacao_amortizacao", 90_000, 0.6, 1),
    ("Rendimentos de aplicações financeiras", "resultado_financeiro", 140_000, 1.0, 1),
    ("Juros, IOF e tarifas bancárias", "resultado_financeiro", 95_000, 1.0, -1),
)
RECEIVABLES_ADVANCE_RATE: Final = 0.011  # cost of anticipating card receivables, on subscription revenue

EXPENSE_CATEGORIES: Final[tuple[str, ...]] = DRE_EXPENSE_LINES

# ── WhatsApp ────────────────────────────────────────────────────────────────────────────────────

WABA_ID: Final = "102290129340398"
PHONE_NUMBER_ID: Final = "106540352242922"
DISPLAY_PHONE_NUMBER: Final = "551140028922"
OPT_IN_SHARE: Final = 0.70
PMP_FROM: Final = "2025-07-01"  # per-message pricing replaced conversation-based pricing on this date

CAMPAIGN_COUNT: Final = (4, 6)  # inclusive range; fewer when the history is short
CAMPAIGN_INACTIVE_DAYS: Final = 60  # target: subscription lapsed at least this long before the send
CAMPAIGN_CONVERSION_WINDOW_DAYS: Final = 14
SEND_RATE_PER_SECOND: Final = 80  # Cloud API default throughput per number
FAIL_SHARE: Final = 0.045
FAILED_AFTER_SENT_SHARE: Final = 0.5  # failures reported after a "sent" status (the rest fail at once)
DELIVERED_SHARE: Final = 0.95  # of messages not failed
READ_SHARE: Final = 0.70  # of delivered
NO_DELIVERED_WEBHOOK_SHARE: Final = 0.03  # read while in the chat: Meta skips the "delivered" webhook
REPLY_SHARE: Final = 0.12  # of read messages, the customer writes back
OPT_OUT_SHARE_OF_REPLIES: Final = 0.25  # of those replies, an opt-out keyword
REPLY_CONTEXT_SHARE: Final = 0.7  # replies quoting our message (they carry messages[].context.id)
CONVERSION_GIVEN_READ: Final[dict[str, float]] = {"A": 0.08, "B": 0.12}  # variant B has the true uplift
DUPLICATE_WEBHOOK_SHARE: Final = 0.03  # Meta re-delivers a few percent of events
ORGANIC_INBOUND_SHARE: Final = 0.02  # service questions not tied to a campaign, per customer
WEBHOOK_BURST_SIZE: Final = 600

# (code, title, details, share of failures)
WHATSAPP_ERRORS: Final[tuple[tuple[int, str, str, float], ...]] = (
    (
        131026,
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone "
        "number; the recipient has not accepted the new Terms of Service; the recipient uses an old WhatsApp "
        "version.",
        0.55,
    ),
    (
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        0.35,
    ),
    (
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        0.10,
    ),
)


@dataclass(frozen=True)
class CampaignTemplate:
    """A WhatsApp marketing template pair: variant A is the control, B the challenger."""

    base: str
    body_a: str
    body_b: str


# Used in catalog order; a campaign sent in November uses BLACK_FRIDAY_TEMPLATE instead.
BLACK_FRIDAY_TEMPLATE: Final = "black_friday_volta"
CAMPAIGN_TEMPLATES: Final[tuple[CampaignTemplate, ...]] = (
    CampaignTemplate(
        "reativacao_v1",
        "Oi {{1}}! Sentimos sua falta na +Pet. Volte a assinar com 10% de desconto: cupom VOLTA10.",
        "{{1}}, seu pet merece! 🐾 Reative sua assinatura hoje e ganhe 10% OFF com o cupom VOLTA10. "
        "Oferta válida por 7 dias.",
    ),
    CampaignTemplate(
        "saudade_pet",
        "Olá {{1}}, a ração do seu pet está acabando? Reative a assinatura +Pet com 10% de desconto.",
        "{{1}}, seu pet está com saudade dos petiscos! 🐶 Volte hoje e ganhe 10% OFF + frete grátis "
        "no primeiro pedido.",
    ),
    CampaignTemplate(
        "frete_gratis_volta",
        "Oi {{1}}! Sua assinatura +Pet volta com frete grátis no primeiro mês. Responda para saber mais.",
        "{{1}}, só até domingo: volte para a +Pet com frete grátis e 10% OFF. Toque em reativar! 🚚",
    ),
    CampaignTemplate(
        "reativacao_v2",
        "Olá {{1}}, temos novidades na +Pet: rações novas e kits de higiene. Volte com 10% de desconto.",
        "{{1}}, preparamos um kit especial para o seu pet 🎁 Reative hoje e ganhe 10% OFF (cupom VOLTA10).",
    ),
    CampaignTemplate(
        "black_friday_volta",
        "Oi {{1}}! Black Friday +Pet: assinaturas com 10% de desconto para quem volta.",
        "{{1}}, a Black Friday +Pet chegou! 🖤 Sua assinatura de volta com 10% OFF e brinde surpresa.",
    ),
    CampaignTemplate(
        "volta_com_brinde",
        "Oi {{1}}! Volte para a +Pet este mês e ganhe um brinde no primeiro pedido.",
        "{{1}}, tem brinde esperando pelo seu pet 🎁 Reative a assinatura até sexta e ganhe 10% OFF também.",
    ),
    CampaignTemplate(
        "novidades_racao",
        "Olá {{1}}, lançamos novas rações premium. Experimente voltando para a +Pet com 10% de desconto.",
        "{{1}}, nova ração premium com entrega programada 🐾 Volte hoje com 10% OFF: cupom VOLTA10.",
    ),
)

# Replies customers write; opt-out texts must normalise to SAIR / PARAR / STOP.
REPLY_TEXTS: Final[tuple[str, ...]] = (
    "Quero voltar! Como faço?",
    "Qual o valor da assinatura agora?",
    "Tem desconto pra ração premium?",
    "Obrigada, vou ver com calma",
    "Meu cachorro amava os petiscos",
    "O cupom vale pra kit higiene?",
    "Vocês entregam em Niterói?",
    "Oi, pode me mandar o link?",
    "Já comprei em outro lugar, obrigado",
    "Consigo pagar no pix?",
    "👍",
    "Agora não, talvez mês que vem",
)
OPT_OUT_TEXTS: Final[tuple[str, ...]] = (
    "SAIR",
    "sair",
    "Sair",
    "SAIR.",
    "sair!",
    " Sair ",
    "PARAR",
    "parar",
    "Parar!",
    "STOP",
    "stop",
    "Stop.",
)
SERVICE_TEXTS: Final[tuple[str, ...]] = (
    "Meu pedido ainda não chegou, podem verificar?",
    "Como altero o endereço de entrega?",
    "Posso trocar o sabor da ração?",
    "A cobrança veio duplicada no cartão",
    "Qual o prazo de entrega para o próximo mês?",
    "Vocês têm ração para gato castrado?",
)
