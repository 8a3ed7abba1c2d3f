"""Build the historical incident scenarios: ``united_3411``, ``fedex_monitor``, ``dominos_kitchen``.

    python -m earful.run.scenarios.generate_incidents src/earful/run/scenarios   # all three
    python -m earful.run.scenarios.generate_incidents DIR [NAME ...] [--scale 0.25]

Each scenario is one public incident (anchor facts — dates, rough view counts, the brand's own
statements — are listed with their sources in README.md) replayed among a busy background of
that brand's ordinary mentions:

* **the original** post (a video) with a views/likes/shares curve drawn smoothly through the
  public anchors;
* **the posts that spread it**: hand-written key posts (news, blogs, the brand's statement) and a
  crowd of small posts in many people's words, most of them linking the original's URL;
* for ``united_3411`` a **wave** of identical ``RT @...`` reposts of the passenger's tweet;
* a **background** of at least 2,000 ordinary mentions of the brand over the same days —
  everyday complaints, praise and questions in many people's words, a few likes each, a tenth
  with one later engagement reading.

Story posts have ids starting with the scenario's prefix (``ua-``, ``fx-``, ``dp-``); background
ids start with ``bg``. :data:`INCIDENTS` names each scenario's original post and its time, which is
what the scenario tests measure the first escalation against.

Pure and deterministic: a fixed seed per scenario, no clock, no I/O in :func:`build`. ``scale``
shrinks the background, the crowd and the wave (never the original or the key posts) so tests
can replay a smaller copy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# -- the shape of a scenario -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPost:
    """A hand-written story post, ``hours`` after the original."""

    hours: float
    source: str
    ident: str
    author: str
    followers: int | None
    text: str
    title: str | None = None
    url: str | None = None
    # (hours after this post, likes, shares, comments) readings
    curve: tuple[tuple[float, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Background:
    brands: tuple[str, ...]  # spellings of the brand used in ordinary posts
    handle: str  # appended when no spelling made it into the text
    complaints: tuple[str, ...]
    praise: tuple[str, ...]
    questions: tuple[str, ...]
    places: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Incident:
    name: str
    seed: int
    brand: str
    prefix: str
    published: datetime  # the original post
    source: str
    ident: str
    url: str
    author: str
    followers: int
    title: str
    text: str
    views: tuple[tuple[float, int], ...]  # (hours after posting, cumulative views) anchors
    removed_h: float | None  # the original stops gaining views (taken down)
    ratios: tuple[float, float, float]  # likes, shares, comments per view
    keys: tuple[KeyPost, ...]
    crowd: int  # small posts that spread the story
    crowd_templates: tuple[str, ...]
    crowd_hours: float  # the crowd is spread over this many hours, front-loaded
    crowd_start_h: float  # ... starting this many hours after the original
    link_share: float  # share of crowd posts that carry the original's URL
    background: Background
    background_n: int
    days_before: float
    days_after: float
    wave: int = 0
    wave_text: str = ""
    wave_at_h: float = 0.0
    wave_hours: float = 0.0
    wave_author: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- views curve -------------------------------------------------------------------------------


def views_at(inc: Incident, hours: float) -> int:
    """Cumulative views ``hours`` after posting: log-linear between the anchors (0 before the
    first), flat after the last anchor or after the take-down."""
    if inc.removed_h is not None:
        hours = min(hours, inc.removed_h)
    points = inc.views
    if hours <= 0:
        return 0
    if hours <= points[0][0]:
        return int(points[0][1] * hours / points[0][0])
    for (h0, v0), (h1, v1) in itertools.pairwise(points):
        if hours <= h1:
            f = (hours - h0) / (h1 - h0)
            return int(math.exp(math.log(v0) + f * (math.log(v1) - math.log(v0))))
    return points[-1][1]


def _reading_hours(total_h: float) -> list[float]:
    """When the original's counts are read: every hour for two days, then every six."""
    hours = [h / 2 for h in range(1, 12)] + [float(h) for h in range(6, 49)]
    h = 54.0
    while h <= total_h:
        hours.append(h)
        h += 6
    return [x for x in hours if x <= total_h]


# -- events ------------------------------------------------------------------------------------


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mention(
    inc: Incident,
    at: datetime,
    source: str,
    ident: str,
    author: str,
    followers: int | None,
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    likes: int = 0,
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "at": _stamp(at),
        "type": "mention",
        "source": source,
        "id": ident,
        "brand": inc.brand,
        "url": url or f"https://{source}.example/{ident}",
        "author": author,
    }
    if followers is not None:
        ev["author_followers"] = followers
    if title:
        ev["title"] = title
    ev.update(
        {"text": text, "published_at": _stamp(at), "likes": likes, "shares": 0, "comments": 0}
    )
    return ev


