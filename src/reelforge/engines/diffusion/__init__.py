"""The diffusers engine's parts, one concept per module (torch is imported only inside calls).

options.py   DiffusersOptions, parsed from Settings.engine_options (ConfigError on mistakes)
presets.py   named recipes: ltx2 (distilled, default), ltx2-full, wan22-5b (silent)
geometry.py  legal generation sizes / frame counts; fitting frames and audio to the contract
loading.py   dependency checks, local dir or hub cache, device/dtype/offload/tiling/compile,
             the latent upsampler (required for two stages), modules shared between presets
plan.py      the memory plan: components counted on the meta device, checked before any load
configs/     the released checkpoints' architecture configs (plans without a download)
sizes.py     memory sizes as written (80GiB) and printed
runners.py   the LTX-2 (one- or two-stage) and Wan2.2 pipeline calls; frames off the device
speed.py     optional levers applied at load (fp8 through torchao)
quality.py   caveats for clips beyond a model's trained length (Wan2.2 past 5 s)
progress.py  weighted progress across stages; cancellation raised from the step callback
failures.py  OOM and other pipeline errors -> EngineError; freeing GPU memory afterwards
tiny.py      tiny random pipelines of the real classes, built offline (tests, make-tiny)
verify.py    load a checkpoint through the engine and run one tiny job (models verify)
"""
