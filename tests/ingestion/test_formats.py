"""The formats beyond text documents, each from a file the test makes: spreadsheets (header
rows kept with every row, formulas as their cached values), slides with speaker notes,
e-mail, CSV tables, old Office files, scans and photos read by OCR, and tables kept whole."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile

import pytest

from kbassist.ingestion import ocr
from kbassist.ingestion.chunking import chunk_blocks
from kbassist.ingestion.parsers import NothingToIndex, ParseError, parse

TESSERACT = shutil.which("tesseract")


@pytest.fixture
def needs_tesseract():
    """OCR tests need Debian's tesseract-ocr: skipped without it, failed in CI (KB_REQUIRE_SERVERS=1)."""
    if TESSERACT is None:
        message = f"tesseract is not installed ({ocr.INSTALL_HINT})"
        if os.environ.get("KB_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " (KB_REQUIRE_SERVERS=1)")
        pytest.skip(message)


# --- Excel -----------------------------------------------------------------------------------
def make_xlsx(path, cached: dict[str, str]):
    """A workbook with a header row and formulas; ``cached`` (cell -> value) is written into
    the file as the values Excel calculated last, as Excel itself does on saving."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Laptops"
    sheet.append(["Laptop model", "Price (EUR)", "Quantity", "Total"])
    sheet.append(["ThinkPad X1", 1899, 2, "=B2*C2"])
    sheet.append(["MacBook Air", 1299.5, 1, "=B3*C3"])
    sheet.append([None, None, None, None])
    sheet.append(["Dell Latitude", 999, 3, "=B5*C5"])
    other = book.create_sheet("Monitors")
    other.append(["Monitor", "Ports"])
    other.append(["Dell U2723QE", "USB-C, HDMI"])
    hidden = book.create_sheet("Secret")
    hidden.append(["Password", "hunter2"])
    hidden.sheet_state = "hidden"
    book.save(path)
    # openpyxl writes formulas without a value: add the cached <v> as Excel would.
    with zipfile.ZipFile(path) as package:
        members = {name: package.read(name) for name in package.namelist()}
    xml = members["xl/worksheets/sheet1.xml"].decode()
    for cell, value in cached.items():
        xml = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?', rf"\g<1>\g<2><v>{value}</v>", xml)
    members["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in members.items():
            package.writestr(name, data)


def test_xlsx_sheets_are_sections_and_rows_keep_their_header(tmp_path):
    path = tmp_path / "inventory.xlsx"
    make_xlsx(path, {"D2": "3798", "D3": "1299.5"})
    parsed = parse(path)
    assert [b.heading for b in parsed.blocks] == ["Laptops", "Monitors"]  # the hidden sheet is left out
    laptops = parsed.blocks[0].text.split("\n\n")
    assert laptops[0] == "Laptop model: ThinkPad X1; Price (EUR): 1899; Quantity: 2; Total: 3798"
    assert laptops[1] == "Laptop model: MacBook Air; Price (EUR): 1299.5; Quantity: 1; Total: 1299.5"
    # A formula never calculated has no cached value: it reads as empty, never as "=B5*C5".
    assert laptops[2] == "Laptop model: Dell Latitude; Price (EUR): 999; Quantity: 3"
    assert "=B" not in parsed.blocks[0].text and "hunter2" not in str(parsed.blocks)
    assert parsed.blocks[1].text == "Monitor: Dell U2723QE; Ports: USB-C, HDMI"
    # A question about one row finds that row, with its header, in one chunk.
    chunk = next(c for c in chunk_blocks(parsed.blocks, size=30, overlap=0) if "ThinkPad" in c.text)
    assert "Price (EUR): 1899" in chunk.text and chunk.heading == "Laptops"


def test_csv_that_is_not_an_faq_list_is_read_as_records(tmp_path):
    path = tmp_path / "phones.csv"
    path.write_bytes("Name;Extension;Office\nFinance team;4300;Berlin\nIT helpdesk;4400;上海\n".encode("gb18030"))
    parsed = parse(path)
    assert parsed.blocks[0].text == "Name: Finance team; Extension: 4300; Office: Berlin\n\nName: IT helpdesk; Extension: 4400; Office: 上海"


# --- PowerPoint ------------------------------------------------------------------------------
def test_pptx_slides_are_sections_with_title_text_table_and_notes(tmp_path):
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    deck.core_properties.title = "Onboarding"
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    slide.shapes.title.text = "Your first week"
    body = slide.placeholders[1].text_frame
    body.text = "Collect your laptop from IT on Monday."
    body.add_paragraph().text = "Meet your buddy"
    slide.notes_slide.notes_text_frame.text = "Remind them that badges take two days."
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Contacts"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([["Team", "Extension"], ["IT helpdesk", "4400"], ["People team", "4200"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(tmp_path / "onboarding.pptx")

    parsed = parse(tmp_path / "onboarding.pptx")
    assert parsed.title == "Onboarding" and parsed.page_count == 2
    first, contacts = parsed.blocks
    assert (first.heading, first.page) == ("Your first week", 1)
    assert "Collect your laptop from IT on Monday." in first.text and "Meet your buddy" in first.text
    assert "Speaker notes: Remind them that badges take two days." in first.text
    assert (contacts.heading, contacts.page) == ("Contacts", 2)
    assert "| Team | Extension |\n|---|---|\n| IT helpdesk | 4400 |" in contacts.text


# --- E-mail ----------------------------------------------------------------------------------
def test_eml_subject_people_date_body_and_attachment_names(tmp_path):
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "New VPN client from 1 March"
    message["From"] = "IT helpdesk <helpdesk@northwind.example>"
    message["To"] = "all@northwind.example"
    message["Date"] = "Mon, 24 Feb 2025 09:00:00 +0100"
    message.set_content("Please install NorthwindVPN 5 before 1 March.\nThe old client stops working then.")
    message.add_alternative("<p>Please install <b>NorthwindVPN 5</b> before 1 March.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="install-guide.pdf")
    (tmp_path / "vpn.eml").write_bytes(bytes(message))

    parsed = parse(tmp_path / "vpn.eml")
    assert parsed.title == "New VPN client from 1 March"
    (block,) = parsed.blocks
    assert block.heading == "New VPN client from 1 March"
    assert "From: IT helpdesk <helpdesk@northwind.example>; To: all@northwind.example; Date: Mon, 24 Feb 2025" in block.text
    assert "Please install NorthwindVPN 5 before 1 March." in block.text and "<b>" not in block.text
    assert "Attachments: install-guide.pdf" in block.text


def test_html_only_eml_is_read_as_text(tmp_path):
    (tmp_path / "note.eml").write_bytes(
        b"Subject: Parking\r\nFrom: facilities@northwind.example\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>The car park closes at 22:00.</p><script>x()</script></body></html>\r\n"
    )
    text = parse(tmp_path / "note.eml").blocks[0].text
    assert "The car park closes at 22:00." in text and "x()" not in text


# --- Old Office formats ----------------------------------------------------------------------
OLE_HEADER = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504


@pytest.mark.parametrize("name, app", [("policy.doc", "Word"), ("budget.xls", "Excel"), ("deck.ppt", "PowerPoint")])
def test_old_office_files_without_libreoffice_are_refused_with_the_hint(tmp_path, monkeypatch, name, app):
    from kbassist.ingestion.formats import legacy

    monkeypatch.setattr(legacy, "soffice", lambda: None)
    (tmp_path / name).write_bytes(OLE_HEADER)
    with pytest.raises(ParseError) as error:
        parse(tmp_path / name)
    message = str(error.value)
    assert f"old-format {app} file" in message and "LibreOffice" in message and "apt-get install" in message
    assert str(tmp_path) not in message


def test_an_old_word_file_renamed_docx_says_what_it_is(tmp_path):
    (tmp_path / "policy.docx").write_bytes(OLE_HEADER)
    with pytest.raises(ParseError, match=r"old-format Office 97-2003 file.*Upload it with its own extension"):
        parse(tmp_path / "policy.docx")


# --- OCR -------------------------------------------------------------------------------------
SCANNED_LINES = ["Parking rules", "The car park closes at 22:00.", "Visitors park on level 2."]


def page_image(lines=SCANNED_LINES, size=(1240, 1754)):
    """A page of text rendered to an image, as a scanner would deliver it (150 dpi A4)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=36)
    for i, line in enumerate(lines):
        draw.text((120, 150 + 70 * i), line, fill=0, font=font)
    return image


