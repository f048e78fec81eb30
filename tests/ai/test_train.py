"""The trainer, as an operator meets it: the loss falls, a saved model reloads to the same logits, an
interrupted run resumes exactly, and two processes under torchrun train as one does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agora.ai.train import train
from agora.ai.train_config import TrainConfig
from tests.ai.synthetic_corpus import build_synthetic_corpus

SMALL_RUN = {"preset": "tiny", "batch_size": 8, "seq_len": 64, "eval_every": 1000, "save_every": 1000}


def metrics(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def losses(folder: Path) -> list[float]:
    return [row["loss"] for row in metrics(folder) if "loss" in row]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ai")
    build_synthetic_corpus(folder)
    return folder


@pytest.fixture(scope="module")
def trained(data_dir: Path) -> Path:
    return train(TrainConfig(data_dir=data_dir, steps=60, chat_steps=20, run_id="trained", **SMALL_RUN), log=print)


def test_validation_loss_falls_and_the_run_is_recorded(trained: Path) -> None:
    rows = metrics(trained)
    start = rows[0]["val_loss"]
    end = next(row["val_loss"] for row in reversed(rows) if "val_loss" in row)
    assert end < start * 0.5, (start, end)
    record = json.loads((trained / "run.json").read_text())
    assert record["status"] == "finished" and record["steps"] == 80
    assert record["val_perplexity"] == pytest.approx(torch.tensor(record["val_loss"]).exp().item(), rel=1e-6)
    assert any(row["stage"] == "chat" for row in rows) and record["chat_val_loss"] is not None
    assert (trained / "loss.png").stat().st_size > 1000
    assert "## Training data" in (trained / "MODEL_CARD.md").read_text()


def test_saved_model_reloads_with_identical_logits(trained: Path) -> None:
    from transformers import AutoModelForCausalLM

    from agora.ai.model import build_model
    from agora.ai.tokenizer import load_tokenizer

    reloaded = AutoModelForCausalLM.from_pretrained(str(trained / "model")).eval()
    in_training = build_model(reloaded.config).eval()
    in_training.load_state_dict(torch.load(trained / "checkpoint.pt", weights_only=False)["model"])
    tokenizer = load_tokenizer(trained / "model")
    ids = torch.tensor([tokenizer.encode("the river loop was lovely today, yes.")])
    with torch.no_grad():
        assert torch.equal(reloaded(input_ids=ids).logits, in_training(input_ids=ids).logits)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                         add_generation_prompt=True) == "<|user|>\nhi<|end|>\n<|assistant|>\n"


def test_resume_after_an_interrupt_continues_exactly(data_dir: Path) -> None:
    whole = train(TrainConfig(data_dir=data_dir, steps=24, chat_steps=6, run_id="whole", **SMALL_RUN))
    cut = TrainConfig(data_dir=data_dir, steps=24, chat_steps=6, run_id="cut", stop_after=13, **SMALL_RUN)
    folder = train(cut)
    assert json.loads((folder / "run.json").read_text())["status"] == "training"
    assert len(losses(folder)) == 13
    train(TrainConfig(data_dir=data_dir, steps=24, chat_steps=6, run_id="cut", resume=True, **SMALL_RUN))
    assert losses(folder) == pytest.approx(losses(whole), rel=1e-5)
    assert json.loads((folder / "run.json").read_text())["status"] == "finished"


def test_continued_pretraining_starts_from_the_given_model(trained: Path, data_dir: Path) -> None:
    fresh = losses(train(TrainConfig(data_dir=data_dir, steps=3, chat_steps=0, run_id="fresh", **SMALL_RUN)))
    continued = train(TrainConfig(data_dir=data_dir, steps=3, chat_steps=0, run_id="continued",
                                  init_from=trained / "model", **SMALL_RUN))
    assert losses(continued)[0] < fresh[0] / 2  # it already knows the corpus
    assert json.loads((continued / "run.json").read_text())["init_from"] == str(trained / "model")


def test_two_processes_under_torchrun_match_one(data_dir: Path) -> None:
    """DDP (replicated) and FSDP (sharded) on two gloo processes: the same losses as one process
    with the same global batch, and the same saved model."""
    args = ["--steps", "6", "--chat-steps", "0", "--batch-size", "8", "--seq-len", "64", "--eval-every", "1000"]
    env = {**os.environ, "AGORA_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    for name, extra in (("ddp", ["--no-fsdp"]), ("fsdp", ["--fsdp"])):
        launch(name, [*torchrun, "-m", "agora.cli", "ai", "train", "--run-id", name, *extra, *args], env)
    # The one-process reference is trained in this process rather than by a third `agora ai train`
    # (a fresh interpreter importing torch and transformers costs more than its six steps): the same
    # TrainConfig the command builds from `args`, every other option at the command's default.
    train(TrainConfig(data_dir=data_dir, steps=6, chat_steps=0, batch_size=8, seq_len=64, eval_every=1000,
                      run_id="one"), log=lambda _line: None)
    models = data_dir / "models"
    probe = torch.tensor([[5, 6, 7, 8, 9]])
    one = reloaded_logits(models / "one", probe)
    for name in ("ddp", "fsdp"):
        assert json.loads((models / name / "run.json").read_text())["world_size"] == 2
        assert losses(models / name) == pytest.approx(losses(models / "one"), rel=1e-4), name
        assert torch.allclose(reloaded_logits(models / name, probe), one, atol=1e-4), name


def launch(name: str, command: list[str], env: dict[str, str]) -> None:
    """Run a torchrun job; a launch that fails is tried once more from scratch. Once in ~20 CI runs
    on 2 shared cores a `--standalone` launch failed before training (its output was not kept then),
    and the next launch passed: the launcher's rendezvous, not what this test checks. Each failure's
    output is shown if the second fails too."""
    failures = []
    for _ in range(2):
        shutil.rmtree(Path(env["AGORA_DATA_DIR"]) / "models" / name, ignore_errors=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return
        failures.append(f"exit {done.returncode}:\n{done.stderr[-3000:]}")
    pytest.fail(f"torchrun {name} failed twice:\n" + "\n---\n".join(failures))


def reloaded_logits(run: Path, ids: torch.Tensor) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    with torch.no_grad():
        return AutoModelForCausalLM.from_pretrained(str(run / "model"))(input_ids=ids).logits


def test_bad_options_are_refused(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig(data_dir=data_dir, preset="huge").resolved()
    with pytest.raises(ValueError, match="steps must be positive"):
        TrainConfig(data_dir=data_dir, steps=0).resolved()
    with pytest.raises(FileNotFoundError, match="agora ai corpus"):
        train(TrainConfig(data_dir=tmp_path, steps=2, **SMALL_RUN))
