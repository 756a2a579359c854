from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.checking import CheckResult, LinkReport, Match
from bot.replies import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    MAX_EMBEDS,
    NOTHING_KNOWN,
    RELATED_NOTE,
    SEARCH_FOOTER,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    clean,
    embed_text,
    reaction_for,
    render_answer,
    render_claim,
    render_claim_list,
    render_compact,
    render_compact_current,
    render_current,
    render_embeds,
    render_history,
    render_search_answer,
    render_text,
    safe_url,
    trim,
    trim_lines,
)
from bot.store import AuditEntry, Claim, Source, SourceNote
from bot.verdicts import COLOURS, VERDICTS

BIDI_AND_ZERO_WIDTH = (
    "\u202e\u202d\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff\u061c"
)


def make_claim(
    claim: str, note: str, verdict: str = "false", sources=(), claimant: str | None = None
) -> Claim:
    return Claim(
        id=1,
        guild_id=None,
        claim=claim,
        verdict=verdict,
        note=note,
        rating_label=None,
        context="",
        external_id=None,
        created_by="t",
        created_at="2026-01-01T00:00:00+00:00",
        updated_by="t",
        updated_at="2026-01-01T00:00:00+00:00",
        active=True,
        sources=tuple(sources),
        claimant=claimant,
    )


def report(
    url: str, claims: list[Claim], source: SourceNote | None = None, quote: str | None = None
) -> LinkReport:
    kind = "url" if quote is None else "content"
    return LinkReport(
        url=url,
        canonical_url=url,
        source=source,
        matches=tuple(Match(c, kind, 1.0, quote) for c in claims),
    )


def assert_within_limits(embeds: list[discord.Embed]) -> None:
    assert len(embeds) <= MAX_EMBEDS
    assert sum(len(e) for e in embeds) <= TOTAL_LIMIT
    for embed in embeds:
        assert len(embed.title or "") <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.footer.text or "") <= FOOTER_LIMIT
        assert len(embed.fields) <= 25
        for field in embed.fields:
            assert 0 < len(field.name or "") <= FIELD_NAME_LIMIT
            assert 0 < len(field.value or "") <= FIELD_VALUE_LIMIT
        text = "".join(
            [embed.title or "", embed.description or ""]
            + [f"{f.name}{f.value}" for f in embed.fields]
        )
        assert not set(text) & set(BIDI_AND_ZERO_WIDTH)


hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(list(BIDI_AND_ZERO_WIDTH + "*_~`|>[]()\\@#<:\n")),
    ),
    max_size=6000,
)
urls = st.builds(lambda s: "https://example.com/" + s, st.text(max_size=300))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_links=st.integers(min_value=1, max_value=12),
    claim=hostile_text,
    note=hostile_text,
    titles=st.lists(hostile_text, min_size=0, max_size=5),
    source_urls=st.lists(urls, min_size=0, max_size=5),
    rating=hostile_text,
    n_claims=st.integers(min_value=1, max_value=4),
    verdict=st.sampled_from(VERDICTS),
    quote=st.one_of(st.none(), hostile_text),
    claimant=st.one_of(st.none(), hostile_text),
)
def test_every_discord_limit_holds_for_any_text(
    n_links, claim, note, titles, source_urls, rating, n_claims, verdict, quote, claimant
) -> None:
    sources = [
        Source(u, titles[i] if i < len(titles) else None, "fact-check" if i == 0 else "alternative")
        for i, u in enumerate(source_urls)
    ]
    claims = [make_claim(claim or "x", note, verdict, sources, claimant) for _ in range(n_claims)]
    note_on_outlet = SourceNote("example.com", None, rating or "r", note, "t", "now")
    result = CheckResult(
        tuple(
            report(f"https://example.com/{i}", claims, note_on_outlet, quote)
            for i in range(n_links)
        )
    )
    embeds = render_embeds(result)
    assert len(embeds) == min(n_links, MAX_EMBEDS)
    assert_within_limits(embeds)
    text = render_text(result)
    assert text is not None and not set(text) & set(BIDI_AND_ZERO_WIDTH)


def test_a_content_match_quotes_the_page_escaped_under_its_claim() -> None:
    quote = "The mayor said 40,000 **jobs** left [town](https://evil.example) last year."
    claim = make_claim("40,000 jobs left the town last year.", "The figure was 4,000.")
    result = CheckResult((report("https://news.example/a", [claim], quote=quote),))
    description = render_embeds(result)[0].description or ""
    lines = description.split("\n")
    assert lines[0].startswith("**Claim:** 40,000 jobs")
    assert lines[1].startswith("The article says: “The mayor said 40,000 \\*\\*jobs")
    assert "\\[town\\]\\(https" in lines[1]
    text = render_text(result)
    assert text is not None and "The article says: “The mayor said" in text


def test_a_reply_says_who_made_each_claim_escaped() -> None:
    said = make_claim(
        "We have rebuilt China.", "Trade figures say otherwise.", claimant="Donald **J.** Trump"
    )
    also = make_claim("Coal jobs are back.", "", "misleading", claimant="  Fox\nNews  ")
    nobody = make_claim("Wind stops, the power stops.", "", "unproven")
    result = CheckResult((report("https://news.example/a", [said, also, nobody]),))
    (embed,) = render_embeds(result)
    description = embed.description or ""
    assert description.startswith("**Claim (Donald \\*\\*J.\\*\\* Trump):** We have rebuilt China.")
    assert [field.value for field in embed.fields[:2]] == [
        "(Fox News) Coal jobs are back.",
        "Wind stops, the power stops.",
    ]
    # A claimant longer than a name is clipped; no claimant leaves the claim as it was.
    long = make_claim("We have rebuilt China.", "", claimant="A" * 150)
    (embed,) = render_embeds(CheckResult((report("https://news.example/a", [long]),)))
    assert (embed.description or "").startswith("**Claim (" + "A" * 99 + "…):** We have")
    (embed,) = render_embeds(CheckResult((report("https://news.example/a", [nobody]),)))
    assert (embed.description or "").startswith("**Claim:** Wind stops")


