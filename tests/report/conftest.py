"""Fixtures of the report tests; the hand-made records and traffic they use are in ``report_support.py``."""

from __future__ import annotations

import pytest
from report_support import make_sample


@pytest.fixture
def sample():
    return make_sample()
