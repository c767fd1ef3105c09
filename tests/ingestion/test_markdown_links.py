"""Markdown links keep their text and lose their address: an address is not knowledge, yet
it fills chunks, the embedder's window and quoted evidence (issue 9, the Sourcegraph handbook)."""

from kbassist.ingestion.formats.markdown import parse_markdown, without_addresses


def test_a_link_keeps_its_text_and_loses_its_address():
    source = "We are an [all-remote team](../../company/remote/index.md) with a [budget](spending.md \"Spending\")."
    assert without_addresses(source) == "We are an all-remote team with a budget."


def test_a_long_shopping_link_leaves_only_its_words():
    source = ("- [Portable monitor](https://www.amazon.com/gp/product/B097MZGZ2Y/ref=ppx?ie=UTF8&psc=1) - Highly recommend!\n"
              "- [Laptop stand](<https://example.com/a b>) - sturdy")
    assert without_addresses(source) == "- Portable monitor - Highly recommend!\n- Laptop stand - sturdy"


def test_images_keep_their_alt_text_and_a_linked_image_its_alt_text_only():
    assert without_addresses("![Org chart](chart.png) and [![Badge](b.svg)](https://ci)") == "Org chart and Badge"


def test_an_address_with_parentheses_is_removed_whole():
    assert without_addresses("See [the wiki](https://en.wikipedia.org/wiki/Foo_(bar)) now") == "See the wiki now"


def test_reference_links_keep_their_text_and_their_definitions_are_left_out():
    source = "Ask [People Ops][ops] or [the handbook][].\n\n[ops]: https://example.com/ops\n"
    assert without_addresses(source).strip() == "Ask People Ops or the handbook."


def test_html_comments_are_left_out():
    assert without_addresses("Before <!-- TODO: update\nnext year --> after") == "Before  after"


def test_code_keeps_its_text_as_written():
    source = "Use `[x](y)` literally:\n\n```md\n[link](https://example.com)\n```\n\nbut [this](z.md) is a link."
    assert without_addresses(source) == (
        "Use `[x](y)` literally:\n\n```md\n[link](https://example.com)\n```\n\nbut this is a link.")


def test_a_handbook_page_is_chunked_without_addresses_and_keeps_its_facts(tmp_path):
    page = tmp_path / "spending.md"
    page.write_text("# Spending company money\n\n## Desk set-up\n\nNew [Design team](../design/index.md) members may "
                    "spend **$2,650** ([details](https://docs.google.com/document/d/1XX/edit?usp=sharing)).\n")
    parsed = parse_markdown(page)
    assert parsed.blocks[0].text == "New Design team members may spend **$2,650** (details)."
    assert parsed.blocks[0].heading == "Spending company money › Desk set-up"
