"""Sentence vectors for the assistant, remembered: the same posts are read for many questions.

Scoring an answer embeds every sentence of every post it read (and each sentence with the one before
it); the support check embeds them again. On 2 CPU cores that is most of an answer's time, and the
same popular posts come back question after question. So vectors are kept in a bounded LRU cache keyed
by the exact text (MiniLM is deterministic: one text, one vector), per process. MAX_ENTRIES × 384
float32 ≈ 30 MB. Only texts the assistant embeds go in; posts' own index vectors live in the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from agora.search.embeddings import DIMENSIONS, embed_async

MAX_ENTRIES = 20_000
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_lock = threading.Lock()


async def sentence_vectors(texts: list[str]) -> np.ndarray:
    """Unit vectors of `texts` (one row each, in order), embedding only those not seen recently."""
    with _lock:
        known = {text: _cache[text] for text in texts if text in _cache}
        for text in known:
            _cache.move_to_end(text)
    missing = list(dict.fromkeys(text for text in texts if text not in known))
    if missing:
        fresh = await embed_async(missing)
        with _lock:
            for text, vector in zip(missing, fresh, strict=True):
                vector = vector.copy()  # a row of its own: a view would keep the whole batch alive
                known[text] = vector
                _cache[text] = vector
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([known[text] for text in texts])
