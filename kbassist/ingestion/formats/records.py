"""CSV files that are not FAQ lists (an inventory, a price list, a phone list): each row a
record that names its values by the header row, as for spreadsheets. The delimiter (comma,
semicolon, tab) is detected; the encoding is decoded like any text file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..decoding import decode
from ..parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .spreadsheet import rows_as_records


def parse_csv(path: Path) -> ParsedDocument:
    text = decode(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ParseError(f"The CSV file could not be read ({exc}).") from exc
    body = rows_as_records(rows)
    if not body:
        raise NothingToIndex("The CSV file has no rows.")
    return ParsedDocument("", [Block(body)])