def test_an_extra_claim_with_nothing_left_to_show_still_has_a_field_value() -> None:
    # Discord refuses a whole message with an empty field value: a claim whose text is only
    # invisible characters (stripped as unsafe) shows "-".
    shown = make_claim("We have rebuilt China.", "")
    invisible = make_claim("\u200b\u202e", "", "misleading")
    (embed,) = render_embeds(CheckResult((report("https://news.example/a", [shown, invisible]),)))
    assert [field.value for field in embed.fields] == ["-"]


def test_reply_reads_verdict_first_then_claim_note_sources_and_why() -> None:
    claim = make_claim(
        "Aleppo had only 60,000 civilians",
        "Estimates varied; the UN said about 250,000.",
        "misleading",
        [Source("https://fc.example.org/aleppo", "Example Fact Check", "fact-check")],
    )
    (embed,) = render_embeds(CheckResult((report("https://news.example.com/a", [claim]),)))
    assert embed.title is not None and "Misleading" in embed.title
    assert embed.description is not None
    assert embed.description.index("60,000") < embed.description.index("Estimates varied")
    assert embed.fields[-1].name == "Read more"
    assert "[Example Fact Check](https://fc.example.org/aleppo)" in (embed.fields[-1].value or "")
    assert embed.footer.text == "Matched: this article"


@pytest.mark.parametrize(
    "note",
    [
        "[click](https://evil.example)",
        "[[click](https://evil.example)",  # escape_markdown escapes only the first bracket
        "\\[click](https://evil.example)",
        "||spoiler|| `code` > quote\n# heading",
    ],
)
def test_markup_in_notes_is_escaped(note: str) -> None:
    claim = make_claim("**bold** claim", note)
    (embed,) = render_embeds(CheckResult((report("https://x.example/", [claim]),)))
    description = embed.description or ""
    assert "\\*\\*bold\\*\\*" in description
    # Every bracket, parenthesis and markup character is preceded by an escaping backslash.
    for i, char in enumerate(description):
        if char in "[]()`|>":
            backslashes = len(description[:i]) - len(description[:i].rstrip("\\"))
            assert backslashes % 2 == 1, (description, i)


def full_length_report(url: str) -> LinkReport:
    """A known link whose claim, note and three sources are each at their longest."""
    sources = [
        Source(f"https://fc{i}.example.org/{'r' * 200}", "T" * 300, "fact-check") for i in range(3)
    ]
    return report(url, [make_claim("C" * 300, "Note. " * 700, sources=sources)])


def test_five_known_links_with_long_notes_fit_discords_total() -> None:
    # Each embed alone fits; five at full length would make a reply Discord rejects whole.
    reports = tuple(
        full_length_report(f"https://news{n}.example.com/{'a' * 300}") for n in range(5)
    )
    for render in (render_embeds, render_answer):
        embeds = render(CheckResult(reports), max_sources=3)
        assert len(embeds) == 5
        assert sum(len(e) for e in embeds) <= TOTAL_LIMIT
        assert_within_limits(embeds)
        assert all((e.description or "").startswith("**Claim:** CCC") for e in embeds)


def rendered_note(note: str) -> str:
    """The note's part of a reply's description (after the claim line)."""
    (embed,) = render_embeds(CheckResult((report("https://x.example/", [make_claim("c", note)]),)))
    return (embed.description or "").split("\n", 1)[1]


def odd_backslashes_before(text: str, i: int) -> bool:
    return (len(text[:i]) - len(text[:i].rstrip("\\"))) % 2 == 1


MARKUP_CHARACTERS = "\\*_~`|[]()<>"


@pytest.mark.parametrize("char", list(MARKUP_CHARACTERS))
def test_every_markup_character_in_a_note_is_escaped(char: str) -> None:
    # Discord acts on each of these (bold, italic and underline, strike, code, spoiler, links,
    # quotes, angle-bracket links): each must reach Discord escaped, alone or doubled.
    note = rendered_note(f"x{char}y {char}{char}z{char}{char}")
    positions = [i for i, c in enumerate(note) if c == char]
    if char == "\\":  # its escapes are backslashes too: they come in pairs
        assert note.count("\\") == 2 * 5
        return
    assert len(positions) == 5
    assert all(odd_backslashes_before(note, i) for i in positions), note


@pytest.mark.parametrize(
    "line",
    [
        "# heading",
        "## heading",
        "### heading",
        "-# subtext",
        "- item",
        "+ item",
        "* item",
        "1. first",
        "12. twelfth",
        "> quote",
        ">>> quote",
        "   - indented item",
    ],
)
def test_no_note_line_starts_a_heading_list_or_quote(line: str) -> None:
    note = rendered_note(f"first line\n{line}\nlast line")
    (escaped,) = [n for n in note.split("\n") if n.strip() not in ("first line", "last line")]
    assert re.match(r"\s*(?:#|-|\+|\*|>|\d+\.)", escaped) is None, escaped


def test_outlet_only_reply() -> None:
    note = SourceNote("tabloid.example.net", None, "Unreliable", "Often wrong.", "t", "now")
    (embed,) = render_embeds(
        CheckResult((LinkReport("https://tabloid.example.net/x", "k", source=note),))
    )
    assert embed.title is not None and "Unreliable" in embed.title
    assert embed.footer.text == "Matched: this outlet"


def test_silence_when_nothing_is_known() -> None:
    result = CheckResult((LinkReport("https://unknown.example/", "k"),))
    assert render_embeds(result) == []
    assert render_text(result) is None


def test_clean_strips_invisible_characters() -> None:
    assert clean("a\u202eb\u200bc\ufeffd") == "abcd"


def test_clean_keeps_one_kind_of_line_break_and_at_most_one_blank_line() -> None:
    # Windows and old Mac line ends from a moderator's paste; a wall of blank lines.
    assert clean("a\r\nb\rc\n\n\n\nd") == "a\nb\nc\n\nd"


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("alpha beta gamma delta epsilon", 20, "alpha beta gamma…"),  # at the last word that fits
        ("alpha beta gamma delta", 12, "alpha beta…"),
        ("ab", 1, "a"),  # no room for an ellipsis
        ("abc", 2, "a…"),
        ("word word word x\\\\yz", 19, "word word word…"),
        ("abcdefghijklmnop\\qrs", 18, "abcdefghijklmnop…"),  # never half an escape
        ("ab \\cdef", 5, "ab…"),  # nor a space before the ellipsis
        ("ABCDEFGHIJKLMNOPXXXX", 18, "ABCDEFGHIJKLMNOPX…"),  # every letter that fits
        ("abcdefghij klmnopqrstuvwxyz", 20, "abcdefghij klmnopqr…"),  # a word this early: cut in it
    ],
)
def test_trim_cuts_at_a_word_with_an_ellipsis(text: str, limit: int, cut: str) -> None:
    assert trim(text, limit) == cut
    assert len(cut) <= limit


