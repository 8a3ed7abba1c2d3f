"""Earful's sentiment: the API, text preparation, the service lexicon, ratings, long texts."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from earful.config.sentiment import SentimentConfig
from earful.sentiment.analyzer import (
    CHUNK_CHARS,
    LONG_TEXT_CHARS,
    MAX_CHUNKS,
    SentimentAnalyzer,
    SentimentScore,
    apply_positive_band,
    combine_rating,
    get_analyzer,
    join_title,
    label_for,
    split_for_scoring,
)
from earful.sentiment.prep import load_service_lexicon

STOCK = SentimentIntensityAnalyzer()


def adjusted(score: SentimentScore) -> tuple[float, float, float, float, str]:
    """Earful's part of a score (raw_compound is stock VADER on the original text)."""
    return (score.neg, score.neu, score.pos, score.compound, score.label)


# every adjustment off: Earful must then score exactly like stock VADER
PLAIN = SentimentConfig(
    domain_lexicon=False,
    strip_urls=False,
    strip_handles=False,
    mask_names=False,
    normalize_emoji=False,
    decode_escapes=False,
    like_as_verb_only=False,
    rating_weight=0.0,
    negative_weight=1.0,
    positive_band=0.0,
)


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer(names=("United Airlines", "United", "@united"))


def test_label_for_thresholds() -> None:
    assert label_for(0.05) == "positive"
    assert label_for(0.0499) == "neutral"
    assert label_for(-0.0499) == "neutral"
    assert label_for(-0.05) == "negative"


def test_score_returns_all_fields(analyzer: SentimentAnalyzer) -> None:
    score = analyzer.score("The crew were wonderful, thank you!")
    assert isinstance(score, SentimentScore)
    assert score.label == "positive"
    assert score.compound > 0.5
    assert abs(score.neg + score.neu + score.pos - 1.0) < 0.01
    assert (
        score.raw_compound
        == STOCK.polarity_scores("The crew were wonderful, thank you!")["compound"]
    )


def test_score_raw_is_stock_vader(analyzer: SentimentAnalyzer) -> None:
    for text in ["VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", "I ❤️ this", ""]:
        assert analyzer.score_raw(text) == STOCK.polarity_scores(text)


def test_everything_off_equals_stock_vader() -> None:
    plain = SentimentAnalyzer(PLAIN)
    for text in [
        "@united thanks for nothing",
        "On hold for 2 hours 😡 never again",
        "Not bad at all, but the food was kind of cold!!",
        "I ❤️ this",
    ]:
        score = plain.score(text)
        expected = STOCK.polarity_scores(text)
        assert (score.neg, score.neu, score.pos, score.compound) == (
            expected["neg"],
            expected["neu"],
            expected["pos"],
            expected["compound"],
        )


# -- brand masking ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "{} lost my bag and nobody answers",
        "Thank you {} for the upgrade, the crew was great",
        "just flew {} to Denver",
        "#{} why is my flight delayed AGAIN",
        "{} Breaks Guitars",
    ],
)
def test_brand_name_has_no_effect(template: str) -> None:
    names = ("United", "Delta", "Glad", "Progressive", "Best Buy")
    analyzer = SentimentAnalyzer(names=names)
    scores = {adjusted(analyzer.score(template.format(name))) for name in names}
    assert len(scores) == 1, scores
    # and the same as with no name at all (a bare "#" would be a token of its own)
    if "#" not in template:
        assert scores == {adjusted(analyzer.score(template.format("")))}
    # while stock VADER reads the names differently
    assert len({STOCK.polarity_scores(template.format(n))["compound"] for n in names}) > 1


def test_united_breaks_guitars_reads_as_a_complaint(analyzer: SentimentAnalyzer) -> None:
    assert STOCK.polarity_scores("United Breaks Guitars")["compound"] > 0.05
    score = analyzer.score("United Breaks Guitars")
    # the name is masked and "breaks" is the defect verb of the service lexicon
    assert score.label == "negative"
    assert score.raw_compound > 0.05  # the stock score stays visible


