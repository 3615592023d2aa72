"""``X-Hub-Signature-256`` signing and verification for WhatsApp Cloud API webhooks.

Meta signs every webhook POST with HMAC-SHA256 of the *raw* request body keyed by the app secret. Verification must
run on the exact bytes received (before any JSON parsing or re-serialization) and compare in constant time, so an
attacker cannot forge events or learn the signature byte by byte from response timings.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_HEX_LENGTH = hashlib.sha256().digest_size * 2


def sign(app_secret: str, raw_body: bytes) -> str:
    """Return the header value Meta would send for ``raw_body``: ``sha256=<hex digest>``."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True only when ``header`` is a well-formed ``sha256=<64 hex>`` matching ``raw_body``.

    Malformed headers are rejected before comparing so that ``compare_digest`` always sees equal-length ASCII input;
    hex case is normalised because the digest value, not its spelling, is what is signed.
    """
    if not app_secret or header is None:
        return False
    header = header.strip()
    if not header.lower().startswith(PREFIX):
        return False
    received = header[len(PREFIX) :].lower()
    if len(received) != _DIGEST_HEX_LENGTH or not set(received) <= _HEX_DIGITS:
        return False
    expected = sign(app_secret, raw_body)[len(PREFIX) :]
    return hmac.compare_digest(expected.encode("ascii"), received.encode("ascii"))
