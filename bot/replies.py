"""What the bot posts: one compact embed per known link, and the same reply as plain text.

All text from the store or a fetched page is untrusted: it is stripped of bidi and zero-width
characters, markdown-escaped, and trimmed so that every Discord limit holds by construction.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime
from urllib.parse import quote

import discord

from bot import links
from bot.checking import CheckResult, LinkReport, Match
from bot.store import MAX_CLAIMANT_CHARS, AuditEntry, Claim
from bot.verdicts import COLOURS, LABELS

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
MAX_EMBEDS = 10

# Ours: a reply stays a few lines long.
NOTE_CHARS = 600
CLAIM_CHARS = 300
QUOTE_CHARS = 240
CLAIMANT_CHARS = 100
SOURCE_TITLE_CHARS = 80
EXTRA_CLAIMS = 2
DESCRIPTION_RESERVE = 120

VERDICT_MARKS = {
    "false": "❌",
    "mostly-false": "❌",
    "mixed": "⚖️",
    "misleading": "⚠️",
    "missing-context": "⚠️",
    "unproven": "❔",
    "mostly-true": "✅",
    "true": "✅",
    "satire": "🎭",
    "outdated": "🕰️",
}

WHY = {
    "url": "Matched: this article",
    "copy": "Matched: a copy of a checked article",
    "content": "Matched: this article repeats a checked claim",
    "source": "Matched: this outlet",
}

# Bidi controls, zero-width characters and other invisible format characters (Unicode Cf
# that change how text reads or hides it), plus C0/C1 controls other than newline and tab.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U000e0000-\U000e007f]"
)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str | None) -> str:
    """Untrusted text without invisible characters, with tidy whitespace (not yet escaped)."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def trim(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word where possible, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    # Never leave half an escape sequence at the end.
    cut = cut.rstrip("\\").rstrip()
    return cut + "…"


# Every character Discord's markdown acts on, escaped in one pass (Discord shows ``\x`` as ``x``
# for any punctuation, so the text reads the same): nothing in untrusted text can open a masked
# link, a code span, a spoiler, a heading, a quote or a list. discord.utils.escape_markdown
# escapes only the first ``[`` of ``[[a](b)``, and escaping brackets after it doubled its own
# backslashes. Mentions need no escape: no reply can ping (AllowedMentions.none()).
_MARKUP = re.compile(r"([\\*_~`|\[\]()<>])")
# Headings, lists and numbered lists only start a line.
_LINE_MARKUP = re.compile(r"^(\s*)([#+\-]|\d+\.)", re.MULTILINE)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark = match.groups()
    return f"{indent}{mark[:-1]}\\." if mark.endswith(".") else f"{indent}\\{mark}"


def escape(text: str) -> str:
    return _LINE_MARKUP.sub(_escape_line_start, _MARKUP.sub(r"\\\1", text))


def safe(text: str | None, limit: int, *, one_line: bool = False) -> str:
    """Cleaned, markdown-escaped, trimmed: fit for any embed text."""
    cleaned = clean(text)
    if one_line:
        cleaned = " ".join(cleaned.split())
    return trim(escape(cleaned), limit)


def link_label(text: str | None, limit: int) -> str:
    """Text for the label of a masked link ``[label](url)``."""
    return safe(text, limit, one_line=True)


def safe_url(url: str) -> str | None:
    """A URL safe inside a masked link ``[text](url)``, or None if it is not http(s) or carries
    credentials (``https://trusted.example@evil.example/`` leads to evil.example)."""
    target = links.link_target(clean(url))
    if target is None or len(target) > 1000:
        return None
    cleaned = target
    # Characters that would end the link or the markdown early are percent-encoded.
    return quote(cleaned, safe=":/?#[]@!$&'*+,;=%~-._")


def verdict_label(verdict: str) -> str:
    return f"{VERDICT_MARKS.get(verdict, '❔')} {LABELS.get(verdict, verdict)}"


def _why(report: LinkReport) -> str:
    if report.matches:
        return WHY[report.matches[0].match]
    return WHY["source"]


def _sources_lines(match: Match, limit: int) -> str:
    lines: list[str] = []
    for source in match.claim.sources[:limit]:
        url = safe_url(source.url)
        if url is None:
            continue
        title = link_label(source_label(source.title, source.url), SOURCE_TITLE_CHARS)
        kind = "fact-check" if source.kind == "fact-check" else "read"
        lines.append(f"• [{title}]({url}) ({kind})")
    return "\n".join(lines)