def test_a_source_title_cannot_plant_its_own_link() -> None:
    claim = make_claim(
        "x",
        "y",
        sources=[
            Source(
                "https://fc.example.org/r/1",
                "Example Checks](https://evil.example/phish) [more",
                "fact-check",
            )
        ],
    )
    (embed,) = render_embeds(CheckResult((report("https://news.example.com/a", [claim]),)))
    value = embed.fields[-1].value or ""
    assert "](https://evil.example/phish)" not in value
    assert value.endswith("(https://fc.example.org/r/1) (fact-check)")


def sources_field(*sources: Source) -> str:
    claim = make_claim("x", "y", sources=sources)
    (embed,) = render_embeds(CheckResult((report("https://news.example.com/a", [claim]),)))
    return embed.fields[-1].value or ""


def test_an_untitled_source_is_labelled_by_its_registrable_domain() -> None:
    value = sources_field(Source("https://factcheck.news.example.co.uk/r/1", None, "fact-check"))
    assert value == "• [example.co.uk](https://factcheck.news.example.co.uk/r/1) (fact-check)"


def test_a_reply_lists_three_sources_unless_told_otherwise() -> None:
    five = tuple(Source(f"https://fc{n}.example.org/r", None, "fact-check") for n in range(5))
    result = CheckResult(
        (report("https://news.example.com/a", [make_claim("x", "y", sources=five)]),)
    )

    def listed(text: str | None) -> list[str]:
        return re.findall(r"\[example\.org\]\(https://(fc\d)\.", text or "")

    (embed,) = render_embeds(result)
    assert listed(embed.fields[-1].value) == ["fc0", "fc1", "fc2"]
    assert listed(render_text(result)) == ["fc0", "fc1", "fc2"]
    assert listed(render_text(result, max_sources=1)) == ["fc0"]
    assert listed(render_text(result, max_sources=5)) == ["fc0", "fc1", "fc2", "fc3", "fc4"]


def test_check_prints_one_reply_a_known_link_separated_by_a_blank_line() -> None:
    result = CheckResult(
        (
            report("https://news.example.com/a", [make_claim("Claim A", "note a")]),
            report("https://other.example.net/b", [make_claim("Claim B", "note b", "misleading")]),
        )
    )
    assert render_text(result) == (
        "❌ False\n**Claim:** Claim A\nnote a\n(Matched: this article)\n\n"
        "⚠️ Misleading\n**Claim:** Claim B\nnote b\n(Matched: this article)"
    )


def test_a_source_whose_site_cannot_be_named_is_labelled_source() -> None:
    # An archive link with no usable page inside: the link is shown, its label says nothing.
    link = "https://web.archive.org/web/2020/https://"
    assert sources_field(Source(link, None, "fact-check")) == f"• [source]({link}) (fact-check)"


def test_a_source_with_credentials_is_never_a_link() -> None:
    # The store refuses them; an older row must still not show trusted.example as the label.
    value = sources_field(
        Source("https://trusted.example@evil.example.net/", None, "fact-check"),
        Source("https://fc.example.org/ok", None, "fact-check"),
    )
    assert "trusted.example" not in value and "evil.example.net" not in value
    assert value == "• [example.org](https://fc.example.org/ok) (fact-check)"


@pytest.mark.parametrize(
    "title",
    [
        "trusted.example.com",
        "https://www.reuters.com/fact-check/1",
        "Read it at reuters.com",
        "<bbc.co.uk>",
    ],
)
def test_a_title_naming_another_site_is_not_a_link_label(title: str) -> None:
    value = sources_field(Source("https://evil.example.net/x", title, "fact-check"))
    assert value == "• [example.net](https://evil.example.net/x) (fact-check)"


def test_a_title_naming_its_own_site_is_kept() -> None:
    value = sources_field(Source("https://www.snopes.com/fact-check/x", "Snopes.com", "fact-check"))
    assert value.startswith("• [Snopes.com](")


def test_mixed_script_hosts_show_punycode_and_idn_links_work() -> None:
    homograph = sources_field(Source("https://ex\u0430mple.com/a", None, "fact-check"))
    # Shown in Unicode, "exаmple.com" (Cyrillic а) would pass for example.com.
    assert homograph == "• [xn--exmple-4nf.com](https://xn--exmple-4nf.com/a) (fact-check)"
    idn = sources_field(Source("https://пример.рф/новости", None, "fact-check"))
    # One script reads as itself; the link's host is punycode (a %-encoded host resolves nowhere).
    assert idn.startswith("• [пример.рф](https://xn--e1afmkfd.xn--p1ai/")
    assert "%D0%BF%D1%80" not in idn.split("/")[2]


def test_text_reply_is_the_embed_with_the_same_limits_and_escaping() -> None:
    claim = make_claim("**Huge** claim " + "word " * 400, "[click](https://evil.example)\x1b[2J")
    result = CheckResult((report("https://news.example.com/a", [claim]),))
    (embed,) = render_embeds(result)
    text = render_text(result)
    assert text is not None
    assert (embed.description or "") in text
    assert "\\*\\*Huge\\*\\*" in text and "\\[click\\]" in text
    assert "\x1b" not in text
    assert len(text) < TOTAL_LIMIT


# --- what moderators and members read besides the public reply -------------------------------

DAY2 = "2026-01-02T00:00:00+00:00"
DAY2_TS = int(datetime.fromisoformat(DAY2).timestamp())
FACT_CHECK = Source("https://fc.example.org/moon", "Moon check", "fact-check")


GREY = discord.Colour(0x80868B)


def scored(claim_id: int, text: str, score: float, verdict: str = "false") -> Match:
    claim = dataclasses.replace(make_claim(text, "n", verdict), id=claim_id)
    return Match(claim, "content", score)


def history_entry(
    action: str, before: dict | None, after: dict | None, actor: str = "discord:7"
) -> AuditEntry:
    return AuditEntry(1, DAY2, actor, None, action, 1, None, before, after)


