"""What a training run is asked to do: the preset's defaults, overridden by the command line."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agora.ai.model import PRESETS, Preset
from agora.ai.paths import corpus_dir
from agora.config import Settings


@dataclass
class TrainConfig:
    preset: str = "tiny"
    data_dir: Path = Path("var")  # the corpus is read from data_dir/ai/corpus, runs go to data_dir/models/<id>
    run_id: str | None = None  # default: a new id; with --resume: the newest unfinished run
    steps: int | None = None  # pre-training steps (optimizer updates); default: the preset's
    batch_size: int | None = None  # global batch in sequences, over every process; default: the preset's
    micro_batch: int | None = None  # sequences per forward pass on one process; default: the whole share
    seq_len: int | None = None  # default: the preset's context (less when the corpus is tiny)
    learning_rate: float | None = None  # peak; default: the preset's
    min_lr_ratio: float = 0.1  # cosine decay ends at this share of the peak
    warmup_steps: int | None = None  # default: 5% of the steps (at least 10)
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_every: int | None = None  # default: ten validations a run (at least every 10 steps)
    eval_windows: int = 64  # held-out windows per validation
    save_every: int = 200
    chat_steps: int | None = None  # conversational stage on (post, reply) pairs; default: 15% of steps
    chat_learning_rate_ratio: float = 0.3  # of the peak, constant after a short warm-up
    seed: int = 1234
    resume: bool = False
    init_from: Path | None = None  # an operator-supplied model directory in Hugging Face Llama format
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps in this invocation
    device: str = "auto"  # auto | cpu | cuda
    compile: bool = False  # torch.compile the model (GPU; minutes of compiling first)
    fsdp: bool | None = None  # default: the preset's (large presets shard over GPUs)
    peak_tflops: float | None = None  # for the MFU estimate; default: known GPUs' datasheet, CPU estimated
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The data layout's view of the settings (agora/ai/paths.py, agora/ai/registry.py)."""
        return Settings.model_construct(data_dir=self.data_dir)

    @property
    def corpus(self) -> Path:
        return corpus_dir(self.settings)

    @property
    def spec(self) -> Preset:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}: choose one of {', '.join(PRESETS)}")
        return PRESETS[self.preset]

    def resolved(self) -> TrainConfig:
        """A copy with every default filled in from the preset (what run.json records)."""
        spec = self.spec
        steps = self.steps if self.steps is not None else spec.steps
        chosen = TrainConfig(**{**asdict(self), "steps": steps})
        chosen.batch_size = self.batch_size or spec.batch_size
        chosen.seq_len = self.seq_len or spec.context
        chosen.learning_rate = self.learning_rate or spec.learning_rate
        chosen.warmup_steps = self.warmup_steps if self.warmup_steps is not None else max(10, steps // 20)
        chosen.chat_steps = self.chat_steps if self.chat_steps is not None else steps * 15 // 100
        chosen.fsdp = spec.fsdp if self.fsdp is None else self.fsdp
        chosen.eval_every = self.eval_every if self.eval_every is not None else max(10, steps // 10)
        for name in ("steps", "batch_size", "seq_len", "eval_every", "save_every", "eval_windows"):
            if getattr(chosen, name) <= 0:
                raise ValueError(f"{name.replace('_', '-')} must be positive")
        return chosen

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in record.items() if k != "extra"}


def learning_rate(step: int, *, peak: float, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to the peak, then cosine decay to `min_ratio` × peak at the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
