"""Engine options: defaults, model-name mapping, and one clear line for each mistake."""

from __future__ import annotations

from typing import Any

import pytest

from reelforge.core.config import Settings
from reelforge.domain.errors import ConfigError
from reelforge.engines.base import create_engine as create_any_engine
from reelforge.engines.diffusion.options import parse_options
from reelforge.engines.diffusion.presets import PRESETS


def test_defaults_map_sora_names_to_one_checkpoint_that_fits_80_gb() -> None:
    options = parse_options({})
    assert options.preset_for_model("sora-2").name == "ltx2"
    assert options.preset_for_model("sora-2-pro").name == "ltx2"
    assert options.preset_for_model("anything-else").name == "ltx2"
    assert [preset.name for preset in options.presets_in_use()] == ["ltx2"]
    assert options.source_for(PRESETS["ltx2"]) == PRESETS["ltx2"].hub_id
    assert options.steps_for(PRESETS["ltx2-full"]) == 30


def test_overrides_apply_per_preset() -> None:
    options = parse_options(
        {
            "preset": "wan22-5b",
            "models": {"sora-2": "wan22-5b"},
            "model_paths": {"wan22-5b": "/models/wan"},
            "steps": {"wan22-5b": 30},
        }
    )
    wan = options.preset_for_model("sora-2")
    assert wan.name == "wan22-5b" and not wan.has_audio
    assert options.source_for(wan) == "/models/wan"
    assert options.steps_for(wan) == 30
    assert [preset.name for preset in options.presets_in_use()] == ["wan22-5b"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"preset": "sora"}, "preset: unknown preset 'sora'; use one of ltx2, ltx2-full, wan22-5b"),
        ({"models": {"sora-2": "wan"}}, "models: unknown preset 'wan'"),
        ({"dtype": "int8"}, "engine_options.dtype"),
        ({"device": "gpu0"}, "device 'gpu0' is not one of auto, cpu, cuda, cuda:N, mps"),
        ({"attention_backend": "flash_hub"}, "downloads kernels at run time"),
        ({"frame_stride": 5}, "frame_stride 5 must divide 24"),
        ({"gen_width": 64}, "gen_width and gen_height must be set together"),
        ({"steps": {"ltx2": 0}}, "steps: every value must be at least 1"),
        ({"cpu_offload": "yes"}, "engine_options.cpu_offload"),
        ({"prest": "ltx2"}, "engine_options.prest: Extra inputs are not permitted"),
    ],
)
def test_invalid_options_raise_one_clear_line(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options(raw)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith("invalid diffusers option")


def test_create_engine_validates_options_without_loading() -> None:
    settings = Settings(engine="diffusers", engine_options={"preset": "nope"})
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        create_any_engine(settings)
    engine = create_any_engine(Settings(engine="diffusers"))
    facts = engine.describe()
    assert facts["engine"] == "diffusers" and facts["preset"] == "ltx2"
    assert facts["loaded"] == "false" and facts["audio"] == "native"


def test_modules_import_without_torch() -> None:
    """The CLI must start fast and without the gpu extra: no torch at import time."""
    import subprocess
    import sys

    code = (
        "import sys, reelforge.engines.diffusers_engine, reelforge.cli.models;"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_load_without_the_gpu_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from reelforge.domain.errors import EngineLoadError

    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError
    engine = create_any_engine(Settings(engine="diffusers"))
    with pytest.raises(EngineLoadError) as caught:
        engine.load()
    assert "diffusers" in str(caught.value)
    assert "install the gpu extra: pip install 'reelforge[gpu]'" in str(caught.value)
