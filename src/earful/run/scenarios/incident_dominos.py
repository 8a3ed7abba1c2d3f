"""The Domino's kitchen video, April 2009: facts and wording (sources in README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from earful.run.scenarios.incident_model import Background, Incident, KeyPost

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