def scanned_pdf(path, text_page_first=True):
    """A PDF whose first page has a text layer and whose second is a scan (an image only)."""
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    buffer = io.BytesIO()
    page_image().save(buffer, format="PDF", resolution=150)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Office hours\nThe office opens at 08:00.")
    typed = io.BytesIO(pdf.output())
    writer = PdfWriter()
    for source in (typed, buffer) if text_page_first else (buffer,):
        for page in PdfReader(source).pages:
            writer.add_page(page)
    with open(path, "wb") as stream:
        writer.write(stream)


def test_scanned_pdf_page_is_read_by_ocr_and_keeps_its_page_number(tmp_path, needs_tesseract):
    scanned_pdf(tmp_path / "facilities.pdf")
    parsed = parse(tmp_path / "facilities.pdf")
    assert parsed.page_count == 2 and parsed.ocr_pages == 1
    typed, scanned = parsed.blocks
    assert typed.page == 1 and "opens at 08:00" in typed.text
    assert scanned.page == 2 and "car park closes at 22:00" in scanned.text and "level 2" in scanned.text
    assert scanned.heading == "Parking rules"


def test_png_jpeg_and_multipage_tiff_are_read_by_ocr(tmp_path, needs_tesseract):
    page_image().save(tmp_path / "notice.png")
    page_image().convert("RGB").save(tmp_path / "notice.jpg", quality=90)
    second = page_image(["Bicycles", "Bicycles go in the basement."])
    page_image().save(tmp_path / "scan.tiff", save_all=True, append_images=[second], compression="tiff_deflate")
    for name in ("notice.png", "notice.jpg"):
        assert "car park closes at 22:00" in parse(tmp_path / name).blocks[0].text
    tiff = parse(tmp_path / "scan.tiff")
    assert [b.page for b in tiff.blocks] == [1, 2] and "basement" in tiff.blocks[1].text


