"""The optional semantic stage (bot.semantic). Model tests need the extra: factbot[semantic]."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from bot import matching, semantic
from bot.semantic import (
    DEFAULT_CANDIDATES,
    DEFAULT_FUSION_WEIGHT,
    SemanticUnavailable,
    fuse_scores,
)

needs_numpy = pytest.mark.skipif(
    importlib.util.find_spec("numpy") is None, reason="numpy not installed"
)
needs_extra = pytest.mark.skipif(
    not semantic.semantic_available(), reason="factbot[semantic] not installed"
)


# --- pure functions: no model needed -----------------------------------------------------------


def test_defaults_are_sane() -> None:
    assert 0.0 <= DEFAULT_FUSION_WEIGHT <= 1.0
    assert DEFAULT_CANDIDATES >= 1


def test_fuse_scores_formula() -> None:
    fused = fuse_scores([10.0, 5.0, 0.0], [0.2, 0.9, 0.5], 0.3)
    assert fused == pytest.approx([0.3 * 1.0 + 0.7 * 0.2, 0.3 * 0.5 + 0.7 * 0.9, 0.7 * 0.5])


def test_fuse_scores_ordering_follows_weight() -> None:
    bm25, cosine = [12.0, 6.0], [0.30, 0.80]
    lexical = fuse_scores(bm25, cosine, 1.0)
    semantic_only = fuse_scores(bm25, cosine, 0.0)
    assert lexical[0] > lexical[1]
    assert semantic_only[1] > semantic_only[0]
    assert semantic_only == pytest.approx(cosine)
    balanced = fuse_scores(bm25, cosine, DEFAULT_FUSION_WEIGHT)
    assert balanced[1] > balanced[0]  # a much closer meaning beats a lexical lead


def test_fuse_scores_is_scale_free_in_bm25() -> None:
    a = fuse_scores([4.0, 2.0, 1.0], [0.1, 0.5, 0.7], 0.4)
    b = fuse_scores([40.0, 20.0, 10.0], [0.1, 0.5, 0.7], 0.4)
    assert a == pytest.approx(b)


def test_fuse_scores_edge_cases() -> None:
    assert fuse_scores([], [], 0.3) == []
    assert fuse_scores([0.0, 0.0], [0.4, 0.6], 0.5) == pytest.approx([0.2, 0.3])
    with pytest.raises(ValueError):
        fuse_scores([1.0], [0.5, 0.2], 0.3)
    with pytest.raises(ValueError):
        fuse_scores([1.0], [0.5], 1.5)


def test_choose_units_takes_each_candidates_best_place_first() -> None:
    units = [("a1", "a2"), ("b1", "b2"), ("a1", "c2")]  # the third candidate's best is a1 too
    long_text = "x" * 1000
    assert semantic.choose_units(units, long_text, candidates=3, per_candidate=2, max_units=9) == [
        "a1",
        "b1",
        "a2",
        "b2",
        "c2",
    ]
    # The budget keeps the best places of the best candidates.
    assert semantic.choose_units(units, long_text, candidates=3, per_candidate=2, max_units=3) == [
        "a1",
        "b1",
        "a2",
    ]
    assert semantic.choose_units(units, long_text, candidates=1, per_candidate=2, max_units=9) == [
        "a1",
        "a2",
    ]
    assert semantic.choose_units([], long_text) == []


def test_choose_units_embeds_a_short_text_whole_as_one_unit() -> None:
    tweet = "The vaccine has a chip.  Gates put it\nthere."
    chosen = semantic.choose_units([("The vaccine has a chip.",), ("Gates put it there.",)], tweet)
    assert chosen == ["The vaccine has a chip. Gates put it there."]
    assert semantic.choose_units([], "   ") == []
    article = "A sentence. " * 40
    assert semantic.choose_units([("A sentence.",)], article) == ["A sentence."]
    assert semantic.unit_max_tokens(tweet) == semantic.WHOLE_TEXT_MAX_TOKENS
    assert semantic.unit_max_tokens(article) == semantic.UNIT_MAX_TOKENS


def test_confidence_of_a_short_text_is_the_lexical_one() -> None:
    # A tweet or a message keeps the calibration it was tuned with, whatever its vector says.
    for lexical in (0.0, 0.2, 0.85, 0.99):
        for cosine in (-0.2, 0.3, 0.95):
            assert semantic.confidence(lexical, cosine, 280) == pytest.approx(lexical)


def test_confidence_of_a_long_text_follows_the_best_units_meaning() -> None:
    article_chars = 1600
    close = semantic.confidence(0.5, 0.9, article_chars)
    far = semantic.confidence(0.5, 0.2, article_chars)
    assert far < close
    assert 0.0 <= far <= 1.0 and 0.0 <= close <= 1.0
    # Sharing too little of the claim to reply stays a no, however close the vectors.
    assert semantic.confidence(0.0, 0.99, article_chars) == 0.0
    # A very long text with an unrelated best unit is never confident.
    assert semantic.confidence(0.9, 0.1, 30_000) < matching.DEFAULT_REPLY_THRESHOLD


def test_best_units_are_distinct_places_best_first() -> None:
    # Units: two sentences and the run over both, then a third sentence far away.
    spans = [(0, 10), (11, 20), (0, 20), (30, 40)]
    scores = [{0: 1.0, 1: 3.0}, {0: 2.0}, {0: 2.5, 1: 3.0}, {0: 0.5}]
    chosen = matching.best_units(spans, scores, [0, 1], 2)
    # Candidate 0: the run is best; both its sentences overlap it, so next is the far one.
    assert chosen[0] == [(0, 20), (30, 40)]
    # Candidate 1: a tie between a sentence and the run holding it goes to the sentence.
    assert chosen[1] == [(0, 10)]
    assert matching.best_units(spans, scores, [1], 1) == [[(0, 10)]]


def test_unavailable_reason_is_short(tmp_path: Path) -> None:
    # Either the extra is missing or the file is: both refuse with a short reason.
    with pytest.raises(SemanticUnavailable) as info:
        semantic.load_embedder(model_path=tmp_path / "missing.onnx")
    assert str(info.value) in {"extra not installed", "model file not found"}


@needs_numpy
def test_blob_round_trip() -> None:
    import numpy as np

    v = np.array([0.0, -1.5, 3.25, 1e-8, np.float32(1) / 3], dtype=np.float32)
    blob = semantic.vector_to_blob(v)
    assert len(blob) == 4 * len(v)
    assert blob[4:8] == b"\x00\x00\xc0\xbf"  # -1.5 as little-endian float32
    back = semantic.blob_to_vector(blob)
    assert back.dtype == np.float32
    assert np.array_equal(back, v)
    assert np.array_equal(semantic.blob_to_vector(semantic.vector_to_blob([1.0, 2.0])), [1, 2])


# --- with the model (the extra installed) ------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> semantic.Embedder:
    return semantic.load_embedder()


@needs_extra
def test_embeddings_are_normalised(embedder: semantic.Embedder) -> None:
    import numpy as np

    texts = ["Short.", "A somewhat longer sentence about a bridge that collapsed.", "", "x " * 600]
    v = embedder.embed(texts)
    assert v.shape == (4, embedder.dim)
    assert embedder.dim == 384
    assert v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)


@needs_extra
def test_paraphrase_is_closer_than_unrelated(embedder: semantic.Embedder) -> None:
    claim, paraphrase, unrelated = embedder.embed(
        [
            "COVID-19 vaccines contain microchips to track people.",
            "The coronavirus shots have tracking chips implanted in them.",
            "The city council approved a new budget for road repairs.",
        ]
    )
    assert float(claim @ paraphrase) > float(claim @ unrelated) + 0.3


@needs_extra
def test_batching_and_order_do_not_change_vectors(embedder: semantic.Embedder) -> None:
    import numpy as np

    texts = [f"Claim number {i}: " + "word " * (i * 7 % 40) for i in range(11)]
    seen: list[tuple[int, int]] = []
    batched = embedder.embed(texts, batch_size=4, progress=lambda d, t: seen.append((d, t)))
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(batched, one_by_one, atol=1e-4)
    assert seen[-1] == (11, 11)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@needs_extra
def test_checksum_rejects_a_corrupted_model(tmp_path: Path) -> None:
    source = semantic._default_model_path()
    assert source is not None
    copy = tmp_path / "model.onnx"
    shutil.copyfile(source, copy)
    semantic.load_embedder(model_path=copy)  # an intact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(SemanticUnavailable) as info:
        semantic.load_embedder(model_path=copy)
    assert str(info.value) == "model checksum mismatch"


@needs_extra
def test_checksum_rejects_a_changed_tokenizer(tmp_path: Path) -> None:
    source = semantic._default_tokenizer_path()
    assert source is not None
    copy = tmp_path / "tokenizer.json"
    copy.write_bytes(source.read_bytes() + b"\n")
    with pytest.raises(SemanticUnavailable) as info:
        semantic.load_embedder(tokenizer_path=copy)
    assert str(info.value) == "tokenizer checksum mismatch"


@needs_extra
def test_the_derived_model_is_kept_and_a_damaged_copy_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    monkeypatch.setenv("FACTBOT_CACHE_DIR", str(tmp_path / "cache"))
    texts = ["Vaccines contain graphene oxide.", "The mayor cut the library budget by half."]
    first = semantic.load_embedder().embed(texts)
    (kept,) = (tmp_path / "cache").iterdir()
    assert kept.name.startswith(semantic.MODEL_ID) and kept.suffix == ".derived"
    good = kept.read_bytes()
    kept.write_bytes(good[: len(good) // 2])  # a disk that filled up, an interrupted copy
    again = semantic.load_embedder().embed(texts)
    assert np.array_equal(first, again)
    assert kept.read_bytes() == good
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [kept.name]  # no partial file


@needs_extra
def test_a_cached_copy_damaged_where_it_still_loads_is_derived_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage inside a weight (a bad sector, blocks zeroed by an unclean shutdown) leaves a
    file ONNX Runtime loads without complaint: its vectors would be wrong, and stored."""
    import numpy as np
    import onnx

    monkeypatch.setenv("FACTBOT_CACHE_DIR", str(tmp_path / "cache"))
    texts = ["Vaccines contain graphene oxide.", "The mayor cut the library budget by half."]
    first = semantic.load_embedder().embed(texts)
    (kept,) = (tmp_path / "cache").iterdir()
    good = kept.read_bytes()
    proto = onnx.load_from_string(semantic.dynamic_model(Path(str(semantic._default_model_path()))))
    weights = max(
        (t.raw_data for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8),
        key=len,
    )
    at = good.index(weights)
    kept.write_bytes(good[:at] + bytes(len(weights)) + good[at + len(weights) :])
    again = semantic.load_embedder().embed(texts)
    assert np.array_equal(first, again)
    assert kept.read_bytes() == good


