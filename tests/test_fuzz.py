"""A short seeded fuzz of every user-data parser (tests/fuzzing.py): success or one ShotsmithError line, never a
traceback, never a hang, never a write outside the case's folder. `make fuzz` runs the long version."""

from __future__ import annotations

import pytest

import fuzzing


@pytest.mark.parametrize("name", list(fuzzing.targets()))
def test_target_keeps_its_promise(name):
    cases, failures = fuzzing.run_target(name, examples=fuzzing.SHORT_EXAMPLES.get(name, 40))
    assert cases > 0
    assert failures == [], failures
