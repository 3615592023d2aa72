"""Mask e-mail addresses before they reach a log line (LGPD: addresses are personal data, logs travel)."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[\w.+%'-]+@[\w-]+(?:\.[\w-]+)+")


def mask_email(address: str | None) -> str:
    """``ana.souza@gmail.com`` -> ``a***@gmail.com``: first character and the domain (useful for deliverability)."""
    if not address:
        return "<none>"
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_emails_in(text: str) -> str:
    """Every address-looking substring of ``text`` masked (server replies often echo the recipient)."""
    return _ADDRESS.sub(lambda match: mask_email(match.group(0)), text)


__all__ = ["mask_email", "mask_emails_in"]
