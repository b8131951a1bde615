"""The ``diffusers`` engine: open video models (LTX-2, Wan2.2-TI2V-5B) on the operator's GPUs.

``load()`` reads every checkpoint the configured presets need, once per worker process;
``generate()`` plans a legal generation shape, runs the preset's recipe with progress and
cancellation through ``callback_on_step_end``, then fits the result to the contract exactly:
1280x720 / 720x1280, 24*s frames, audio as long as the video. Torch and diffusers are imported
only inside ``load()``/``generate()`` so the CLI starts without the gpu extra.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from reelforge.domain.errors import EngineError, EngineLoadError, JobInterrupted
from reelforge.domain.limits import ALLOWED_SECONDS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, JobControl, VideoClip
from reelforge.engines.diffusion.failures import (
    as_engine_error,
    free_accelerator_memory,
    is_out_of_memory,
)
from reelforge.engines.diffusion.geometry import (
    condition_image,
    fit_audio,
    fit_frame,
    plan_generation,
    silence,
)
from reelforge.engines.diffusion.options import DiffusersOptions, parse_options
from reelforge.engines.diffusion.presets import Preset
from reelforge.engines.diffusion.progress import ProgressTracker
from reelforge.engines.diffusion.quality import quality_caveat
from reelforge.engines.diffusion.sizes import gib

if TYPE_CHECKING:
    from reelforge.core.config import Settings
    from reelforge.engines.diffusion.geometry import GenerationPlan
    from reelforge.engines.diffusion.loading import LoadedModel
    from reelforge.engines.diffusion.plan import MemoryPlan
    from reelforge.engines.diffusion.runners import RawOutput, RunRequest

log = logging.getLogger(__name__)


class DiffusersEngine:
    """Runs LTX-2 / Wan2.2 pipelines from diffusers; one instance per worker process."""

    name = "diffusers"

    def __init__(self, options: DiffusersOptions) -> None:
        self.options = options
        self._models: dict[str, LoadedModel] = {}
        # Pipelines keep per-call state (scheduler timesteps, offload hooks): one run at a time.
        # Worker slots beyond one therefore queue here; they still overlap the MP4 encode.
        self._run_lock = threading.Lock()
        # Worker slots, a retry and generate() may all ask for the load: it happens once.
        self._load_lock = threading.Lock()
        self.plan: MemoryPlan | None = None
        """The memory plan the last load checked (``reelforge.engines.diffusion.plan``)."""

    def load(self) -> None:
        """Load every preset in use, once per process and under a lock.

        The memory plan is checked first: a configuration that cannot fit is refused before any
        weight is read. Every failure - a missing file, a refused plan, CUDA out of memory while
        moving weights - is an ``EngineLoadError`` that says what to fix, and leaves nothing
        half-loaded behind.
        """
        with self._load_lock:
            if all(p.name in self._models for p in self.options.presets_in_use()):
                return
            try:
                self._load_presets()
                if self.options.compile and self.options.compile_warmup:
                    self.warm_up()  # inside the lock: no job runs before every graph exists
            except BaseException as exc:
                self._forget_partial_load()
                if isinstance(exc, EngineLoadError) or not isinstance(exc, Exception):
                    raise
                raise load_failure(exc, self._names(), self.plan) from exc

    def _load_presets(self) -> None:
        from reelforge.engines.diffusion.loading import (
            SharedModules,
            load_model,
            require_gpu_extra,
            resolve_checkpoint,
            resolve_device,
        )
        from reelforge.engines.diffusion.plan import available_memory, check_plan

        require_gpu_extra()
        device = resolve_device(self.options.device)
        self.plan = check_plan(self.options, device)
        available = available_memory(self.options, device)
        log.info(
            "memory plan: %s; %s available on %s",
            self.plan.summary(),
            "unknown" if available is None else gib(available),
            device,
        )
        shared: SharedModules = {}
        by_checkpoint: dict[str, LoadedModel] = {}
        for preset in self.options.presets_in_use():
            # Same folder, same recipe needs: one LoadedModel. A distilled and a full preset on
            # one folder get two (one has the upsampler) that share every module via ``shared``.
            directory = resolve_checkpoint(preset, self.options)
            two_stage = preset.two_stage_recipe and self.options.two_stage
            lora = preset.stage2_lora if two_stage else None
            key = f"{preset.family}:{directory}:{two_stage}:{lora}"
            if key not in by_checkpoint:
                by_checkpoint[key] = load_model(preset, self.options, shared)
            self._models[preset.name] = by_checkpoint[key]

    def _forget_partial_load(self) -> None:
        """Drop whatever a failed load built, and hand its device memory back."""
        from reelforge.engines.diffusion.loading import resolve_device

        self._models.clear()
        try:
            device = resolve_device(self.options.device)
        except EngineLoadError:
            device = None
        free_accelerator_memory(device)

    def _names(self) -> str:
        return " + ".join(preset.name for preset in self.options.presets_in_use())

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
        if self.plan is not None:
            facts["memory_plan"] = gib(self.plan.total_bytes)
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
        caveat = quality_caveat(preset, run_request.plan)
        if caveat:
            control.log(caveat)
        # 3. run the recipe; failures free the GPU and leave the process usable
        raw = self._run(model, run_request, control)
        # 4. fit frames and audio to the contract exactly
        clip = self._clip(request, preset, run_request.plan, raw, model)
        if caveat:
            clip.metadata["quality_caveat"] = caveat
        return clip

    def warm_up(self) -> int:
        """Run one 1-step job per preset, duration and mode (text, image); return the count.

        With ``compile`` this builds every graph jobs need before the first job, instead of
        making the first job of each shape wait minutes. Portrait needs no run of its own: it
        has the same token count, so the compiled blocks see the same shapes.
        """
        from reelforge.engines.diffusion.speed import allow_compiled_graphs

        allow_compiled_graphs()
        runs = 0
        for preset in self.options.presets_in_use():
            model = self._models.get(preset.name)
            if model is None:
                continue
            for seconds in ALLOWED_SECONDS:
                spec = GenerationSpec.build("warm-up", seconds=seconds, seed=0)
                gray = np.full((spec.height, spec.width, 3), 128, dtype=np.uint8)
                for first_frame in (None, gray):
                    request = EngineRequest(spec, first_frame)
                    self._run(model, self._run_request(model, preset, request, 1), _Quiet())
                    runs += 1
        return runs

    def _run_request(
        self, model: LoadedModel, preset: Preset, request: EngineRequest, steps: int = 0
    ) -> RunRequest:
        """The legal generation shape for ``request`` and its conditioning image (if any)."""
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
            image = condition_image(Image.fromarray(request.first_frame), plan)
        return RunRequest(
            preset,
            steps or self.options.steps_for(preset),
            plan,
            spec.prompt,
            spec.seed,
            image,
            frames_on_device=self.options.frames_on_device,
            reuse_prompt_embeds=self.options.reuse_prompt_embeds,
        )

    def _run(self, model: LoadedModel, request: RunRequest, control: JobControl) -> RawOutput:
        from reelforge.engines.diffusion.runners import plan_stages, run

        tracker = ProgressTracker(control, plan_stages(model, request))
        # The memory of a failed run is released before the lock is: the next job must not
        # start while the stopped one still holds its latents.
        with self._run_lock:
            try:
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


class _Quiet:
    """The control of warm-up runs: nobody watches them and nothing stops them."""

    def step(self, done: float, total: float, stage: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def _release(exc: BaseException, model: LoadedModel) -> None:
    """Free what the interrupted pipeline held: its frames' locals pin latents on the GPU."""
    traceback.clear_frames(exc.__traceback__)
    free_accelerator_memory(model.device)


def load_failure(exc: Exception, names: str, plan: MemoryPlan | None) -> EngineLoadError:
    """Any exception out of a load as one ``EngineLoadError`` line; OOM gets the plan and fixes."""
    if is_out_of_memory(exc):
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        planned = f" (the plan: {plan.summary()})" if plan is not None else ""
        return EngineLoadError(
            f"loading {names} ran out of accelerator memory: {first_line}{planned}; fixes: "
            "serve fewer presets, cpu_offload = 'model', fp8 = true, or a GPU with more memory"
        )
    return EngineLoadError(f"loading {names} failed: {type(exc).__name__}: {exc}")


def create_engine(settings: Settings) -> DiffusersEngine:
    """Build (not load) the engine; invalid ``engine_options`` raise ``ConfigError`` here."""
    return DiffusersEngine(parse_options(settings.engine_options))
