"""The ``diffusers`` engine: open video models (LTX-2, Wan2.2-TI2V-5B) on the operator's GPUs.

``load()`` reads every checkpoint the configured presets need, once per worker process;
``generate()`` plans a legal generation shape, runs the preset's recipe with progress and
cancellation through ``callback_on_step_end``, then fits the result to the contract exactly:
1280x720 / 720x1280, 24*s frames, audio as long as the video. Torch and diffusers are imported
only inside ``load()``/``generate()`` so the CLI starts without the gpu extra.
"""

from __future__ import annotations

import threading
import traceback
from typing import TYPE_CHECKING

from PIL import Image

from reelforge.domain.errors import EngineError, JobInterrupted
from reelforge.engines.base import EngineRequest, JobControl, VideoClip
from reelforge.engines.diffusion.failures import as_engine_error, free_accelerator_memory
from reelforge.engines.diffusion.geometry import (
    fit_audio,
    fit_frame,
    fit_image,
    plan_generation,
    silence,
)
from reelforge.engines.diffusion.options import DiffusersOptions, parse_options
from reelforge.engines.diffusion.presets import Preset
from reelforge.engines.diffusion.progress import ProgressTracker

if TYPE_CHECKING:
    from reelforge.core.config import Settings
    from reelforge.engines.diffusion.geometry import GenerationPlan
    from reelforge.engines.diffusion.loading import LoadedModel
    from reelforge.engines.diffusion.runners import RawOutput, RunRequest


class DiffusersEngine:
    """Runs LTX-2 / Wan2.2 pipelines from diffusers; one instance per worker process."""

    name = "diffusers"

    def __init__(self, options: DiffusersOptions) -> None:
        self.options = options
        self._models: dict[str, LoadedModel] = {}
        # Pipelines keep per-call state (scheduler timesteps, offload hooks): one run at a time.
        # Worker slots beyond one therefore queue here; they still overlap the MP4 encode.
        self._run_lock = threading.Lock()

    def load(self) -> None:
        """Load each checkpoint in use once (presets sharing a checkpoint share weights)."""
        from reelforge.engines.diffusion.loading import (
            load_model,
            require_gpu_extra,
            resolve_checkpoint,
        )

        require_gpu_extra()
        by_directory: dict[str, LoadedModel] = {}
        for preset in self.options.presets_in_use():
            if preset.name in self._models:
                continue
            key = f"{preset.family}:{resolve_checkpoint(preset, self.options)}"
            if key not in by_directory:
                by_directory[key] = load_model(preset, self.options)
            self._models[preset.name] = by_directory[key]

    def adopt(self, preset_name: str, model: LoadedModel) -> None:
        """Serve ``preset_name`` with an already-built model (benchmarks, embedding)."""
        self.options.preset_for_model(preset_name)  # unknown names fail like options do
        self._models[preset_name] = model

    def describe(self) -> dict[str, str]:
        preset = self.options.preset_for_model("")
        facts = {
            "engine": self.name,
            "preset": preset.name,
            "presets": ",".join(preset.name for preset in self.options.presets_in_use()),
            "model": self.options.source_for(preset),
            "audio": "native" if preset.has_audio else "silent",
            "is_test_engine": "false",
            "loaded": str(bool(self._models)).lower(),
        }
        model = self._models.get(preset.name)
        if model is not None:
            facts |= {
                "model": model.source,
                "device": str(model.device),
                "dtype": str(model.dtype).removeprefix("torch."),
            }
        else:
            facts |= {"device": self.options.device, "dtype": self.options.dtype}
        return facts

    def generate(self, request: EngineRequest, control: JobControl) -> VideoClip:
        spec = request.spec
        # 1. pick the preset for the requested model name and its loaded checkpoint
        preset = self.options.preset_for_model(spec.model)
        if preset.name not in self._models:
            self.load()
        model = self._models[preset.name]
        # 2. plan a legal generation shape and the input image at that size
        run_request = self._run_request(model, preset, request)
        # 3. run the recipe; failures free the GPU and leave the process usable
        raw = self._run(model, run_request, control)
        # 4. fit frames and audio to the contract exactly
        return self._clip(request, preset, run_request.plan, raw, model)

    def _run_request(
        self, model: LoadedModel, preset: Preset, request: EngineRequest
    ) -> RunRequest:
        from reelforge.engines.diffusion.runners import RunRequest, size_multiple, temporal_ratio

        spec = request.spec
        override = None
        if self.options.gen_width is not None and self.options.gen_height is not None:
            override = (self.options.gen_width, self.options.gen_height)
        try:
            plan = plan_generation(
                spec,
                size_multiple(model, preset),
                temporal_ratio(model),
                self.options.frame_stride,
                override,
            )
        except ValueError as exc:
            raise EngineError(f"{preset.name}: {exc}") from None
        image = None
        if request.first_frame is not None:
            image = fit_image(Image.fromarray(request.first_frame), plan.width, plan.height)
        steps = self.options.steps_for(preset)
        return RunRequest(preset, steps, plan, spec.prompt, spec.seed, image)

    def _run(self, model: LoadedModel, request: RunRequest, control: JobControl) -> RawOutput:
        from reelforge.engines.diffusion.runners import plan_stages, run

        tracker = ProgressTracker(control, plan_stages(model, request))
        try:
            with self._run_lock:
                raw = run(model, request, tracker)
        except JobInterrupted as exc:
            _release(exc, model)
            raise
        except Exception as exc:
            error = as_engine_error(exc, request.preset.name)
            _release(exc, model)
            raise error from None
        tracker.finished()
        return raw

    def _clip(
        self,
        request: EngineRequest,
        preset: Preset,
        plan: GenerationPlan,
        raw: RawOutput,
        model: LoadedModel,
    ) -> VideoClip:
        from reelforge.engines.diffusion.geometry import deliver_frames

        first = None
        if request.first_frame is not None and self.options.first_frame == "input":
            first = fit_frame(request.first_frame, plan.target_width, plan.target_height)
        if raw.audio is not None and raw.sample_rate is not None:
            sample_rate = raw.sample_rate
            audio = fit_audio(raw.audio, sample_rate, plan.seconds)
        else:
            audio = silence(plan.seconds)
            sample_rate = audio.shape[1] // plan.seconds
        return VideoClip(
            frames=deliver_frames(raw.frames, plan, first),
            frame_count=plan.target_frames,
            fps=round(plan.frame_rate * plan.frame_stride),
            audio=audio,
            sample_rate=sample_rate,
            metadata={
                "engine": self.name,
                "preset": preset.name,
                "model": self.options.source_for(preset),
                "audio": "native" if preset.has_audio else "silent",
                "generated_size": f"{plan.width}x{plan.height}",
                "generated_frames": str(plan.num_frames),
                "seed": str(request.spec.seed),
            },
        )


def _release(exc: BaseException, model: LoadedModel) -> None:
    """Free what the interrupted pipeline held: its frames' locals pin latents on the GPU."""
    traceback.clear_frames(exc.__traceback__)
    free_accelerator_memory(model.device)


def create_engine(settings: Settings) -> DiffusersEngine:
    """Build (not load) the engine; invalid ``engine_options`` raise ``ConfigError`` here."""
    return DiffusersEngine(parse_options(settings.engine_options))
