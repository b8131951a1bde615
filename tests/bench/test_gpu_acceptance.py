"""``python -m bench.gpu.acceptance``: the tiny CPU run of the GPU acceptance, as CI runs it.

The same flow as on a GPU (memory plan, random-weight build of the default configuration,
a real worker on SQLite and local blobs, one text- and one image-to-video job per preset in
use, probed MP4s), with tiny pipelines on CPU.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engines.diffusion.gpu_extra import require_gpu_extra
from tests.support.settings import REPO_ROOT

require_gpu_extra()

MODES = ("text-to-video", "image-to-video")


def run_acceptance(*args: str, timeout: float = 840) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("REELFORGE_")}
    env.pop("OUT", None)
    env |= {"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bench.gpu.acceptance", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def presets_in_use() -> list[str]:
    from reelforge.engines.diffusion.options import DiffusersOptions

    return [preset.name for preset in DiffusersOptions().presets_in_use()]


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_tiny_acceptance_runs_every_default_preset_through_the_worker(tmp_path: Path) -> None:
    out = tmp_path / "results" / "acceptance.json"

    result = run_acceptance("--tiny", "--out", str(out))

    assert result.returncode == 0, output(result)
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert [check for check in report["checks"] if not check["passed"]] == []
    steps = report["steps"]
    assert steps["plan"]["presets"] == presets_in_use()
    assert steps["plan"]["total_gib"] > steps["plan"]["weights_gib"] > 0
    assert steps["worker"]["ready"] is True
    warm_up = steps["warm_up"]["engine_s"]
    assert sorted(warm_up) == sorted(presets_in_use()) and min(warm_up.values()) > 0
    jobs = steps["jobs"]["jobs"]
    assert [(job["preset"], job["mode"]) for job in jobs] == [
        (preset, mode) for preset in presets_in_use() for mode in MODES
    ]
    for job in jobs:
        assert job["status"] == "completed", job
        assert (job["width"], job["height"], job["frame_count"]) == (1280, 720, 96)
        assert job["duration_s"] == 4.0 and job["audio"].startswith("aac 2 ch")
        assert job["tags"]["preset"] == job["preset"]
        assert job["job_wall_s"] >= job["engine_s"] > 0
    # progress lines carry the time of day and the seconds since the start
    assert re.search(r"^\[\d\d:\d\d:\d\d \+ *\d+\.\ds\] job ", result.stdout, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_exhausted_budget_skips_jobs_and_still_leaves_the_figures(tmp_path: Path) -> None:
    out = tmp_path / "acceptance.json"

    result = run_acceptance("--tiny", "--out", str(out), "--budget-s", "0")

    assert result.returncode == 1, output(result)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["passed"] is False
    assert {"environment", "plan", "build", "worker", "warm_up", "jobs"} <= set(report["steps"])
    assert set(report["steps"]["warm_up"]["engine_s"].values()) == {"skipped: time budget"}
    jobs = report["steps"]["jobs"]["jobs"]
    assert jobs and all(job["status"] == "skipped" for job in jobs)
    assert "time budget" in jobs[0]["error"]
    failed = {check["name"] for check in report["checks"] if not check["passed"]}
    assert failed == {"every job ran", "within the time budget"}


def test_without_a_gpu_the_full_run_stops_at_once_and_says_why(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible: the full run would start")
    out = tmp_path / "acceptance.json"

    result = run_acceptance("--out", str(out), timeout=120)

    assert result.returncode == 2
    assert "no CUDA GPU" in result.stderr and "--tiny" in result.stderr
    assert not out.exists()
