"""The bytes of a text file as text: UTF-8 when it is UTF-8, otherwise an encoding the file
declares, otherwise charset-normalizer's best guess among what this knowledge base's authors
save text in."""

from __future__ import annotations

from .parsed import ParseError

# What this knowledge base's authors save text in when it is not UTF-8: Simplified Chinese
# Windows (GB18030, a superset of GBK and GB2312), Western European Windows (cp1252, a superset
# of Latin-1's printable characters), and UTF-16/32 with a byte-order mark (Notepad).
_PREFERRED_ENCODINGS = ["utf_8", "utf_16", "utf_32", "gb18030", "cp1252"]
# UTF-16/32 without a byte-order mark "decode" almost any short byte string into nonsense.
_BOMLESS_UNICODE = ["utf_16_be", "utf_16_le", "utf_32_be", "utf_32_le"]
# charset-normalizer scores how garbled each candidate decoding looks ("chaos", 0 = clean).
# On short texts many code pages tie or nearly tie (cp1250 vs cp1252, Big5 vs GB18030), so a
# preferred encoding wins unless another one decodes clearly more cleanly (Korean EUC-KR read
# as GB18030 scores 0.11-0.15 against 0.0; French Latin-1 read as cp1252 can score 0.11 on one
# sentence, with cp775's garbled reading at 0.04).
_CLEARLY_CLEANER = 0.1


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes of a text file as text. UTF-8 (with or without BOM) is decoded directly; otherwise
    an encoding the file declares (HTML ``<meta charset>``), then charset-normalizer's guess."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_PREFERRED_ENCODINGS).best()
    if best is None or best.chaos > 0:
        other = from_bytes(data, cp_exclusion=_BOMLESS_UNICODE).best()
        if other is not None and (best is None or other.chaos + _CLEARLY_CLEANER < best.chaos):
            best = other
    if best is None:
        raise ParseError(
            "The text encoding of the file could not be recognised (is it really a text file?). "
            "Save it as UTF-8 and upload it again."
        )
    return str(best)
