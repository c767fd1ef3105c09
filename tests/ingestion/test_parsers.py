"""Each supported format parses into text blocks with pages and section headings;
broken or unsupported files raise ParseError with a readable reason."""

import pytest

from kbassist.ingestion.parsers import NothingToIndex, ParseError, parse


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


def parse_written(tmp_path, name, content):
    """``content`` (text is written as UTF-8) saved as ``tmp_path / name``, then parsed."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return parse(path)


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


def test_pdf_of_blank_pages_has_nothing_to_index(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    pdf.output(str(tmp_path / "blank.pdf"))
    with pytest.raises(NothingToIndex, match="blank"):
        parse(tmp_path / "blank.pdf")


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
    with pytest.raises(ParseError, match="Word"):
        parse_written(tmp_path, "x.docx", b"PK\x03\x04 this is not really a zip")


VPN_HTML = (
    "<html><head><title>VPN guide</title><script>alert(1)</script></head><body>"
    "<h1>VPN</h1><p>Install the client.</p><h2>Troubleshooting</h2><ol><li>Restart</li><li>Call IT</li></ol>"
    "<table><tr><th>Office</th><th>Server</th></tr><tr><td>Berlin</td><td>vpn-ber</td></tr></table></body></html>"
)


def test_html_sections_without_scripts(tmp_path):
    doc = parse_written(tmp_path, "vpn.html", VPN_HTML)
    assert doc.title == "VPN guide"
    assert [b.heading for b in doc.blocks] == ["VPN", "VPN › Troubleshooting"]
    text = doc.blocks[1].text
    assert "- Restart" in text and "Berlin | vpn-ber" in text
    assert "alert" not in "".join(b.text for b in doc.blocks)


def test_chinese_markdown(tmp_path):
    doc = parse_written(tmp_path, "zh.md", "# 休假制度\n\n## 年假\n\n全职员工每年享有二十八天年假。\n")
    assert doc.title == "休假制度"
    assert doc.blocks[-1].heading == "休假制度 › 年假"


def test_text_with_underlined_and_caps_headings(tmp_path):
    doc = parse_written(tmp_path, "guide.txt", "Onboarding\n==========\n\nWelcome.\n\nFIRST DAY\nBring your ID.\n")
    assert [(b.heading, b.text) for b in doc.blocks] == [("Onboarding", "Welcome."), ("FIRST DAY", "Bring your ID.")]


def test_gb18030_text_is_decoded(tmp_path):
    assert "三十天" in parse_written(tmp_path, "gb.txt", "报销须在三十天内提交。".encode("gb18030")).blocks[0].text


@pytest.mark.parametrize(
    "name, content, reason",
    [("song.mp3", b"ID3\x03\x00....", "Unsupported file type '.mp3'"), ("empty.md", b"", "empty"), ("blank.txt", b"\n\n  \n", "empty")],
)
def test_unusable_files(tmp_path, name, content, reason):
    with pytest.raises(ParseError, match=reason):
        parse_written(tmp_path, name, content)


def test_pdf_running_headers_and_footers_are_dropped(tmp_path):
    pages = [(f"Company Handbook\n{topic}", f"{topic} rules apply.\nPage {i} of 3") for i, topic in enumerate(["Travel", "Hotels", "Meals"], 1)]
    path = make_pdf(tmp_path / "handbook.pdf", [(h.split("\n")[0], h.split("\n")[1] + "\n" + body) for h, body in pages])
    doc = parse(path)
    assert [b.heading for b in doc.blocks] == ["Travel", "Hotels", "Meals"]
    assert all("Page" not in b.text and "Company Handbook" not in b.text for b in doc.blocks)


# --- Text encodings: UTF-8 directly, anything else through charset-normalizer ---------------------
LEAVE_ZH = "年假\n====\n\n全职员工每年享有二十八天年假。年假须提前两周申请，经直属经理批准。\n"
LEAVE_FR = "Congés\n======\n\nLes congés payés sont de vingt-huit jours par an, à demander deux semaines à l'avance.\n"


@pytest.mark.parametrize(
    "text, encoding",
    [
        (LEAVE_ZH, "gb18030"),  # Simplified Chinese Windows
        (LEAVE_ZH, "utf-16"),  # Notepad's "Unicode": little-endian with a byte-order mark
        ("\ufeff" + LEAVE_ZH, "utf-16-be"),  # big-endian, byte-order mark written by hand
        ("\ufeff" + LEAVE_ZH, "utf-8"),  # UTF-8 with a byte-order mark
        (LEAVE_FR, "latin-1"),
        (LEAVE_FR.replace("à", "–"), "cp1252"),  # Western Windows, with a dash Latin-1 lacks
    ],
)
def test_text_files_in_other_encodings_are_decoded(tmp_path, text, encoding):
    doc = parse_written(tmp_path, "leave.txt", text.encode(encoding))
    heading, body = text.lstrip("\ufeff").split("\n")[0], text.split("\n\n")[1].strip()
    assert [(b.heading, b.text) for b in doc.blocks] == [(heading, body)]


def test_html_in_its_declared_encoding(tmp_path):
    """As browsers do, a GB2312 label is read as its superset GB18030 (镕 is not in GB2312)."""
    page = "<html><head><meta charset='gb2312'><title>休假制度</title></head><body><p>朱镕基：年假二十八天。</p></body></html>"
    doc = parse_written(tmp_path, "leave.html", page.encode("gb18030"))
    assert doc.title == "休假制度" and doc.blocks[0].text == "朱镕基：年假二十八天。"


def test_binary_file_named_txt_is_refused_as_such(tmp_path):
    with pytest.raises(ParseError, match=r"This \.txt file is a PDF document, not a text file"):
        parse_written(tmp_path, "notes.txt", make_pdf(tmp_path / "x.pdf", [("A", "a")]).read_bytes())


# --- Markdown front matter (python-frontmatter) -------------------------------------------------------
@pytest.mark.parametrize(
    "text, title, blocks",
    [
        pytest.param(
            "---\ntitle: Leave policy\n---\n\nIntro {% include note.html %} text.\n\n## Vacation\n\n28 days.\n\n"
            "```\n# not a heading\n```\n\n### Carry-over\n\nUp to 5 days.\n\n## Sick leave\n\nTell your manager.\n",
            "Leave policy",
            [
                ("", "Intro  text."),
                ("Vacation", "28 days.\n\n```\n# not a heading\n```"),
                ("Vacation › Carry-over", "Up to 5 days."),
                ("Sick leave", "Tell your manager."),
            ],
            id="liquid-tags-dropped-and-no-headings-inside-code",
        ),
        pytest.param(
            '# FITARA\n\nPost in the {% slack_channel "tts-fitara-reviews" %} channel to start.'
            "{% comment %}Old process: email the CIO.{% endcomment %}\n",
            "FITARA",
            [("FITARA", "Post in the #tts-fitara-reviews channel to start.")],
            id="slack-channels-named-and-comments-left-out",
        ),
        pytest.param(
            '---\ntitle: "Travel: booking and expenses"\nredirect_from:\n  - /travel/\n  - /expenses/\n'
            "tags: [travel, money]\n---\n\n## Booking\n\nBook trains two weeks ahead.\n",
            "Travel: booking and expenses",
            [("Booking", "Book trains two weeks ahead.")],
            id="read-as-yaml",
        ),
        pytest.param(
            "---\ntitle: @draft: [unclosed\n---\n\n# Parking\n\nFree on Fridays.\n",
            "Parking",  # from the first heading, since the front matter's title is lost
            [("Parking", "Free on Fridays.")],
            id="not-valid-yaml",
        ),
    ],
)
def test_markdown_front_matter_gives_the_title_and_is_left_out_of_the_text(tmp_path, text, title, blocks):
    doc = parse_written(tmp_path, "page.md", text)
    assert doc.title == title
    assert [(b.heading, b.text) for b in doc.blocks] == blocks


def test_front_matter_keywords_and_tags_are_kept_to_be_searched(tmp_path):
    doc = parse_written(tmp_path, "welcome.md", "---\ntitle: Welcome to TTS\nkeywords: welcome, letter\ntags: [onboarding, Welcome]\n---\n\nYou've just joined.\n")
    assert doc.keywords == "welcome, letter, onboarding"
    assert parse_written(tmp_path, "plain.md", "# Plain\n\nNo front matter.\n").keywords == ""
    html = '<html><head><title>Leave</title><meta name="keywords" content="maternity, paternity"></head><body><p>12 weeks.</p></body></html>'
    assert parse_written(tmp_path, "leave.html", html).keywords == "maternity, paternity"


def test_front_matter_only_page_is_a_redirect_with_nothing_to_index(tmp_path):
    with pytest.raises(NothingToIndex, match="A redirect page"):
        parse_written(tmp_path, "old.md", "---\ntitle: Old page\nredirect_to: /new/\n---\n")


# --- The content decides what a file is; a wrong extension is named as such --------------------------
def test_html_page_saved_as_pdf_is_named_as_an_html_page(tmp_path):
    with pytest.raises(ParseError, match=r"This \.pdf file is an HTML page, not a PDF\. Upload it with the extension \.html"):
        parse_written(tmp_path, "policy.pdf", "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>")


def test_html_without_doctype_and_after_blank_lines_is_recognised_too(tmp_path):
    with pytest.raises(ParseError, match="is an HTML page"):
        parse_written(tmp_path, "policy.pdf", "\n\n  <HTML><BODY><P>Moved.</P></BODY></HTML>")


def test_zip_renamed_docx_is_not_a_word_file(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "benefits.docx", "w") as archive:
        archive.writestr("benefits.txt", "Gym allowance: 40 EUR a month.")
    with pytest.raises(ParseError, match=r"This \.docx file is a ZIP archive, not a Word file"):
        parse(tmp_path / "benefits.docx")


def test_word_document_named_pdf_says_it_is_a_word_document(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Hello")
    document.save(tmp_path / "letter.pdf")
    with pytest.raises(ParseError, match=r"This \.pdf file is a Word document, not a PDF\. Upload it with the extension \.docx"):
        parse(tmp_path / "letter.pdf")


def test_text_that_starts_like_a_bitmap_is_still_text(tmp_path):
    """Two-byte signatures ("BM": bitmap, "MZ": program) are too weak to overrule a text file."""
    assert parse_written(tmp_path, "cars.txt", "BMW and MZ motorbikes are pool vehicles.\n").blocks[0].text.startswith("BMW")


# --- Encrypted PDFs ----------------------------------------------------------------------------------------
def make_encrypted_pdf(path, user_password, method="RC4"):
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Salary bands")
    pdf.set_encryption(owner_password="owner-secret", user_password=user_password, encryption_method=EncryptionMethod[method])
    pdf.output(str(path))
    return path


def test_pdf_that_needs_a_password_says_so(tmp_path):
    path = make_encrypted_pdf(tmp_path / "salaries.pdf", user_password="s3cret")
    with pytest.raises(ParseError, match="password-protected"):
        parse(path)


@pytest.mark.parametrize("method", ["RC4", "AES_128"])
def test_pdf_protected_only_against_editing_opens_with_the_empty_password(tmp_path, method):
    path = make_encrypted_pdf(tmp_path / "salaries.pdf", user_password="", method=method)
    assert parse(path).blocks[0].text == "Salary bands"


# --- Messages name the file at most by its own name, never by where it is stored ---------------------------
def _broken_files(folder):
    """(stored file, uploaded name) pairs that all fail, each for a different reason."""
    import zipfile

    folder.mkdir(parents=True)
    (folder / "a1").write_text("<!DOCTYPE html><html><body>x</body></html>")
    with zipfile.ZipFile(folder / "a2", "w") as archive:
        archive.writestr("x.txt", "x")
    (folder / "a3").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "a4").write_bytes(make_pdf(folder / "a4-source", [("A", "text " * 50)]).read_bytes()[:300])
    make_encrypted_pdf(folder / "a5", user_password="s3cret")
    (folder / "a6").write_bytes(bytes(range(256)) * 8)
    (folder / "a7").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return [
        (folder / "a1", "report.pdf"),
        (folder / "a2", "report.docx"),
        (folder / "a3", "report.docx"),
        (folder / "a4", "report.pdf"),
        (folder / "a5", "report.pdf"),
        (folder / "a6", "report.txt"),
        (folder / "a7", "report.md"),
        (folder / "gone", "report.md"),
    ]


def test_no_error_message_shows_where_the_file_is_stored(tmp_path):
    storage = tmp_path / "media" / "documents"
    for path, name in _broken_files(storage):
        with pytest.raises(ParseError) as err:
            parse(path, name)
        message = str(err.value)
        assert str(tmp_path) not in message and tmp_path.name not in message and "media" not in message, message
        assert path.name not in message.replace("report", ""), message


def test_a_library_message_that_mentions_the_file_is_cut_down_to_its_name(tmp_path):
    """python-docx names the file it could not read ("file '<...name='/srv/...'>' is not a Word
    file"); the admin sees the uploaded file's name instead."""
    import zipfile

    import docx

    document = docx.Document()
    document.add_paragraph("Hello")
    document.save(tmp_path / "real.docx")
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    template = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
    stored = tmp_path / "storage" / "k3x9.docx"
    stored.parent.mkdir()
    with zipfile.ZipFile(tmp_path / "real.docx") as source, zipfile.ZipFile(stored, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":  # main part re-typed; the Word type still listed
                data = data.decode().replace(main, template).replace("<Default ", f'<Default Extension="w" ContentType="{main}"/><Default ', 1).encode()
            target.writestr(item, data)
    with pytest.raises(ParseError) as err:
        parse(stored, "Benefits.docx")
    message = str(err.value)
    assert "Benefits.docx" in message and str(tmp_path) not in message and "k3x9" not in message
