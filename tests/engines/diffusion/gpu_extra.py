"""Skip or fail modules that need torch + diffusers, depending on REELFORGE_REQUIRE_GPU_EXTRA.

Without the gpu extra a developer's run skips these modules with a reason; CI sets
``REELFORGE_REQUIRE_GPU_EXTRA=1`` so a missing extra fails collection instead of hiding tests.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

MODULES = ("torch", "diffusers", "transformers", "accelerate", "sentencepiece", "ftfy", "peft")


def require_gpu_extra() -> None:
    missing = [name for name in MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"the gpu extra is not installed (missing {', '.join(missing)})"
    if os.environ.get("REELFORGE_REQUIRE_GPU_EXTRA") == "1":
        pytest.fail(f"{reason}, and REELFORGE_REQUIRE_GPU_EXTRA=1 requires it", pytrace=False)
    pytest.skip(f"{reason}; pip install 'reelforge[gpu]' to run these", allow_module_level=True)
