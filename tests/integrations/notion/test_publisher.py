"""NotionPublisher against a fake Notion API: upsert by key, batching, retries, permanent errors, dry run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from integrations.notion import NotionPublisher
from integrations.outbound import OutboundMessage, Sender
from tests.integrations.notion.fake_notion import FakeNotion

PAGE = r"/v1/pages/[0-9a-f-]+"
CHILDREN = r"/v1/blocks/[0-9a-f-]+/children"
BLOCK = r"/v1/blocks/[0-9a-f-]+"

BRIEF_V1 = (
    "# Growth brief\n\nMRR subiu **4%**.\n\n- Canal líder: instagram\n- CAC: R$ 45\n\n| a | b |\n|---|---|\n| 1 | 2 |"
)
BRIEF_V2 = "# Growth brief\n\nMRR subiu **5%** (revisado).\n\n```sql\nselect 1\n```"


def message(
    markdown: str = BRIEF_V1, key: str = "growth_brief:2026-W48", recipient: str = "notion-database", **payload: Any
) -> OutboundMessage:
    body = {"key": key, "title": "Growth brief 2026-W48", "markdown": markdown, **payload}
    return OutboundMessage(idempotency_key=f"notion:{key}:v1", channel="notion", recipient=recipient, payload=body)


def test_is_a_sender() -> None:
    publisher: Sender = NotionPublisher(None, None)
    assert publisher.channel == "notion"


def test_first_send_creates_the_page_with_key_title_and_body(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    result = make_publisher().send(message(properties={"Week": 48, "Status": "Publicado", "Published": "2026-11-30"}))

    assert result.status == "sent"
    (page,) = fake_notion.live_pages()
    assert result.provider_id == page["id"]
    assert result.rendered == BRIEF_V1
    assert result.attempts == 1
    props = page["properties"]
    assert props["Key"]["rich_text"][0]["text"]["content"] == "growth_brief:2026-W48"
    assert props["Name"]["title"][0]["text"]["content"] == "Growth brief 2026-W48"
    assert props["Week"]["number"] == 48
    assert props["Status"]["select"] == {"name": "Publicado"}
    assert props["Published"]["date"] == {"start": "2026-11-30"}
    assert fake_notion.body(page["id"]) == [
        ("heading_1", "Growth brief"),
        ("paragraph", "MRR subiu 4%."),
        ("bulleted_list_item", "Canal líder: instagram"),
        ("bulleted_list_item", "CAC: R$ 45"),
        ("table", ""),
    ]
    assert fake_notion.requests == [
        ("GET", f"/v1/databases/{fake_notion.database_id}"),
        ("GET", f"/v1/data_sources/{fake_notion.data_source_id}"),
        ("POST", f"/v1/data_sources/{fake_notion.data_source_id}/query"),
        ("POST", "/v1/pages"),
    ]
    request = fake_notion.server.log[0][0]
    assert request.headers["Notion-Version"] == "2025-09-03"
    assert request.headers["Authorization"] == f"Bearer {fake_notion.token}"


def test_resending_the_same_key_updates_in_place_and_never_creates_twice(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    publisher = make_publisher()
    first = publisher.send(message(BRIEF_V1))
    fake_notion.server.clear_log()

    second = publisher.send(message(BRIEF_V2, properties={"Week": 48}))

    assert second.status == "sent"
    assert second.provider_id == first.provider_id
    assert len(fake_notion.live_pages()) == 1
    assert fake_notion.count("POST", "/v1/pages") == 0
    assert fake_notion.count("PATCH", PAGE) == 1  # title and properties
    assert fake_notion.count("GET", CHILDREN) == 1  # the old body, listed
    assert fake_notion.count("DELETE", BLOCK) == 5  # …deleted block by block
    assert fake_notion.count("PATCH", CHILDREN) == 1  # the new body, appended
    assert fake_notion.count("GET", r"/v1/(databases|data_sources)/.*") == 0  # the schema is read once
    assert fake_notion.body(first.provider_id) == [
        ("heading_1", "Growth brief"),
        ("paragraph", "MRR subiu 5% (revisado)."),
        ("code", "select 1"),
    ]
    query = json.loads(fake_notion.server.log[0][0].get_data())
    assert query["filter"] == {"property": "Key", "rich_text": {"equals": "growth_brief:2026-W48"}}


def test_a_page_made_elsewhere_with_a_long_body_is_found_and_fully_replaced(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    page_id = fake_notion.add_page("growth_brief:2026-W48", "old title", n_blocks=230)

    result = make_publisher().send(message(BRIEF_V2))

    assert result.provider_id == page_id
    assert fake_notion.count("GET", CHILDREN) == 3  # 100 + 100 + 30, following next_cursor
    assert fake_notion.count("DELETE", BLOCK) == 230
    assert fake_notion.body(page_id)[0] == ("heading_1", "Growth brief")
    assert len(fake_notion.body(page_id)) == 3


def test_a_long_report_is_created_then_appended_in_batches_of_100(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    markdown = "\n\n".join(f"Parágrafo {n} " + "x" * 2500 for n in range(250))

    result = make_publisher().send(message(markdown))

    assert result.status == "sent"
    create = json.loads(next(r.get_data() for r, _ in fake_notion.server.log if r.path == "/v1/pages"))
    appends = [json.loads(r.get_data()) for r, _ in fake_notion.server.log if r.method == "PATCH"]
    assert [len(create["children"])] + [len(a["children"]) for a in appends] == [100, 100, 50]
    body = fake_notion.body(result.provider_id)
    assert len(body) == 250
    assert body[249][1] == "Parágrafo 249 " + "x" * 2500  # every piece arrived, in order


def test_429_waits_retry_after_then_succeeds(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher], sleeps: list[float]
) -> None:
    fake_notion.fail_next(429, retry_after="2", method="POST", path="/v1/pages")

    result = make_publisher().send(message())

    assert result.status == "sent"
    assert result.attempts == 2
    assert sleeps == [2.0]
    assert fake_notion.count("POST", "/v1/pages") == 2
    assert len(fake_notion.live_pages()) == 1


def test_5xx_on_a_read_is_retried_with_exponential_backoff(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher], sleeps: list[float]
) -> None:
    fake_notion.fail_next(500, 503, path=r"/v1/data_sources/.*/query")

    result = make_publisher(backoff_factor=0.5).send(message())

    assert result.status == "sent"
    assert sleeps == [0.5, 1.0]
    assert result.attempts == 3


def test_a_lost_answer_to_create_does_not_duplicate_the_page(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher], sleeps: list[float]
) -> None:
    # Notion creates the page, but the client sees a 502: repeating the POST would make a second page.
    fake_notion.fail_next(502, method="POST", path="/v1/pages", after=True)

    result = make_publisher(backoff_factor=0.25).send(message())

    assert result.status == "sent"
    assert len(fake_notion.live_pages()) == 1
    assert fake_notion.count("POST", "/v1/pages") == 1
    assert fake_notion.count("PATCH", PAGE) == 1  # the upsert started over, found the page, updated it
    assert result.provider_id == fake_notion.live_pages()[0]["id"]
    assert len(fake_notion.body(result.provider_id)) == 5  # the body once, not twice
    assert sleeps == [0.25]


def test_validation_error_is_permanent_with_notions_code_and_message(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher], sleeps: list[float]
) -> None:
    fake_notion.fail_next(400, message="body failed validation: body.properties.Name.title should be defined.")

    result = make_publisher().send(message())

    assert result.status == "failed_permanent"
    assert result.error == "validation_error: body failed validation: body.properties.Name.title should be defined."
    assert result.attempts == 1
    assert sleeps == []
    assert fake_notion.live_pages() == []


def test_persistent_503_gives_up_as_retryable_after_max_retries(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher], sleeps: list[float]
) -> None:
    fake_notion.fail_next(*[503] * 10)

    result = make_publisher(max_retries=3, backoff_factor=0.1).send(message())

    assert result.status == "failed_retryable"
    assert result.error is not None and result.error.startswith("service_unavailable: ")
    assert result.attempts == 4
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])
    assert len(fake_notion.requests) == 4


def test_an_unknown_property_fails_before_anything_is_written(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    result = make_publisher().send(message(properties={"Semana": 48}))

    assert result.status == "failed_permanent"
    assert result.error is not None and "no property 'Semana'" in result.error
    assert fake_notion.count("POST", "/v1/pages") == 0


def test_a_property_that_needs_ids_is_refused(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    result = make_publisher().send(message(properties={"Owner": "Ana"}))

    assert result.status == "failed_permanent"
    assert result.error is not None and "'people'" in result.error


def test_a_database_without_the_key_property_is_a_permanent_failure(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    del fake_notion.schema["Key"]

    result = make_publisher().send(message())

    assert result.status == "failed_permanent"
    assert result.error is not None and "rich_text property 'Key'" in result.error


def test_a_wrong_database_id_is_object_not_found(fake_notion: FakeNotion, sleeps: list[float]) -> None:
    with NotionPublisher(fake_notion.token, "00000000000040008000000000000000", base_url=fake_notion.base_url) as pub:
        result = pub.send(message())

    assert result.status == "failed_permanent"
    assert result.error is not None and result.error.startswith("object_not_found: Could not find database")


def test_a_bad_payload_is_refused_without_a_request(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    result = make_publisher().send(message(title=""))

    assert result.status == "failed_permanent"
    assert result.error == "payload: needs a non-empty 'title'"
    assert fake_notion.requests == []


@pytest.mark.parametrize(
    ("token", "database_id", "dry_run"), [(None, "db", False), ("tok", None, False), ("tok", "db", True)]
)
def test_dry_run_sends_nothing_and_returns_the_markdown(
    token: str | None, database_id: str | None, dry_run: bool, fake_notion: FakeNotion
) -> None:
    publisher = NotionPublisher(token, database_id, base_url=fake_notion.base_url, dry_run=dry_run)

    result = publisher.send(message())

    assert publisher.dry_run is True
    assert result.status == "dry_run"
    assert result.rendered == BRIEF_V1
    assert fake_notion.requests == []


def test_the_token_is_never_in_repr_or_results(
    fake_notion: FakeNotion, make_publisher: Callable[..., NotionPublisher]
) -> None:
    publisher = make_publisher()
    fake_notion.fail_next(401, code="unauthorized", message="API token is invalid.")

    result = publisher.send(message())

    assert result.status == "failed_permanent"
    assert fake_notion.token not in repr(publisher)
    assert fake_notion.token not in repr(result)


def test_a_recipient_that_is_a_notion_id_chooses_the_database(fake_notion: FakeNotion) -> None:
    with NotionPublisher(fake_notion.token, "00000000000040008000000000000000", base_url=fake_notion.base_url) as pub:
        result = pub.send(message(recipient=fake_notion.database_id.replace("-", "")))

    assert result.status == "sent"
    assert fake_notion.requests[0] == ("GET", f"/v1/databases/{fake_notion.database_id.replace('-', '')}")