def snapshot(**changes: object) -> dict:
    """What the audit log records of a claim (a full snapshot), with some fields changed."""
    return dataclasses.replace(make_claim("Moon cheese", "Rock."), **changes).snapshot()


S1, S2, S3 = (Source(f"https://fc{n}.example.org/", None, "fact-check") for n in (1, 2, 3))


@pytest.mark.parametrize(
    ("action", "before", "after", "says"),
    [
        ("create", None, snapshot(claim="The moon\nis *cheese*"), "The moon is \\*cheese\\*"),
        ("import", None, snapshot(claim="x" * 200), "x" * 119 + "…"),
        ("create", snapshot(claim="old"), snapshot(claim="new"), "claim changed"),
        ("edit", snapshot(), snapshot(verdict="true"), "verdict false → true"),
        (
            "edit",
            snapshot(),
            snapshot(claim="A", note="B", context="C"),
            "claim changed, note changed, context changed",
        ),
        ("edit", snapshot(urls=("u1",)), snapshot(urls=("u1", "u2")), "+1 url"),
        ("edit", snapshot(), snapshot(urls=("u1", "u2")), "+2 urls"),
        ("edit", snapshot(sources=(S1,)), snapshot(), "-1 source"),
        ("edit", snapshot(sources=(S1, S2)), snapshot(sources=(S3,)), "+1 source, -2 sources"),
        ("retire", snapshot(), snapshot(active=False), "retired"),
        ("restore", snapshot(active=False), snapshot(), "restored"),
        ("edit", snapshot(), snapshot(), "no visible change"),
    ],
)
def test_a_history_line_says_who_did_what(
    action: str, before: dict | None, after: dict | None, says: str
) -> None:
    embed = render_history(make_claim("c", "n"), [history_entry(action, before, after)])
    assert (embed.title, embed.colour) == ("History of claim #1", GREY)
    assert embed.description == f"`{DAY2}` discord:7 **{action}**: {says}"
    one_line = history_entry("edit", None, None, actor="import:\nfeed " + "f" * 100)
    shown = render_history(make_claim("c", "n"), [one_line]).description
    assert shown == f"`{DAY2}` import: feed {'f' * 46}… **edit**: no visible change"


