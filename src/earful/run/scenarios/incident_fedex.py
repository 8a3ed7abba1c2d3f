"""The FedEx monitor-throwing video, December 2011: facts and wording (sources: README)."""

from __future__ import annotations

from datetime import UTC, datetime

from earful.run.scenarios.incident_model import Background, Incident, KeyPost

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
