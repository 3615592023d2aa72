"""summary_blocks: Block Kit shape, mrkdwn escaping and Slack's size limits."""

from __future__ import annotations

from integrations.slack import summary_blocks
from integrations.slack.blocks import blocks_text


def test_header_section_and_context_with_links() -> None:
    blocks = summary_blocks(
        "Growth brief 2026-W48",
        ["*MRR:* R$ 120.000 (+4%)", "*Churn:* 3,1%"],
        [("Notion", "https://www.notion.so/abc"), ("Dagster", "http://localhost:3000/runs/1")],
    )

    assert blocks == [
        {"type": "header", "text": {"type": "plain_text", "text": "Growth brief 2026-W48", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*MRR:* R$ 120.000 (+4%)\n*Churn:* 3,1%"}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "<https://www.notion.so/abc|Notion>"},
                {"type": "mrkdwn", "text": "<http://localhost:3000/runs/1|Dagster>"},
            ],
        },
    ]


def test_control_characters_are_escaped() -> None:
    blocks = summary_blocks("P&L", ["Margem <5% & CAC > R$ 50"], [("A|B <x>", "https://x.com/a|b")])

    assert blocks[1]["text"]["text"] == "Margem &lt;5% &amp; CAC &gt; R$ 50"
    assert blocks[2]["elements"][0]["text"] == "<https://x.com/a%7Cb|A|B &lt;x&gt;>"
    assert blocks[0]["text"]["text"] == "P&L"  # plain_text is not mrkdwn: no escaping


def test_slack_limits_long_title_many_lines_many_links() -> None:
    lines = [f"linha {n}: " + "x" * 90 for n in range(80)]  # ~8,000 characters
    links = [(f"link {n}", f"https://x.com/{n}") for n in range(23)]

    blocks = summary_blocks("T" * 200, lines, links)

    assert len(blocks[0]["text"]["text"]) == 150
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 3
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert "\n".join(s["text"]["text"] for s in sections) == "\n".join(lines)  # cut between lines, nothing lost
    contexts = [b for b in blocks if b["type"] == "context"]
    assert [len(c["elements"]) for c in contexts] == [10, 10, 3]


def test_no_lines_and_no_links_is_just_the_header() -> None:
    assert [b["type"] for b in summary_blocks("Só título", [], [])] == ["header"]


def test_blocks_text_reads_back_what_a_person_sees() -> None:
    text = blocks_text(summary_blocks("Título", ["a", "b"], [("L1", "https://1"), ("L2", "https://2")]))

    assert text == "Título\na\nb\n<https://1|L1>  <https://2|L2>"
