"""Model cards written from a run folder: the figures, the sections a regulator asks for, the Hub's front matter."""

from __future__ import annotations

import json
from pathlib import Path

from agora.ai.card_format import compact, fence, size
from agora.ai.model_card import write_model_card
from agora.config import Settings
from tests.ai.runs import make_run

SETTINGS = Settings(contact_email="ops@example.org", instance_title="Riverside")


def test_the_card_has_the_runs_figures_data_and_opt_out(tmp_path: Path) -> None:
    folder = make_run(tmp_path)
    card = write_model_card(folder, SETTINGS)
    assert (folder / "MODEL_CARD.md").read_text(encoding="utf-8") == card
    for section in ("## Model details", "## Intended use and users", "## Out-of-scope uses", "## Training data",
                    "## Training procedure", "## Evaluation", "## Limitations and risks", "## Privacy and opt-out",
                    "## How to load", "## Contact"):
        assert section in card
    assert "1.4 M (1,412,096)" in card  # parameters, readable and exact
    assert "3.21" in card and "1.166" in card  # perplexity and validation loss
    assert "2.5 M (2,457,600)" in card and "5,120 tokens/s" in card and "1.2 %" in card  # tokens, speed, MFU
    assert "en (900), de (200), zh (134)" in card and "2026-01-02 → 2026-12-01" in card
    assert "Members opted out:** 3" in card and "direct: 17" in card and "iban: 1" in card
    assert "The long run by the river!" in card and "What is everyone running this weekend?" in card
    assert "Settings → Preferences" in card and "next corpus and training run" in card
    assert "AutoModelForCausalLM" in card and "vllm serve" in card and str(folder / "model") in card
    assert "ops@example.org" in card and "Riverside" in card
    assert "medical, legal or financial advice" in card.lower()


def test_the_hub_readme_has_front_matter(tmp_path: Path) -> None:
    folder = make_run(tmp_path)
    write_model_card(folder, SETTINGS)
    readme = (folder / "model" / "README.md").read_text(encoding="utf-8")
    front, body = readme.split("---\n", 2)[1:]
    assert "license: other" in front and "pipeline_tag: text-generation" in front
    assert "library_name: transformers" in front
    assert 'language:\n- "en"\n- "de"\n- "zh"' in front
    assert "- agora\n- llama\n- community-model\n- text-generation" in front
    assert body.startswith("# Model card: 20261205-0731-tiny") and "vllm serve ." in body


def test_a_run_with_only_run_json_still_gets_a_card(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"id": "bare", "status": "training"}), encoding="utf-8")
    card = write_model_card(folder, SETTINGS)
    assert "Not evaluated yet: run `agora ai eval bare`." in card
    assert "No datasheet was found" in card
    assert "## Privacy and opt-out" in card and "Parameters:** — (—)" in card
    assert not (folder / "model").exists()  # no model folder made up for a Hub README


def test_odd_values_do_not_crash_the_writer(tmp_path: Path) -> None:
    folder = make_run(tmp_path, evaluation=False, parameters="many", mfu=None, config=None, corpus=[1],
                      val_perplexity=float("nan"), init_from="/models/llama-base")
    (folder / "datasheet.json").write_text(json.dumps({"summary": {"languages": [["en", 3], "de", None]}}))
    card = write_model_card(folder, SETTINGS)
    assert "continued pre-training" in card and "/models/llama-base" in card
    assert "Not evaluated yet" in card and "1.166" in card  # the trainer's val loss, before `agora ai eval`
    assert 'language:\n- "en"\n- "de"\n' in (folder / "model" / "README.md").read_text()


def test_samples_are_fenced_as_text_whatever_they_hold() -> None:
    block = fence("a ``` b ```` c")
    assert block.startswith("`````text\n") and block.endswith("\n`````")
    assert compact(1_412_096) == "1.4 M" and compact(950) == "950" and compact(None) == "—"
    assert size(80 * 1024**2) == "80.0 MiB" and size(17 * 1024**3) == "17.0 GiB"
