"""Chunks respect sections and pages, stay within the size, and overlap."""

from kbassist.ingestion.chunking import chunk_blocks, count_tokens
from kbassist.ingestion.parsers import Block


def test_sections_and_pages_are_never_mixed():
    blocks = [Block("Alpha text.", page=1, heading="A"), Block("Beta text.", page=2, heading="A"), Block("Gamma.", page=2, heading="B")]
    chunks = chunk_blocks(blocks, size=50, overlap=10)
    assert [(c.text, c.page, c.heading) for c in chunks] == [
        ("Alpha text.", 1, "A"), ("Beta text.", 2, "A"), ("Gamma.", 2, "B")
    ]
    assert [c.position for c in chunks] == [0, 1, 2]


def test_long_section_is_split_within_size_with_overlap():
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(60)]
    chunks = chunk_blocks([Block(" ".join(sentences), heading="Long")], size=40, overlap=10)
    assert len(chunks) > 5
    assert all(count_tokens(c.text) <= 40 for c in chunks)
    for first, second in zip(chunks, chunks[1:]):
        last_sentence = first.text.split(". ")[-1]
        assert last_sentence.rstrip(".") in second.text  # the overlap carries the tail over
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_paragraphs_are_packed_together():
    text = "\n\n".join(f"Paragraph {i} is short." for i in range(5))
    chunks = chunk_blocks([Block(text)], size=200, overlap=20)
    assert len(chunks) == 1
    assert chunks[0].text.count("\n\n") == 4


def test_chinese_without_spaces_is_split_by_characters_and_sentences():
    text = "。".join(["员工每年享有二十八天带薪年假"] * 40) + "。"
    chunks = chunk_blocks([Block(text, heading="年假")], size=50, overlap=10)
    assert len(chunks) > 10
    assert all(count_tokens(c.text) <= 50 for c in chunks)
    assert " " not in chunks[0].text
    unbroken = "员" * 300
    assert all(count_tokens(c.text) <= 50 for c in chunk_blocks([Block(unbroken)], size=50, overlap=0))


def test_a_long_list_keeps_its_items_on_their_lines_and_its_links_whole():
    """Cut at sentence ends, a list too long for one chunk was joined back with spaces: its
    items ran together on one line ("… in. 1. Have each speaker sign …"), and a link's
    "edit?usp=sharing" was cut at its "?"."""
    items = [f"1. Step {i}: ask the speaker to read rule {i}. Then file it." for i in range(30)]
    items[3] = "1. Have each speaker sign the [agreement](https://docs.example.com/d/1/edit?usp=sharing) first."
    text = "Follow these steps:\n" + "\n".join(items)
    chunks = chunk_blocks([Block(text, heading="Steps")], size=60, overlap=10)
    assert len(chunks) > 3
    for chunk in chunks:  # (a chunk may begin inside an item: the overlap cuts at a sentence)
        assert all(line.startswith("1. ") for line in chunk.text.split("\n")[1:])
        assert "it. 1." not in chunk.text and "first. 1." not in chunk.text
    assert any("](https://docs.example.com/d/1/edit?usp=sharing) first." in c.text for c in chunks)


def test_a_wide_padded_table_is_cut_between_rows_each_piece_with_its_header():
    """A separator row padded to its columns' width ("| ------…- |") counted one token a dash:
    the header alone outgrew a chunk, and the table was cut as word runs, rows without header."""
    width = 120
    header = "| " + "Source".ljust(width) + " | " + "How long is this data kept for?".ljust(width) + " |"
    separator = "| " + "-" * width + " | " + "-" * width + " |"
    rows = [f"| Tool {i}".ljust(width + 2) + f" | {i * 10} days".ljust(width + 3) + " |" for i in range(40)]
    text = "\n".join([header, separator, *rows])
    chunks = chunk_blocks([Block(text, heading="Product data")], size=100, overlap=20)
    assert len(chunks) > 1
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == header and lines[1] == "| --- | --- |"
        assert all(line.startswith("| Tool ") for line in lines[2:])
    assert all(any(f"| {i * 10} days" in c.text for c in chunks) for i in range(40))


def test_a_list_number_begins_its_item_even_after_an_item_without_a_full_stop():
    items = [f"{k}. Step {k}: ask the speaker about rule {k} and note the answer" for k in range(1, 40)]
    chunks = chunk_blocks([Block("Steps:\n" + "\n".join(items), heading="Steps")], size=60, overlap=10)
    assert len(chunks) > 3
    for chunk in chunks:
        assert not any(line.rstrip().endswith(".") and line.strip()[:-1].isdigit() for line in chunk.text.split("\n"))
    assert all(any(item in c.text.split("\n") for c in chunks) for item in items)


def test_a_table_row_too_long_for_a_chunk_becomes_a_record_naming_its_columns():
    """A row longer than a chunk beside its header (a Word policy table with a paragraph in a
    cell) was cut as word runs: its values lost the columns that say what they are."""
    header = "| If you want to... | Your management | [Finance](../finance/index.md) | Notes |"
    notes = " ".join(f"Step {i} of the request is reviewed by People Ops." for i in range(30))
    rows = ["| Give someone a raise | Approval | Notify | Short note. |",
            f"| Give someone a spot bonus | Approval | Notify | {notes} |",
            "| Change a title | Notify | | Request it in BambooHR. |"]
    text = "\n".join(["Compensation changes", header, "|---|---|---|---|", *rows])
    chunks = chunk_blocks([Block(text, heading="Approvals")], size=80, overlap=10)
    assert all(count_tokens(c.text) <= 80 for c in chunks)
    records = [p for c in chunks for p in c.text.split("\n\n") if "Give someone a spot bonus" in p]
    assert len(records) > 1
    for record in records:
        caption, line = record.split("\n")
        assert caption == "Compensation changes" and line.startswith("If you want to...: Give someone a spot bonus;")
    assert records[0].startswith("Compensation changes\nIf you want to...: Give someone a spot bonus; Your management: Approval; Finance: Notify; Notes: Step 0 ")
    assert all(f"Step {i} of the request" in " ".join(records) for i in range(30))
    # the rows that fit stay rows, under their header
    assert any(c.text.split("\n")[1:3] == [header, "|---|---|---|---|"] and "| Give someone a raise |" in c.text for c in chunks)
    assert any("| Change a title |" in c.text and header in c.text for c in chunks)


def test_a_record_names_blank_and_extra_columns_and_keeps_an_escaped_pipe_in_its_cell():
    header = "| Plan | | Notes |"
    long_note = " ".join(f"Clause {i} applies." for i in range(40))
    row = f"| Gold \\| Silver | 40% | {long_note} | extra |"
    chunks = chunk_blocks([Block("\n".join([header, "|---|---|---|", row]), heading="Plans")], size=60, overlap=0)
    first = chunks[0].text
    assert first.startswith("Plan: Gold \\| Silver; B: 40%; Notes: Clause 0 applies.")
    assert all(c.text.startswith("Plan: Gold \\| Silver;") for c in chunks)
    assert any("D: extra" in c.text for c in chunks) and all(count_tokens(c.text) <= 60 for c in chunks)


def test_a_long_caption_is_not_repeated_over_a_long_rows_pieces():
    caption = "Approvals " + " ".join(f"word{i}" for i in range(30))
    row = "| Bonus | " + " ".join(f"Step {i} is reviewed." for i in range(40)) + " |"
    chunks = chunk_blocks([Block("\n".join([caption, "| Change | Notes |", "|---|---|", row]), heading="A")], size=80, overlap=0)
    assert all(c.text.startswith("Change: Bonus;") for c in chunks) and len(chunks) < 8
