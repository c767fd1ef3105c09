"""Excel workbooks (.xlsx, .xlsm): each sheet a section, each row a record that names its
values by the header row ("Laptop model: X1; Price: 1299"), so that a question about one row
finds it. Formulas are read as the values Excel last calculated (cached in the file); a cell
whose formula was never calculated reads as empty. Hidden sheets are left out."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .tables import column_names, looks_like_header, record

MAX_CELLS = 2_000_000


def parse_xlsx(path: Path) -> ParsedDocument:
    import openpyxl

    try:
        with open(path, "rb") as stream:  # a stream, so that no error message carries the path
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
            try:
                title = (workbook.properties.title or "").strip() if workbook.properties else ""
                blocks = []
                cells = 0
                for sheet in workbook.worksheets:
                    if getattr(sheet, "sheet_state", "visible") != "visible":
                        continue
                    rows = []
                    for values in sheet.iter_rows(values_only=True):
                        cells += len(values)
                        if cells > MAX_CELLS:
                            raise ParseError(f"The workbook has more than {MAX_CELLS:,} cells: split it into smaller files.")
                        rows.append(list(values))
                    text = rows_as_records(rows)
                    if text:
                        blocks.append(Block(text, heading=sheet.title))
            finally:
                workbook.close()
    except ParseError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise ParseError(f"The Excel workbook could not be read ({exc.__class__.__name__}: {exc}).") from exc
    if not blocks:
        raise NothingToIndex("The workbook's sheets are empty: there is nothing to index.")
    return ParsedDocument(title, blocks)


def rows_as_records(rows: list[list]) -> str:
    """Rows of cells as one record paragraph per row, named by the first row when it is a
    header (otherwise by column letters). Empty rows are left out."""
    rows = [row for row in rows if any(v is not None and str(v).strip() for v in row)]
    if not rows:
        return ""
    if looks_like_header(rows[0]) and len(rows) > 1:
        names, body = column_names(rows[0]), rows[1:]
    else:
        names, body = column_names([None] * max(len(r) for r in rows)), rows
    return "\n\n".join(filter(None, (record(names, row) for row in body)))
