"""Shared test settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from oms_sourcing.allocation.problem import check_problem_shapes

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "thorough", max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# HYPOTHESIS_PROFILE=thorough for a long hunt; CI gets more examples than a quick local run.
default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or default)

# Every AllocationProblem built by a test checks its arrays' shapes (production skips it).
check_problem_shapes(True)
