"""Shared fixtures: where ../shared is (the scheduler corpus and references)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """../shared beside the checkout, or $TANDEM_SHARED.  Missing = failure, never a skip."""
    env = os.environ.get("TANDEM_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    if not (path / "pacemaker-scheduler-corpus").is_dir():
        pytest.fail(
            f"shared folder not found at {path}: put a copy of shared/ beside the checkout "
            "or set TANDEM_SHARED"
        )
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def corpus(shared: Path) -> Path:
    return shared / "pacemaker-scheduler-corpus"
