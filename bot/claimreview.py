"""schema.org ClaimReview in and out.

Import reads one ClaimReview object, a list of them, a JSON-LD ``@graph`` or a ``DataFeed``
(``dataFeedElement``, whose elements are ClaimReviews or DataFeedItems with an ``item``).
Mapping: ``claimReviewed`` → claim, ``reviewRating.alternateName`` → verdict (original label kept),
``itemReviewed.appearance[].url`` and ``itemReviewed.firstAppearance.url`` → claim URLs,
``itemReviewed.author.name`` → claimant (who made the claim), ``itemReviewed.datePublished``
→ the claim's date (when it was made: ranking prefers claims of the text's own time), ``url`` →
a ``fact-check`` source titled with ``author.name``; ``reviewBody`` → note; ``headline``/``name``
and ``description`` → searchable context; ``citation[]`` → ``alternative`` sources; ``@id`` →
the record's identity, so importing the same file twice changes nothing.

Export writes the same shape, so ``import`` reads an export back unchanged.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
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
from bot.store.validation import clean_claim_date, clean_claimant
from bot.verdicts import VERDICTS, map_rating

log = logging.getLogger(__name__)

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
    # Each claim's and context's index terms, when parse_file was given the store's function.
    index_terms: dict[str, str] = field(default_factory=dict)


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
    # (The claimant is checked where it is read: clean_claimant refuses a lone surrogate.)
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
    reviewed = obj.get("claimReviewed")
    claim = _text(reviewed)
    if not claim:
        # Named as the operator sees it in the file: absent, blank, or not a string.
        if "claimReviewed" not in obj:
            raise InvalidInput("missing claimReviewed")
        raise InvalidInput(
            "claimReviewed is empty" if isinstance(reviewed, str) else "claimReviewed is not text"
        )
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
    claimant = claim_date = None
    if isinstance(item, dict):
        urls = _urls_of(item, ignored)
        try:
            claimant = clean_claimant(_text(item.get("author")))
        except InvalidInput as exc:  # the fact-check stands without its claimant
            ignored.append(f"itemReviewed.author: {exc}")
        try:
            claim_date = clean_claim_date(item.get("datePublished"))
        except InvalidInput as exc:  # ... and without its date
            ignored.append(f"itemReviewed.datePublished: {exc}")
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
        claimant=claimant,
        claim_date=claim_date,
    )
    _check_unicode(new)
    return validate_new_claim(new, url_keys=url_keys)


#: Records a batch: with several processes, each batch goes to the first process that reaches it.
_BATCH = 1000
#: A smaller file is converted by one process: a second one would not pay for itself.
_PARALLEL_MIN_BYTES = 4 << 20

# What converting one record gave: the record, or the reason it was refused; ignored parts.
_Outcome = tuple[NewClaim | None, str | None, list[str]]


def _convert(obj: Any, url_keys: dict[str, str]) -> _Outcome:
    ignored: list[str] = []
    try:
        return record_from_claim_review(obj, url_keys=url_keys, ignored=ignored), None, ignored
    except InvalidInput as exc:
        return None, str(exc), ignored


class _Collector:
    """Records in file order: each parsed, reported by position when bad, keyed once a URL."""

    def __init__(self) -> None:
        self.parsed = ParsedFile()
        self.position = 0
        self.first_seen: dict[str | None, int] = {}

    def add(self, outcome: _Outcome) -> None:
        self.position += 1
        position, parsed = self.position, self.parsed
        record, error, ignored = outcome
        if record is None:
            parsed.errors.append(f"record {position}: {error}")
            return
        parsed.warnings.extend(f"record {position}: {what}" for what in ignored)
        if record.external_id in self.first_seen:
            # Two records with one identity would overwrite each other on every import.
            parsed.errors.append(
                f"record {position}: same @id as record {self.first_seen[record.external_id]}"
            )
            return
        self.first_seen[record.external_id] = position
        parsed.records.append(record)


def parse_document(document: Any) -> ParsedFile:
    collector = _Collector()
    url_keys = collector.parsed.url_keys
    for obj in iter_claim_reviews(document):
        collector.add(_convert(obj, url_keys))
    return collector.parsed


def _feed_elements(element: Any) -> Iterator[Any]:
    """One element of a DataFeed's ``dataFeedElement``, as :func:`iter_claim_reviews` reads it."""
    if isinstance(element, dict) and "item" in element and "claimReviewed" not in element:
        yield from iter_claim_reviews(element["item"])
    else:
        yield element


def _objects_in(path: str, max_bytes: int) -> Iterator[Any]:
    with open(path, "rb") as fh:
        for container, value in jsonstream.iter_elements(
            fh, containers=("@graph", "dataFeedElement"), max_bytes=max_bytes
        ):
            found = _feed_elements(value) if container == "dataFeedElement" else None
            yield from found or iter_claim_reviews(value)


@dataclass
class _Share:
    """One process's share of a file: the outcomes of its batches, by batch number."""

    batches: dict[int, list[_Outcome]] = field(default_factory=dict)
    url_keys: dict[str, str] = field(default_factory=dict)
    index_terms: dict[str, str] = field(default_factory=dict)
    objects: int = 0