def test_a_history_fills_the_description_with_as_many_entries_as_fit() -> None:
    def line_length(actor: str) -> int:
        entry = history_entry("edit", None, None, actor=actor)
        return len(render_history(make_claim("c", "n"), [entry]).description or "")

    room = DESCRIPTION_LIMIT - 60  # the rest is for the "earlier entries" line
    base = line_length("a" * 10)
    count = room // (base + 1)
    actors = ["a" * 10] * count
    spare = room - count * (base + 1)
    actors[0] += "b" * (spare // 2)
    actors[1] += "b" * (spare - spare // 2)
    assert sum(line_length(a) + 1 for a in actors) == room
    full = render_history(
        make_claim("c", "n"), [history_entry("edit", None, None, a) for a in actors]
    )
    assert (full.description or "").split("\n")[0].startswith(f"`{DAY2}` aaaaaaaaaab")
    assert (full.description or "").count("\n") == count - 1
    actors[0] += "b"  # one character too many: the oldest entry gives way
    over = render_history(
        make_claim("c", "n"), [history_entry("edit", None, None, a) for a in actors]
    )
    lines = (over.description or "").split("\n")
    assert lines[0] == "… 1 earlier entries not shown" and len(lines) == count


def test_a_long_history_keeps_the_newest_entries_and_says_how_many_are_left_out() -> None:
    entries = [
        history_entry("edit", {"note": "a"}, {"note": "b"}, actor=f"discord:{n:03}")
        for n in range(80)
    ]
    description = render_history(make_claim("c", "n"), entries).description or ""
    lines = description.split("\n")
    assert len(description) <= DESCRIPTION_LIMIT
    shown = len(lines) - 1
    assert lines[0] == f"… {80 - shown} earlier entries not shown"
    assert lines[-1].startswith(f"`{DAY2}` discord:079 ")
    assert [line.split()[1] for line in lines[1:]] == [
        f"discord:{n:03}" for n in range(80 - shown, 80)
    ]
    # As many as fit: one more would pass the limit.
    assert len(description) + len(lines[1]) + 1 > DESCRIPTION_LIMIT - 60
    assert render_history(make_claim("c", "n"), []).description == "No recorded changes."


def test_a_moderator_sees_the_whole_claim() -> None:
    claim = dataclasses.replace(
        make_claim("The moon is cheese", "It is rock.", sources=[FACT_CHECK]),
        id=5,
        guild_id=42,
        urls=("https://news.example.com/a", "https://news.example.com/b"),
        sources=(
            dataclasses.replace(FACT_CHECK, title="Moon\ncheck"),
            Source("https://other.example.net/r", None, "alternative"),
        ),
        created_by="discord:1",
        updated_by="import:feed",
        updated_at=DAY2,
        active=False,
    )
    embed = render_claim(claim)
    assert embed.title == "Claim #5: ❌ False (retired)"
    assert embed.description == "The moon is cheese\n\nIt is rock."
    assert embed.colour == discord.Colour(COLOURS["false"])
    assert [(f.name, f.value) for f in embed.fields] == [
        (
            "Appears at (2)",
            "• [news.example.com/a](https://news.example.com/a)\n"
            "• [news.example.com/b](https://news.example.com/b)",
        ),
        (
            "Sources (2)",
            "• [fc.example.org/moon](https://fc.example.org/moon) (fact-check): Moon check\n"
            "• [other.example.net/r](https://other.example.net/r) (alternative)",
        ),
    ]
    assert embed.footer.text == (
        "this server · added by discord:1 2026-01-01T00:00:00+00:00 · "
        f"updated by import:feed {DAY2}"
    )
    assert [f.inline for f in embed.fields] == [False, False]  # one under the other
    long = dataclasses.replace(
        make_claim("c" * 1200, "n" * 2000),
        urls=tuple(f"https://news.example.com/{n:02}/{'a' * 40}" for n in range(30)),
    )
    full = render_claim(long)
    claim_part, note_part = (full.description or "").split("\n\n")
    assert (claim_part, note_part) == ("c" * 999 + "…", "n" * 1499 + "…")
    urls = full.fields[0].value or ""
    assert len(urls) <= 1000 < len(urls) + len(urls.split("\n")[0]) + 1
    plain = render_claim(make_claim("Just a claim", "", "true"))
    assert plain.title == "Claim #1: ✅ True"
    assert plain.description == "Just a claim" and plain.fields == []
    assert (plain.footer.text or "").startswith("global · added by t ")


def test_a_claim_list_shows_each_claim_with_its_score() -> None:
    empty = render_claim_list("Search: moon", [])
    assert (empty.title, empty.description) == ("Search: moon", "No claim matches.")
    matches = [scored(n, f"claim {n}", 1 - n / 100, "mixed") for n in range(1, 13)]
    listed = render_claim_list("Search: moon", matches)
    assert (listed.title, listed.colour) == ("Search: moon", GREY)
    lines = (listed.description or "").split("\n")
    assert lines[0] == "• #1 ⚖️ Mixed: claim 1 (0.99)"
    assert len(lines) == 10 and lines[-1].startswith("• #10 ")


def test_the_compact_reply_is_one_line_with_the_count_of_other_links() -> None:
    first = report(
        "https://a.example.com/1", [make_claim("Moon is **cheese**", "n", "mostly-false")]
    )
    other = report("https://b.example.com/2", [make_claim("Other", "n")])
    unknown = LinkReport("https://c.example.com/3", "k")
    assert render_compact(CheckResult((first,))) == "❌ Mostly false: Moon is \\*\\*cheese\\*\\*"
    assert render_compact(CheckResult((unknown, first, other))).endswith("cheese\\*\\* (+1 more)")
    note = SourceNote("tabloid.example.net", None, "Unreliable", "Often wrong.", "t", "now")
    outlet = LinkReport("https://tabloid.example.net/x", "k", source=note)
    assert render_compact(CheckResult((outlet,))) == "ℹ️ Outlet: Unreliable"
    assert reaction_for(CheckResult((first,))) == "❌"
    assert reaction_for(CheckResult((outlet, first))) == "ℹ️"
    odd = report("https://a.example.com/1", [make_claim("c", "n", "no-such-verdict")])
    assert reaction_for(CheckResult((odd,))) == "❔"
    assert render_compact(CheckResult((odd,))) == "❔ no-such-verdict: c"


def test_the_compact_reply_as_it_reads_after_a_correction_or_withdrawal() -> None:
    claim = dataclasses.replace(make_claim("Moon cheese", "n"), updated_at=DAY2)
    reports = [report("https://a.example.com/1", [claim])]
    # Edited in the reply's own second: known as corrected by its id only.
    assert render_compact_current(reports, posted_at=DAY2_TS) == "❌ False: Moon cheese"
    corrected = f"❌ False: Moon cheese · ✏️ corrected <t:{DAY2_TS}:f>"
    assert render_compact_current(reports, posted_at=DAY2_TS, corrected={1}) == corrected
    assert render_compact_current(reports, posted_at=DAY2_TS - 1) == corrected
    assert render_compact_current(reports, posted_at=DAY2_TS - 0.5) == "❌ False: Moon cheese"
    retired = [report("https://a.example.com/1", [dataclasses.replace(claim, active=False)])]
    assert render_compact_current(retired, posted_at=0) == (
        f"🚫 ~~Moon cheese~~ (note withdrawn <t:{DAY2_TS}:f>)"
    )
    assert render_compact_current([LinkReport("https://x.example/", "k")], posted_at=0) is None


def test_a_reply_as_it_reads_after_a_correction_or_withdrawal() -> None:
    claim = dataclasses.replace(
        make_claim("Moon cheese", "Rock.\nSee the samples."), updated_at=DAY2
    )
    reports = [report("https://a.example.com/1", [claim])]
    (same,) = render_current(reports, posted_at=DAY2_TS, max_sources=3)
    assert same.description == "**Claim:** Moon cheese\nRock.\nSee the samples."
    # Shown with the verdict it still has, not edited since: nothing to say.
    (kept,) = render_current(reports, posted_at=DAY2_TS, max_sources=3, shown_verdicts={1: "false"})
    assert kept.description == same.description
    (changed,) = render_current(
        reports, posted_at=DAY2_TS, max_sources=3, shown_verdicts={1: "true"}
    )
    assert changed.description == (
        "**Claim:** Moon cheese\nRock.\nSee the samples.\n"
        f"✏️ Corrected <t:{DAY2_TS}:f> (was ✅ True)"
    )
    (by_id,) = render_current(
        reports, posted_at=DAY2_TS, max_sources=3, shown_verdicts={1: "false"}, corrected={1}
    )
    assert (by_id.description or "").endswith(f"\n✏️ Corrected <t:{DAY2_TS}:f>")
    retired = [report("https://a.example.com/1", [dataclasses.replace(claim, active=False)])]
    (withdrawn,) = render_current(retired, posted_at=0, max_sources=3)
    assert withdrawn.title == "🚫 Note withdrawn"
    assert withdrawn.description == (
        "~~Claim: Moon cheese~~\n~~Rock.~~\n~~See the samples.~~\n"
        f"The moderators withdrew this note <t:{DAY2_TS}:f>."
    )
    assert render_current([LinkReport("https://x.example/", "k")], posted_at=0, max_sources=3) == []


def test_a_search_answer_gives_the_best_claim_then_the_related_ones() -> None:
    matches = [scored(1, "best", 0.9), scored(2, "close", 0.5), scored(3, "noise", 0.005)]
    best, related = render_search_answer(matches, threshold=0.8, max_sources=3)
    assert best.title == "❌ False" and best.footer.text == SEARCH_FOOTER
    assert related.title == "Also possibly related"
    assert related.description == f"{RELATED_NOTE}\n• #2 ❌ False: close (0.50)"
    (below,) = render_search_answer(matches[1:], threshold=0.8, max_sources=3)
    assert below.title == "Nothing close enough"
    assert below.description == f"{RELATED_NOTE}\n• #2 ❌ False: close (0.50)"
    (nothing,) = render_search_answer(matches[2:], threshold=0.8, max_sources=3)
    assert (nothing.title, nothing.description) == ("Nothing known", NOTHING_KNOWN)
    many = [scored(n, f"claim {n}", 0.5) for n in range(1, 13)]
    (listed,) = render_search_answer(many, threshold=0.8, max_sources=3)
    assert (listed.description or "").count("\n• #") == 10


def test_a_private_answer_names_the_unknown_links_and_what_came_close() -> None:
    known = report("https://a.example.com/1", [make_claim("Moon cheese", "n")])
    near = LinkReport(
        "https://b.example.com/2",
        "k",
        candidates=(
            scored(7, "Moon rock", 0.42),
            scored(9, "Moon dust", 0.01),
            scored(8, "x", 0.009),
        ),
    )
    alone = render_answer(CheckResult((near,)), max_sources=3)
    assert [e.title for e in alone] == ["Nothing known"]
    assert alone[0].description == (
        "[b.example.com/2](https://b.example.com/2)\n"
        f"{RELATED_NOTE}\n• #7 ❌ False: Moon rock (0.42)\n• #9 ❌ False: Moon dust (0.01)\n\n"
        f"{NOTHING_KNOWN}"
    )
    assert alone[0].colour == GREY
    both = render_answer(CheckResult((known, near)), max_sources=3)
    assert [e.title for e in both] == ["❌ False", "Nothing known about the other links"]
    assert NOTHING_KNOWN not in (both[1].description or "")
    (empty,) = render_answer(CheckResult(()), max_sources=3)
    assert empty.description == f"No link in it could be read.\n\n{NOTHING_KNOWN}"
    eleven = tuple(report(f"https://a.example.com/{n}", [make_claim("c", "n")]) for n in range(11))
    answer = render_answer(CheckResult((*eleven, near)), max_sources=3)
    assert len(answer) == MAX_EMBEDS and answer[-1].title == "Nothing known about the other links"
    assert len(render_answer(CheckResult(eleven), max_sources=3)) == MAX_EMBEDS


WIKI = Source("https://wiki.example.org/moon", "Moon", "alternative")


def embed_of(*reports: LinkReport, max_sources: int = 3) -> discord.Embed:
    (embed,) = render_embeds(CheckResult(reports), max_sources=max_sources)
    return embed


def test_a_reply_shows_up_to_two_more_claims_the_outlets_note_and_the_sources() -> None:
    claims = [
        make_claim(
            "Moon cheese",
            "Rock.",
            "false",
            [FACT_CHECK, Source("https://wiki.example.org/moon", "Moon", "alternative")],
        ),
        make_claim("Moon hollow", "n", "misleading"),
        make_claim("Moon **far**", "n", "mostly-true"),
        make_claim("Moon flat", "n", "satire"),
    ]
    note = SourceNote("news.example.com", None, "Satire site", "Writes jokes.", "t", "now")
    (embed,) = render_embeds(CheckResult((report("https://news.example.com/a", claims, note),)))
    assert embed.colour == discord.Colour(COLOURS["false"])
    assert [(f.name, f.value) for f in embed.fields] == [
        ("Also: ⚠️ Misleading", "Moon hollow"),
        ("Also: ✅ Mostly true", "Moon \\*\\*far\\*\\*"),
        ("Outlet: Satire site", "Writes jokes."),
        (
            "Read more",
            "• [Moon check](https://fc.example.org/moon) (fact-check)\n"
            "• [Moon](https://wiki.example.org/moon) (read)",
        ),
    ]
    (one_source,) = render_embeds(
        CheckResult((report("https://news.example.com/a", claims),)), max_sources=1
    )
    assert one_source.fields[-1].value == "• [Moon check](https://fc.example.org/moon) (fact-check)"
    quiet = SourceNote("news.example.com", None, "Unreliable", "", "t", "now")
    (outlet,) = render_embeds(
        CheckResult((LinkReport("https://news.example.com/a", "k", source=quiet),))
    )
    assert (outlet.title, outlet.description) == ("ℹ️ Outlet: Unreliable", "A note on this outlet.")
    assert outlet.colour == discord.Colour(0x5865F2) and outlet.fields == []
    (odd,) = render_embeds(
        CheckResult((report("https://x.example/", [make_claim("c", "", "odd")], quiet),))
    )
    assert odd.title == "❔ odd" and odd.description == "**Claim:** c"
    assert odd.colour == discord.Colour(0x80868B)
    assert [(f.name, f.value) for f in odd.fields] == [("Outlet: Unreliable", "-")]
    two_lines = SourceNote("news.example.com", None, "Unreliable\nsee below", "", "t", "now")
    (outlet,) = render_embeds(
        CheckResult((LinkReport("https://news.example.com/a", "k", source=two_lines),))
    )
    assert outlet.title == "ℹ️ Outlet: Unreliable see below"  # a title is one line
    (odd,) = render_embeds(
        CheckResult((report("https://x.example/", [make_claim("c", "", "odd")], two_lines),))
    )
    assert [f.name for f in odd.fields] == ["Outlet: Unreliable see below"]
    # Side by side, a note's field would squeeze into a third of the embed's width.
    assert [f.inline for f in odd.fields + one_source.fields] == [False] * 4


def test_a_long_note_is_cut_at_a_word_never_mid_escape() -> None:
    note = "word " * 200
    description = rendered_note(note)
    assert description.endswith("word…") and len(description) <= 600
    escaped = rendered_note("a" * 598 + "*b")  # the cut falls inside "\\*"
    assert escaped == "a" * 598 + "…"
    assert trim("abcdef", 1) == "a" and trim("abcdef", 0) == ""
    assert trim("abcdef", 6) == "abcdef" and trim("abcdef", 5) == "abcd…"
    # A cut at a word only when it keeps most of the text.
    assert trim("ab cdefghij", 8) == "ab cdef…"
    assert trim("abcdefg hij", 10) == "abcdefg…"
    assert trim("abcdef ghij", 9) == "abcdef g…"


def test_long_source_lists_keep_whole_lines() -> None:
    assert trim_lines("aa\nbb\ncc", 4) == "aa"
    assert trim_lines("aa\nbb\ncc", 5) == "aa\nbb"
    assert trim_lines("aa\nbb\ncc", 7) == "aa\nbb"
    assert trim_lines("aa\nbb\ncc", 8) == "aa\nbb\ncc"
    assert trim_lines("a long first line", 8) == "a long…"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://fc.example.org/a_(b)", "https://fc.example.org/a_%28b%29"),
        ("https://fc.example.org/a b<c>", "https://fc.example.org/a%20b%3Cc%3E"),
        ("https://fc.example.org/q?a=1&b=%7E#x", "https://fc.example.org/q?a=1&b=%7E#x"),
        ("HTTPS://FC.example.org:8443/x", "https://fc.example.org:8443/x"),
        ("javascript:alert(1)", None),
        ("https://fc.example.org/" + "a" * 977, "https://fc.example.org/" + "a" * 977),
        ("https://fc.example.org/" + "a" * 978, None),
    ],
)
def test_a_source_link_cannot_break_out_of_its_markdown(url: str, shown: str | None) -> None:
    assert safe_url(url) == shown


