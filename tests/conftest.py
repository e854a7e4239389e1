"""Shared test set-up: deterministic seeds, a hypothesis profile that fits a 2-core laptop, and the
throwaway PostgreSQL server fixtures (tests/pg_server.py), one server per session."""
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from tests.pg_server import postgres_server, postgres_url  # noqa: F401 (fixtures)

settings.register_profile(
    "course",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("course")


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a pinned dependency
        return
    torch.manual_seed(0)
