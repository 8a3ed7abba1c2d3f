"""United Express 3411, April 2017: the scenario's facts and wording (sources in README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from earful.run.scenarios.incident_model import Background, Incident, KeyPost

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
