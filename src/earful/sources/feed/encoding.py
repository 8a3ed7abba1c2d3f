"""Feed bodies in any encoding -> UTF-8 bytes that an XML parser reads without guessing.

Expat (under feedparser) cannot parse multi-byte legacy encodings such as gb2312, and a body
in Latin-1 without a declaration looks like broken UTF-8 to it. So the body is decoded here —
trying, in order, the byte-order mark, the declared encoding, the HTTP charset, UTF-8,
cp1252 and Latin-1, and taking the first that decodes strictly — then re-encoded as UTF-8 with
the XML declaration rewritten to say so. Latin-1 decodes any byte string, so this never fails;
what was guessed is reported in ``notes``. A UTF-8 body with a few invalid bytes (a truncated
character, one stray Latin-1 byte) is not guessed as cp1252, which would garble every other
character: each bad sequence is replaced with U+FFFD where it is.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# UTF-16 without a BOM still starts with "<" next to a NUL byte.
_NUL_SNIFF: tuple[tuple[bytes, str], ...] = (
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
)
_DECLARED = re.compile(rb"""<\?xml\s[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_DECLARATION = re.compile(r"""^\s*(<\?xml\s[^>]*?\?>)""")
_ENCODING_ATTR = re.compile(r"""encoding\s*=\s*["'][^"']*["']""")
# Names that mean a smaller charset than the bytes usually are: decode with the superset,
# as browsers do (gb2312 text routinely contains GBK characters; "iso-8859-1" pages contain
# cp1252 quotes; "ascii" is a subset of UTF-8).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}


@dataclass(slots=True)
class Transcoded:
    body: bytes
    encoding: str
    notes: list[str] = field(default_factory=list)


def declared_encoding(body: bytes) -> str | None:
    """The ``encoding="..."`` of the XML declaration, if any (looked for in the first 1 KB)."""
    match = _DECLARED.search(body[:1024])
    return match.group(1).decode("ascii").lower() if match else None


def _codec_name(name: str) -> str | None:
    name = _SUPERSETS.get(name.lower(), name.lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _candidates(body: bytes, charset: str | None) -> list[tuple[str, str]]:
    """(codec, why) in the order they are tried."""
    found: list[tuple[str, str]] = []
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return [(codec, "byte-order mark")]
    for prefix, codec in _NUL_SNIFF:
        if body.startswith(prefix):
            found.append((codec, "NUL-byte sniffing"))
    declared = declared_encoding(body)
    has_nul = b"\x00" in body[:256]
    for name, why in ((declared, "declared"), (charset, "HTTP charset")):
        if not name:
            continue
        hinted = _codec_name(name)
        if hinted is None:
            continue
        # A body declared UTF-16/32 but with no NUL bytes was saved as something else.
        if hinted.startswith(("utf-16", "utf-32")) and not has_nul:
            continue
        found.append((hinted, why))
    found += [("utf-8", "default"), ("cp1252", "sniffed"), ("latin-1", "sniffed")]
    return found


def _mostly_utf8(body: bytes) -> tuple[str, int] | None:
    """``body`` decoded as UTF-8 with each invalid sequence replaced where it is, and how many
    were — when it is UTF-8 with a few bad bytes: at least as many valid non-ASCII characters
    as invalid sequences. A Latin-1 body has no valid multi-byte sequences: None."""
    text = body.decode("utf-8", errors="replace")
    real = body.count("\ufffd".encode())  # U+FFFD already in the body, validly encoded
    bad = text.count("\ufffd") - real
    valid = sum(1 for ch in text if ord(ch) > 127) - bad - real
    return (text, bad) if valid >= max(1, bad) else None


def transcode_to_utf8(body: bytes, *, charset: str | None = None) -> Transcoded:
    """Decode ``body`` with the first encoding that fits and re-encode it as UTF-8.

    ``charset`` is the HTTP Content-Type charset, when known. The XML declaration, if any,
    is rewritten to ``encoding="utf-8"`` and moved to the very start (leading whitespace and
    a BOM are dropped, since an XML parser rejects a declaration that is not first).
    """
    notes: list[str] = []
    declared = declared_encoding(body)
    text: str | None = None
    used = "latin-1"
    for codec, why in _candidates(body, charset):
        if why == "sniffed" and (mended := _mostly_utf8(body)) is not None:
            text, bad = mended
            used = "utf-8"
            notes.append(f"{bad} invalid UTF-8 byte sequence(s) replaced with U+FFFD")
            break
        if codec.startswith("utf-8") and body.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        used = codec
        if why == "sniffed":
            shown = f"declared {declared}" if declared else "no declared encoding"
            notes.append(f"body is not valid UTF-8 ({shown}); decoded as {codec}")
        elif (
            declared
            and why != "declared"
            and _codec_name(declared) not in (None, codec.removesuffix("-sig"))
        ):
            notes.append(f"body does not decode as declared {declared}; decoded as {codec}")
        break
    if text is None:  # unreachable: latin-1 decodes every byte string
        text = body.decode("latin-1")
    text = text.lstrip("\ufeff")
    match = _DECLARATION.match(text)
    if match:
        declaration = match.group(1)
        if _ENCODING_ATTR.search(declaration):
            declaration = _ENCODING_ATTR.sub('encoding="utf-8"', declaration, count=1)
        else:
            declaration = declaration[:-2].rstrip() + ' encoding="utf-8"?>'
        text = declaration + text[match.end() :]
    if used not in ("utf-8", "utf-8-sig"):
        logger.debug("feed body transcoded from %s to utf-8", used)
    return Transcoded(text.encode("utf-8"), used, notes)
