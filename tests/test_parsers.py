"""Each supported format parses into text blocks with pages and section headings;
broken or unsupported files raise ParseError with a readable reason."""

import pytest

from kbassist.ingestion.parsers import ParseError, parse


def make_pdf(path, pages):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Travel policy")
    pdf.set_font("helvetica", size=12)
    for heading, body in pages:
        pdf.add_page()
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 8, body)
    pdf.output(str(path))
    return path


def test_pdf_keeps_page_numbers_and_title(tmp_path):
    path = make_pdf(tmp_path / "travel.pdf", [("Booking", "Book trains early."), ("Hotels", "Hotel cap is 150 EUR per night.")])
    doc = parse(path)
    assert doc.title == "Travel policy"
    assert doc.page_count == 2
    assert [b.page for b in doc.blocks] == [1, 2]
    assert "150 EUR" in doc.blocks[1].text
    assert doc.blocks[1].heading == "Hotels"


def test_truncated_pdf_fails_with_reason(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", [("A", "text " * 50)])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ParseError) as err:
        parse(broken)
    assert "PDF" in str(err.value)


def test_pdf_without_text_layer_fails(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(ParseError, match="No text"):
        parse(tmp_path / "scan.pdf")


def test_docx_headings_paragraphs_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Benefits", level=1)
    document.add_paragraph("Everyone gets a gym allowance.")
    document.add_heading("Gym", level=2)
    document.add_paragraph("The allowance is 40 EUR a month.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Berlin"
    table.rows[0].cells[1].text = "40 EUR"
    document.save(tmp_path / "benefits.docx")
    doc = parse(tmp_path / "benefits.docx")
    assert doc.title == "Benefits"
    assert [b.heading for b in doc.blocks] == ["Benefits", "Benefits › Gym"]
    assert "40 EUR a month" in doc.blocks[1].text
    assert "Berlin | 40 EUR" in doc.blocks[1].text


def test_broken_docx_fails(tmp_path):
    (tmp_path / "x.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ParseError, match="Word"):
        parse(tmp_path / "x.docx")


def test_html_sections_without_scripts(tmp_path):
    (tmp_path / "vpn.html").write_text(
        "<html><head><title>VPN guide</title><script>alert(1)</script></head><body>"
        "<h1>VPN</h1><p>Install the client.</p><h2>Troubleshooting</h2><ol><li>Restart</li><li>Call IT</li></ol>"
        "<table><tr><th>Office</th><th>Server</th></tr><tr><td>Berlin</td><td>vpn-ber</td></tr></table></body></html>"
    )
    doc = parse(tmp_path / "vpn.html")
    assert doc.title == "VPN guide"
    assert [b.heading for b in doc.blocks] == ["VPN", "VPN › Troubleshooting"]
    text = doc.blocks[1].text
    assert "- Restart" in text and "Berlin | vpn-ber" in text
    assert "alert" not in "".join(b.text for b in doc.blocks)


def test_markdown_front_matter_headings_and_liquid_tags(tmp_path):
    (tmp_path / "leave.md").write_text(
        "---\ntitle: Leave policy\n---\n\nIntro {% include note.html %} text.\n\n## Vacation\n\n28 days.\n\n"
        "```\n# not a heading\n```\n\n### Carry-over\n\nUp to 5 days.\n\n## Sick leave\n\nTell your manager.\n"
    )
    doc = parse(tmp_path / "leave.md")
    assert doc.title == "Leave policy"
    assert [b.heading for b in doc.blocks] == ["", "Vacation", "Vacation › Carry-over", "Sick leave"]
    assert "{%" not in doc.blocks[0].text
    assert "# not a heading" in doc.blocks[1].text


def test_chinese_markdown(tmp_path):
    (tmp_path / "zh.md").write_text("# 休假制度\n\n## 年假\n\n全职员工每年享有二十八天年假。\n", encoding="utf-8")
    doc = parse(tmp_path / "zh.md")
    assert doc.title == "休假制度"
    assert doc.blocks[-1].heading == "休假制度 › 年假"


def test_text_with_underlined_and_caps_headings(tmp_path):
    (tmp_path / "guide.txt").write_text("Onboarding\n==========\n\nWelcome.\n\nFIRST DAY\nBring your ID.\n")
    doc = parse(tmp_path / "guide.txt")
    assert [(b.heading, b.text) for b in doc.blocks] == [("Onboarding", "Welcome."), ("FIRST DAY", "Bring your ID.")]


def test_gb18030_text_is_decoded(tmp_path):
    (tmp_path / "gb.txt").write_bytes("报销须在三十天内提交。".encode("gb18030"))
    assert "三十天" in parse(tmp_path / "gb.txt").blocks[0].text


@pytest.mark.parametrize(
    "name, content, reason",
    [("image.png", b"\x89PNG....", "Unsupported file type '.png'"), ("empty.md", b"", "empty"), ("blank.txt", b"\n\n  \n", "empty")],
)
def test_unusable_files(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ParseError, match=reason):
        parse(tmp_path / name)


def test_pdf_running_headers_and_footers_are_dropped(tmp_path):
    pages = [(f"Company Handbook\n{topic}", f"{topic} rules apply.\nPage {i} of 3") for i, topic in enumerate(["Travel", "Hotels", "Meals"], 1)]
    path = make_pdf(tmp_path / "handbook.pdf", [(h.split("\n")[0], h.split("\n")[1] + "\n" + body) for h, body in pages])
    doc = parse(path)
    assert [b.heading for b in doc.blocks] == ["Travel", "Hotels", "Meals"]
    assert all("Page" not in b.text and "Company Handbook" not in b.text for b in doc.blocks)
