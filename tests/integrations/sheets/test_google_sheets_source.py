"""GoogleSheetsSource against a fake Google at the HTTP boundary: real gspread + google-auth, local server.

google-auth signs a service-account JWT and trades it at ``token_uri`` for an access token; gspread then
calls the Sheets API v4 (spreadsheet metadata, then the worksheet's values) with that bearer token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gspread
import gspread.http_client
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from pytest_httpserver import HTTPServer
from werkzeug import Request

from integrations.sheets import WORKSHEETS
from integrations.sheets.sources import GoogleSheetsSource
from tests.integrations.validation import validate_table

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_sheet"
TOKEN = "ya29.fake-access-token"
HEADER = ["date", "channel", "campaign", "spend_brl"]
ROWS = [["2026-01-01", "google_ads", "c1"], ["2026-01-02", "meta_ads", "c2", "12.50"]]  # Sheets drops trailing blanks
SHEETS_PATH = f"/v4/spreadsheets/{SHEET_ID}"
VALUES_PATH = f"{SHEETS_PATH}/values/'marketing_spend'"  # gspread asks for the absolute range 'marketing_spend'
VALUES_URI = f"{SHEETS_PATH}/values/%27marketing_spend%27"  # ...percent-encoded on the wire, no query params


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def source(httpserver: HTTPServer, tmp_path: Path, private_key: rsa.RSAPrivateKey) -> GoogleSheetsSource:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = {
        "type": "service_account",
        "project_id": "cro-test",
        "private_key_id": "key-1",
        "private_key": pem.decode(),
        "client_email": "etl@cro-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": httpserver.url_for("/token"),
    }
    key_file = tmp_path / "service_account.json"
    key_file.write_text(json.dumps(info))
    return GoogleSheetsSource(SHEET_ID, str(key_file))


@pytest.fixture
def google(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """Token endpoint + spreadsheet metadata; gspread.http_client's URL constants point at the local server."""
    base = httpserver.url_for("/v4/spreadsheets")
    monkeypatch.setattr(gspread.http_client, "SPREADSHEET_URL", base + "/%s")
    monkeypatch.setattr(gspread.http_client, "SPREADSHEET_VALUES_URL", base + "/%s/values/%s")
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}
    )
    sheet = {
        "sheetId": 0,
        "title": "marketing_spend",
        "index": 0,
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    httpserver.expect_request(SHEETS_PATH, method="GET", query_string="includeGridData=false").respond_with_json(
        {"spreadsheetId": SHEET_ID, "properties": {"title": "CRO inputs"}, "sheets": [{"properties": sheet}]}
    )
    return httpserver


def serve_values(google: HTTPServer, values: list[list[str]]) -> None:
    body: dict[str, Any] = {"range": "marketing_spend!A1:Z1000", "majorDimension": "ROWS", "values": values}
    google.expect_request(VALUES_PATH, method="GET", query_string="").respond_with_json(body)


def api_requests(google: HTTPServer) -> list[Request]:
    return [request for request, _ in google.log if request.path != "/token"]


def test_worksheet_becomes_a_string_table_with_short_rows_padded(
    google: HTTPServer, source: GoogleSheetsSource, private_key: rsa.RSAPrivateKey
) -> None:
    serve_values(google, [HEADER, *ROWS])
    table = source.read("marketing_spend")

    assert table.column_names == HEADER
    assert all(str(field.type) == "string" for field in table.schema)
    assert table.to_pylist() == [
        {"date": "2026-01-01", "channel": "google_ads", "campaign": "c1", "spend_brl": ""},
        {"date": "2026-01-02", "channel": "meta_ads", "campaign": "c2", "spend_brl": "12.50"},
    ]
    token_requests = [request for request, _ in google.log if request.path == "/token"]
    assert len(token_requests) == 1
    grant = token_requests[0].form
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # google-auth always addresses the assertion to Google's endpoint, whatever token_uri says
    claims = jwt.decode(grant["assertion"], certs=public_pem, audience="https://oauth2.googleapis.com/token")
    assert claims["iss"] == "etl@cro-test.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/spreadsheets.readonly" in claims["scope"].split()
    requests = api_requests(google)
    metadata_uri = f"{SHEETS_PATH}?includeGridData=false"
    assert [r.environ["RAW_URI"] for r in requests] == [metadata_uri, metadata_uri, VALUES_URI]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in requests)


def test_worksheet_read_from_the_api_validates_against_its_contract(
    google: HTTPServer, source: GoogleSheetsSource
) -> None:
    serve_values(google, [HEADER, *ROWS, ["2026-01-03", "tiktok", "c3", "7"]])
    batch = validate_table(WORKSHEETS["marketing_spend"], source.read("marketing_spend"), what="worksheet")

    assert [str(row["spend_brl"]) for row in batch.good.to_pylist()] == ["12.50"]
    reasons = {row["source_row"]: row["reason"] for row in batch.rejected.to_pylist()}
    assert reasons == {1: "spend_brl: missing", 3: "channel: unknown value"}


def test_missing_worksheet_raises_worksheet_not_found(google: HTTPServer, source: GoogleSheetsSource) -> None:
    with pytest.raises(gspread.WorksheetNotFound) as raised:
        source.read("expenses")
    assert str(raised.value) == "expenses"
    assert all("/values/" not in r.path for r in api_requests(google))


@pytest.mark.parametrize(("status", "reason"), [(429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL")])
def test_api_errors_surface_as_api_error_without_retry(
    google: HTTPServer, source: GoogleSheetsSource, status: int, reason: str
) -> None:
    error = {"error": {"code": status, "message": f"fake {reason}", "status": reason}}
    google.expect_request(VALUES_PATH, method="GET").respond_with_json(error, status=status)

    with pytest.raises(gspread.exceptions.APIError) as raised:
        source.read("marketing_spend")
    assert raised.value.response.status_code == status and raised.value.code == status
    assert f"[{status}]" in str(raised.value)
    # the default gspread.HTTPClient does not retry: the values endpoint was hit exactly once
    assert [r.path for r in api_requests(google)].count(VALUES_PATH) == 1
