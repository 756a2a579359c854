"""schema.org ClaimReview in and out.

Import reads one ClaimReview object, a list of them, a JSON-LD ``@graph`` or a ``DataFeed``
(``dataFeedElement``, whose elements are ClaimReviews or DataFeedItems with an ``item``).
Mapping: ``claimReviewed`` → claim, ``reviewRating.alternateName`` → verdict (original label kept),
``itemReviewed.appearance[].url`` and ``itemReviewed.firstAppearance.url`` → claim URLs, ``url`` →
a ``fact-check`` source titled with ``author.name``; ``reviewBody`` → note; ``headline``/``name``
and ``description`` → searchable context; ``citation[]`` → ``alternative`` sources; ``@id`` →
the record's identity, so importing the same file twice changes nothing.

Export writes the same shape, so ``import`` reads an export back unchanged.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from bot import jsonstream
from bot.links import MAX_URL_LENGTH
from bot.store import (
    MAX_TITLE_CHARS,
    SOURCE_KINDS,
    Claim,
    InvalidInput,
    NewClaim,
    Source,
    validate_new_claim,
)
from bot.verdicts import VERDICTS, map_rating

#: Longest ``@id`` kept as a record's identity (it is usually the review's URL).
MAX_ID_CHARS = MAX_URL_LENGTH
#: Longest rating label (``alternateName``): a label, not a review.
MAX_LABEL_CHARS = MAX_TITLE_CHARS
#: Largest import file: a feed of a million records is well under it; /dev/zero is not.
MAX_FILE_BYTES = 1 << 30


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class ParsedFile:
    records: list[NewClaim] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "record 3: missing claimReviewed"
    # Parts of imported records that were ignored: "record 3: itemReviewed is not an object"
    warnings: list[str] = field(default_factory=list)
    # Each distinct URL's canonical key, computed once per file and reused by the store.
    url_keys: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value"))
    if isinstance(value, list) and value:
        return _text(value[0])
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        url = value.get("url") or value.get("@id")
        return url.strip() if isinstance(url, str) and url.strip() else None
    return None


def iter_claim_reviews(document: Any) -> Iterator[Any]:
    """Every candidate ClaimReview object in a parsed document, in file order."""
    if isinstance(document, list):
        for item in document:
            yield from iter_claim_reviews(item)
        return
    if not isinstance(document, dict):
        yield document  # reported as a bad record by position
        return
    if "@graph" in document:
        yield from iter_claim_reviews(document["@graph"])
        return
    if "dataFeedElement" in document:
        for element in _as_list(document["dataFeedElement"]):
            if isinstance(element, dict) and "item" in element and "claimReviewed" not in element:
                yield from iter_claim_reviews(element["item"])
            else:
                yield element
        return
    yield document


def _is_claim_review(obj: dict[str, Any]) -> bool:
    types = _as_list(obj.get("@type"))
    return not types or "ClaimReview" in types


def _check_unicode(new: NewClaim) -> None:
    """JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 column can store."""
    texts = [new.claim, new.note, new.context, new.rating_label or "", new.external_id or ""]
    texts += new.urls
    texts += [f"{s.url}{s.title or ''}" for s in new.sources]
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("text with a lone surrogate (not valid Unicode)") from None


def _urls_of(item: dict[str, Any], ignored: list[str]) -> list[str]:
    urls: list[str] = []
    for name in ("appearance", "firstAppearance"):
        for n, appearance in enumerate(_as_list(item.get(name)), start=1):
            url = _url_of(appearance)
            if url:
                urls.append(url)
            elif appearance is not None:
                where = f"{name} {n}" if isinstance(item.get(name), list) else name
                ignored.append(f"{where} has no URL")
    return urls


def record_from_claim_review(
    obj: Any,
    *,
    url_keys: dict[str, str] | None = None,
    ignored: list[str] | None = None,
) -> NewClaim:
    """One ClaimReview object as a validated NewClaim; InvalidInput says what is wrong.

    ``ignored`` collects the parts that were left out (a wrongly typed ``url``,
    ``itemReviewed`` or appearance); ``url_keys`` see :func:`bot.store.validate_new_claim`.
    """
    ignored = [] if ignored is None else ignored
    if not isinstance(obj, dict):
        raise InvalidInput("not a JSON object")
    if not _is_claim_review(obj):
        raise InvalidInput(f"@type is {obj.get('@type')!r}, not ClaimReview")
    claim = _text(obj.get("claimReviewed"))
    if not claim:
        raise InvalidInput("missing claimReviewed")
    rating = obj.get("reviewRating")
    label = _text(rating.get("alternateName")) if isinstance(rating, dict) else None
    if label is None and isinstance(rating, dict):
        label = _text(rating.get("name"))
    if label is not None and len(label) > MAX_LABEL_CHARS:
        raise InvalidInput(f"reviewRating label is longer than {MAX_LABEL_CHARS} characters")
    verdict = map_rating(label)
    # Keep the original label only where it says more than the verdict itself.
    rating_label = label if label and label.casefold() != verdict else None

    item = obj.get("itemReviewed")
    urls: list[str] = []
    if isinstance(item, dict):
        urls = _urls_of(item, ignored)
    elif item is not None:
        ignored.append("itemReviewed is not an object")
    sources: list[Source] = []
    review_url = _url_of(obj.get("url"))
    if review_url is None and obj.get("url") is not None:
        ignored.append("url is not a URL")
    if review_url:
        sources.append(Source(review_url, _text(obj.get("author")), "fact-check"))
    for citation in _as_list(obj.get("citation")):
        url = _url_of(citation)
        if url:
            title = kind = None
            if isinstance(citation, dict):
                title = _text(citation.get("name"))
                kind = _text(citation.get("additionalType"))
            sources.append(Source(url, title, kind if kind in SOURCE_KINDS else "alternative"))
    context = "\n".join(
        t
        for t in (
            _text(obj.get("headline")) or _text(obj.get("name")),
            _text(obj.get("description")),
        )
        if t
    )
    external_id = _text(obj.get("@id"))
    if external_id is not None and len(external_id) > MAX_ID_CHARS:
        raise InvalidInput(f"@id is longer than {MAX_ID_CHARS} characters")
    if external_id is None:
        digest = hashlib.sha256(claim.encode()).hexdigest()[:16]
        external_id = f"{review_url or 'claim'}#{digest}"
    new = NewClaim(
        claim=claim,
        verdict=verdict,
        note=_text(obj.get("reviewBody")) or "",
        urls=tuple(urls),
        sources=tuple(sources),
        rating_label=rating_label,
        context=context,
        external_id=external_id,
    )
    _check_unicode(new)
    return validate_new_claim(new, url_keys=url_keys)


#: Records converted a batch at a time; a worker process takes every other batch.
_BATCH = 1000

# What converting one record gave: the record, or the reason it was refused; ignored parts.
_Outcome = tuple[NewClaim | None, str | None, list[str]]
# A batch's outcomes, and the URL keys a worker computed for them.
_Converted = tuple[list[_Outcome], dict[str, str]]


def _convert(objs: list[Any], url_keys: dict[str, str]) -> list[_Outcome]:
    """Each object as a record, or why not; ``url_keys`` gains the keys computed on the way."""
    outcomes: list[_Outcome] = []
    for obj in objs:
        ignored: list[str] = []
        try:
            record = record_from_claim_review(obj, url_keys=url_keys, ignored=ignored)
        except InvalidInput as exc:
            outcomes.append((None, str(exc), ignored))
        else:
            outcomes.append((record, None, ignored))
    return outcomes


def _convert_in_worker(objs: list[Any]) -> _Converted:
    url_keys: dict[str, str] = {}
    return _convert(objs, url_keys), url_keys


class _Collector:
    """Records in file order: each parsed, reported by position when bad, keyed once a URL.

    With ``workers`` > 1, a file of more than one batch of records is converted by this
    process and ``workers - 1`` forked ones (validating and keying a record is pure Python, so
    threads would take turns), batch by batch in file order.
    """

    def __init__(self, workers: int = 1) -> None:
        self.parsed = ParsedFile()
        self.position = 0
        self.first_seen: dict[str | None, int] = {}
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.batch: list[Any] = []
        # Batches in file order: converted, or still being converted by a worker.
        self.pending: deque[_Converted | Future[_Converted]] = deque()

    def add(self, obj: Any) -> None:
        self.batch.append(obj)
        if len(self.batch) >= _BATCH:
            self._dispatch()

    def finish(self) -> ParsedFile:
        self._dispatch()
        while self.pending:
            self._merge_next()
        self.close()
        return self.parsed

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def _dispatch(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        in_workers = sum(isinstance(entry, Future) for entry in self.pending)
        if self.workers > 1 and in_workers < 2 * (self.workers - 1):
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    self.workers - 1, mp_context=multiprocessing.get_context("fork")
                )
            self.pending.append(self.pool.submit(_convert_in_worker, batch))
        else:
            # The workers have enough queued: this process converts the batch itself.
            self.pending.append((_convert(batch, self.parsed.url_keys), {}))
        while self.pending and (not isinstance(self.pending[0], Future) or self.pending[0].done()):
            self._merge_next()

    def _merge_next(self) -> None:
        entry = self.pending.popleft()
        outcomes, url_keys = entry.result() if isinstance(entry, Future) else entry
        parsed = self.parsed
        parsed.url_keys.update(url_keys)
        for record, error, ignored in outcomes:
            self.position += 1
            position = self.position
            if record is None:
                parsed.errors.append(f"record {position}: {error}")
                continue
            parsed.warnings.extend(f"record {position}: {what}" for what in ignored)
            if record.external_id in self.first_seen:
                # Two records with one identity would overwrite each other on every import.
                parsed.errors.append(
                    f"record {position}: same @id as record {self.first_seen[record.external_id]}"
                )
                continue
            self.first_seen[record.external_id] = position
            parsed.records.append(record)


def parse_document(document: Any) -> ParsedFile:
    collector = _Collector()
    for obj in iter_claim_reviews(document):
        collector.add(obj)
    return collector.finish()


def _feed_elements(element: Any) -> Iterator[Any]:
    """One element of a DataFeed's ``dataFeedElement``, as :func:`iter_claim_reviews` reads it."""
    if isinstance(element, dict) and "item" in element and "claimReviewed" not in element:
        yield from iter_claim_reviews(element["item"])
    else:
        yield element