_ADDRESS_EDGES = "()[]{}<>\"'.,;:!?"


def _names_another_site(text: str, url: str) -> bool:
    """Whether ``text`` holds something that reads as an address of another site than ``url``.

    A label is what a reader trusts about where a link goes: "reuters.com" over a link to
    evil.example is a lie, whoever typed it.
    """
    site = links.site_label(url)
    for token in text.split():
        token = token.strip(_ADDRESS_EDGES)
        if "." not in token:
            continue
        named = links.site_label(token) if links.canonical_url_or_none(token) else None
        if named is not None and named != site:
            return True
    return False


def source_label(title: str | None, url: str) -> str:
    """How a source's link is labelled: its title, unless the title names another site; else
    the site it leads to (registrable domain, punycode where scripts are mixed)."""
    cleaned = clean(title)
    if cleaned and not _names_another_site(cleaned, url):
        return cleaned
    return links.site_label(url) or "source"


def render_embed(
    report: LinkReport, *, max_sources: int, budget: int = TOTAL_LIMIT
) -> discord.Embed:
    """One embed for a known link, at most ``budget`` characters in all."""
    budget = min(budget, TOTAL_LIMIT)
    if report.matches:
        top = report.matches[0]
        title = trim(verdict_label(top.claim.verdict), TITLE_LIMIT)
        colour = COLOURS.get(top.claim.verdict, 0x80868B)
        claim = safe(top.claim.claim, CLAIM_CHARS)
        note = safe(top.claim.note, NOTE_CHARS)
        said = f" ({by})" if (by := _claimant(top)) else ""
        description = f"**Claim{said}:** {claim}" + _quote_line(top) + (f"\n{note}" if note else "")
    else:
        assert report.source is not None
        title = trim(f"ℹ️ Outlet: {safe(report.source.rating, 200, one_line=True)}", TITLE_LIMIT)
        colour = 0x5865F2
        description = safe(report.source.note, NOTE_CHARS) or "A note on this outlet."
    footer = trim(_why(report), FOOTER_LIMIT)

    fields: list[tuple[str, str]] = []
    if report.matches:
        for extra in report.matches[1 : 1 + EXTRA_CLAIMS]:
            fields.append(
                (
                    trim(f"Also: {verdict_label(extra.claim.verdict)}", FIELD_NAME_LIMIT),
                    # At most 103 + 200 + 261 characters: each part is clipped on its own.
                    (f"({by}) " if (by := _claimant(extra)) else "")
                    + (safe(extra.claim.claim, 200) or "-")
                    + _quote_line(extra),
                )
            )
        if report.source is not None:
            fields.append(
                (
                    trim(
                        f"Outlet: {safe(report.source.rating, 200, one_line=True)}",
                        FIELD_NAME_LIMIT,
                    ),
                    safe(report.source.note, 300) or "-",
                )
            )
        sources = _sources_lines(top, max_sources)
        if sources:
            fields.append(("Read more", trim_lines(sources, FIELD_VALUE_LIMIT)))

    # Fit the whole embed in the budget: fields are kept whole or dropped (keeping room for the
    # start of the description), then the description takes what is left.
    room = budget - len(title) - len(footer)
    kept: list[tuple[str, str]] = []
    for name, value in fields:
        if len(name) + len(value) <= room - DESCRIPTION_RESERVE:
            kept.append((name, value))
            room -= len(name) + len(value)
    description = trim(description, max(0, min(DESCRIPTION_LIMIT, room)))

    embed = discord.Embed(title=title, description=description or None, colour=colour)
    for name, value in kept:
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=footer)
    return embed


def _claimant(match: Match) -> str:
    """Who made the claim (the fact-check's claimant), fit to show, or nothing."""
    return safe(match.claim.claimant, CLAIMANT_CHARS, one_line=True)


def _quote_line(match: Match) -> str:
    """The page's own sentence that repeats the claim, on a line of its own, or nothing."""
    quote = safe(match.quote, QUOTE_CHARS, one_line=True)
    return f"\nThe article says: “{quote}”" if quote else ""


def trim_lines(text: str, limit: int) -> str:
    """Whole lines up to ``limit`` characters (a masked link cut in half is broken markdown)."""
    out: list[str] = []
    used = 0
    for line in text.split("\n"):
        if used + len(line) > limit:  # used counts the newline before this line
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out) or trim(text, limit)


