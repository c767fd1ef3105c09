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


def test_a_long_list_is_cut_between_items_so_a_rule_stays_with_what_to_do_about_it():
    steps = "\n".join(f"  - {i}. Click the button number {i} on the screen and wait for the next page to load." for i in range(1, 9))
    rule = ("- Any PTO that exceeds 10 business days within a 30 day period requires additional approval, as a long "
            "absence affects the team. To obtain approval, send a Slack message to your Manager, Department Head, and People Partner.")
    text = "- Assign roles while you are out:\n" + steps + "\n" + rule + "\n- Respect your team and the business needs."
    chunks = chunk_blocks([Block(text, heading="PTO ground rules")], size=120, overlap=20)
    assert len(chunks) > 1 and all(count_tokens(c.text) <= 120 for c in chunks)
    assert any(rule in c.text for c in chunks)  # the condition and the people to ask, in one chunk
    assert all("\n" in c.text or count_tokens(c.text) < 30 for c in chunks)  # items keep their lines


def test_a_long_list_item_is_still_cut_at_its_sentences():
    item = "- " + " ".join(f"Sentence {i} of one very long list item." for i in range(40))
    chunks = chunk_blocks([Block(item + "\n- A short item.")], size=60, overlap=0)
    assert all(count_tokens(c.text) <= 60 for c in chunks)
    assert chunks[-1].text.endswith("- A short item.")