def parse_file(path: str, *, max_bytes: int = MAX_FILE_BYTES, workers: int = 1) -> ParsedFile:
    """Read and parse an import file; ImportFileError if it is not usable at all.

    The file is read a record at a time (:mod:`bot.jsonstream`), so memory follows the
    records kept, not the JSON text. ``workers`` processes convert the records (see
    :class:`_Collector`).
    """
    collector = _Collector(workers)
    try:
        with open(path, "rb") as fh:
            for container, value in jsonstream.iter_elements(
                fh, containers=("@graph", "dataFeedElement"), max_bytes=max_bytes
            ):
                found = _feed_elements(value) if container == "dataFeedElement" else None
                for obj in found or iter_claim_reviews(value):
                    collector.add(obj)
        parsed = collector.finish()
    except RecursionError:
        raise ImportFileError(f"{path}: nested too deeply to be a ClaimReview file") from None
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except jsonstream.JSONStreamError as exc:
        raise ImportFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror})") from None
    except BrokenProcessPool:
        raise ImportFileError(f"{path}: a worker process died (out of memory?)") from None
    finally:
        collector.close()
    if not parsed.records and not parsed.errors:
        raise ImportFileError(f"{path}: no ClaimReview records found")
    return parsed


def claim_to_claim_review(claim: Claim) -> dict[str, Any]:
    """A stored claim as a ClaimReview object that ``record_from_claim_review`` reads back."""
    fact_checks = [s for s in claim.sources if s.kind == "fact-check"]
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "@id": claim.external_id or f"factbot:claim:{claim.id}",
        "claimReviewed": claim.claim,
        "reviewRating": {"@type": "Rating", "alternateName": _rating_name(claim)},
        "datePublished": claim.created_at[:10],
    }
    assert claim.verdict in VERDICTS
    if claim.note:
        review["reviewBody"] = claim.note
    if claim.context:
        review["description"] = claim.context
    if fact_checks:
        # ClaimReview has one url; other sources travel as citations typed by their kind.
        first = fact_checks[0]
        review["url"] = first.url
        if first.title:
            review["author"] = {"@type": "Organization", "name": first.title}
    if claim.urls:
        review["itemReviewed"] = {
            "@type": "Claim",
            "appearance": [{"@type": "CreativeWork", "url": u} for u in claim.urls],
        }
    citations = [s for s in claim.sources if not fact_checks or s is not fact_checks[0]]
    if citations:
        review["citation"] = [
            {
                "@type": "CreativeWork",
                "url": s.url,
                "additionalType": s.kind,
                **({"name": s.title} if s.title else {}),
            }
            for s in citations
        ]
    return review


def _rating_name(claim: Claim) -> str:
    """The original label where it still says the stored verdict, else the verdict itself."""
    if claim.rating_label and map_rating(claim.rating_label) == claim.verdict:
        return claim.rating_label
    return claim.verdict


def export_document(claims: list[Claim]) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [claim_to_claim_review(c) for c in claims],
    }