def test_the_unknown_links_embed_keeps_to_its_share_of_a_full_answer() -> None:
    known = tuple(full_length_report(f"https://news{n}.example.com/a") for n in range(9))
    near = LinkReport(
        "https://b.example.com/2",
        "k",
        candidates=tuple(scored(n, "D " * 80, 0.5) for n in range(10)),
    )
    embeds = render_answer(CheckResult((*known, near)), max_sources=3)
    assert len(embeds) == MAX_EMBEDS and embeds[-1].title == "Nothing known about the other links"
    assert len(embeds[-1]) <= TOTAL_LIMIT // MAX_EMBEDS
    assert_within_limits(embeds)


def test_claim_text_in_lists_and_one_line_replies_stays_on_one_line() -> None:
    two_lines = make_claim("Moon\ncheese " + "x" * 300, "Rock.", "false")
    listed = render_claim_list("Search", [Match(two_lines, "content", 0.5)])
    assert listed.description == "• #1 ❌ False: Moon cheese " + "x" * 137 + "… (0.50)"
    reports = [report("https://a.example.com/1", [two_lines])]
    line = render_compact_current(reports, posted_at=0, corrected=())
    assert line is not None and "\n" not in line
    retired = dataclasses.replace(two_lines, active=False, updated_at=DAY2)
    struck = render_compact_current([report("https://a.example.com/1", [retired])], posted_at=0)
    assert struck == f"🚫 ~~Moon cheese {'x' * 187}…~~ (note withdrawn <t:{DAY2_TS}:f>)"
    (withdrawn,) = render_current(
        [report("https://a.example.com/1", [retired])], posted_at=0, max_sources=3
    )
    assert (withdrawn.description or "").startswith("~~Claim: Moon cheese xxx")
    note = SourceNote("tabloid.example.net", None, "Unreliable", "Often wrong.", "t", "now")
    outlet = [LinkReport("https://tabloid.example.net/x", "k", source=note)]
    assert render_compact_current(outlet, posted_at=0) == "ℹ️ Outlet: Unreliable"