def test_breaks_new_ground_is_praise_not_a_defect(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.score("This album breaks new ground, stunning").label == "positive"


def test_names_given_per_call_are_masked_too() -> None:
    analyzer = SentimentAnalyzer()
    assert (
        analyzer.score("Glad ruined my order", names=["Glad"]).compound
        < analyzer.score("Glad ruined my order").compound
    )
    assert analyzer.prepare("Glad ruined my order", ["Glad"]).split() == ["ruined", "my", "order"]
    assert "Glad" in analyzer.prepare("Glad ruined my order")


def test_names_mask_whole_words_only(analyzer: SentimentAnalyzer) -> None:
    prepared = analyzer.prepare("reunited with my bag at last, thanks United Airlines!")
    assert "reunited" in prepared
    assert "United" not in prepared
    assert "Airlines" not in prepared


def test_handles_and_urls_are_removed(analyzer: SentimentAnalyzer) -> None:
    prepared = analyzer.prepare(
        "@united @Delta @bob@mastodon.social see https://example.com/x?a=1 and www.good.com ok"
    )
    assert prepared.split() == ["see", "and", "ok"]
    assert analyzer.prepare("mail me at bob@example.com").split()[-1] == "bob@example.com"


def test_camel_case_hashtags_are_split(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.prepare("#WorstAirlineEver") == "Worst Airline Ever"
    assert analyzer.score("#WorstAirlineEver").label == "negative"
    assert analyzer.prepare("#UnitedBreaksGuitars").split() == ["Breaks", "Guitars"]
    assert analyzer.prepare("#fail #NOT mail#NotATag") == "#fail #NOT mail#NotATag"
    off = SentimentAnalyzer(SentimentConfig(split_hashtags=False))
    assert off.prepare("#WorstAirlineEver") == "#WorstAirlineEver"


def test_case_punctuation_and_emoji_are_kept(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.prepare("This is AWFUL!!! 😢 :(") == "This is AWFUL!!! 😢 :("


# -- emoji normalisation ----------------------------------------------------------------------
def test_variation_selector_does_not_hide_an_emoji(analyzer: SentimentAnalyzer) -> None:
    assert STOCK.polarity_scores("I ❤️ this")["compound"] == 0.0
    with_selector = analyzer.score("I ❤️ this")
    without = analyzer.score("I ❤ this")
    assert adjusted(with_selector) == adjusted(without)
    assert with_selector.label == "positive"


def test_skin_tone_modifiers_are_dropped(analyzer: SentimentAnalyzer) -> None:
    plain = analyzer.score("great service 👍")
    for tone in "\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff":
        assert adjusted(analyzer.score(f"great service 👍{tone}")) == adjusted(plain)
    assert analyzer.prepare("👍🏽") == analyzer.prepare("👍")


def test_curly_apostrophe_negates_like_straight(analyzer: SentimentAnalyzer) -> None:
    assert adjusted(analyzer.score("I don’t love it")) == adjusted(
        analyzer.score("I don't love it")
    )
    assert analyzer.score("I don’t love it").label == "negative"


def test_literal_unicode_escapes_are_decoded(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.prepare("I can\\u2019t\\u002c sorry") == "I can't, sorry"


def test_emoji_normalisation_can_be_switched_off() -> None:
    off = SentimentAnalyzer(SentimentConfig(normalize_emoji=False))
    assert "\ufe0f" in off.prepare("I ❤️ this")


# -- the service lexicon ----------------------------------------------------------------------
def test_every_lexicon_entry_is_justified_and_in_range() -> None:
    entries = load_service_lexicon()
    assert len(entries) >= 40
    terms = [e.term for e in entries]
    assert len(terms) == len(set(terms)), "duplicate terms"
    for entry in entries:
        assert -4.0 <= entry.valence <= 4.0, entry
        assert len(entry.why) >= 15, f"{entry.term}: justify the value"
        assert "above" not in entry.why, f"{entry.term}: name the entry it follows"


@pytest.mark.parametrize(
    "text",
    [
        "my flight was delayed",
        "flight cancelled, no explanation",
        "been on hold for 40 minutes",
        "they lost my bag",
        "still waiting for my refund",
        "never again",
        "thanks for nothing",
        "please help, my card was charged twice",
        "the app is not working",
        "😡",
        "🤬",
        "👎",
        "two hours on hold and no response",
        "Flight delayed 5 hours, missed my connection",
    ],
)
def test_typical_complaints_score_negative(analyzer: SentimentAnalyzer, text: str) -> None:
    assert analyzer.score(text).label == "negative", analyzer.prepare(text)


@pytest.mark.parametrize(
    ("text", "stock_label"),
    [
        ("never again", "neutral"),
        ("thanks for nothing", "positive"),
        ("please help", "positive"),
        ("😡", "neutral"),
        ("still waiting", "neutral"),
        ("on hold", "neutral"),
    ],
)
def test_stock_vader_misreads_these(text: str, stock_label: str) -> None:
    # the reason each entry exists: pin stock VADER's reading too
    assert label_for(STOCK.polarity_scores(text)["compound"]) == stock_label


def test_thumbs_up_is_positive(analyzer: SentimentAnalyzer) -> None:
    assert STOCK.polarity_scores("👍")["compound"] == 0.0
    assert analyzer.score("👍").label == "positive"


def test_phrases_keep_vader_rules(analyzer: SentimentAnalyzer) -> None:
    # caps still shout, and the phrase is one token VADER can negate
    assert analyzer.prepare("ON HOLD again") == "ON_HOLD again"
    loud = analyzer.score("I am ON HOLD again, so tired of it")
    quiet = analyzer.score("I am on hold again, so tired of it")
    assert loud.compound < quiet.compound < 0


def test_like_counts_only_as_a_verb(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.score("I like this airline").label == "positive"
    assert analyzer.score("we really like the new seats").label == "positive"
    assert analyzer.score("looks like rain in Denver").label == "neutral"
    assert analyzer.score("waited like 3 hours").compound <= 0


def test_admin_lexicon_extends_and_overrides() -> None:
    config = SentimentConfig(lexicon={"bumped": -2.0, "lounge access": 2.0, "delayed": -0.5})
    custom = SentimentAnalyzer(config)
    default = SentimentAnalyzer()
    assert default.score("I got bumped").label == "neutral"
    assert custom.score("I got bumped").label == "negative"
    assert (
        custom.score("free Lounge Access today").compound
        > default.score("free Lounge Access today").compound
    )
    assert custom.score("delayed").compound > default.score("delayed").compound


def test_admin_lexicon_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        SentimentConfig(lexicon={"meh": -9})


def test_negative_weight_and_positive_band() -> None:
    assert apply_positive_band(0.2, 0.3) == 0.0
    assert apply_positive_band(-0.2, 0.3) == -0.2
    assert apply_positive_band(0.65, 0.3) == 0.5
    assert apply_positive_band(1.0, 0.3) == 1.0
    heavier = SentimentAnalyzer(SentimentConfig(negative_weight=2.0))
    lighter = SentimentAnalyzer(SentimentConfig(negative_weight=1.0))
    assert heavier.score("the food was bad").compound < lighter.score("the food was bad").compound


def test_sarcasm_tags_turn_praise_negative(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.score("Loving the 4 hour delay, thanks").label == "positive"
    assert analyzer.score("Loving the 4 hour delay, thanks #sarcasm").label == "negative"
    assert analyzer.score("Great job losing my bag again #NOT").label == "negative"
    # a negated positive stays negative; other tags that merely start with "not" do nothing
    assert analyzer.score("#not happy").label == "negative"
    assert analyzer.score("I love it #NotSponsored").label == "positive"
    off = SentimentAnalyzer(SentimentConfig(sarcasm_tags=[]))
    assert off.score("Loving the 4 hour delay, thanks #sarcasm").label == "positive"


# -- ratings ----------------------------------------------------------------------------------
def test_one_star_review_is_never_positive(analyzer: SentimentAnalyzer) -> None:
    text = "Great app, love the design, amazing!!!"
    assert analyzer.score(text).label == "positive"
    one_star = analyzer.score(text, rating=1)
    assert one_star.label == "negative"
    assert one_star.raw_compound > 0.5  # text-only stock score kept
    assert analyzer.score("It crashes every time I open it", rating=5).label == "positive"


def test_rating_combination_formula() -> None:
    assert combine_rating(0.5, None) == 0.5
    assert combine_rating(0.5, 3) == 0.2  # midpoint: text at 40%
    assert combine_rating(1.0, 1) == -0.2
    assert combine_rating(-1.0, 5) == 0.2
    assert combine_rating(0.0, 10, rating_max=10) == 0.6
    assert combine_rating(0.0, 0, rating_min=0, rating_max=10) == -0.6
    assert combine_rating(0.3, 4, weight=0.0) == 0.3
    assert combine_rating(0.3, 99) == round(0.6 + 0.4 * 0.3, 4)  # clamped


def test_title_is_read_with_the_text(analyzer: SentimentAnalyzer) -> None:
    assert join_title("Awful", "the seat was fine") == "Awful.\nthe seat was fine"
    assert join_title("Awful!", "x") == "Awful!\nx"
    assert join_title(None, "x") == "x"
    # a title that is the text's own start (feeds cut one from the other) is read once
    assert join_title("My flight was dela…", "My flight was delayed again") == (
        "My flight was delayed again"
    )
    assert join_title("Only a title", "") == "Only a title"
    assert analyzer.score("the seat", title="Worst flight ever").label == "negative"


# -- long texts -------------------------------------------------------------------------------
def test_short_texts_are_one_chunk() -> None:
    text = "fine. " * (LONG_TEXT_CHARS // 6)
    assert split_for_scoring(text) == [text]


def test_long_texts_are_chunked_at_sentence_ends() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(150))
    chunks = split_for_scoring(text)
    assert len(chunks) > 1
    assert all(len(c) <= CHUNK_CHARS for c in chunks)
    assert all(c.rstrip().endswith(".") for c in chunks[:-1])
    assert "".join(chunks) == text  # tiled: nothing lost


def test_very_long_texts_are_sampled() -> None:
    text = "word " * 40_000
    chunks = split_for_scoring(text)
    assert len(chunks) == MAX_CHUNKS
    assert text.startswith(chunks[0])
    assert text.endswith(chunks[-1])


def test_emoji_dense_chunks_are_shorter() -> None:
    chunks = split_for_scoring("😡" * 5000)
    assert all(len(c.encode()) <= CHUNK_CHARS for c in chunks)


def test_long_text_scores_have_the_right_shape(analyzer: SentimentAnalyzer) -> None:
    bad = "The flight was delayed again and the staff were rude. " * 2000
    good = "The crew were wonderful and the seats were great. " * 2000
    mixed = "GREAT terrible not bad 😡 ❤️ !!! very but lol :) 🙏🏽 " * 2500  # no sentence breaks
    for text, label in [(bad, "negative"), (good, "positive")]:
        score = analyzer.score(text)
        assert score.label == label
        assert abs(score.neg + score.neu + score.pos - 1.0) < 0.01
        assert -1 <= score.compound <= 1 and -1 <= score.raw_compound <= 1
    score = analyzer.score(mixed)
    assert -1 <= score.compound <= 1
    assert score.label in {"positive", "neutral", "negative"}
    assert set(analyzer.score_raw(mixed)) == {"neg", "neu", "pos", "compound"}


# -- caching ----------------------------------------------------------------------------------
def test_get_analyzer_is_cached_per_config_and_names() -> None:
    assert get_analyzer() is get_analyzer()
    assert get_analyzer(SentimentConfig(), ("A",)) is get_analyzer(SentimentConfig(), ("A",))
    assert get_analyzer(names=("A",)) is not get_analyzer(names=("B",))
    assert get_analyzer(SentimentConfig(positive_band=0.1)) is not get_analyzer()
