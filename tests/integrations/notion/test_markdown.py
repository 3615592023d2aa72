"""Markdown → Notion blocks: every construct the agents write, and Notion's size and nesting limits."""

from __future__ import annotations

from typing import Any

from agents.render import figures_block, table
from agents.schemas import Figure
from integrations.notion import markdown_to_blocks
from integrations.notion.markdown import block_count
from integrations.notion.richtext import chunks, inline, utf16_len


def text_of(block: dict[str, Any]) -> str:
    return "".join(item["text"]["content"] for item in block[block["type"]]["rich_text"])


def kinds(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["type"] for block in blocks]


def test_headings_paragraphs_lists_quote_divider() -> None:
    md = "# Título\n\n## Seção\n\n### Sub\n\n#### Mais fundo\n\nPrimeira linha\nsegunda linha\n\n"
    md += "- um\n* dois\n\n1. primeiro\n2. segundo\n\n> pergunta\n> continua\n\n---\n"

    blocks = markdown_to_blocks(md)

    assert kinds(blocks) == [
        "heading_1",
        "heading_2",
        "heading_3",
        "heading_3",
        "paragraph",
        "bulleted_list_item",
        "bulleted_list_item",
        "numbered_list_item",
        "numbered_list_item",
        "quote",
        "divider",
    ]
    assert text_of(blocks[4]) == "Primeira linha\nsegunda linha"  # the author's line breaks are kept
    assert [text_of(b) for b in blocks[5:9]] == ["um", "dois", "primeiro", "segundo"]
    assert text_of(blocks[9]) == "pergunta\ncontinua"


def test_inline_bold_code_italic_links_and_escapes() -> None:
    rich = inline(
        "MRR **R$ 120 mil** em `fct_mrr`, _ver_ [painel](https://app.maispet.com.br/x) e [rel](../x) 2*3*4 \\*"
    )

    assert [(item["text"]["content"], item.get("annotations", {})) for item in rich] == [
        ("MRR ", {}),
        ("R$ 120 mil", {"bold": True}),
        (" em ", {}),
        ("fct_mrr", {"code": True}),
        (", ", {}),
        ("ver", {"italic": True}),
        (" ", {}),
        ("painel", {}),
        (" e rel 2*3*4 *", {}),  # a relative link is not a URL Notion accepts: plain text
    ]
    assert rich[7]["text"]["link"] == {"url": "https://app.maispet.com.br/x"}


def test_bold_inside_a_link_and_snake_case_stay_right() -> None:
    rich = inline("[**forte**](https://x.com) churn_rate_30d")

    assert rich[0] == {
        "type": "text",
        "text": {"content": "forte", "link": {"url": "https://x.com"}},
        "annotations": {"bold": True},
    }
    assert rich[1]["text"]["content"] == " churn_rate_30d"


def test_fenced_code_keeps_its_text_and_maps_the_language() -> None:
    blocks = markdown_to_blocks("```py\nx = 1\n\n# not a heading\n```\n\n~~~\nplain\n~~~\n\n```cobol\nA\n```")

    assert kinds(blocks) == ["code", "code", "code"]
    assert text_of(blocks[0]) == "x = 1\n\n# not a heading"
    assert [b["code"]["language"] for b in blocks] == ["python", "plain text", "plain text"]


def test_nested_lists_become_children_two_levels_at_most() -> None:
    blocks = markdown_to_blocks("- pai\n  - filho\n    - neto\n  - filha\n- tio")

    assert kinds(blocks) == ["bulleted_list_item", "bulleted_list_item"]
    children = blocks[0]["bulleted_list_item"]["children"]
    assert [text_of(c) for c in children] == ["filho", "neto", "filha"]  # the grandchild is lifted, in order
    assert all("children" not in c["bulleted_list_item"] for c in children)


def test_github_table_becomes_a_notion_table_with_a_header_row() -> None:
    md = table(["Canal", "Clientes", "CAC"], [["instagram", 120, "R$ 45,00"], ["a|b", 3, "**R$ 9**"]])
    md += "\n| só uma |\n"

    (block,) = markdown_to_blocks(md)

    assert block["type"] == "table"
    assert block["table"]["table_width"] == 3
    assert block["table"]["has_column_header"] is True
    rows = [
        [("".join(i["text"]["content"] for i in cell)) for cell in row["table_row"]["cells"]]
        for row in block["table"]["children"]
    ]
    assert rows == [
        ["Canal", "Clientes", "CAC"],
        ["instagram", "120", "R$ 45,00"],
        ["a|b", "3", "R$ 9"],  # the escaped pipe is a character, not a column
        ["só uma", "", ""],  # short rows are padded to the table's width
    ]
    assert block["table"]["children"][2]["table_row"]["cells"][2][0]["annotations"] == {"bold": True}


