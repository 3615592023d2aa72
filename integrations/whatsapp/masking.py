"""Mask phone numbers (WhatsApp ids) before they reach a log line.

Phone numbers are personal data under LGPD and logs are copied to places the warehouse's access rules do not cover,
so anything logged keeps just enough digits to tell numbers apart while debugging.
"""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``5511987654321`` -> ``5511*******21``: country and area code plus the last two digits."""
    if not phone:
        return "<none>"
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]
