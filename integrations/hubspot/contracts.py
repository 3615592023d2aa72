"""What a usable HubSpot contact or deal looks like once flattened (see ``parse.py``)."""

from __future__ import annotations

from integrations.contracts import ColumnSpec, TableContract
from integrations.vocabulary import CHANNELS

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)

_SYSTEM = (
    ColumnSpec("id"),
    ColumnSpec("created_at", "timestamp"),
    ColumnSpec("updated_at", "timestamp"),
)

CONTACTS = TableContract(
    name="contacts",
    columns=(
        *_SYSTEM,
        ColumnSpec("email", "email", required=False),
        ColumnSpec("phone", "phone", required=False),
        ColumnSpec("firstname", required=False),
        ColumnSpec("lastname", required=False),
        ColumnSpec("city", required=False),
        ColumnSpec("state", required=False),
        ColumnSpec("lifecyclestage", required=False, allowed=LIFECYCLE_STAGES),
        ColumnSpec("hs_analytics_source", required=False),
        ColumnSpec("acquisition_channel", required=False, allowed=CHANNELS),
        ColumnSpec("whatsapp_opt_in", "boolean", required=False),
        ColumnSpec("whatsapp_opt_in_date", "timestamp", required=False),
        ColumnSpec("createdate", "timestamp", required=False),
        ColumnSpec("lastmodifieddate", "timestamp", required=False),
    ),
    primary_key=("id",),
    latest_by="updated_at",
    reject_exact_duplicates=False,  # the same record on two pages is a re-delivery, not an error
)

DEALS = TableContract(
    name="deals",
    columns=(
        *_SYSTEM,
        ColumnSpec("dealname", required=False),
        ColumnSpec("amount", "amount", required=False),
        ColumnSpec("closedate", "timestamp", required=False),
        ColumnSpec("createdate", "timestamp", required=False),
        ColumnSpec("hs_lastmodifieddate", "timestamp", required=False),
        ColumnSpec("dealstage", required=False, allowed=DEAL_STAGES),
        ColumnSpec("pipeline", required=False),
        ColumnSpec("plan", required=False),
        ColumnSpec("billing_cycle", required=False, allowed=("monthly", "annual")),
        ColumnSpec("order_type", required=False),
        ColumnSpec("discount_amount", "amount", required=False),
        ColumnSpec("shipping_amount", "amount", required=False),
        ColumnSpec("refund_amount", "amount", required=False),
        ColumnSpec("associated_contact_id", required=False),
    ),
    primary_key=("id",),
    latest_by="updated_at",
    reject_exact_duplicates=False,
    checks=(
        ("dealstage <> 'closedwon' or closedate is not null", "closedate: missing on a won deal"),
        ("dealstage <> 'closedwon' or amount is not null", "amount: missing on a won deal"),
    ),
)

HUBSPOT_CONTRACTS = {"contacts": CONTACTS, "deals": DEALS}
