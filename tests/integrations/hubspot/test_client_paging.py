"""Full syncs through the real SDK: paging to the end, the query string sent, the auth header."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from integrations.hubspot import HubSpotClient, HubSpotSource, default_properties
from integrations.hubspot.errors import HubSpotApiError
from tests.integrations.hubspot.conftest import decoded
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot


def test_list_pages_follows_after_to_the_last_page(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client()
    properties = default_properties("contacts")

    pages = decoded(client.list_pages("contacts", properties))

    assert [len(page["results"]) for page in pages] == [100, 100, 50]
    assert "paging" not in pages[-1]
    assert [r["id"] for page in pages for r in page["results"]] == [str(n) for n in range(1, 251)]
    # the dicts are HubSpot's bodies, key for key (no SDK model renaming)
    assert pages == fake_hubspot.bodies_sent

    requests = fake_hubspot.requests
    assert len(requests) == 3 == client.calls
    first_after = base64.b64encode(b"100").decode()
    second_after = base64.b64encode(b"200").decode()
    assert [r.args.get("after") for r in requests] == [None, first_after, second_after]
    assert pages[0]["paging"]["next"]["after"] == first_after
    for request in requests:
        assert request.method == "GET"
        assert request.path == "/crm/v3/objects/contacts"
        assert request.args["limit"] == "100"
        assert request.args.getlist("properties") == properties
        assert "archived" not in request.args
        assert request.headers["Authorization"] == f"Bearer {fake_hubspot.token}"


def test_list_pages_returns_only_requested_properties_and_asked_associations(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client()

    pages = decoded(client.list_pages("deals", ["dealname", "amount"], associations=["contacts"]))

    assert fake_hubspot.requests[0].args.getlist("associations") == ["contacts"]
    first = pages[0]["results"][0]
    assert first["properties"] == {"dealname": "Assinatura 5001", "amount": "129.90"}
    assert first["associations"]["contacts"]["results"] == [{"id": "1", "type": "deal_to_contact"}]
    assert sum(len(page["results"]) for page in pages) == 120


def test_page_size_is_sent_as_limit(fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]) -> None:
    client = make_client(page_size=40)

    pages = decoded(client.list_pages("contacts", ["email"]))

    assert len(pages) == 7
    assert {r.args["limit"] for r in fake_hubspot.requests} == {"40"}


def test_wrong_token_is_a_clear_error_not_retried(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    client = make_client(access_token="pat-wrong")

    with pytest.raises(HubSpotApiError) as caught:
        list(client.list_pages("contacts", ["email"]))

    assert caught.value.status == 401
    assert caught.value.endpoint == "GET /crm/v3/objects/contacts"
    assert "INVALID_AUTHENTICATION" in str(caught.value)
    assert "pat-wrong" not in str(caught.value)
    assert client.calls == len(fake_hubspot.requests) == 1
    assert sleeps == []


def test_client_validates_arguments_and_hides_token(fake_hubspot: FakeHubSpot) -> None:
    with pytest.raises(ValueError, match="page_size"):
        HubSpotClient("tok", page_size=101)
    with pytest.raises(ValueError, match="token"):
        HubSpotClient("")
    client = HubSpotClient("pat-secret", host=fake_hubspot.host)
    with pytest.raises(ValueError, match="object type"):
        list(client.list_pages("companies", []))  # type: ignore[arg-type]
    assert "pat-secret" not in repr(client)
    assert isinstance(client, HubSpotSource)


def test_non_json_response_is_a_clear_error(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    fake_hubspot.server.clear_all_handlers()
    fake_hubspot.server.expect_request("/crm/v3/objects/contacts").respond_with_data("<html>gateway</html>")
    client = make_client()

    with pytest.raises(HubSpotApiError, match="not JSON"):
        list(client.list_pages("contacts", ["email"]))
    assert client.calls == 1
