"""Token shards: the corpus as flat arrays of token ids, the form the trainer reads at full speed.

Each split ("train", "val") is a series of files `<split>_000.bin`, `<split>_001.bin`, … of
little-endian unsigned integers (uint16 while the vocabulary fits, uint32 beyond 65,535), at most
`max_tokens` per file so no single file grows unwieldy. Every document is its tokens followed by the
end-of-text id, in id order. `shards.json` says the dtype, the files and the token counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from agora.kit.time import iso, utcnow

SPLITS = ("train", "val")
MAX_TOKENS_PER_SHARD = 50_000_000  # 100 MB of uint16
_FLUSH_TOKENS = 1 << 20  # buffered in Python, written in blocks


def shard_dtype(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 1 << 16 else np.dtype("<u4")


class ShardWriter:
    """Appends documents' token ids to one split's shard files, starting a new file at `max_tokens`."""

    def __init__(self, directory: Path, split: str, dtype: np.dtype, max_tokens: int) -> None:
        self.directory, self.split, self.dtype, self.max_tokens = directory, split, dtype, max_tokens
        self.files: list[str] = []
        self.tokens = 0
        self._buffer: list[int] = []
        self._file: BinaryIO | None = None
        self._in_file = 0

    def write(self, ids: Sequence[int]) -> None:
        self._buffer.extend(ids)
        if len(self._buffer) >= _FLUSH_TOKENS:
            self._flush()

    def _flush(self) -> None:
        data = np.asarray(self._buffer, dtype=self.dtype)
        self._buffer = []
        while len(data):
            if self._file is None or self._in_file >= self.max_tokens:
                self._open_next()
            assert self._file is not None
            room = self.max_tokens - self._in_file
            data[:room].tofile(self._file)
            written = min(room, len(data))
            self._in_file += written
            self.tokens += written
            data = data[room:]

    def _open_next(self) -> None:
        if self._file is not None:
            self._file.close()
        name = f"{self.split}_{len(self.files):03d}.bin"
        self.files.append(name)
        self._file = (self.directory / name).open("wb")
        self._in_file = 0

    def close(self) -> dict[str, Any]:
        self._flush()
        if self._file is not None:
            self._file.close()
        return {"files": self.files, "tokens": self.tokens}


def write_shards(directory: Path, documents: Iterable[tuple[str, Sequence[int]]], *, vocab_size: int, eos_id: int,
                 max_tokens: int = MAX_TOKENS_PER_SHARD) -> dict[str, Any]:
    """Write (split, token ids) documents, each followed by `eos_id`, and shards.json; returns its dict."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    dtype = shard_dtype(vocab_size)
    writers = {split: ShardWriter(directory, split, dtype, max_tokens) for split in SPLITS}
    for split, ids in documents:
        writers[split].write(ids)
        writers[split].write((eos_id,))
    meta: dict[str, Any] = {"dtype": "uint16" if dtype.itemsize == 2 else "uint32", "vocab_size": vocab_size,
                            "eos_id": eos_id}
    meta.update({split: writer.close() for split, writer in writers.items()})
    meta["created_at"] = iso(utcnow())
    (directory / "shards.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def read_meta(corpus_dir: Path) -> dict[str, Any]:
    path = corpus_dir / "shards.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the corpus first with `agora ai corpus`")
    return json.loads(path.read_text(encoding="utf-8"))


def read_tokens(corpus_dir: Path, split: str) -> np.ndarray:
    """All of one split's token ids: a memory map of the file when there is one, else a concatenation."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    meta = read_meta(corpus_dir)
    dtype = np.dtype("<u2") if meta["dtype"] == "uint16" else np.dtype("<u4")
    parts = [np.memmap(corpus_dir / name, dtype=dtype, mode="r") for name in meta[split]["files"]
             if (corpus_dir / name).stat().st_size]
    if not parts:
        return np.zeros(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