@needs_extra
def test_the_kept_model_is_readable_as_the_umask_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache folder shared by the bot's account and an operator's (``factbot import``):
    a file only its writer can read would be derived again, and replaced, at every start of
    the other."""
    import os

    monkeypatch.setenv("FACTBOT_CACHE_DIR", str(tmp_path / "cache"))
    before = os.umask(0o022)
    try:
        semantic.load_embedder()
    finally:
        os.umask(before)
    (kept,) = (tmp_path / "cache").iterdir()
    assert kept.stat().st_mode & 0o777 == 0o644


@needs_extra
def test_a_cache_folder_that_cannot_be_written_costs_time_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FACTBOT_CACHE_DIR", str(blocker / "cache"))
    embedder = semantic.load_embedder()
    assert embedder.embed(["Short."]).shape == (1, 384)
    assert "could not keep the derived model" in caplog.text


@needs_extra
def test_deriving_the_model_leaves_logging_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    monkeypatch.setenv("FACTBOT_CACHE_DIR", str(tmp_path / "cache"))
    root = logging.getLogger()
    handlers, filters = list(root.handlers), list(root.filters)
    with caplog.at_level(logging.DEBUG):
        semantic.load_embedder()
    # The quantization tool logs a line per tensor through the root logger: none shows.
    assert [r.name for r in caplog.records] == ["bot.semantic"]
    assert (root.handlers, root.filters) == (handlers, filters)


@needs_extra
def test_records_of_other_threads_still_show_while_the_quantizer_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no logging configured (a script calling load_embedder), Python prints warnings
    to stderr; the guard put on the root logger while the quantizer runs must not swallow
    those of the rest of the process."""
    import logging
    import threading

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    with semantic._quantizer_quiet():
        other = threading.Thread(target=logging.getLogger("bot.other").warning, args=("disk full",))
        other.start()
        other.join()
        logging.info("a line per tensor")  # as the quantizer logs (not shown: INFO)
    assert "disk full" in capsys.readouterr().err
    assert root.handlers == []  # no basicConfig