def test_ocr_turned_off_says_so(tmp_path, settings):
    settings.KB_OCR = False
    scanned_pdf(tmp_path / "scan.pdf", text_page_first=False)
    with pytest.raises(ParseError, match=r"scan without a text layer.*OCR is turned off \(KB_OCR=false\)"):
        parse(tmp_path / "scan.pdf")
    page_image().save(tmp_path / "notice.png")
    with pytest.raises(ParseError, match="OCR is turned off"):
        parse(tmp_path / "notice.png")


def test_without_tesseract_the_message_names_the_apt_command(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr, "_tesseract", lambda: None)
    scanned_pdf(tmp_path / "scan.pdf", text_page_first=False)
    with pytest.raises(ParseError, match=re.escape("apt-get install -y tesseract-ocr tesseract-ocr-chi-sim")):
        parse(tmp_path / "scan.pdf")


def test_with_ocr_off_the_typed_pages_of_a_mixed_pdf_are_still_read(tmp_path, settings):
    settings.KB_OCR = False
    scanned_pdf(tmp_path / "facilities.pdf")
    parsed = parse(tmp_path / "facilities.pdf")
    assert [b.page for b in parsed.blocks] == [1] and parsed.ocr_pages == 0


def test_an_image_without_text_has_nothing_to_index(tmp_path, needs_tesseract):
    page_image([], size=(800, 800)).save(tmp_path / "blank.png")
    with pytest.raises(NothingToIndex, match="no text"):
        parse(tmp_path / "blank.png")


# --- Tables kept whole -----------------------------------------------------------------------
def test_starter_pdf_tables_are_markdown_tables_in_one_chunk_under_their_heading():
    from pathlib import Path

    parsed = parse(Path(__file__).resolve().parents[2] / "knowledge" / "hr" / "travel-and-expenses.pdf")
    chunks = chunk_blocks(parsed.blocks, 200, 40)
    hotel = [c for c in chunks if "| Shanghai | CNY 900 |" in c.text]
    assert len(hotel) == 1 and hotel[0].page == 3
    table = hotel[0].text[hotel[0].text.index("3. Hotel Caps per City\n| City |"):]
    assert "| City | Maximum per night |\n|---|---|\n| Berlin | EUR 150 |" in table
    assert "| All other cities | EUR 130 |" in table  # the whole table, first row to last
    limits = next(c for c in chunks if "| Total amount | Approved by |" in c.text)
    assert "| More than EUR 500, up to EUR 2,500 (CNY 19,500) | Department head |" in limits.text


