"""The severity scan's Aho–Corasick prefilter never changes what is found: on every text, the
categories and words equal a plain regex pass over every category."""

from __future__ import annotations

import random

from earful.bench.workload import generate_posts
from earful.config.risk import DEFAULT_SEVERITY, RiskConfig
from earful.risk.scoring import compiled_lexicon, find_severity


def _plain(text: str, config: RiskConfig) -> list[tuple[str, float, list[str]]]:
    found = []
    for name, weight, pattern in compiled_lexicon(config):
        hits = [m.group(0) for m in pattern.finditer(text)]
        if hits:
            found.append((name, weight, list(dict.fromkeys(h.lower() for h in hits))))
    return found


def _texts() -> list[str]:
    rnd = random.Random(3)
    terms = [t.rstrip("*") for _, ts in DEFAULT_SEVERITY.values() for t in ts]
    crafted = []
    for _ in range(400):
        words = rnd.sample(terms, 2)
        # case, spacing and glued suffixes: what the regexes' IGNORECASE, \s+ and \b see
        word = rnd.choice([str.upper, str.title, str.lower])(words[0])
        spaced = word.replace(" ", rnd.choice(["  ", "\t", " \n "]))
        crafted.append(f"they {spaced}{rnd.choice(['', 'ed', 's', '!'])} and then {words[1]}")
    return [*generate_posts(3000, seed=11), *crafted, "", "KNIFE", "ſmoke", "no match here"]


def test_prefiltered_scan_finds_what_the_plain_scan_finds() -> None:
    config = RiskConfig()
    texts = _texts()
    hits = 0
    for text in texts:
        expected = _plain(text, config)
        assert find_severity(text, config) == expected, text
        hits += bool(expected)
    assert hits > 400  # the texts exercise the categories, not only the empty case


def test_added_terms_are_found_through_the_prefilter() -> None:
    config = RiskConfig.model_validate(
        {"severity": {"hygiene": {"weight": 15, "terms": ["sneez*", "Mould on"]}}}
    )
    found = {name: words for name, _, words in find_severity("He SNEEZED on my food", config)}
    assert found["hygiene"] == ["sneezed"]
    hits = find_severity("MOULD  on the cabin wall", config)
    assert [(n, w) for n, _, w in hits] == [("hygiene", ["mould  on"])]
