"""Articles written for the tests: a partisan piece in the shape members post, a copy of it on
another site, a page on the same topic that repeats none of its checked claims, and an
unrelated page. Every sentence is invented; none is from the shared data."""

from __future__ import annotations

DAM_HEADLINE = "Wexley's dam: the deal nobody voted for"
DAM_STANDFIRST = (
    "The governor calls the Marren project progress. The farmers who will lose their land "
    "call it something else."
)
DAM_PARAGRAPHS = [
    "Drive north from Wexley on a spring morning and you pass orchards, dairy sheds and the "
    "low stone walls that families have mended for a century. Most of it will be under water "
    "by the end of the decade if the state gets its way.",
    "The Marren dam project will flood 12,000 acres of farmland in Wexley County, according "
    "to the engineering survey the state published last year. Officials prefer to talk about "
    "megawatts.",
    "Nobody in Hollin Creek was asked. The public meetings were held on weekday afternoons, "
    "in a town two hours away, and the minutes were posted months later.",
    "Follow the money and the picture gets clearer. Governor Alden Price received $2 million "
    "in campaign donations from the Holloway Group, the construction firm that won the dam "
    "contract without a rival bid. His office says the two facts are unrelated.",
    "Supporters insist the reservoir will secure drinking water for the coast. Perhaps it "
    "will. But the same supporters said the highway bypass would be finished in two years, "
    "and it took seven.",
    "Local historians point out that the valley holds three listed chapels and a Roman road. "
    "The heritage board has asked for an extension of the consultation, so far without reply.",
    "Farmers are not against electricity. They are against being told, by people who have "
    "never walked their fields, that their livelihoods are a rounding error.",
    "The state legislature will debate the final permit next month. Whatever it decides, "
    "Wexley will remember who stood with the valley and who did not.",
]

#: Claims the article repeats (each in one sentence above), and the sentence that repeats it.
REPEATED_CLAIMS = [
    (
        "The Marren dam will flood 12,000 acres of Wexley County farmland.",
        "The Marren dam project will flood 12,000 acres of farmland in Wexley County, according "
        "to the engineering survey the state published last year.",
    ),
    (
        "Governor Alden Price got $2 million in campaign donations from the Holloway Group, "
        "which built the dam.",
        "Governor Alden Price received $2 million in campaign donations from the Holloway "
        "Group, the construction firm that won the dam contract without a rival bid.",
    ),
]

#: Claims on the same topic that the article does not repeat.
OTHER_TOPIC_CLAIMS = [
    "Water bills in Wexley County will rise by 40 percent to pay for the Marren dam.",
    "The Marren reservoir will supply drinking water to two million people on the coast.",
    "The Holloway Group was fined for safety violations on a bridge in Dunmore.",
]

#: Claims on other topics entirely.
UNRELATED_CLAIMS = [
    "Drinking bleach cures the coronavirus.",
    "The Eiffel Tower will be dismantled and moved to Las Vegas in 2025.",
    "A photo shows a shark swimming on a flooded highway in Houston after Hurricane Harvey.",
    "NASA confirmed that the Earth will experience six days of total darkness in December.",
]

#: A sentence with most words of the first repeated claim in other phrases, saying something else.
SAME_WORDS_OTHER_CLAIM = (
    "Farmland in Wexley County flooded when the Marren river rose past the old dam, and 12,000 "
    "people lost power."
)

COPY_HEADLINE = "MUST READ: the Marren dam scandal they don't want you to see"
COPY_INTRO = "Shared from a reader in Wexley. Pass it on before it gets taken down!"

SAME_TOPIC_PARAGRAPHS = [
    "The Marren dam permit returns to the state legislature next month, and both sides are "
    "preparing for a long debate in the capital.",
    "Engineers from the state water agency will present an updated schedule for the "
    "construction, which has slipped by a year since the contract was signed.",
    "In Hollin Creek, residents organised a harvest fair on Saturday to raise money for a "
    "legal challenge. Several hundred people came, and a local band played until dark.",
    "Governor Alden Price will visit the valley in the spring, his office said, to meet "
    "farmers and hear their concerns.",
]

UNRELATED_PARAGRAPHS = [
    "The Rovers came from two goals down on Sunday to draw with their old rivals, in a match "
    "the home crowd will talk about for years.",
    "The young striker scored twice in the last ten minutes, the second with a header from a "
    "corner that the keeper never saw.",
    "The manager said afterwards that the squad had never stopped believing, and praised the "
    "supporters who sang through the rain.",
]


def html_page(
    headline: str,
    paragraphs: list[str],
    *,
    standfirst: str = "",
    intro: str = "",
    published: str = "",
) -> bytes:
    """A news page: title, description, publication date, navigation, the article, a footer."""
    body = "".join(f"<p>{p}</p>" for p in ([intro] if intro else []) + paragraphs)
    lead = f"<p><em>{standfirst}</em></p>" if standfirst else ""
    date = f'<meta property="article:published_time" content="{published}">' if published else ""
    return (
        f"<!doctype html><html><head><title>{headline} | Valley Voice</title>{date}"
        f'<meta name="description" content="{standfirst or paragraphs[0]}"></head><body>'
        f"<nav>Home | Politics | Opinion</nav><article><h1>{headline}</h1>{lead}{body}"
        f"</article><footer>Comments are closed.</footer></body></html>"
    ).encode()
