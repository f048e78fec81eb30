"""The run registry: ids, listing, reading and writing run.json, promoting, and the promoted run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agora.ai import registry
from agora.ai.paths import models_dir
from agora.ai.registry import RegistryError, RunRecord
from agora.config import Settings
from tests.ai.runs import make_run


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def test_run_ids_name_the_minute_and_preset_and_never_collide(settings: Settings) -> None:
    now = datetime(2026, 12, 5, 7, 31, 40, tzinfo=UTC)
    assert registry.new_run_id("tiny", now) == "20261205-0731-tiny"
    assert registry.new_run_id("tiny", now, settings) == "20261205-0731-tiny"
    (models_dir(settings) / "20261205-0731-tiny").mkdir(parents=True)
    assert registry.new_run_id("tiny", now, settings) == "20261205-0731-tiny-2"
    (models_dir(settings) / "20261205-0731-tiny-2").mkdir()


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "a\\b", "/etc", ".hidden", "", "x" * 200, "runs/../x"])
def test_a_run_id_is_never_a_path(settings: Settings, bad: str) -> None:
    with pytest.raises(RegistryError, match="not a run id"):
        registry.run_dir(settings, bad)
    with pytest.raises(RegistryError):
        registry.promote(settings, bad)
    assert not (models_dir(settings) / "PROMOTED").exists()


def test_run_json_round_trips_and_keeps_keys_it_does_not_know(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"id": "r1", "status": "training", "future_field": [1, 2],
                                                 "steps": None}), encoding="utf-8")
    record = registry.read_run(folder)
    assert (record.id, record.status, record.steps, record.val_loss, record.config) == ("r1", "training", 0, None, {})
    record.status, record.steps = "finished", 10
    registry.write_run(folder, record)
    again = json.loads((folder / "run.json").read_text())
    assert again["status"] == "finished" and again["steps"] == 10 and again["future_field"] == [1, 2]
    assert "eval" not in again and "path" not in again
    assert [p.name for p in folder.iterdir()] == ["run.json"]  # no temporary file left behind


def test_a_damaged_run_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RegistryError, match="cannot read"):
        registry.read_run(tmp_path)
    with pytest.raises(RegistryError, match="no run"):
        registry.read_run(tmp_path / "elsewhere")


def test_runs_are_listed_newest_first_and_folders_without_run_json_skipped(settings: Settings) -> None:
    models = models_dir(settings)
    make_run(models, "old", created_at="2026-11-01T10:00:00+00:00")
    make_run(models, "new", created_at="2026-12-05T10:00:00Z")
    make_run(models, "middle", created_at="2026-11-20T10:00:00+00:00")
    (models / "checkpoint-only").mkdir()
    (models / "broken").mkdir()
    (models / "broken" / "run.json").write_text("[]", encoding="utf-8")
    assert [r.id for r in registry.list_runs(settings)] == ["new", "middle", "old"]
    assert registry.list_runs(Settings(data_dir=settings.data_dir / "nothing")) == []


def test_only_a_finished_run_with_a_saved_model_is_promoted(settings: Settings) -> None:
    models = models_dir(settings)
    make_run(models, "training", status="training")
    make_run(models, "failed", status="failed")
    make_run(models, "no-model", model=False)
    make_run(models, "good")
    for run_id, why in [("training", "is training, not finished"), ("failed", "is failed"),
                        ("no-model", "no saved model"), ("missing", "no run 'missing'")]:
        with pytest.raises(RegistryError, match=why):
            registry.promote(settings, run_id)
        assert registry.promoted(settings) is None
    assert registry.promote(settings, "good").id == "good"
    assert (models / "PROMOTED").read_text().strip() == "good"
    chosen = registry.promoted(settings)
    assert isinstance(chosen, RunRecord) and chosen.id == "good" and chosen.path == models / "good"


def test_a_promoted_run_that_was_deleted_is_no_promoted_run(settings: Settings) -> None:
    models = models_dir(settings)
    folder = make_run(models, "gone")
    registry.promote(settings, "gone")
    for file in sorted(folder.rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    folder.rmdir()
    assert registry.promoted(settings) is None
    (models / "PROMOTED").write_text("../../etc\n", encoding="utf-8")  # a hand-edited file never escapes
    assert registry.promoted(settings) is None


# --- `agora ai models | promote | card | presets`, as an operator types them ------------------------------


def ai(data_dir: Path, *args: str):
    from typer.testing import CliRunner

    from agora.cli import app

    return CliRunner().invoke(app, ["ai", *args], env={"AGORA_DATA_DIR": str(data_dir), "COLUMNS": "200"})


def test_models_says_how_to_start_when_there_are_none(tmp_path: Path) -> None:
    listed = ai(tmp_path, "models")
    assert listed.exit_code == 0
    assert "no runs yet: `agora ai corpus && agora ai train --preset tiny`" in listed.output


def test_models_lists_runs_with_figures_and_marks_the_promoted_one(settings: Settings) -> None:
    models = models_dir(settings)
    make_run(models, "20261101-0900-tiny", created_at="2026-11-01T09:00:00+00:00", val_loss=2.5, val_perplexity=12.18)
    make_run(models, "20261205-0731-tiny")
    make_run(models, "20261206-1200-small", status="training", preset="small", created_at="2026-12-06T12:00:00Z")
    promoted = ai(settings.data_dir, "promote", "20261205-0731-tiny")
    assert promoted.exit_code == 0 and "promoted 20261205-0731-tiny" in promoted.output
    listed = ai(settings.data_dir, "models")
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if "-tiny" in line or "-small" in line]
    assert ["small" in rows[0], "0731" in rows[1], "0900" in rows[2]] == [True, True, True]  # newest first
    assert "★" in rows[1] and "★" not in rows[0] + rows[2]
    assert "1.4 M" in rows[1] and "2.5 M" in rows[1] and "1.166" in rows[1] and "3.21" in rows[1]
    assert "12.18" in rows[2] and "training" in rows[0] and "2026-12-05 07:31" in rows[1]


def test_promote_refuses_unknown_unfinished_and_path_like_runs(settings: Settings) -> None:
    make_run(models_dir(settings), "busy", status="training")
    for run_id, why in [("nope", "no run 'nope'"), ("busy", "not finished"), ("../x", "not a run id")]:
        refused = ai(settings.data_dir, "promote", run_id)
        assert refused.exit_code == 1 and why in refused.output, refused.output
        assert "Traceback" not in refused.output
    assert registry.promoted(settings) is None


def test_card_rewrites_the_card_and_prints_its_path(settings: Settings) -> None:
    folder = make_run(models_dir(settings), "r1")
    written = ai(settings.data_dir, "card", "r1")
    assert written.exit_code == 0, written.output
    assert str(folder / "MODEL_CARD.md") in written.stdout
    assert "## Privacy and opt-out" in (folder / "MODEL_CARD.md").read_text()
    assert (folder / "model" / "README.md").is_file()
    assert ai(settings.data_dir, "card", "missing").exit_code == 1


def test_presets_show_sizes_and_training_memory(tmp_path: Path) -> None:
    shown = ai(tmp_path, "presets")
    assert shown.exit_code == 0, shown.output
    for name in ("tiny", "small", "base", "1b", "3b", "8b"):
        assert f" {name} " in shown.stdout
    assert "32 / 8" in shown.stdout and "GiB" in shown.stdout and "16 bytes" in shown.output
    assert "parameters × 16 bytes" in ai(tmp_path, "presets", "--help").output