@needs_extra
def test_the_derived_model_means_what_the_published_one_does(embedder: semantic.Embedder) -> None:
    """The faster graph's vectors stay close to those of the published graph, which the
    fusion weight and the reply gate were first fitted with (one scale per matrix instead of
    one per channel: down to 0.84)."""
    import numpy as np
    import onnxruntime as ort

    source = semantic._default_model_path()
    assert source is not None
    options = semantic._session_options(ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    published = semantic.Embedder(
        ort.InferenceSession(str(source), sess_options=options), embedder._tokenizer, 384
    )
    texts = [
        "COVID-19 vaccines contain microchips to track people.",
        "Says 60,000 civilians remain in eastern Aleppo, not 250,000.",
        "The city council approved a new budget for road repairs on Tuesday evening.",
        "Joe Biden said he would ban fracking on federal land in his first week.",
        "Wind turbines kill more birds each year than cats do.",
    ]
    cosine = (embedder.embed(texts) * published.embed(texts)).sum(axis=1)
    assert float(cosine.min()) > 0.96
    assert not np.allclose(cosine, 1.0, atol=1e-4)  # it is the derived graph that runs


@needs_extra
def test_fused_rerank_puts_the_paraphrase_first(embedder: semantic.Embedder) -> None:
    claims = [
        "Drinking hot water cures the flu.",
        "Bill Gates wants to put microchips in vaccines.",
        "Vaccines were tested on water samples in a lab.",
    ]
    query = "Gates plans to implant tracking chips through the covid jab"
    bm25 = [0.0, 2.0, 3.5]  # a lexical first stage that prefers the wrong claim
    cosine = (embedder.embed(claims) @ embedder.embed([query])[0]).tolist()
    fused = fuse_scores(bm25, cosine, DEFAULT_FUSION_WEIGHT)
    assert max(range(3), key=fused.__getitem__) == 1


@needs_extra
def test_max_tokens_cuts_long_inputs(embedder: semantic.Embedder) -> None:
    import numpy as np

    long_text = "The mayor said the bridge will close. " + "Traffic was heavy today. " * 200
    cut = embedder.embed([long_text], max_tokens=semantic.UNIT_MAX_TOKENS)
    full = embedder.embed([long_text])
    assert np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(cut, full, atol=1e-4)  # the cut really is shorter
    short = "The mayor said the bridge will close."
    assert np.allclose(embedder.embed([short], max_tokens=16), embedder.embed([short]), atol=1e-5)


def test_a_run_scoring_a_rounding_error_above_its_sentence_is_not_the_quote() -> None:
    # The sentence (20, 40) and the run (0, 40) holding it and a sentence without the claim's
    # words: the same contributions summed in another order (the process's hash seed).
    spans = [(0, 19), (20, 40), (0, 40)]
    sentence = 0.3 + 0.2 + 0.1
    run = 0.1 + 0.2 + 0.3
    assert run > sentence  # one rounding error apart
    scores = [{}, {0: sentence}, {0: run}]
    assert matching.best_units(spans, scores, [0], 2) == [[(20, 40)]]
