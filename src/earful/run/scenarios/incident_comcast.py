"""The Comcast technician asleep on a customer's couch, June 2006: facts and wording (sources in
README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from earful.run.scenarios.incident_model import Background, Incident, KeyPost

# -- Comcast technician asleep on a couch, June 2006 -------------------------------------------

CC_VIDEO = "https://www.youtube.com/watch?v=CvVp7b5gzqU"

COMCAST = Incident(
    name="comcast_couch",
    seed=2006,
    brand="Comcast",
    prefix="cc-",
    # Submitted to YouTube on 20 June 2006 (TelevisionWeek). Assumed: 02:00 UTC (22:00 EDT,
    # 19 June), by a law student's new account.
    published=datetime(2006, 6, 20, 2, 0, tzinfo=UTC),
    source="youtube",
    ident="cc-video",
    url=CC_VIDEO,
    author="brianfinkelstein",
    followers=40,
    title="A Comcast Technician Sleeping on my Couch",
    # The creator's note beside the video (TelevisionWeek) and its text slides (CNET).
    text=(
        "A Comcast technician came to replace a faulty modem. After spending an hour on hold "
        "with Comcast's central office, he fell asleep on my couch. Thanks Comcast for two "
        "broken routers, four-hour appointment blocks, weeklong Internet outages."
    ),
    # >540,000 views by 29 June (TelevisionWeek, 3 July); 302,210 "to date" in CNET's piece
    # (assumed: 25 June). The first day is assumed: a slow start from a new account.
    views=(
        (1.0, 80),
        (6.0, 1_200),
        (24.0, 15_000),
        (48.0, 80_000),
        (130.0, 302_000),
        (216.0, 540_000),
        (312.0, 700_000),
    ),
    removed_h=None,
    ratios=(0.003, 0.004, 0.002),
    keys=(
        KeyPost(
            4.0,
            "forum",
            "cc-f1",
            "dslr_member",
            None,
            "Someone filmed a Comcast tech asleep on his couch after an hour on hold with "
            "Comcast's own office. This is our service. " + CC_VIDEO,
            title="Comcast tech falls asleep on customer's couch (video)",
        ),
        KeyPost(
            20.0,
            "blog",
            "cc-b1",
            "consumerist",
            60_000,
            "Comcast technician, on hold with Comcast for an hour, falls asleep on the "
            "customer's couch. Set to the Eels' I Need Some Sleep. " + CC_VIDEO,
            title="Comcast Technician Sleeping On My Couch",
        ),
        KeyPost(
            60.0,
            "twitter",
            "cc-t1",
            "comcast",
            5_000,
            "Comcast has reached out to the customer to apologize for his unsatisfactory "
            "customer experience; all of his services are working properly.",
        ),
        KeyPost(
            130.0,
            "news",
            "cc-n1",
            "cnet",
            None,
            "Sleepy Comcast technician gets filmed, then fired: the video of the napping "
            "employee has hundreds of thousands of views. " + CC_VIDEO,
            title="Sleepy Comcast technician gets filmed, then fired",
        ),
        KeyPost(
            300.0,
            "news",
            "cc-n2",
            "tvweek",
            None,
            "Viral video: a Comcast technician in the Washington area took a nap on a "
            "customer's couch; Comcast fired the technician. " + CC_VIDEO,
            title="Viral Video: A Comcast Technician Sleeping on My Couch",
        ),
    ),
    crowd=260,
    crowd_templates=(
        "The Comcast tech sleeping on the couch video is the most Comcast thing ever {url}",
        "An hour on hold with his own company and he fell asleep. Comcast. {url}",
        "Comcast: we'll be there between 8 and 4, then we nap on your couch {url}",
        "Watch this Comcast technician sleep on a customer's couch {url}",
        "Even Comcast's own techs can't get through to Comcast {url}",
        "This is why I'm switching from Comcast {url}",
        "Comcast service in one video: asleep on the couch {url}",
        "Poor guy, an hour on hold with Comcast would put anyone to sleep {url}",
    ),
    crowd_hours=120.0,
    crowd_start_h=10.0,
    link_share=0.7,
    background=Background(
        brands=("Comcast", "comcast", "@comcast", "Comcast cable"),
        handle="@comcast",
        complaints=(
            "{b} internet [down again|out since this morning|dropping every hour] in {place}",
            "on hold with {b} for [40 minutes|an hour|two hours] [again|and counting]",
            "{b} billed me for [the {item}|a late fee|a premium channel] I never [ordered|had]",
            "the {b} [tech|installer] [never showed up|was a no-show] for my {n}-hour window",
            "{b} [cable|TV] keeps [freezing|pixelating|losing the signal] in {place}",
            "{b} raised my bill [again|by $10|without telling me]",
            "my {b} {item} [died|stopped working|keeps rebooting] [again|tonight]",
            "{b} support transferred me [three|four|five] times and hung up",
            "[slow|terrible|spotty] {b} speeds all week in {place}",
            "{b} wants $[99|49|79] to [move my service|send a tech|replace the {item}]",
        ),
        praise=(
            "{b} tech fixed my connection in ten minutes, nice guy",
            "finally fast internet with {b} after the upgrade",
            "{b} on demand has the whole season, love it",
            "{b} support actually solved it on the first call today",
        ),
        questions=(
            "does {b} have service in {place}?",
            "anyone know if the {b} outage in {place} is fixed?",
            "how do I reset my {b} {item}?",
        ),
        places=(
            "Washington",
            "Philadelphia",
            "Baltimore",
            "Arlington",
            "Alexandria",
            "Chicago",
            "Boston",
            "Pittsburgh",
            "Denver",
            "Seattle",
            "Atlanta",
            "Silver Spring",
        ),
        items=("modem", "cable box", "DVR", "router", "remote", "phone line"),
    ),
    background_n=2_000,
    days_before=1.0,
    days_after=6.0,
)
