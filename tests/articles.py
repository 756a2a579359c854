"""A news article written for these tests, in the shape of the pages members post: a partisan
piece mixing reporting, opinion and checkable claims (headline, standfirst, ~15 paragraphs).
The topic, places and people are invented."""

from __future__ import annotations

from pathlib import Path

ARTICLE_PATH = Path(__file__).resolve().parent / "data" / "partisan-article.txt"

# Claims for a store around that article: the first is one the article repeats, the rest are
# unrelated, so only the first may be replied.
ARTICLE_CLAIMS = [
    "Lowmere council paid the Dunmore Rail consortium 41 million pounds for the harbourside tram "
    "before the company walked off the site.",
    "Only 60,000 civilians, not 250,000, remained in eastern Aleppo in December 2016.",
    "The Syrian government blocked the evacuation of eastern Aleppo.",
    "Vaccines cause autism.",
    "A photo shows a shark swimming on a flooded highway in Houston.",
]


def partisan_article() -> tuple[str, str, list[str]]:
    """Headline, standfirst and body paragraphs of the test article."""
    lines = [line.strip() for line in ARTICLE_PATH.read_text(encoding="utf-8").splitlines()]
    headline, standfirst, *body = [line for line in lines if line]
    return headline, standfirst, body
