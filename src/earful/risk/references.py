"""What a post refers to: the items it links or embeds, and the post it reposts.

Contract: pure functions over text (no I/O). :func:`item_keys` names the items a post is about —
its own canonical URL, the canonical URLs found in its text, and YouTube video ids in either,
so ``https://youtu.be/5YGc4zOqozo`` and ``https://www.youtube.com/watch?v=5YGc4zOqozo&t=3``
are one item. :func:`repost_body` drops the repost marker (``RT @user:``, ``QT @user``,
``MT @user:``) so a retweet has the original's text.

A link to a site's front page (no path: ``https://united.com``) names no item — complaints that
all link the brand's home page are not one story.
"""

from __future__ import annotations

import re
from functools import lru_cache

from earful.store.mentions import canonical_url

_URL = re.compile(r"(?i)\bhttps?://[^\s<>\"'()\[\]{}]+")
_TRAILING = ".,;:!?…"
_YOUTUBE = re.compile(
    r"(?i)^https?://(?:(?:www\.|m\.|music\.)?youtube\.com/(?:watch\?(?:[^#]*&)?v=|shorts/|embed/"
    r"|live/|v/)|youtu\.be/)([A-Za-z0-9_-]{11})(?![A-Za-z0-9_-])"
)
_REPOST = re.compile(r"^\s*(?:(?:RT|QT|MT)\s*@[\w.]+\s*:?\s*)+", re.IGNORECASE)


def repost_body(text: str) -> str:
    """The text without leading repost markers (``RT @granddaughter: ...`` → ``...``)."""
    match = _REPOST.match(text)
    return text[match.end() :] if match else text


def _item_of(url: str) -> str | None:
    video = _YOUTUBE.match(url)
    if video:
        return f"yt:{video.group(1)}"
    canon = canonical_url(url)
    if canon is None:
        return None
    # "scheme://host" (+ at most a slash): a front page, not an item.
    if canon.count("/") < 3 and "?" not in canon:
        return None
    return canon


@lru_cache(maxsize=65536)
def item_keys(url: str | None, text: str) -> frozenset[str]:
    """The items a post is about (see the module docstring)."""
    keys: set[str] = set()
    for raw in ([url] if url else []) + _URL.findall(text):
        key = _item_of(raw.rstrip(_TRAILING))
        if key is not None:
            keys.add(key)
    return frozenset(keys)
