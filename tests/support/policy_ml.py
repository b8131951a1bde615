"""Skip or fail tests that need the policy-ml extra, depending on REELFORGE_REQUIRE_POLICY_ML.

Without the extra a developer's run skips the semantic-layer tests with a reason; CI installs it
and sets ``REELFORGE_REQUIRE_POLICY_ML=1``, so a missing extra fails instead of hiding them.
"""

from __future__ import annotations

import os

import pytest

from reelforge.policy.semantic import semantic_available

REASON = "the policy-ml extra is not installed (the semantic policy layer's model)"


def require_policy_ml(*, module: bool = False) -> None:
    """Return when the extra is installed; else skip (``module``: the whole module), or fail
    when ``REELFORGE_REQUIRE_POLICY_ML=1``."""
    if semantic_available():
        return
    if os.environ.get("REELFORGE_REQUIRE_POLICY_ML") == "1":
        pytest.fail(f"{REASON}, and REELFORGE_REQUIRE_POLICY_ML=1 requires it", pytrace=False)
    pytest.skip(f"{REASON}; pip install -e '.[policy-ml]' to run", allow_module_level=module)


needs_policy_ml = pytest.mark.usefixtures("policy_ml")
"""Marks a test that needs the extra (the ``policy_ml`` fixture in tests/conftest.py)."""
