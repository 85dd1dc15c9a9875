"""Bytes → text: the declared charset, then <meta charset>, then detection; never raises."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET_PARAMETER = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 4096
_NON_ASCII_BYTES = bytes(range(0x80, 0x100))
# As browsers do (WHATWG Encoding): these labels mean windows-1252, which is a superset of Latin-1.
_WINDOWS_1252_LABELS = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "cp819", "ascii", "us-ascii", "iso-ir-100"}
)


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower().replace("_", "-")
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


def _charset_from_content_type(content_type: str | None) -> str | None:
    match = _CHARSET_PARAMETER.search(content_type or "")
    return _codec_name(match.group(1)) if match else None


def _charset_from_markup(body: bytes) -> str | None:
    head = body[:_SNIFF_BYTES]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return _codec_name(match.group(1).decode("ascii", "replace")) if match else None


def _is_wide_unicode(codec: str | None) -> bool:
    return codec is not None and codec.startswith(("utf-16", "utf-32"))


def _decode_strictly(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_utf8(body: bytes) -> str | None:
    """UTF-8 with a few broken bytes (a truncated or patched page) is still UTF-8, not windows-1252 mojibake."""
    text = body.decode("utf-8", "replace")
    broken = text.count("\ufffd") - body.count("\ufffd".encode())
    non_ascii = len(text) - len(body.translate(None, _NON_ASCII_BYTES))  # ASCII bytes decode one to one
    return text if non_ascii - broken >= 3 * broken else None  # in real windows-1252 almost every byte breaks


def _detect(body: bytes) -> str | None:
    results = charset_normalizer.from_bytes(body)
    best = results.best()
    if best is None:
        return None
    # On short Western pages the detector cannot tell the Latin code pages apart; windows-1252 is the likely one.
    if best.encoding != "cp1252" and any(result.encoding == "cp1252" for result in results):
        return _decode_strictly(body, "cp1252") or str(best)
    return str(best)


def decode(body: bytes, content_type: str | None) -> str:
    """Decode a fetched body. Valid UTF-8 wins over a declared single-byte charset (the common mislabel)."""
    try:
        for bom, codec in _BOMS:
            if body.startswith(bom):
                return body[len(bom) :].decode(codec, "replace")
        declared = [_charset_from_content_type(content_type), _charset_from_markup(body)]
        for codec in declared:
            if _is_wide_unicode(codec) and b"\x00" in body:
                text = _decode_strictly(body, codec)
                if text is not None:
                    return text
        text = _decode_strictly(body, "utf-8") or _mostly_utf8(body)
        for codec in declared:
            if text is None and not _is_wide_unicode(codec):
                text = _decode_strictly(body, codec)
        return text if text is not None else _detect(body) or body.decode("utf-8", "replace")
    except Exception:  # a detector bug must not lose the page: fall back to the lossy decode
        return body.decode("utf-8", "replace")
