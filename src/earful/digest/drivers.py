"""Complaint drivers: *why* customers are unhappy, recognised in text by a phrase lexicon.

The drivers come from the seed articles (PRODUCT.md): waiting, being transferred around,
expectation gaps ("advertised", "promised", "supposed to"), apologies without a fix, rude or
uncaring staff, plus the two everyday topics billing and product defects.

Lexicon rules (the same for the built-in list and for ``digest.drivers`` in config):

* a term is a word or phrase, matched case-insensitively on word boundaries;
* ``*`` at the end of a word matches any ending (``refund*`` = refund, refunds, refunded);
* whitespace inside a phrase matches any run of spaces; apostrophes may be straight or curly.

A mention counts once per driver (several drivers may apply to one mention). The lexicon is
deliberately plain: anyone in marketing can read, extend or switch off a driver in
``config/digest.yaml`` — see ``DriverOverride``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from earful.config.digest import DriverOverride
from earful.digest.data import DriverResult, make_excerpt

logger = logging.getLogger(__name__)

# key -> (label, terms). Order is the display order for ties.
# fmt: off
BUILTIN_DRIVERS: dict[str, tuple[str, list[str]]] = {
    "waiting": (
        "Waiting / slow response",
        [
            "on hold", "still waiting", "waiting for", "waited", "wait time*", "hours to",
            "days to respond", "no response", "no reply", "never heard back", "never got back",
            "still no", "takes forever", "took forever", "slow response", "slow to respond",
            "weeks later", "months later", "for weeks", "for months", "ignored", "ghosted",
            "no one answers", "nobody answers", "48 hours", "24 hours", "waiting list", "queue",
        ],
    ),
    "transferred": (
        "Transferred around",
        [
            "transferred", "transfered", "passed around", "passed from", "bounced between",
            "bounced around", "ping-pong*", "ping pong*", "another department",
            "different department", "wrong department", "runaround", "run around",
            "kept transferring", "sent me to", "redirected", "call another number",
        ],
    ),
    "broken_promise": (
        "Broken promise / expectation gap",
        [
            "advertised", "promised", "promise*", "supposed to", "was told", "were told",
            "guaranteed", "guarantee", "not as described", "misleading", "false advertising",
            "claimed", "claims to", "expected", "said it would", "should have been",
        ],
    ),
    "apology_no_fix": (
        "Apology or refusal without a fix",
        [
            "sorry for the inconvenience", "apologi*", "we apologize", "they apologized",
            "said sorry", "sorry but", "sorry is not", "sorry doesn't", "sorry does not",
            "nothing they can do", "nothing they could do", "nothing we can do",
            "can't do anything", "cannot do anything", "couldn't do anything", "no solution",
            "not resolved", "unresolved", "still not fixed", "still broken", "no fix",
            "refused to", "refusal*", "stonewall*", "denied my claim", "rejected my claim",
        ],
    ),
    "rude_staff": (
        "Rude or uncaring staff",
        [
            "rude", "rudest", "unhelpful", "uncaring", "didn't care", "did not care",
            "don't care", "couldn't care less", "dismissive", "condescending", "hung up",
            "laughed at", "attitude", "unprofessional", "arrogant", "yelled", "shouted",
            "disrespectful", "incompetent", "clueless",
        ],
    ),
    "billing": (
        "Billing",
        [
            "charged", "overcharged", "double charged", "charge*", "refund*", "bill", "billing",
            "billed", "invoice*", "fee", "fees", "hidden fee*", "subscription", "cancel*",
            "money back", "payment", "price hike", "overpriced",
        ],
    ),
    "product_defect": (
        "Product defect",
        [
            "broken", "broke", "breaks", "defect*", "faulty", "crash*", "bug", "bugs", "buggy",
            "doesn't work", "does not work", "didn't work", "stopped working", "not working",
            "malfunction*", "damaged", "error", "errors", "outage", "down again", "glitch*",
            "fell apart", "leak*", "recall*",
        ],
    ),
}
# fmt: on


@dataclass(frozen=True, slots=True)
class Driver:
    key: str
    label: str
    terms: tuple[str, ...]
    pattern: re.Pattern[str] | None


def _term_regex(term: str) -> str:
    words = term.strip().lower().replace("’", "'").split()
    parts = []
    for word in words:
        star = word.endswith("*")
        core = re.escape(word.rstrip("*"))
        parts.append(core + (r"\w*" if star else ""))
    return r"\s+".join(parts)


def compile_terms(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for a list of lexicon terms; ``None`` for an empty list (driver off).
    Match it against ``normalize_text(text)`` (lower case, straight apostrophes)."""
    clean = sorted({t.strip().lower() for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not clean:
        return None
    # One boundary check around the whole alternation: much faster than one per term.
    return re.compile(r"(?<!\w)(?:" + "|".join(_term_regex(t) for t in clean) + r")(?!\w)")


def normalize_text(text: str) -> str:
    return text.lower().replace("’", "'")


def build_lexicon(overrides: Mapping[str, DriverOverride] | None = None) -> list[Driver]:
    """The built-in drivers with config overrides applied: extend, replace, relabel, or add."""
    overrides = overrides or {}
    drivers: list[Driver] = []
    keys = list(BUILTIN_DRIVERS) + sorted(k for k in overrides if k not in BUILTIN_DRIVERS)
    for key in keys:
        label, terms = BUILTIN_DRIVERS.get(key, (key.replace("_", " ").capitalize(), []))
        override = overrides.get(key)
        if override is not None:
            terms = list(override.terms) if override.replace else [*terms, *override.terms]
            label = override.label or label
        drivers.append(Driver(key, label, tuple(terms), compile_terms(terms)))
    return drivers


def match_drivers(text: str, lexicon: list[Driver]) -> list[str]:
    """Keys of the drivers whose lexicon appears in ``text``."""
    norm = normalize_text(text)
    return [d.key for d in lexicon if d.pattern is not None and d.pattern.search(norm)]


def count_drivers(
    texts: Iterable[tuple[str, str | None]], lexicon: list[Driver], *, examples: int = 2
) -> list[DriverResult]:
    """Count mentions per driver over ``(text, link)`` pairs (in the caller's order, which picks
    the examples), biggest first; drivers with no hit are kept with count 0 so the digest shows
    that nothing was found rather than hiding the row."""
    counts = {d.key: 0 for d in lexicon}
    found: dict[str, list[tuple[str, str | None]]] = {d.key: [] for d in lexicon}
    for text, link in texts:
        for key in match_drivers(text, lexicon):
            counts[key] += 1
            if len(found[key]) < examples:
                found[key].append((make_excerpt(text, 200), link))
    order = {d.key: i for i, d in enumerate(lexicon)}
    results = [
        DriverResult(
            key=d.key,
            label=d.label,
            count=counts[d.key],
            examples=[t for t, _ in found[d.key]],
            example_links=[u for _, u in found[d.key]],
        )
        for d in lexicon
        if d.pattern is not None
    ]
    results.sort(key=lambda r: (-r.count, order[r.key]))
    return results