def full_report(url: str) -> LinkReport:
    """A known link whose reply fills more than half of Discord's total."""
    sources = [
        Source(f"https://fc{i}.example.org/{'r' * 200}", "T" * 80, "fact-check") for i in range(5)
    ]
    claims = [make_claim("C " * 150, "Note. " * 100, sources=sources) for _ in range(3)]
    note = SourceNote("example.com", None, "R " * 100, "N " * 150, "t", "now")
    return report(url, claims, note, quote="Q " * 150)


def test_a_private_answer_reads_like_the_public_reply() -> None:
    known = full_report("https://news.example.com/a")
    alone = render_answer(CheckResult((known,)), max_sources=3)
    assert [e.to_dict() for e in alone] == [
        e.to_dict() for e in render_embeds(CheckResult((known,)))
    ]
    assert len(alone[0]) > TOTAL_LIMIT // 2
    # Beside an unknown link it has the share of one of two links.
    unknown = LinkReport("https://other.example.org/b", "k2")
    both = render_answer(CheckResult((known, unknown)), max_sources=3)
    public = render_embeds(CheckResult((known, full_report("https://news.example.com/b"))))
    assert both[0].to_dict() == public[0].to_dict()
    fewer = render_answer(CheckResult((known,)), max_sources=1)
    assert (fewer[0].fields[-1].value or "").count("\n") == 0


def test_a_search_answer_at_the_threshold_with_its_full_share() -> None:
    top = full_report("https://x.example/").matches[0]
    at_threshold = Match(top.claim, "content", 0.8, top.quote)
    edge = scored(2, "edge", 0.01)
    best, related = render_search_answer([at_threshold, edge], threshold=0.8, max_sources=3)
    assert TOTAL_LIMIT // 3 < len(best) <= TOTAL_LIMIT // 2
    # The largest a search answer can be: a full claim, ten long sources, ten related lines.
    sources = tuple(
        Source(f"https://fc{i}.example.org/{'r' * 900}", "T " * 99, "fact-check") for i in range(10)
    )
    widest = Match(
        dataclasses.replace(top.claim, sources=sources, verdict="missing-context"),
        "content",
        1.0,
        "Q " * 500,
    )
    related_lines = [scored(10**9 + n, "W " * 200, 0.5, "missing-context") for n in range(10)]
    largest = render_search_answer([widest, *related_lines], threshold=0.8, max_sources=10)
    assert len(largest) == 2
    assert_within_limits(largest)
    assert (best.fields[-1].name, best.fields[-1].value.count("\n")) == ("Read more", 2)
    assert related.description == f"{RELATED_NOTE}\n• #2 ❌ False: edge (0.01)"
    assert related.colour == GREY
    (one,) = render_search_answer([at_threshold], threshold=0.8, max_sources=1)
    assert (one.fields[-1].value or "").count("\n") == 0
    (below,) = render_search_answer([edge], threshold=0.8, max_sources=3)
    assert below.colour == GREY
    (nothing,) = render_search_answer([], threshold=0.8, max_sources=3)
    assert nothing.colour == GREY


def test_withdrawn_notes_keep_to_their_share_of_a_full_reply() -> None:
    retired = dataclasses.replace(
        make_claim("C " * 150, "\n".join(["A line of the withdrawn note."] * 20)), active=False
    )
    reports = [report(f"https://a.example.com/{n}", [retired]) for n in range(MAX_EMBEDS)]
    embeds = render_current(reports, posted_at=0, max_sources=3)
    assert len(embeds) == MAX_EMBEDS
    for embed in embeds:
        assert embed.title == "🚫 Note withdrawn" and embed.colour == GREY
        assert TOTAL_LIMIT // MAX_EMBEDS - 80 < len(embed) <= TOTAL_LIMIT // MAX_EMBEDS
        assert (embed.description or "").endswith(
            "The moderators withdrew this note <t:1767225600:f>."
        )