def render_embeds(result: CheckResult, *, max_sources: int = 3) -> list[discord.Embed]:
    """The embeds of a reply: one per known link, at most ten, within the 6000-character total."""
    known = result.known[:MAX_EMBEDS]
    if not known:
        return []
    budget = TOTAL_LIMIT // len(known)
    return [render_embed(r, max_sources=max_sources, budget=budget) for r in known]


def embed_text(embed: discord.Embed) -> str:
    """An embed as plain text: title, description, fields, footer (the same characters)."""
    parts = [embed.title or "", embed.description or ""]
    parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    if embed.footer.text:
        parts.append(f"({embed.footer.text})")
    return "\n".join(part for part in parts if part)


def render_text(result: CheckResult, *, max_sources: int = 3) -> str | None:
    """The reply as plain text (``factbot check``), or None when the bot would stay silent.

    Rendered from the very embeds the bot posts, so it has the same limits and escaping.
    """
    embeds = render_embeds(result, max_sources=max_sources)
    return "\n\n".join(embed_text(e) for e in embeds) if embeds else None


# --- private answers and moderator views (the cogs) -------------------------------------------

NOTHING_KNOWN = (
    "factbot knows nothing about this. That is not a verdict: it only knows the claims its "
    "moderators and imported fact-checks added."
)
RELATED_NOTE = "Possibly related (below the reply threshold; the number is the confidence, 0-1):"
# Candidates this far from the reply threshold are noise, not "possibly related".
MIN_LISTED_CONFIDENCE = 0.01
SEARCH_FOOTER = "Matched: your text repeats a checked claim"
HISTORY_LINE_CHARS = 300
LINK_LABEL_CHARS = 100
LISTED_CLAIMS = 10


def _link_text(url: str) -> str:
    """A URL shown as a masked link (its own text escaped), or as plain text if not http(s)."""
    label = link_label(links.display_url(url), LINK_LABEL_CHARS)
    target = safe_url(url)
    return f"[{label}]({target})" if target else label


def _scored_line(match: Match) -> str:
    claim = safe(match.claim.claim, 150, one_line=True)
    return f"• #{match.claim.id} {verdict_label(match.claim.verdict)}: {claim} ({match.score:.2f})"


def _nothing_known_embed(
    reports: tuple[LinkReport, ...], budget: int, *, others: bool
) -> discord.Embed:
    title = "Nothing known about the other links" if others else "Nothing known"
    blocks: list[str] = []
    for report in reports:
        lines = [_link_text(report.url)]
        related = [m for m in report.candidates if m.score >= MIN_LISTED_CONFIDENCE]
        if related:
            lines.append(RELATED_NOTE)
            lines.extend(_scored_line(m) for m in related)
        blocks.append("\n".join(lines))
    if not reports:
        blocks.append("No link in it could be read.")
    if not others:
        blocks.append(NOTHING_KNOWN)
    # budget is at least a tenth of the total: far more than the title.
    description = trim_lines("\n\n".join(blocks), min(DESCRIPTION_LIMIT, budget - len(title)))
    return discord.Embed(title=title, description=description, colour=0x80868B)


def render_answer(result: CheckResult, *, max_sources: int) -> list[discord.Embed]:
    """A private answer about links (``/factcheck``, "Check links"): never empty.

    Known links as in a public reply, then one embed for the unknown ones, listing claims that
    came close without reaching the reply threshold.
    """
    unknown = tuple(r for r in result.links if not r.known)
    known = result.known[: MAX_EMBEDS - 1 if unknown else MAX_EMBEDS]
    count = len(known) + (1 if unknown or not known else 0)
    budget = TOTAL_LIMIT // count
    embeds = [render_embed(r, max_sources=max_sources, budget=budget) for r in known]
    if unknown or not known:
        embeds.append(_nothing_known_embed(unknown, budget, others=bool(known)))
    return embeds


def render_search_answer(
    matches: list[Match], *, threshold: float, max_sources: int
) -> list[discord.Embed]:
    """A private answer about text without links: the best claim if it is close enough, then
    the rest as possibly related, or "nothing known". Never empty."""
    embeds: list[discord.Embed] = []
    rest = matches
    if matches and matches[0].score >= threshold:
        top = LinkReport(url="", canonical_url="", matches=(matches[0],))
        # One claim, no outlet: at most ~2,300 characters, whatever the budget.
        embed = render_embed(top, max_sources=max_sources)
        embed.set_footer(text=SEARCH_FOOTER)
        embeds.append(embed)
        rest = matches[1:]
    rest = [m for m in rest if m.score >= MIN_LISTED_CONFIDENCE]
    if rest:
        # At most LISTED_CLAIMS lines of under 200 characters: well within the other half.
        lines = [RELATED_NOTE, *(_scored_line(m) for m in rest[:LISTED_CLAIMS])]
        title = "Also possibly related" if embeds else "Nothing close enough"
        description = "\n".join(lines)
        embeds.append(discord.Embed(title=title, description=description, colour=0x80868B))
    if not embeds:
        embeds.append(
            discord.Embed(title="Nothing known", description=NOTHING_KNOWN, colour=0x80868B)
        )
    return embeds