def _engagement(
    at: datetime, source: str, ident: str, likes: int, shares: int, comments: int, **more: int
) -> dict[str, Any]:
    ev: dict[str, Any] = {"at": _stamp(at), "type": "engagement", "source": source, "id": ident}
    ev.update(more)
    ev.update({"likes": likes, "shares": shares, "comments": comments})
    return ev


def _followers(rnd: random.Random) -> int:
    """Most accounts are small, a few are not (log-uniform 20..20,000)."""
    return int(math.exp(rnd.uniform(math.log(20), math.log(20_000))))


_CHOICE = re.compile(r"\[([^\[\]]*)\]")


def vary(text: str, rnd: random.Random) -> str:
    """Pick one alternative of every ``[a|b|c]`` in ``text`` (``[|x]``: x or nothing)."""
    return _CHOICE.sub(lambda m: rnd.choice(m.group(1).split("|")), text).replace("  ", " ")


def _background(inc: Incident, rnd: random.Random, n: int) -> list[dict[str, Any]]:
    bg = inc.background
    start = inc.published - timedelta(days=inc.days_before)
    span = int((inc.days_before + inc.days_after) * 86400)
    sources = ["twitter"] * 14 + ["forum"] * 2 + ["blog", "news", "reviews"]
    events: list[dict[str, Any]] = []
    for i in range(n):
        # More posts by day than by night (US time): keep a draw with a daily weight.
        while True:
            at = start + timedelta(seconds=rnd.randrange(span))
            local_hour = (at.hour - 5) % 24
            if rnd.random() < 0.35 + 0.65 * math.sin(math.pi * local_hour / 24) ** 2:
                break
        kind = rnd.random()
        pool = bg.complaints if kind < 0.72 else bg.praise if kind < 0.88 else bg.questions
        body = vary(rnd.choice(pool), rnd).format(
            b=rnd.choice(bg.brands),
            place=rnd.choice(bg.places),
            item=rnd.choice(bg.items),
            n=rnd.randint(2, 9),
            num=rnd.randint(100, 9999),
        )
        opener = rnd.choice(OPENERS) if pool is bg.complaints else ""
        closer = rnd.choice(CLOSERS) if pool is bg.complaints else ""
        end = "" if body.endswith("?") else "."
        text = f"{opener} {body}{end}{closer}".strip()
        text = text[0].upper() + text[1:]
        if not any(b.lower() in text.lower() for b in bg.brands):
            text = f"{text} {bg.handle}"
        source = rnd.choice(sources)
        ident = f"bg{i:05d}"
        likes = rnd.choice((0, 0, 0, 1, 1, 2, 3, 4, 6))
        events.append(
            _mention(
                inc,
                at,
                source,
                ident,
                f"{source[:2]}{rnd.randint(1, 10**6)}",
                _followers(rnd) if source in ("twitter", "reviews") else None,
                text,
                title=text[:60] if source in ("blog", "news", "forum") else None,
                likes=likes,
            )
        )
        if rnd.random() < 0.1:
            later = at + timedelta(hours=rnd.uniform(1, 8))
            events.append(
                _engagement(
                    later,
                    source,
                    ident,
                    likes + rnd.randint(0, 5),
                    rnd.randint(0, 2),
                    rnd.randint(0, 3),
                )
            )
    return events


