"""The registry of training runs: `data_dir/models/<run-id>/run.json`, and which one is promoted.

A run is a folder the trainer writes (see the run directory contract in docs/ai.md); its `run.json`
is the record every other part reads: `agora ai models`, the model card, the /ai/model page, the
assistant. `data_dir/models/PROMOTED` holds the id of the run the assistant uses. Every write is
atomic (a temporary file, then `os.replace`), so a reader never sees half a record even while the
trainer is updating one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agora.ai.paths import models_dir
from agora.config import Settings

RUN_FILE = "run.json"
PROMOTED_FILE = "PROMOTED"
STATUSES = ("training", "finished", "failed")
# Letters, digits, dot, dash and underscore, not starting with a dot: never a path of its own.
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


class RegistryError(ValueError):
    """A run that cannot be found, read or promoted; the message is for the operator."""


@dataclass
class RunRecord:
    """One training run, as in run.json. Unknown keys are kept in `extra` and written back."""

    id: str
    preset: str = ""
    status: str = "training"
    created_at: str | None = None
    finished_at: str | None = None
    parameters: int | None = None
    vocab_size: int | None = None
    steps: int = 0
    tokens_seen: int = 0
    tokens_per_second: float | None = None
    mfu: float | None = None
    device: str | None = None
    world_size: int = 1
    train_loss: float | None = None
    val_loss: float | None = None
    val_perplexity: float | None = None
    chat_val_loss: float | None = None
    init_from: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    corpus: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)  # the run folder it was read from; not saved

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> RunRecord:
        known = {f.name for f in fields(cls)} - {"extra", "path"}
        if not isinstance(data.get("id"), str) or not data["id"]:
            raise RegistryError("run.json has no run id")
        values = {k: v for k, v in data.items() if k in known}
        # A null where the trainer means "none yet": keep the defaults for the counters.
        for name in ("steps", "tokens_seen"):
            if values.get(name) is None:
                values.pop(name, None)
        if values.get("world_size") is None:
            values.pop("world_size", None)
        for name in ("config", "corpus"):
            if not isinstance(values.get(name), dict):
                values.pop(name, None)
        return cls(**values, extra={k: v for k, v in data.items() if k not in known}, path=path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        extra = data.pop("extra")
        if data.get("eval") is None:
            data.pop("eval")  # "absent" until `agora ai eval` ran, as the contract says
        return {**extra, **data}

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def has_model(self) -> bool:
        return self.path is not None and (self.path / "model" / "config.json").is_file()

    def created(self) -> datetime | None:
        return parse_time(self.created_at)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_run_id(run_id: str) -> str:
    """The id itself, or a RegistryError: an id is a folder name, never a path ("../x", "a/b")."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise RegistryError(f"{run_id!r} is not a run id: use letters, digits, '-', '_' and '.', "
                            "as `agora ai models` lists them")
    return run_id


def run_dir(settings: Settings, run_id: str) -> Path:
    return models_dir(settings) / check_run_id(run_id)


def new_run_id(preset: str, now: datetime | None = None, settings: Settings | None = None) -> str:
    """`20261205-0731-tiny`; with `settings`, `…-tiny-2`, `-3` … when a run started in the same minute
    already has the id."""
    now = now or datetime.now(UTC)
    base = check_run_id(f"{now:%Y%m%d-%H%M}-{preset}")
    if settings is None:
        return base
    candidate, n = base, 1
    while (models_dir(settings) / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all: a temporary file beside it, then a rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a run's files are for a model server to read too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_run(path: Path) -> RunRecord:
    """The record of the run in folder `path` (or of the run.json file `path`)."""
    file = path if path.name == RUN_FILE else path / RUN_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RegistryError(f"no run at {file.parent}: it has no {RUN_FILE}") from error
    except (OSError, ValueError) as error:
        raise RegistryError(f"cannot read {file}: {error}") from error
    if not isinstance(data, dict):
        raise RegistryError(f"{file} does not hold a JSON object")
    return RunRecord.from_dict(data, path=file.parent)


def write_run(path: Path, record: RunRecord) -> None:
    """Save `record` as `path`/run.json (or to the run.json file `path`), atomically."""
    file = path if path.name == RUN_FILE else path / RUN_FILE
    atomic_write_text(file, json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n")


def get_run(settings: Settings, run_id: str) -> RunRecord:
    folder = run_dir(settings, run_id)
    if not (folder / RUN_FILE).is_file():
        raise RegistryError(f"no run {run_id!r}: `agora ai models` lists the runs there are")
    return read_run(folder)


def list_runs(settings: Settings) -> list[RunRecord]:
    """Every run with a readable run.json, newest first (by created_at, then id)."""
    root = models_dir(settings)
    if not root.is_dir():
        return []
    runs = []
    for folder in root.iterdir():
        if folder.is_dir() and (folder / RUN_FILE).is_file():
            try:
                runs.append(read_run(folder))
            except RegistryError:
                continue  # a run.json being written by hand or damaged: not a run we can list
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(runs, key=lambda r: (r.created() or oldest, r.id), reverse=True)


def promote(settings: Settings, run_id: str) -> RunRecord:
    """Make `run_id` the run the assistant uses: only a finished run with a saved model."""
    record = get_run(settings, run_id)
    if not record.finished:
        raise RegistryError(f"run {run_id!r} is {record.status}, not finished: only a finished run can be promoted")
    if not record.has_model:
        raise RegistryError(f"run {run_id!r} has no saved model (model/config.json): it cannot be promoted")
    atomic_write_text(models_dir(settings) / PROMOTED_FILE, record.id + "\n")
    return record


def promoted_id(settings: Settings) -> str | None:
    try:
        text = (models_dir(settings) / PROMOTED_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, OSError):
        return None
    return text or None


def promoted(settings: Settings) -> RunRecord | None:
    """The promoted run; None when none is, or when its folder was deleted since."""
    run_id = promoted_id(settings)
    if run_id is None:
        return None
    try:
        return get_run(settings, run_id)
    except RegistryError:
        return None
