"""Images (PNG, JPEG, TIFF): a photographed or scanned page, read by OCR (``ocr``). Each frame
of a multi-page TIFF is a page of its own."""

from __future__ import annotations

from pathlib import Path

from .. import ocr
from ..parsed import Block, NothingToIndex, ParsedDocument, ParseError
from .sections import tidy

MAX_PIXELS = 60_000_000  # about an A3 page at 600 dpi; larger is a poster or a decompression bomb


def parse_image(path: Path, progress=None) -> ParsedDocument:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    ocr.require("This file is an image")
    blocks = []
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ParseError(
                    f"The image is {image.width} × {image.height} pixels, too large to read by OCR "
                    f"(at most {MAX_PIXELS // 1_000_000} million pixels)."
                )
            frames = getattr(image, "n_frames", 1)
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                if progress:
                    progress(f"OCR, page {number} of {frames}")
                text = tidy(ocr.read_image(frame.copy()))
                if text:
                    blocks.append(Block(text, page=number if frames > 1 else None))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ParseError(f"The image could not be read ({exc.__class__.__name__}).") from exc
    if not blocks:
        raise NothingToIndex("OCR found no text in the image.")
    return ParsedDocument("", blocks, page_count=frames if frames > 1 else None, ocr_pages=frames)