def render_claim(claim: Claim) -> discord.Embed:
    """A moderator's view of one claim: everything stored, within the embed limits."""
    state = "" if claim.active else " (retired)"
    title = trim(f"Claim #{claim.id}: {verdict_label(claim.verdict)}{state}", TITLE_LIMIT)
    description = safe(claim.claim, 1000)
    note = safe(claim.note, 1500)
    if note:
        description += f"\n\n{note}"
    embed = discord.Embed(title=title, description=description, colour=COLOURS.get(claim.verdict))
    if claim.claimant:
        embed.add_field(
            name="Claimant", value=safe(claim.claimant, MAX_CLAIMANT_CHARS, one_line=True)
        )
    if claim.claim_date:
        embed.add_field(name="Claimed on", value=claim.claim_date)
    if claim.urls:
        urls = "\n".join(f"• {_link_text(u)}" for u in claim.urls)
        embed.add_field(
            name=f"Appears at ({len(claim.urls)})", value=trim_lines(urls, 1000), inline=False
        )
    if claim.sources:
        sources = "\n".join(
            f"• {_link_text(s.url)} ({s.kind})"
            + (f": {safe(s.title, SOURCE_TITLE_CHARS, one_line=True)}" if s.title else "")
            for s in claim.sources
        )
        embed.add_field(
            name=f"Sources ({len(claim.sources)})", value=trim_lines(sources, 1000), inline=False
        )
    scope = "global" if claim.guild_id is None else "this server"
    embed.set_footer(
        text=trim(
            f"{scope} · added by {clean(claim.created_by)} {claim.created_at} · "
            f"updated by {clean(claim.updated_by)} {claim.updated_at}",
            FOOTER_LIMIT,
        )
    )
    return embed


def _changes(entry: AuditEntry) -> str:
    before, after = entry.before or {}, entry.after or {}
    if entry.action in ("create", "import") and not before:
        return safe(str(after.get("claim", "")), 120, one_line=True)
    parts: list[str] = []
    if before.get("verdict") != after.get("verdict"):
        parts.append(f"verdict {before.get('verdict')} → {after.get('verdict')}")
    for name in ("claim", "note", "context", "claimant"):
        if before.get(name) != after.get(name):
            parts.append(f"{name} changed")
    for name in ("urls", "sources"):
        old, new = before.get(name) or [], after.get(name) or []
        added = len([x for x in new if x not in old])
        removed = len([x for x in old if x not in new])
        if added:
            parts.append(f"+{added} {name[:-1] if added == 1 else name}")
        if removed:
            parts.append(f"-{removed} {name[:-1] if removed == 1 else name}")
    if before.get("active") != after.get("active"):
        parts.append("retired" if not after.get("active") else "restored")
    return ", ".join(parts) or "no visible change"


def render_history(claim: Claim, entries: list[AuditEntry]) -> discord.Embed:
    """A claim's audit trail, newest last; the oldest entries give way when it is too long."""
    title = trim(f"History of claim #{claim.id}", TITLE_LIMIT)
    lines = [
        trim(
            f"`{e.at}` {safe(e.actor, 60, one_line=True)} **{e.action}**: {_changes(e)}",
            HISTORY_LINE_CHARS,
        )
        for e in entries
    ]
    limit = DESCRIPTION_LIMIT - 60
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    kept.reverse()
    dropped = len(lines) - len(kept)
    if dropped:
        kept.insert(0, f"… {dropped} earlier entries not shown")
    description = "\n".join(kept) or "No recorded changes."
    return discord.Embed(title=title, description=description, colour=0x80868B)


def render_claim_list(title: str, matches: list[Match]) -> discord.Embed:
    """Claims found by a moderator's search, best first, with their scores."""
    if not matches:
        return discord.Embed(title=trim(title, TITLE_LIMIT), description="No claim matches.")
    lines = [_scored_line(m) for m in matches[:LISTED_CLAIMS]]
    return discord.Embed(
        title=trim(title, TITLE_LIMIT),
        description=trim_lines("\n".join(lines), DESCRIPTION_LIMIT),
        colour=0x80868B,
    )