def test_a_table_longer_than_100_rows_is_split_with_the_header_repeated() -> None:
    md = table(["n"], [[n] for n in range(250)])

    blocks = markdown_to_blocks(md)

    assert kinds(blocks) == ["table", "table", "table"]
    assert [len(b["table"]["children"]) for b in blocks] == [100, 100, 53]
    assert all(text_of_cell(b["table"]["children"][0]) == "n" for b in blocks)
    assert text_of_cell(blocks[1]["table"]["children"][1]) == "99"


def text_of_cell(row: dict[str, Any]) -> str:
    return row["table_row"]["cells"][0][0]["text"]["content"]


def test_agent_figures_details_become_a_toggle_within_the_nesting_limit() -> None:
    figure = Figure(label="MRR", value=120000.0, unit="BRL", sql="select sum(mrr) from marts.fct_mrr")
    md = "Resumo.\n\n" + figures_block([figure, figure], "pt") + "\n\n_Gerado offline._"

    blocks = markdown_to_blocks(md)

    assert kinds(blocks) == ["paragraph", "toggle", "paragraph"]
    toggle = blocks[1]["toggle"]
    assert text_of(blocks[1]).startswith("Números e as consultas")
    # bullet → code would be a third level inside the toggle: the code follows its bullet instead
    assert kinds(toggle["children"]) == ["bulleted_list_item", "code", "bulleted_list_item", "code"]
    assert text_of(toggle["children"][1]) == "select sum(mrr) from marts.fct_mrr"
    assert toggle["children"][1]["code"]["language"] == "sql"
    assert blocks[2]["paragraph"]["rich_text"][0]["annotations"] == {"italic": True}


def test_a_table_inside_a_toggle_becomes_plain_text_code() -> None:
    md = "<details>\n<summary>Tabela</summary>\n\n" + table(["a", "b"], [[1, 2]]) + "\n</details>"

    (toggle,) = markdown_to_blocks(md)

    (child,) = toggle["toggle"]["children"]
    assert child["type"] == "code"
    assert text_of(child) == "a | b\n1 | 2"


def test_long_text_is_cut_into_2000_character_pieces() -> None:
    paragraph = "x" * 4500
    code = "\n".join(f"select {n};" for n in range(600))

    blocks = markdown_to_blocks(paragraph + "\n\n```sql\n" + code + "\n```")

    pieces = [item["text"]["content"] for block in blocks for item in block[block["type"]]["rich_text"]]
    assert [len(p) for p in pieces[:3]] == [2000, 2000, 500]
    assert all(utf16_len(p) <= 2000 for p in pieces)
    assert text_of(blocks[1]) == code  # nothing lost in the cut


def test_chunks_count_emoji_as_two_units_like_notion() -> None:
    text = "🐶" * 1500  # 3,000 UTF-16 code units

    parts = list(chunks(text))

    assert [utf16_len(p) for p in parts] == [2000, 1000]
    assert "".join(parts) == text


def test_more_than_100_rich_text_pieces_become_several_blocks() -> None:
    blocks = markdown_to_blocks("y" * (2000 * 150))

    assert kinds(blocks) == ["paragraph", "paragraph"]
    assert [len(b["paragraph"]["rich_text"]) for b in blocks] == [100, 50]


def test_a_list_item_with_more_than_100_children_overflows_to_the_top_level() -> None:
    md = "- pai\n" + "\n".join(f"  - filho {n}" for n in range(130))

    blocks = markdown_to_blocks(md)

    assert len(blocks[0]["bulleted_list_item"]["children"]) == 100
    assert [text_of(b) for b in blocks[1:3]] == ["filho 100", "filho 101"]
    assert len(blocks) == 31
    assert block_count(blocks[0]) == 101


def test_empty_and_html_only_markdown_gives_no_blocks() -> None:
    assert markdown_to_blocks("") == []
    assert markdown_to_blocks("\n\n</details>\n<!-- nota -->\n") == []
