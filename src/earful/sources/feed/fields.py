"""Small, pure field normalizers shared by the XML and JSON Feed readers.

Nothing here invents a value: a link that cannot be made absolute, an empty title or an
empty language come back as ``None``.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs, urljoin, urlsplit

from earful.text import html_to_text, tidy_whitespace

# Text beyond this is cut (with a problem note): a 1 MB post is stored, matched and scored
# as its first 100 000 characters, so one hostile item cannot stall the pipeline.
MAX_TEXT_CHARS = 100_000
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# After decoding, "&lt;b&gt;" in a code sample (or a double-escaped hostile payload) is the
# literal "<b>". Plain text is promised tag-free to every consumer, so such sequences are
# defanged with a look-alike bracket: "<b>" -> "‹b>".
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")
# "http://" or "https://" (any case) and a host character: urlsplit finds an http(s) scheme
# and a non-empty netloc in any such string.
_HTTP_HOST_START = re.compile(r"https?://[A-Za-z0-9]", re.IGNORECASE)


def is_absolute_http(value: str | None) -> bool:
    if not value:
        return False
    if _HTTP_HOST_START.match(value) and "[" not in value and "]" not in value:
        return True  # what urlsplit would say: scheme http(s), a non-empty host
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def first_absolute(*candidates: str | None) -> str | None:
    """The first candidate that is an absolute http(s) URL (a base to resolve against)."""
    for candidate in candidates:
        if candidate and is_absolute_http(candidate.strip()):
            return candidate.strip()
    return None


def absolute_url(link: str | None, base: str | None) -> str | None:
    """``link`` made absolute against ``base``; None when it cannot be, or is not http(s)
    (``javascript:``, ``mailto:``, ``data:`` links are dropped, not followed)."""
    if not link or not link.strip():
        return None
    link = link.strip()
    if not is_absolute_http(link) and base:
        link = urljoin(base, link)
    return unwrap_redirect(link) if is_absolute_http(link) else None


def unwrap_redirect(link: str) -> str:
    """``https://www.google.com/url?...&url=REAL...`` (Google Alerts) -> ``REAL``.

    Only Google's own redirector is unwrapped, and only to an absolute http(s) target;
    anything else is returned unchanged.
    """
    if "google" not in link.lower() and "[" not in link and "]" not in link:
        return link  # cheap: the redirector's host names google (brackets: urlsplit decides)
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path != "/url" or not (host == "google.com" or host.endswith(".google.com")):
        return link
    query = parse_qs(parts.query)
    for key in ("url", "q"):
        for target in query.get(key, []):
            if is_absolute_http(target):
                return target
    return link


def normalize_language(value: str | None) -> str | None:
    """``en-US`` -> ``en-us``, ``pt_BR`` -> ``pt-br``; empty -> None."""
    if not value:
        return None
    value = value.strip().replace("_", "-").lower()
    return value or None


def clean_title(value: str | None, content_type: str | None = None) -> str | None:
    """A one-line plain-text title, or None when missing or empty."""
    if value is None:
        return None
    if content_type and content_type.lower() in _HTML_TYPES:
        value = html_to_text(value)
    value = defang_markup(tidy_whitespace(value).replace("\n", " "))
    return value or None


def to_plain_text(value: str | None, content_type: str | None = None) -> str:
    """Body text without markup: HTML (the default for feed bodies) goes through
    ``html_to_text``; declared plain text only has its whitespace tidied."""
    if not value:
        return ""
    if content_type and content_type.lower() in ("text/plain", "text"):
        return defang_markup(tidy_whitespace(value))
    return defang_markup(html_to_text(value))


def defang_markup(text: str) -> str:
    """Tag-shaped sequences left in decoded text become harmless look-alikes."""
    return _TAG_LIKE.sub("\u2039", text) if "<" in text else text


def cap_text(text: str) -> tuple[str, bool]:
    """``text`` cut to ``MAX_TEXT_CHARS``; the flag says whether it was cut."""
    if len(text) <= MAX_TEXT_CHARS:
        return text, False
    return text[:MAX_TEXT_CHARS], True


def stable_id(*parts: str | None) -> str:
    """A content hash for items without guid, id or link — the same item always gets the
    same id, so re-polls do not duplicate it."""
    joined = "\x1f".join(p or "" for p in parts)
    return "sha1:" + hashlib.sha1(joined.encode("utf-8")).hexdigest()


def strip_publisher_suffix(title: str | None, publisher: str | None) -> str | None:
    """Google News titles end with `` - Publisher``; drop that suffix when it is there."""
    if not title or not publisher:
        return title
    suffix = " - " + publisher.strip()
    if title.endswith(suffix) and len(title) > len(suffix):
        return title[: -len(suffix)].rstrip() or title
    return title
