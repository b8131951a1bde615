"""``reelforge models``: list, make-tiny + verify round trip, clear failures, offline pull."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from reelforge.cli.models import models_app
from tests.engines.diffusion.gpu_extra import require_gpu_extra

runner = CliRunner()
app = typer.Typer()
app.add_typer(models_app, name="models")


def test_list_shows_presets_hub_ids_and_local_copies(tmp_path: Path) -> None:
    config = tmp_path / "reelforge.toml"
    config.write_text(
        'engine = "diffusers"\n[engine_options]\n'
        f'model_paths = {{ wan22-5b = "{tmp_path / "absent"}" }}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["models", "list", "--config", str(config)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for text in ("ltx2", "ltx2-full", "wan22-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "silent"):
        assert text in result.output
    assert f"missing: {tmp_path / 'absent'}" in result.output
    assert "sora-2 -> ltx2" in result.output


def test_make_tiny_then_verify_passes(tmp_path: Path) -> None:
    require_gpu_extra()
    directory = tmp_path / "tiny-wan"
    made = runner.invoke(app, ["models", "make-tiny", "wan", str(directory)])
    assert made.exit_code == 0, made.output
    assert (directory / "model_index.json").is_file()

    verified = runner.invoke(app, ["models", "verify", str(directory)])
    assert verified.exit_code == 0, verified.output
    assert "text-to-video: 96 frames at 1280x720, audio silent" in verified.output
    assert "image-to-video" in verified.output
    assert f"OK: {directory}" in verified.output


def test_verify_reports_what_failed(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    broken = shutil.copytree(tiny_checkpoints["ltx2"], tmp_path / "ltx2")
    shutil.rmtree(broken / "vocoder")
    result = runner.invoke(app, ["models", "verify", str(broken)])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "vocoder" in result.output


def test_verify_rejects_a_folder_of_another_pipeline(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "FluxPipeline"}')
    result = runner.invoke(app, ["models", "verify", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds a FluxPipeline pipeline" in result.output


def test_pull_without_hub_access_explains_what_to_do(tmp_path: Path) -> None:
    require_gpu_extra()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    code = "import sys; from reelforge.cli.models import models_app; models_app(sys.argv[1:])"
    result = subprocess.run(
        [sys.executable, "-c", code, "pull", "wan22-5b", "--to", str(tmp_path / "wan")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "could not download Wan-AI/Wan2.2-TI2V-5B-Diffusers" in result.stderr
    assert "engine_options.model_paths.wan22-5b" in " ".join(result.stderr.split())


def test_unknown_preset_is_a_usage_error() -> None:
    result = runner.invoke(app, ["models", "pull", "sora"])
    assert result.exit_code == 2
    assert "unknown preset 'sora'" in result.output