def test_docx_table_is_one_markdown_table_with_its_caption(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Equipment", 1)
    document.add_paragraph("Everyone gets a laptop.")
    document.add_paragraph("Table 2: Laptop budget per role", style="Caption")
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([["Role", "Budget"], ["Engineer", "EUR 2,000"], ["Designer", "EUR 2,500"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(tmp_path / "equipment.docx")
    text = parse(tmp_path / "equipment.docx").blocks[0].text
    assert "Table 2: Laptop budget per role\n| Role | Budget |\n|---|---|\n| Engineer | EUR 2,000 |\n| Designer | EUR 2,500 |" in text


def test_html_table_is_one_markdown_table_with_its_caption_or_heading(tmp_path):
    rows = "".join(f"<tr><td>Room {i}</td><td>{i + 4} people</td></tr>" for i in range(1, 6))
    (tmp_path / "rooms.html").write_text(
        "<html><body><h2>Meeting rooms</h2><p>Book rooms in the calendar.</p>"
        f"<table><caption>Room sizes</caption><tr><th>Room</th><th>Seats</th></tr>{rows}</table>"
        f"<h2>Kitchens</h2><table><tr><th>Floor</th><th>Coffee</th></tr><tr><td>1</td><td>yes</td></tr></table>"
        "</body></html>"
    )
    parsed = parse(tmp_path / "rooms.html")
    rooms, kitchens = parsed.blocks
    assert "Room sizes\n| Room | Seats |\n|---|---|\n| Room 1 | 5 people |" in rooms.text and "| Room 5 | 9 people |" in rooms.text
    assert "Kitchens\n| Floor | Coffee |\n|---|---|\n| 1 | yes |" in kitchens.text
    (chunk,) = [c for c in chunk_blocks(rooms and [rooms], 200, 40) if "| Room 1 |" in c.text]
    assert "| Room 5 |" in chunk.text


def test_a_table_too_long_for_one_chunk_is_cut_between_rows_repeating_caption_and_header():
    from kbassist.ingestion.formats.tables import markdown_table
    from kbassist.ingestion.parsed import Block

    table = markdown_table([["City", "Cap"]] + [[f"City {i}", f"EUR {100 + i}"] for i in range(60)], "Hotel caps")
    chunks = chunk_blocks([Block(f"Caps apply per night.\n\n{table}")], size=100, overlap=20)
    pieces = [c.text for c in chunks if "| City | Cap |" in c.text]
    assert len(pieces) > 2
    assert all(p.startswith("Hotel caps\n| City | Cap |\n|---|---|\n| City ") for p in pieces)
    rows = [line for p in pieces for line in p.split("\n")[3:]]
    assert rows == [f"| City {i} | EUR {100 + i} |" for i in range(60)]  # every row once, in order


# --- Answered from them ----------------------------------------------------------------------
@pytest.mark.django_db
def test_questions_are_answered_from_a_spreadsheet_row_and_from_an_ocr_page(
    tmp_path, public_collection, make_document, employee, settings, needs_tesseract
):
    """The quoted-evidence answer (no model: KB_GENERATE=false) quotes the row and the scanned page."""
    from kbassist.chat.answering import answer
    from kbassist.llm.line import GenerationLine

    settings.KB_GENERATE = False
    made = tmp_path / "made"
    made.mkdir()
    make_xlsx(made / "laptops.xlsx", {"D2": "3798", "D3": "1299.5"})
    scanned_pdf(made / "facilities.pdf")
    for name in ("laptops.xlsx", "facilities.pdf"):
        assert make_document(public_collection, name, (made / name).read_bytes()).status == "ready"

    def ask(question):
        return list(answer(question, user=employee, line=GenerationLine()))[-1]

    done = ask("What is the price of the MacBook Air?")
    assert "MacBook Air" in done["answer"] and "1299.5" in done["answer"]
    assert done["citations"][0]["section"] == "Laptops"
    done = ask("When does the car park close?")
    assert "22:00" in done["answer"]
    assert done["citations"][0]["page"] == 2 and done["citations"][0]["title"].startswith("facilities")