def _story(inc: Incident, rnd: random.Random, scale: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    t0 = inc.published
    events.append(
        _mention(
            inc,
            t0,
            inc.source,
            inc.ident,
            inc.author,
            inc.followers,
            inc.text,
            title=inc.title,
            url=inc.url,
        )
    )
    total_h = inc.days_after * 24
    lr, sr, cr = inc.ratios
    for h in _reading_hours(total_h):
        v = views_at(inc, h)
        events.append(
            _engagement(
                t0 + timedelta(hours=h),
                inc.source,
                inc.ident,
                int(v * lr),
                int(v * sr),
                int(v * cr),
                views=v,
            )
        )
    for key in inc.keys:
        at = t0 + timedelta(hours=key.hours)
        events.append(
            _mention(
                inc,
                at,
                key.source,
                key.ident,
                key.author,
                key.followers,
                key.text,
                title=key.title,
                url=key.url,
            )
        )
        for dh, likes, shares, comments in key.curve:
            events.append(
                _engagement(
                    at + timedelta(hours=dh), key.source, key.ident, likes, shares, comments
                )
            )
    crowd = int(inc.crowd * scale)
    for i in range(crowd):
        # Front-loaded: the crowd's count grows like the square root of time.
        hours = inc.crowd_start_h + inc.crowd_hours * ((i + 1) / crowd) ** 2
        hours += rnd.uniform(0, 0.3)
        at = t0 + timedelta(hours=hours)
        text = rnd.choice(inc.crowd_templates).format(url=inc.url, b=inc.brand)
        if rnd.random() >= inc.link_share:
            text = text.replace(inc.url, "").replace("  ", " ").strip()
        events.append(
            _mention(
                inc,
                at,
                "twitter" if rnd.random() < 0.85 else rnd.choice(("forum", "blog")),
                f"{inc.prefix}c{i:04d}",
                f"p{rnd.randint(1, 10**6)}",
                _followers(rnd),
                text,
                likes=rnd.randint(0, 40),
            )
        )
    wave = int(inc.wave * scale)
    wave_start = t0 + timedelta(hours=inc.wave_at_h)
    for i in range(wave):
        at = wave_start + timedelta(seconds=int(inc.wave_hours * 3600 * ((i + 1) / wave) ** 0.5))
        events.append(
            _mention(
                inc,
                at,
                "twitter",
                f"{inc.prefix}rt{i:05d}",
                f"rt{i}",
                _followers(rnd),
                inc.wave_text,
                likes=rnd.randint(0, 3),
            )
        )
    return events


def build(inc: Incident, scale: float = 1.0) -> list[dict[str, Any]]:
    """The scenario's events in ``at`` order (ties by id); ``scale`` shrinks the crowds."""
    rnd = random.Random(inc.seed)
    events = _story(inc, rnd, scale) + _background(inc, rnd, int(inc.background_n * scale))
    events.sort(key=lambda e: (e["at"], e["type"] != "mention", e["id"]))
    return events


def is_story(inc: Incident, ident: str) -> bool:
    """Whether a post (by scenario id) belongs to the incident's story."""
    return ident == inc.ident or ident.startswith(inc.prefix)


# -- shared wording ----------------------------------------------------------------------------

OPENERS = ("", "", "", "Ugh,", "Honestly,", "Well,", "So", "Not again:", "Great,", "Seriously,")
CLOSERS = ("", "", "", " Not great.", " Sigh.", " Every time.", " Come on.", " Why?", " Meh.")

# -- United Express 3411, April 2017 -----------------------------------------------------------

UA_VIDEO = "https://www.facebook.com/audra.bridges/videos/10155163221110593/"
UA_TWEET = "https://twitter.com/JayseDavid/status/851233305430401024"
UA_RT = (
    "RT @JayseDavid: Please retweet, this is how @united treated a passenger on flight 3411 "
    "from Chicago. Dragged off a full plane so crew could take his seat. " + UA_TWEET
)

UNITED = Incident(
    name="united_3411",
    seed=3411,
    brand="United Airlines",
    prefix="ua-",
    # Flight 3411 was due out of O'Hare at 17:40 CDT on Sunday 9 April 2017; the videos were
    # posted that evening. Assumed: 01:00 UTC on 10 April (20:00 CDT).
    published=datetime(2017, 4, 10, 1, 0, tzinfo=UTC),
    source="facebook",
    ident="ua-video",
    url=UA_VIDEO,
    author="audra.bridges",
    followers=900,
    title="United Airlines overbooked flight 3411",
    text=(
        "Please share this video. We are on this flight. United Airlines overbooked the flight. "
        "They randomly selected people to kick off so their crew could have a seat. This man is "
        "a doctor and has to be at the hospital in the morning. He did not want to get off. "
        "Security dragged him off and he was bleeding. We are all shaky and so disgusted."
    ),
    # >500,000 views within a day (Vibe); millions by Tuesday (assumed 6M at +40 h, 10M at +4 d).
    views=(
        (1.0, 2_000),
        (3.0, 25_000),
        (6.0, 90_000),
        (20.0, 520_000),
        (40.0, 6_000_000),
        (96.0, 10_000_000),
    ),
    removed_h=None,
    ratios=(0.01, 0.02, 0.004),
    keys=(
        KeyPost(
            0.3,
            "twitter",
            "ua-jayse",
            "JayseDavid",
            1_200,
            "Please retweet, this is how @united treated a passenger on flight 3411 from "
            "Chicago. Dragged off a full plane so crew could take his seat. " + UA_TWEET,
            url=UA_TWEET,
            curve=(
                (1, 300, 900, 80),
                (3, 2_000, 6_000, 400),
                (8, 9_000, 30_000, 2_000),
                (24, 30_000, 90_000, 6_000),
            ),
        ),
        KeyPost(
            0.6,
            "twitter",
            "ua-tyler",
            "Tyler_Bridges",
            2_500,
            "@united overbooked #Flight3411 and a man was dragged off by airport police so "
            "four United employees could fly. Passengers are shaking. " + UA_VIDEO,
        ),
        KeyPost(
            3.5,
            "twitter",
            "ua-kaylyn",
            "kaylyndavis",
            800,
            "Second video from United flight 3411: he came back on the plane bleeding from "
            "the mouth, saying I have to go home. This is horrifying. " + UA_VIDEO,
        ),
        KeyPost(
            4.0,
            "twitter",
            "ua-stmt1",
            "united",
            1_000_000,
            "Flight 3411 from Chicago to Louisville was overbooked. After our team looked for "
            "volunteers, one customer refused to leave the aircraft voluntarily and law "
            "enforcement was asked to come to the gate. We apologize for the overbook "
            "situation.",
        ),
        KeyPost(
            6.0,
            "news",
            "ua-n1",
            "courier-journal",
            None,
            "A passenger was dragged off an overbooked United Airlines flight from Chicago to "
            "Louisville on Sunday; video of flight 3411 shows officers pulling him down the "
            "aisle. " + UA_VIDEO,
            title="Man dragged off overbooked United flight to Louisville",
        ),
        KeyPost(
            9.0,
            "news",
            "ua-n2",
            "nytimes",
            None,
            "Video of a man being dragged off United Express flight 3411 at O'Hare has set off "
            "outrage; the airline says the flight was overbooked. " + UA_VIDEO,
            title="United Airlines passenger dragged from overbooked flight",
        ),
        KeyPost(
            15.8,
            "twitter",
            "ua-stmt2",
            "united",
            1_000_000,
            "Statement from United Airlines CEO Oscar Munoz on flight 3411: This is an "
            "upsetting event to all of us here at United. I apologize for having to "
            "re-accommodate these customers.",
        ),
        KeyPost(
            17.0,
            "twitter",
            "ua-reacc",
            "comedian",
            250_000,
            "United says it had to re-accommodate a passenger. On video that looks like "
            "dragging a bleeding doctor down the aisle of flight 3411. " + UA_VIDEO,
        ),
        KeyPost(
            26.0,
            "news",
            "ua-n3",
            "usatoday",
            None,
            "In a letter to employees United CEO Oscar Munoz called the passenger dragged off "
            "flight 3411 disruptive and belligerent and said staff followed procedures.",
            title="United CEO says flier dragged off flight 3411 was 'belligerent'",
        ),
        KeyPost(
            40.0,
            "twitter",
            "ua-stmt3",
            "united",
            1_000_000,
            "Oscar Munoz: The truly horrific event that occurred on flight 3411 has elicited "
            "many responses. No one should ever be mistreated this way. I deeply apologize.",
        ),
        KeyPost(
            44.0,
            "news",
            "ua-n4",
            "reuters",
            None,
            "United Continental shares fell on Tuesday as outrage grew over video of a "
            "passenger being dragged from flight 3411. " + UA_VIDEO,
            title="United shares slide as passenger video outrage grows",
        ),
    ),
    crowd=400,
    crowd_templates=(
        "This is disgusting. {b} dragged a doctor off flight 3411 so crew could fly {url}",
        "Watch what @united did to a paying passenger on flight 3411 {url} #boycottunited",
        "Never flying United again after this video {url}",
        "A bleeding man dragged down the aisle because United overbooked? {url}",
        "United: re-accommodate means dragging people off planes now {url} #Flight3411",
        "How is this legal? Police drag a passenger off a United flight at O'Hare {url}",
        "Share this. United Airlines needs to answer for flight 3411 {url}",
        "My stomach turned watching this United video {url} #united",
        "Overbooked flight, so United has a 69 year old doctor dragged off. Shameful {url}",
        "The United flight 3411 video is the worst thing I have seen an airline do {url}",
        "United beat up a passenger for its own overbooking {url} #NewUnitedAirlinesMottos",
        "Cancelling my United trip after watching flight 3411 {url}",
    ),
    crowd_hours=72.0,
    crowd_start_h=0.5,
    link_share=0.7,
    background=Background(
        brands=("United", "United Airlines", "@united", "UA"),
        handle="@united",
        complaints=(
            "{b} flight {num} out of {place} is {n} hours [late|behind|delayed] and the app "
            "[still says|keeps saying] on time",
            "{b} [lost|misplaced|can't find] my [checked bag|suitcase|luggage] [between {place} "
            "and home|after {place}], day {n} [with no update|and nobody calls back]",
            "[my seat|the seat I paid extra for] on {b} {num} [would not recline|was broken|had a "
            "wobbly armrest] [and the tray table was sticky|the whole way|for {n} hours]",
            "{b} basic economy [means|apparently means] no carry-on, [learned that the hard "
            "way|found out] at {place}",
            "[waited|spent] {n} hours [on the phone|on hold|in the chat] with {b} to fix [a "
            "typo|a misspelled name|my middle name] on my ticket",
            "the {b} app [crashed|froze|logged me out] [while I was checking in|at the gate|right "
            "at boarding] [at {place}|]",
            "the wifi on {b} {num} [was down|never connected|kept dropping] [the whole "
            "flight|after takeoff] and they still charged me",
            "{b} [moved|changed|rescheduled] my {place} flight {n} times this month, [impossible "
            "to plan|I give up]",
            "[sat|stuck] at the gate in {place} for {n} hours, {b} kept saying [ten more "
            "minutes|boarding soon]",
            "{b} gave my [aisle|window|exit row] seat away and [stuck|put] me [in a middle "
            "seat|by the toilets|in the last row]",
            "{b} charged me [$35|$60|again] for a bag [that the website said was free|I already "
            "paid for]",
            "my MileagePlus miles from the {place} trip [never posted|disappeared], {b} support "
            "is [useless|going in circles]",
            "missed my connection in {place} because {b} [boarded late|sat on the tarmac], [next "
            "flight tomorrow|rebooked for {n} pm]",
            "{b} was oversold to {place} and the gate agent [begged for volunteers|offered "
            "vouchers] for an hour",
            "the {item} on {b} {num} was [cold|stale|tiny] and they ran out of the other option",
        ),
        praise=(
            "shout out to the {b} crew on {num} to {place}, so kind to my kids",
            "{b} got me on an earlier flight to {place} for free, nice surprise",
            "smooth {b} flight to {place} today, landed early",
            "the {b} Polaris lounge in {place} is really lovely",
        ),
        questions=(
            "does anyone know if {b} lets you bring a {item} as a personal item?",
            "is the {b} lounge in {place} open this early?",
            "how early should I get to {place} for a {b} international flight?",
        ),
        places=(
            "Denver",
            "Newark",
            "Houston",
            "San Francisco",
            "Chicago",
            "Washington Dulles",
            "Los Angeles",
            "Boston",
            "Seattle",
            "Orlando",
            "Cleveland",
            "Guam",
        ),
        items=("sandwich", "snack box", "guitar", "stroller", "backpack", "pasta", "coffee"),
    ),
    background_n=2_400,
    days_before=1.0,
    days_after=4.0,
    wave=2_000,
    wave_text=UA_RT,
    wave_at_h=5.0,
    wave_hours=6.0,
    wave_author="JayseDavid",
)

# -- FedEx monitor thrown over a fence, December 2011 ------------------------------------------

FX_VIDEO = "https://www.youtube.com/watch?v=PKUDTPbDhnA"

FEDEX = Incident(
    name="fedex_monitor",
    seed=2011,
    brand="FedEx",
    prefix="fx-",
    # Posted on YouTube on Monday night, 19 December 2011 (CNET). Assumed: 04:00 UTC on 20
    # December (20:00 PST, 19 December).
    published=datetime(2011, 12, 20, 4, 0, tzinfo=UTC),
    source="youtube",
    ident="fx-video",
    url=FX_VIDEO,
    author="goobie55",
    followers=150,
    title="Fed Ex guy throwing my computer monitor",
    text=(
        "Here is a video of my monitor being delivered by FedEx. The sad part is that I was home "
        "at the time with the front door wide open. All he would have had to do was ring the bell "
        "on the gate. Now I have to return my monitor since it is broken."
    ),
    # >1M within about 24 h (Digital Trends); 2.2-2.7M about two days after upload; >4M in
    # three days; nearly 8M by 2 January.
    views=(
        (1.0, 1_500),
        (3.0, 12_000),
        (6.0, 60_000),
        (24.0, 1_100_000),
        (44.0, 2_500_000),
        (72.0, 4_200_000),
        (312.0, 7_800_000),
    ),
    removed_h=None,
    ratios=(0.004, 0.003, 0.003),
    keys=(
        KeyPost(
            2.5,
            "forum",
            "fx-f1",
            "driveby",
            None,
            "FedEx driver caught on camera throwing a computer monitor over a fence instead of "
            "ringing the bell. Monitor broken. " + FX_VIDEO,
            title="FedEx guy throws a monitor over the gate",
        ),
        KeyPost(
            4.0,
            "twitter",
            "fx-t1",
            "gadgetblog",
            60_000,
            "Watch a FedEx driver toss a Samsung monitor over a customer's gate. It broke. "
            + FX_VIDEO,
        ),
        KeyPost(
            10.0,
            "news",
            "fx-n1",
            "cnet",
            None,
            "In a YouTube video that is causing amusement and pain, a FedEx delivery man "
            "tosses a package containing a Samsung computer monitor over a fence. " + FX_VIDEO,
            title="Computer monitor tossed over fence by FedEx man",
        ),
        KeyPost(
            14.0,
            "news",
            "fx-n2",
            "dailymail",
            None,
            "FedEx vows to track down the driver filmed throwing a monitor over a fence; a "
            "spokeswoman said: This won't be his best day. " + FX_VIDEO,
            title="FedEx driver caught throwing monitor over fence",
        ),
        KeyPost(
            20.0,
            "news",
            "fx-n3",
            "digitaltrends",
            None,
            "Over one million YouTube views in about 24 hours: a FedEx employee chucks a "
            "Samsung computer monitor over a fence to deliver it. " + FX_VIDEO,
            title="Viral video: FedEx delivery man throws computer monitor over fence",
        ),
        KeyPost(
            40.0,
            "blog",
            "fx-stmt",
            "FedEx",
            250_000,
            "Along with many of you, we have seen the video showing one of our couriers "
            "carelessly and improperly delivering a package. I was upset, embarrassed and "
            "very sorry for our customer's poor experience. This is unacceptable.",
            title="Absolutely, Positively Unacceptable",
            url="https://blog.van.fedex.com/absolutely-positively-unacceptable",
        ),
        KeyPost(
            42.0,
            "youtube",
            "fx-apology",
            "FedEx",
            20_000,
            "Matthew Thornton, senior vice president of FedEx Express U.S. operations, "
            "apologizes for the courier who threw a monitor over a customer's fence.",
            title="FedEx Response to Customer Video",
            url="https://www.youtube.com/watch?v=4ESU_PcqI38",
        ),
        KeyPost(
            60.0,
            "news",
            "fx-n4",
            "adweek",
            None,
            "FedEx makes an unwanted appearance on Letterman's top 10 after its courier was "
            "caught on tape tossing a computer monitor over a fence. " + FX_VIDEO,
            title="FedEx makes an unwanted appearance on Letterman's Top 10",
        ),
    ),
    crowd=300,
    crowd_templates=(
        "So this is how FedEx delivers a monitor {url}",
        "FedEx guy just throws the box over the gate. Unbelievable {url}",
        "And people wonder why their packages arrive broken. FedEx {url}",
        "Never shipping anything fragile with FedEx again {url}",
        "The FedEx monitor toss video is painful to watch {url}",
        "He didn't even ring the bell. Throws a monitor over a fence. {b} {url}",
        "My Christmas presents are in the hands of guys like this FedEx driver? {url}",
        "FedEx: we throw it over the fence, absolutely positively {url}",
        "This FedEx driver broke a monitor and walked off like nothing happened {url}",
        "Watch a FedEx courier hurl a computer monitor over a gate {url} #fail",
    ),
    crowd_hours=96.0,
    crowd_start_h=1.0,
    link_share=0.8,
    background=Background(
        brands=("FedEx", "Fedex", "@FedEx", "FedEx Ground"),
        handle="@FedEx",
        complaints=(
            "{b} tracking has said [in transit|on the way|at local facility] [at {place}|] for "
            "{n} days",
            "{b} [left a door tag|put a sticker on the door] saying nobody [home|answered], [I "
            "was home all day|I was right there]",
            "my {item} from {b} [arrived|showed up|came] with a [crushed corner|dented side|torn "
            "box]",
            "{b} [says|claims] delivered but there is no [package|box|{item}] [at my "
            "door|anywhere|on the porch]",
            "[waited|sat] on hold {n} hours with {b} [customer service|support] about a missed "
            "delivery",
            "{b} wants a signature for my {item} and [only comes|always shows up] while I am at "
            "work",
            "[package|my {item}] stuck at the {b} [facility|hub] in {place} [again|for {n} days]",
            "{b} charged me a [customs|brokerage|surprise] fee nobody mentioned for a {item}",
            "{b} delivered my {item} to the wrong [house|street|building], [the neighbours had "
            "it|found it {n} doors down]",
            "holiday delays with {b}, my {item} is {n} days late",
            "the {b} driver left my {item} [in the rain|out in the snow|on the porch in plain "
            "view]",
            "{b} [rescheduled|pushed back] my delivery {n} times, still nothing",
            "the {b} [store|office] in {place} could not find my held [package|{item}]",
        ),
        praise=(
            "{b} delivered my {item} a day early, nice",
            "friendly {b} driver on our street today, always waves",
            "shipped a {item} overnight with {b} to {place}, arrived first thing",
            "{b} Office in {place} printed my poster in an hour, great service",
        ),
        questions=(
            "does {b} deliver on Saturdays in {place}?",
            "how do I change a delivery address with {b}?",
            "is {b} or UPS better for shipping a {item}?",
        ),
        places=(
            "Memphis",
            "Indianapolis",
            "Oakland",
            "Newark",
            "Dallas",
            "Los Angeles",
            "Chicago",
            "Atlanta",
            "Phoenix",
            "Denver",
            "Portland",
            "Miami",
        ),
        items=("laptop", "phone", "TV", "package", "box", "parcel", "printer", "gift"),
    ),
    background_n=2_200,
    days_before=1.0,
    days_after=4.0,
)

# -- Domino's kitchen video, April 2009 --------------------------------------------------------

DP_VIDEO = "https://www.youtube.com/watch?v=OhBmWxQpedI"

DOMINOS = Incident(
    name="dominos_kitchen",
    seed=2009,
    brand="Domino's",
    prefix="dp-",
    # Uploaded on 13 April 2009 (Wikipedia). Assumed: 22:00 UTC (18:00 EDT).
    published=datetime(2009, 4, 13, 22, 0, tzinfo=UTC),
    source="youtube",
    ident="dp-video",
    url=DP_VIDEO,
    author="kristyhammonds",
    followers=60,
    title="Dominos Special Sandwich",
    text=(
        "Two Domino's Pizza employees in the kitchen: he puts cheese up his nose and sneezes on "
        "the sandwiches, she says in about five minutes they'll be sent out to delivery where "
        "somebody will be eating these. Disgusting food going out to customers."
    ),
    # Assumed slow first day; Consumerist posted it the next day; >930,000 views by 17:00 EDT
    # Wednesday 15 April (mlive), removed later that evening.
    views=(
        (1.0, 150),
        (6.0, 2_500),
        (18.0, 15_000),
        (24.0, 80_000),
        (43.0, 930_000),
        (48.0, 1_050_000),
    ),
    removed_h=48.0,
    ratios=(0.002, 0.004, 0.003),
    keys=(
        KeyPost(
            3.0,
            "forum",
            "dp-f1",
            "foodservice_forum",
            None,
            "Did anyone see the Domino's video? An employee putting cheese in his nose and "
            "then on a sandwich that goes out to customers. " + DP_VIDEO,
            title="Domino's employees gross video",
        ),
        KeyPost(
            18.0,
            "blog",
            "dp-consumerist",
            "consumerist",
            80_000,
            "Domino's employees film themselves contaminating food: cheese up the nose, "
            "sneezing on sandwiches, that's how we roll at Domino's. " + DP_VIDEO,
            title="Disgusting Domino's People",
        ),
        KeyPost(
            20.0,
            "blog",
            "dp-adweek",
            "adweek",
            40_000,
            "Domino's set to take a social-media beating: employees posted a video showing "
            "one putting snot on a sandwich. " + DP_VIDEO,
            title="Domino's set to take a social-media beating",
        ),
        KeyPost(
            30.0,
            "news",
            "dp-n1",
            "hickory-record",
            None,
            "The Conover Domino's store shown in a YouTube video of employees contaminating "
            "food was closed for sanitizing, health officials said. " + DP_VIDEO,
            title="Conover Domino's closed after YouTube video",
        ),
        KeyPost(
            43.0,
            "youtube",
            "dp-doyle",
            "dominos",
            2_000,
            "Domino's USA president Patrick Doyle: we sincerely apologize for this incident, "
            "we thank members of the online community who alerted us.",
            title="Domino's President Responds to Prank Video",
            url="https://www.youtube.com/watch?v=dem6eA7-A2I",
        ),
        KeyPost(
            44.0,
            "twitter",
            "dp-dpzinfo",
            "dpzinfo",
            300,
            "We are aware of the video made by two former employees in Conover, NC. Those "
            "involved have been fired and the store was sanitized.",
        ),
        KeyPost(
            46.0,
            "news",
            "dp-n2",
            "nytimes",
            None,
            "Two Domino's employees were charged after a video of them contaminating food "
            "spread on YouTube and Twitter. " + DP_VIDEO,
            title="Video prank at Domino's taints brand",
        ),
        KeyPost(
            50.0,
            "youtube",
            "dp-copy1",
            "mirror_uploads",
            3_000,
            "Re-upload of the Domino's employees video before it gets taken down. Cheese in "
            "the nose, sneezing on the food.",
            title="Dominos Special Sandwich (copy)",
            url="https://www.youtube.com/watch?v=Xq1dPzCopy0",
            curve=((6, 400, 300, 200), (24, 2_500, 1_500, 900)),
        ),
    ),
    crowd=300,
    crowd_templates=(
        "Never ordering Domino's again after this video {url}",
        "Domino's employees sneezing on sandwiches. Disgusting {url}",
        "That's how we roll at Domino's?? Gross {url}",
        "Cheese up his nose and then on my sandwich. Domino's, really? {url}",
        "Just watched the Domino's kitchen video and I feel sick {url}",
        "This is why I make my own pizza. Domino's {url}",
        "Somebody get these Domino's employees fired {url}",
        "Domino's gross-out video is all over Twitter {url}",
        "Health department should shut that Domino's down {url}",
        "Can't unsee the Domino's video. Done with them {url} #dominos",
    ),
    crowd_hours=66.0,
    crowd_start_h=14.0,
    link_share=0.75,
    background=Background(
        brands=("Domino's", "Dominos", "@dominos", "Domino's Pizza"),
        handle="@dominos",
        complaints=(
            "{b} took {n}0 minutes [to deliver|to show up] and the pizza was [cold|lukewarm]",
            "{b} forgot the {item} [again|on my order|for the second time]",
            "ordered from {b} [in {place}|tonight] and got [someone else's pizza|the wrong "
            "toppings|a plain cheese]",
            "the {b} tracker said [out for delivery|in the oven] for [an hour|{n}0 minutes]",
            "{b} would not take my coupon at the {place} store",
            "my {b} pizza showed up with the [cheese slid off to one side|toppings all in the "
            "middle|box crushed]",
            "the {b} [delivery driver|driver] could not find my [building|street|house] in {place}",
            "{b} charged me for {item} I never got",
            "[burnt|undercooked|doughy] crust on my {b} order tonight",
            "the {b} [online order page|app|website] kept [timing out|crashing|losing my cart]",
            "{b} cancelled my order after {n}0 minutes without [telling me|a call]",
            "the {item} from {b} [was soggy|came cold|was missing]",
        ),
        praise=(
            "{b} pizza night with the kids, hit the spot",
            "{b} delivered in 20 minutes in the rain, great driver",
            "the new {item} at {b} is actually good",
            "late night {b} after the game, no regrets",
        ),
        questions=(
            "what time does {b} in {place} close on Sundays?",
            "is the {b} two medium deal still on?",
            "does {b} have a gluten free crust?",
        ),
        places=(
            "Ann Arbor",
            "Charlotte",
            "Hickory",
            "Raleigh",
            "Detroit",
            "Columbus",
            "Atlanta",
            "Phoenix",
            "Austin",
            "Tampa",
            "Denver",
            "Pittsburgh",
        ),
        items=("breadsticks", "wings", "dipping sauce", "soda", "pasta", "cheesy bread"),
    ),
    background_n=2_200,
    days_before=1.0,
    days_after=4.0,
)

INCIDENTS: dict[str, Incident] = {inc.name: inc for inc in (UNITED, FEDEX, DOMINOS)}


def write(inc: Incident, path: Path, scale: float = 1.0) -> int:
    """Write the scenario to ``path`` (JSON Lines); the number of events."""
    events = build(inc, scale)
    path.write_text(
        "".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in events), encoding="utf-8"
    )
    return len(events)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("names", nargs="*", default=sorted(INCIDENTS))
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    for name in args.names:
        n = write(INCIDENTS[name], args.dir / f"{name}.jsonl", args.scale)
        out(f"{name}: {n} events")


if __name__ == "__main__":
    main()