# --- reply styles and corrections (issue 10) ---------------------------------------------------

COMPACT_CHARS = 300
OUTLET_MARK = "ℹ️"
# Room kept in each embed for the line that says it was corrected.
CORRECTION_RESERVE = 120


def render_compact(result: CheckResult) -> str:
    """The one-line reply: the first known link's verdict and claim (and how many more)."""
    known = result.known
    first = known[0]
    if first.matches:
        claim = first.matches[0].claim
        line = f"{verdict_label(claim.verdict)}: {safe(claim.claim, 200, one_line=True)}"
    else:
        assert first.source is not None
        line = f"{OUTLET_MARK} Outlet: {safe(first.source.rating, 60, one_line=True)}"
    if len(known) > 1:
        line += f" (+{len(known) - 1} more)"
    return trim(line, COMPACT_CHARS)


def reaction_for(result: CheckResult) -> str:
    """The one emoji of the ``reaction`` style: the first known link's verdict."""
    first = result.known[0]
    if first.matches:
        return VERDICT_MARKS.get(first.matches[0].claim.verdict, "❔")
    return OUTLET_MARK


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def _changed_since(claim: Claim, posted_at: float, corrected: Collection[int]) -> bool:
    # updated_at has whole seconds: an edit in the reply's own second is known by id only.
    return claim.id in corrected or _timestamp(claim.updated_at) >= posted_at + 1


def _withdrawn_embed(claim: Claim, budget: int) -> discord.Embed:
    lines = [f"Claim: {safe(claim.claim, CLAIM_CHARS, one_line=True)}"]
    lines += safe(claim.note, NOTE_CHARS).splitlines()
    struck = "\n".join(f"~~{line}~~" for line in lines if line.strip())
    when = int(_timestamp(claim.updated_at))
    withdrawn = f"The moderators withdrew this note <t:{when}:f>."
    # budget is at least a tenth of the total: room is never negative.
    room = min(DESCRIPTION_LIMIT, budget) - len(withdrawn) - 50
    return discord.Embed(
        title="🚫 Note withdrawn",
        description=f"{trim_lines(struck, room)}\n{withdrawn}",
        colour=0x80868B,
    )


def render_current(
    reports: Sequence[LinkReport],
    *,
    posted_at: float,
    shown_verdicts: dict[int, str] | None = None,
    corrected: Collection[int] = (),
    max_sources: int,
) -> list[discord.Embed]:
    """A reply as it reads now: claims changed since ``posted_at`` say they were corrected and
    when (and the verdict shown before, if it differed); a retired claim's note is struck."""
    known = [r for r in reports if r.known][:MAX_EMBEDS]
    if not known:
        return []
    budget = TOTAL_LIMIT // len(known)
    embeds = []
    for report in known:
        top = report.matches[0].claim if report.matches else None
        if top is not None and not top.active:
            embeds.append(_withdrawn_embed(top, budget))
            continue
        embed = render_embed(report, max_sources=max_sources, budget=budget - CORRECTION_RESERVE)
        before = (shown_verdicts or {}).get(top.id) if top is not None else None
        changed = corrected if before is None or top is None or before == top.verdict else {top.id}
        if top is not None and _changed_since(top, posted_at, changed):
            line = f"✏️ Corrected <t:{int(_timestamp(top.updated_at))}:f>"
            if before is not None and before != top.verdict:
                line += f" (was {verdict_label(before)})"
            # A claim's embed always has a description (its "Claim:" line).
            embed.description = f"{embed.description}\n{line}"
        embeds.append(embed)
    return embeds


def render_compact_current(
    reports: Sequence[LinkReport], *, posted_at: float, corrected: Collection[int] = ()
) -> str | None:
    """The one-line reply as it reads now (see :func:`render_current`)."""
    result = CheckResult(tuple(reports))
    if not result.known:
        return None
    first = result.known[0]
    top = first.matches[0].claim if first.matches else None
    if top is not None and not top.active:
        when = int(_timestamp(top.updated_at))
        struck = safe(top.claim, 200, one_line=True)
        return trim(f"🚫 ~~{struck}~~ (note withdrawn <t:{when}:f>)", CONTENT_LIMIT)
    line = render_compact(result)
    if top is not None and _changed_since(top, posted_at, corrected):
        line += f" · ✏️ corrected <t:{int(_timestamp(top.updated_at))}:f>"
    return line