def test_a_corrected_full_reply_keeps_every_link_within_its_share() -> None:
    claim = dataclasses.replace(full_report("x").matches[0].claim, updated_at=DAY2)
    known = [report(f"https://news.example.com/{n}", [claim], quote="Q " * 150) for n in range(9)]
    retired = report("https://a.example.com/r", [dataclasses.replace(claim, active=False)])
    note = SourceNote("tabloid.example.net", None, "Unreliable", "Often wrong.", "t", "now")
    outlet = LinkReport("https://tabloid.example.net/x", "k", source=note)
    embeds = render_current([retired, outlet, *known], posted_at=0, max_sources=1)
    assert len(embeds) == MAX_EMBEDS
    assert [e.title for e in embeds[:3]] == [
        "🚫 Note withdrawn",
        "ℹ️ Outlet: Unreliable",
        "❌ False",
    ]
    assert_within_limits(embeds)
    for embed in embeds[2:]:
        assert len(embed) <= TOTAL_LIMIT // MAX_EMBEDS
        assert (embed.description or "").endswith(f"✏️ Corrected <t:{DAY2_TS}:f>")
    (one,) = render_current([known[0]], posted_at=0, max_sources=1)
    assert (one.fields[-1].name, (one.fields[-1].value or "").count("\n")) == ("Read more", 0)


def test_the_compact_reply_cuts_the_claim_and_the_rating_to_one_short_line() -> None:
    long_claim = make_claim("Moon\ncheese " + "x" * 300, "n")
    line = render_compact(CheckResult((report("https://a.example.com/1", [long_claim]),)))
    assert line == "❌ False: Moon cheese " + "x" * 187 + "…"
    note = SourceNote("t.example.net", None, "Very\nunreliable " + "y" * 100, "", "t", "now")
    outlet = render_compact(CheckResult((LinkReport("https://t.example.net/x", "k", source=note),)))
    assert outlet == "ℹ️ Outlet: Very unreliable " + "y" * 43 + "…"


def test_a_claims_addresses_are_labelled_links_or_plain_text_when_not_clickable() -> None:
    claim = dataclasses.replace(
        make_claim("c", "n"),
        urls=("https://news.example.com/" + "a" * 200, "https://user@evil.example/x"),
    )
    (appears,) = render_claim(claim).fields
    first, second = (appears.value or "").split("\n")
    assert first.startswith("• [news.example.com/" + "a" * 82 + "…](https://news.example.com/aaa")
    assert len(first.split("](")[0]) == len("• [") + 100
    assert second == "• user@evil.example/x"


@pytest.mark.parametrize(
    ("line", "escaped"),
    [("1. first", "1\\. first"), ("12. twelfth", "12\\. twelfth"), ("- item", "\\- item")],
)
def test_a_list_mark_is_escaped_and_still_reads_the_same(line: str, escaped: str) -> None:
    assert rendered_note(f"first line\n{line}") == f"first line\n{escaped}"


def test_a_title_with_a_number_is_not_taken_for_another_site() -> None:
    value = sources_field(Source("https://fc.example.org/pi", "Pi is 3.14, not 3.2", "fact-check"))
    assert value.startswith("• [Pi is 3.14, not 3.2](https://fc.example.org/pi)")


def test_a_withdrawal_with_an_unreadable_time_says_the_epoch() -> None:
    odd = dataclasses.replace(make_claim("c", "n"), active=False, updated_at="not a time")
    line = render_compact_current([report("https://a.example.com/1", [odd])], posted_at=0)
    assert line == "🚫 ~~c~~ (note withdrawn <t:0:f>)"


def test_a_quote_and_a_source_title_with_line_breaks_stay_on_one_line() -> None:
    # A line break inside [label](url) breaks the masked link; a quote is one line of the reply.
    claim = make_claim(
        "c", "n", sources=[Source("https://fc.example.org/a", "Moon\ncheck", "fact-check")]
    )
    result = CheckResult(
        (report("https://news.example.com/a", [claim], quote="It is\nmade of cheese"),)
    )
    embed = embed_of(*result.links)
    assert (embed.description or "").split("\n")[1] == "The article says: “It is made of cheese”"
    assert embed.fields[-1].value == "• [Moon check](https://fc.example.org/a) (fact-check)"


def test_each_part_of_a_reply_is_clipped_at_its_own_length() -> None:
    # Long parts are cut at their own limit (with an ellipsis), so one cannot crowd out the rest:
    # an outlet's rating at 200 characters, its note beside a claim at 300, another claim at 200
    # and the sentence that repeats it at 240.
    rating, note, claim = "r" * 250, "n" * 400, "c" * 250
    outlet = SourceNote("news.example.com", None, rating, note, "t", "now")
    (alone,) = render_embeds(
        CheckResult((LinkReport("https://news.example.com/a", "k", source=outlet),))
    )
    assert alone.title == "ℹ️ Outlet: " + "r" * 199 + "…"
    assert alone.description == "n" * 400
    also = [make_claim("Top claim", "x"), make_claim(claim, "y"), make_claim("3rd", "z", "odd")]
    (embed,) = render_embeds(CheckResult((report("https://news.example.com/a", also, outlet),)))
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Also: ❌ False"] == "c" * 199 + "…"
    assert fields["Outlet: " + "r" * 199 + "…"] == "n" * 299 + "…"
    quoted = report("https://news.example.com/a", also, quote="q" * 300)
    (embed,) = render_embeds(CheckResult((quoted,)))
    assert embed.fields[0].value == "c" * 199 + "…\nThe article says: “" + "q" * 239 + "…”"


def test_an_embed_as_text_has_no_empty_title_or_description_line() -> None:
    assert embed_text(discord.Embed(description="only a description")) == "only a description"
    assert embed_text(discord.Embed(title="only a title")) == "only a title"


def test_a_dated_claim_shows_when_it_was_claimed() -> None:
    dated = dataclasses.replace(make_claim("Moon is cheese", "", claimant="Jane Doe"),
                                claim_date="2016-06-20")  # fmt: skip
    assert [(f.name, f.value) for f in render_claim(dated).fields] == [
        ("Claimant", "Jane Doe"),
        ("Claimed on", "2016-06-20"),
    ]
