"""``sentiment:`` section (config/sentiment.yaml): text preparation and lexicon extensions.

Every switch defaults to Earful's tuned behaviour; turning them all off (and
``domain_lexicon: false``, ``rating_weight: 0``, ``negative_weight: 1``, ``positive_band: 0``)
gives stock VADER scores.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lexicon: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "extra words, phrases or single emoji and their valence (-4..+4, VADER's scale), "
            "layered over Earful's service lexicon and VADER's; a phrase ('on hold') is matched "
            "case-insensitively as one unit"
        ),
    )
    domain_lexicon: bool = Field(
        True,
        description="use Earful's customer-service lexicon (sentiment/data/service_lexicon.tsv)",
    )
    strip_urls: bool = Field(True, description="remove http(s):// and www. links before scoring")
    strip_handles: bool = Field(
        True, description="remove @handles (@united, @user@mastodon.social) before scoring"
    )
    split_hashtags: bool = Field(
        True,
        description=(
            "split camel-case hashtags into words ('#WorstAirlineEver' -> 'Worst Airline Ever') "
            "so VADER reads them; names in them are then masked like any other"
        ),
    )
    mask_names: bool = Field(
        True,
        description=(
            "remove brand and competitor names and aliases (from brands.yaml, plus --brand) "
            "before scoring, so a name like 'United' or 'Glad' carries no sentiment"
        ),
    )
    normalize_emoji: bool = Field(
        True,
        description=(
            "drop emoji variation selectors (U+FE0E/U+FE0F), skin-tone modifiers and zero-width "
            "joiners, and read curly apostrophes as straight ones, so '❤️' scores like '❤' "
            "and 'can’t' negates like 'can't'"
        ),
    )
    decode_escapes: bool = Field(
        True,
        description=(
            "decode literal \\uXXXX escapes left in twice-escaped text ('can\\u2019t' -> 'can’t')"
        ),
    )
    like_as_verb_only: bool = Field(
        True,
        description=(
            "'like' keeps VADER's +1.5 only as a verb (after I/you/we/they, do/don't, really, "
            "...); as a preposition or filler ('looks like', 'like 3 hours') it is neutral"
        ),
    )
    sarcasm_tags: list[str] = Field(
        default_factory=lambda: ["#sarcasm", "#sarcastic", "#not", "#irony", "#thanksfornothing"],
        description=(
            "hashtags that mark a text as sarcastic: its positive words are read as negative "
            "('Great job losing my bag again #sarcasm'); [] disables"
        ),
    )
    rating_weight: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description=(
            "weight of a review's star rating against its text in the compound score: "
            "compound = w * rating_signal + (1 - w) * text_compound (rating_signal: -1 for the "
            "lowest star, +1 for the highest)"
        ),
    )
    negative_weight: float = Field(
        1.3,
        ge=1.0,
        le=3.0,
        description=(
            "multiplier for every negative valence of the lexicon: Earful is about complaints, "
            "and a missed complaint costs more than a false alarm (1.3: tuned on TweetEval val "
            "with ICWSM tweets r >= 0.86 kept)"
        ),
    )
    positive_band: float = Field(
        0.3,
        ge=0.0,
        lt=1.0,
        description=(
            "text compounds in 0..band are pulled to 0 (neutral) and higher ones rescaled "
            "continuously onto 0..1: one polite or friendly word ('thanks', 'ready', 'hope') "
            "does not make a remark positive (0.3: tuned on TweetEval val)"
        ),
    )

    @field_validator("lexicon")
    @classmethod
    def _valences(cls, value: dict[str, float]) -> dict[str, float]:
        for term, valence in value.items():
            if not term.strip():
                raise ValueError("lexicon terms must not be empty")
            if not -4.0 <= valence <= 4.0:
                raise ValueError(f"lexicon[{term!r}]: valence {valence} is outside -4..+4")
        return value
