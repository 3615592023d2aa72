"""X-Hub-Signature-256: only the exact body signed with our app secret verifies."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from integrations.whatsapp.signature import sign, verify_signature

SECRET = "app-secret-for-tests"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_sign_is_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == "sha256=" + expected


def test_valid_signature_verifies() -> None:
    assert verify_signature(SECRET, BODY, sign(SECRET, BODY))


def test_upper_case_hex_still_verifies() -> None:
    header = sign(SECRET, BODY)
    assert verify_signature(SECRET, BODY, "sha256=" + header.removeprefix("sha256=").upper())


def test_wrong_secret_fails() -> None:
    assert not verify_signature(SECRET, BODY, sign("another-secret", BODY))


def test_tampered_body_fails() -> None:
    header = sign(SECRET, BODY)
    assert not verify_signature(SECRET, BODY.replace(b"[]", b"[{}]"), header)
    assert not verify_signature(SECRET, BODY + b" ", header)


def test_missing_header_fails() -> None:
    assert not verify_signature(SECRET, BODY, None)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        sign(SECRET, BODY).removeprefix("sha256="),  # digest without the scheme
        sign(SECRET, BODY)[:-1],  # one hex digit short
        sign(SECRET, BODY) + "0",  # one too many
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "é" * 64,  # not ASCII
    ],
)
def test_malformed_header_fails(header: str) -> None:
    assert not verify_signature(SECRET, BODY, header)


def test_empty_secret_never_verifies() -> None:
    assert not verify_signature("", BODY, sign("", BODY))
