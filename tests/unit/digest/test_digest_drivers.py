"""Complaint-driver lexicon and theme tokenisation."""

from __future__ import annotations

from earful.config.digest import DriverOverride
from earful.digest.drivers import (
    build_lexicon,
    compile_terms,
    count_drivers,
    match_drivers,
    normalize_text,
)
from earful.digest.themes import brand_words, extract_terms


def test_terms_match_on_word_boundaries_with_star_suffix() -> None:
    pattern = compile_terms(["refund*", "on hold", "didn't care"])
    assert pattern is not None
    assert pattern.search(normalize_text("Still no REFUNDS after a month"))
    assert pattern.search(normalize_text("kept me on   hold for an hour"))
    assert pattern.search(normalize_text("they didn’t care at all"))  # curly apostrophe
    assert not pattern.search(normalize_text("the handhold broke"))  # word boundaries
    assert not pattern.search(normalize_text("nonrefunds"))  # a term starts at a word start
    assert compile_terms([" ", ""]) is None


def test_expectation_gap_phrases() -> None:
    lexicon = build_lexicon()
    for text in ("it was advertised as free", "they promised delivery", "it is supposed to work"):
        assert "broken_promise" in match_drivers(text, lexicon)
    assert match_drivers("lovely flight, thanks", lexicon) == []


def test_overrides_extend_replace_and_add() -> None:
    lexicon = build_lexicon(
        {
            "waiting": DriverOverride(terms=["sat in the queue forever"]),
            "billing": DriverOverride(terms=["invoice"], replace=True, label="Invoices"),
            "rigid_script": DriverOverride(terms=["read from a script"]),
        }
    )
    by_key = {d.key: d for d in lexicon}
    assert (
        "on hold" in by_key["waiting"].terms
        and "sat in the queue forever" in by_key["waiting"].terms
    )
    assert by_key["billing"].terms == ("invoice",) and by_key["billing"].label == "Invoices"
    assert match_drivers("the agent read from a script", lexicon) == ["rigid_script"]
    assert "billing" not in match_drivers("I was charged twice", lexicon)


def test_count_drivers_keeps_zero_rows_and_examples() -> None:
    lexicon = build_lexicon()
    results = count_drivers(
        [("on hold again", "https://a"), ("on hold, then transferred", None)], lexicon
    )
    counts = {r.key: r.count for r in results}
    assert counts["waiting"] == 2 and counts["transferred"] == 1 and counts["billing"] == 0
    assert results[0].key == "waiting" and results[0].example_links == ["https://a", None]


def test_theme_terms_drop_stop_words_and_brand_names() -> None:
    exclude = brand_words(["United Airlines", "Delta"])
    terms = extract_terms("United Airlines lost my luggage at https://x.y/z @united", exclude)
    assert "lost luggage" in terms and "luggage" in terms
    assert not {"united", "airline", "airlines", "my", "https"} & terms
