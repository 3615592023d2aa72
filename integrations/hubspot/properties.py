"""Which CRM properties to request, per object type.

HubSpot returns only the properties a request names (plus a few defaults), so this list is the
contract between the CRM and ``raw_hubspot.*``. It is configuration: pass your own list to
``list_pages`` / ``search_pages`` / ``read_pages`` to override it.
"""

from __future__ import annotations

from typing import Final, Literal

ObjectType = Literal["contacts", "deals"]

OBJECT_TYPES: Final[tuple[ObjectType, ...]] = ("contacts", "deals")

DEFAULT_CONTACT_PROPERTIES: Final[tuple[str, ...]] = (
    "email",
    "phone",
    "firstname",
    "lastname",
    "city",
    "state",
    "lifecyclestage",
    "hs_analytics_source",
    "acquisition_channel",
    "whatsapp_opt_in",
    "whatsapp_opt_in_date",
    "createdate",
    "lastmodifieddate",
    "hs_object_id",
)

DEFAULT_DEAL_PROPERTIES: Final[tuple[str, ...]] = (
    "dealname",
    "amount",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "dealstage",
    "pipeline",
    "plan",
    "billing_cycle",
    "order_type",
    "discount_amount",
    "shipping_amount",
    "refund_amount",
    "hs_object_id",
)

DEFAULT_PROPERTIES: Final[dict[ObjectType, tuple[str, ...]]] = {
    "contacts": DEFAULT_CONTACT_PROPERTIES,
    "deals": DEFAULT_DEAL_PROPERTIES,
}

# HubSpot names the "last modified" property differently per object; incremental search filters on it.
MODIFIED_PROPERTY: Final[dict[ObjectType, str]] = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}

# Deals are pulled with their contact associations so a deal can be tied to its customer.
DEFAULT_ASSOCIATIONS: Final[dict[ObjectType, tuple[str, ...]]] = {
    "contacts": (),
    "deals": ("contacts",),
}


def default_properties(object_type: ObjectType) -> list[str]:
    """A fresh, mutable copy of the default property list for ``object_type``."""
    return list(DEFAULT_PROPERTIES[check_object_type(object_type)])


def check_object_type(object_type: str) -> ObjectType:
    """Reject typos early: a wrong object type would otherwise surface as a confusing 404."""
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unsupported HubSpot object type {object_type!r}; expected one of {OBJECT_TYPES}")
    return object_type  # type: ignore[return-value]
