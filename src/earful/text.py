"""Turning untrusted markup into plain text, and small text utilities shared by connectors."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Elements whose end (or start) separates text, so "a<br>b" does not become "ab".
_BREAKS = frozenset(
    {
        "br",
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "dd",
        "dt",
    }
)
# Elements whose content is never text a reader sees.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "svg"})
# Runs of [ \t\r\f\v\u00a0] that become one space: those holding anything but a space, and
# two or more spaces (a lone space is left alone, which keeps plain text cheap).
_WS_TO_COLLAPSE = re.compile(r"[\t\r\f\v\u00a0][ \t\r\f\v\u00a0]*| [ \t\r\f\v\u00a0]+")
_NL = re.compile(r"\s*\n\s*")
_SIMPLE_DOCUMENT = re.compile(
    r"""(?:[^<]++|</[A-Za-z][A-Za-z0-9]*\s*>"""
    r"""|<[A-Za-z][A-Za-z0-9]*(?:\s+[A-Za-z][-A-Za-z0-9_:]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*\s*/?>)*+"""
)
_SKIP_NAMES, _BREAK_NAMES = "|".join(sorted(_SKIP)), "|".join(sorted(_BREAKS))
_SKIP_TAG = re.compile(rf"</?(?:{_SKIP_NAMES})(?=[\s/>])", re.IGNORECASE)
_BREAK_TAG = re.compile(rf"</?(?:{_BREAK_NAMES})(?=[\s/>])[^>]*>", re.IGNORECASE)
_OTHER_TAG = re.compile(r"<[^>]*>")
# One token of simple markup: a start, end or self-closing tag with quoted attributes (end
# tags without), or a run of text.
_SIMPLE_TOKEN = re.compile(
    r"""</([A-Za-z][A-Za-z0-9]*)\s*>"""
    r"""|<([A-Za-z][A-Za-z0-9]*)(?:\s+[A-Za-z][-A-Za-z0-9_:]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*\s*/?>"""
    r"""|[^<]+"""
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Plain text from HTML: tags stripped, entities decoded, whitespace tidied.

    Never fetches anything and never keeps markup, so the result is safe to store as text
    (it still must be escaped wherever it is shown).
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return tidy_whitespace(markup)
    if "&" not in markup and _SIMPLE_DOCUMENT.fullmatch(markup) and not _SKIP_TAG.search(markup):
        # Tags only, no references: each break tag is a line break, other tags vanish.
        return tidy_whitespace(_OTHER_TAG.sub("", _BREAK_TAG.sub("\n", markup)))
    simple = _simple_markup_text(markup)
    if simple is not None:
        return tidy_whitespace(simple)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # pathological markup: fall back to a crude strip
        return tidy_whitespace(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    return tidy_whitespace("".join(parser.parts))


def _simple_markup_text(markup: str) -> str | None:
    """The text ``_TextExtractor`` would collect, for markup made only of plain tags with
    quoted attributes and text (the usual feed body); None for anything else (comments,
    declarations, a stray ``<``, elements whose content is skipped), which takes the
    full parser. Same rules: every tag in ``_BREAKS`` (start, end or self-closing) is a
    line break, other tags vanish, text between tags is unescaped as HTMLParser does."""
    parts: list[str] = []
    pos = 0
    for match in _SIMPLE_TOKEN.finditer(markup):
        if match.start() != pos:
            return None
        pos = match.end()
        name = match.group(1) or match.group(2)
        if name is None:
            text = match.group(0)
            parts.append(html.unescape(text) if "&" in text else text)
            continue
        tag = name.lower()
        if tag in _SKIP:
            return None
        if tag in _BREAKS:
            parts.append("\n")
    if pos != len(markup):
        return None
    return "".join(parts)


def tidy_whitespace(value: str) -> str:
    """Collapse runs of spaces, keep single line breaks between paragraphs."""
    # Whitespace at the ends goes anyway; dropping it first spares the line-break pass
    # for text that only starts or ends with a break.
    value = _WS_TO_COLLAPSE.sub(" ", value.strip())
    if "\n" in value:
        value = _NL.sub("\n", value)
    return value.strip()


def excerpt(value: str, limit: int = 280) -> str:
    """The first ``limit`` characters, cut at a word boundary, with an ellipsis."""
    value = value.replace("\n", " ")
    if len(value) <= limit:
        return value
    cut = value.rfind(" ", 0, limit)
    return value[: cut if cut > limit // 2 else limit].rstrip() + "…"


# ESC-introduced sequences first (CSI "ESC [ ... final", OSC "ESC ] ... BEL|ST", two-byte ESC x),
# then their 8-bit C1 forms, then any lone C0/C1 control except newline and tab.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (window title, hyperlinks), BEL or ST ended
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # other two-byte escapes, or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"  # 8-bit OSC
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(value: str) -> str:
    """``value`` with terminal control removed: escape sequences (CSI, OSC incl. OSC 8 links and
    window titles, DCS) and every other C0/C1 control character except newline and tab. Use on
    any untrusted text printed to a terminal, so a post cannot clear the screen, retitle the
    window, or hide a hyperlink."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", value))