def _convert_share(
    path: str,
    max_bytes: int,
    index: Callable[[str], str] | None,
    claimed: Synchronized[int] | None = None,
) -> _Share:
    """Read the whole file and convert each batch of records that no other process has claimed.

    With several processes, each decodes the whole file (the JSON decoder is C, a few percent
    of the work); ``claimed`` counts the batches taken, so a batch goes to the first process
    to reach it and a faster process takes more of them.
    """
    result = _Share()
    terms = result.index_terms
    outcomes: list[_Outcome] | None = None
    for result.objects, obj in enumerate(_objects_in(path, max_bytes), start=1):
        batch, first = divmod(result.objects - 1, _BATCH)
        if first == 0:
            outcomes = None
            if claimed is None or _claim(claimed, batch):
                outcomes = result.batches[batch] = []
        if outcomes is None:
            continue
        outcome = _convert(obj, result.url_keys)
        outcomes.append(outcome)
        record = outcome[0]
        if index is not None and record is not None:
            for text in (record.claim, record.context):
                if text not in terms:
                    terms[text] = index(text)
    return result


def _claim(claimed: Synchronized[int], batch: int) -> bool:
    with claimed.get_lock():
        # Every earlier batch is claimed already: this process took or skipped each one.
        if claimed.value != batch:
            return False
        claimed.value = batch + 1
        return True


def _send_share(connection: Connection, *args: Any) -> None:
    """A worker process: its share of the file, or what went wrong, sent back to the parent."""
    try:
        share: _Share | BaseException = _convert_share(*args)
    except BaseException as exc:  # the parent reads the same file: it raises the same error
        share = exc
    connection.send(share)
    connection.close()


def _received(connection: Connection) -> _Share:
    share = connection.recv()  # EOFError: the worker died before sending
    if isinstance(share, BaseException):
        raise share
    assert isinstance(share, _Share)
    return share


def _start_workers(
    started: list[tuple[BaseProcess, Connection]],
    count: int,
    path: str,
    max_bytes: int,
    index: Callable[[str], str] | None,
) -> Synchronized[int] | None:
    """Fork ``count`` workers into ``started``; the batch counter they share with this process,
    or None (one process reads the file) where processes cannot be forked."""
    try:
        fork = multiprocessing.get_context("fork")
        claimed = fork.Value("q", 0)
        for _ in range(count):
            receiving, sending = fork.Pipe(duplex=False)
            args = (sending, path, max_bytes, index, claimed)
            worker = fork.Process(target=_send_share, args=args, daemon=True)
            with warnings.catch_warnings():
                # Python 3.12+ warns of fork in a threaded process. The only other thread at
                # this point is numpy's BLAS pool, which re-initialises after a fork; the
                # worker runs pure Python and nothing else (the caller starts no thread first).
                warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks")
                worker.start()
            sending.close()
            started.append((worker, receiving))
    except (OSError, ImportError, ValueError) as exc:
        # No fork, no /dev/shm, no process to spare: one process reads the whole file.
        log.debug("reading %s in one process: %s", path, exc)
        _stop_workers(started)
        return None
    return claimed


def _stop_workers(started: list[tuple[BaseProcess, Connection]]) -> None:
    for process, receiving in started:
        process.kill()  # done already, unless the parent gave up (an error, Ctrl-C)
        process.join()
        receiving.close()
    started.clear()


def _in_parallel(path: str, workers: int) -> bool:
    """Whether several processes convert ``path``: only a large regular file (a pipe or a
    device can be read once), and only when asked for more than one."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return workers > 1 and stat.S_ISREG(info.st_mode) and info.st_size >= _PARALLEL_MIN_BYTES


def parse_file(
    path: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    workers: int = 1,
    index_terms: Callable[[str], str] | None = None,
) -> ParsedFile:
    """Read and parse an import file; ImportFileError if it is not usable at all.

    The file is read a record at a time (:mod:`bot.jsonstream`), so memory follows the
    records kept, not the JSON text. ``index_terms``: the store's index function
    (:meth:`Store.use_index_terms`), to index the records' texts here, ahead of the import.
    Checking and indexing a record is pure Python: with ``workers`` > 1, a large file's
    batches of records are shared out between this process and ``workers - 1`` forked ones
    (threads would take turns on the interpreter).
    """
    started: list[tuple[BaseProcess, Connection]] = []
    claimed = None
    parallel = _in_parallel(path, workers)
    try:
        if parallel:
            # Otherwise a worker copies every page of this process's heap as its garbage
            # collector walks the objects it inherited (CPython's advice for fork).
            gc.freeze()
            claimed = _start_workers(started, workers - 1, path, max_bytes, index_terms)
        parts = [_convert_share(path, max_bytes, index_terms, claimed)]
        for _, receiving in started:
            parts.append(_received(receiving))
    except RecursionError:
        raise ImportFileError(f"{path}: nested too deeply to be a ClaimReview file") from None
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except jsonstream.JSONStreamError as exc:
        raise ImportFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror})") from None
    except EOFError:
        raise ImportFileError(f"{path}: a worker process died (out of memory?)") from None
    finally:
        _stop_workers(started)
        if parallel:
            gc.unfreeze()
    if any(part.objects != parts[0].objects for part in parts):
        raise ImportFileError(f"{path}: the file changed while it was read")
    collector = _Collector()
    for part in parts:
        collector.parsed.url_keys.update(part.url_keys)
        collector.parsed.index_terms.update(part.index_terms)
    for batch in range((parts[0].objects + _BATCH - 1) // _BATCH):
        converted = next(part.batches[batch] for part in parts if batch in part.batches)
        for outcome in converted:
            collector.add(outcome)
    parsed = collector.parsed
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
    if claim.urls or claim.claimant or claim.claim_date:
        item: dict[str, Any] = {"@type": "Claim"}
        if claim.claimant:
            # A person or a description ("Facebook posts"): no @type claims which.
            item["author"] = {"name": claim.claimant}
        if claim.claim_date:
            item["datePublished"] = claim.claim_date
        if claim.urls:
            item["appearance"] = [{"@type": "CreativeWork", "url": u} for u in claim.urls]
        review["itemReviewed"] = item
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
