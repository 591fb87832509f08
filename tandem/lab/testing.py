"""pytest helpers for lab tests of every layer.

Usage in a test module::

    import pytest
    from tandem.lab.testing import lab_fixture

    pytestmark = pytest.mark.lab
    lab3 = lab_fixture("t-mine", nodes=3)          # module-scoped by default

    def test_something(lab3):
        lab3.exec("pcmk-1", ["hostname"], check=True)

Give each test module (or helper) its own lab name so that suites running at
the same time never touch each other's lab.  The fixture removes a leftover
lab of the same name first (a previous run killed half-way), and always tears
the lab down afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tandem.lab.api import Lab


def require_root() -> None:
    """Lab tests need root (namespaces, mounts, cgroups): fail loudly, never skip silently."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (network/mount/PID namespaces, cgroups)")


def fresh_lab(name: str, **kwargs: Any) -> Lab:
    """Remove any leftover lab called ``name`` and build a new one."""
    require_root()
    lab = Lab(name, **kwargs)
    lab.down()
    return lab.up()


def lab_fixture(name: str, *, scope: str = "module", **kwargs: Any) -> Callable[..., Any]:
    """A pytest fixture yielding an up :class:`Lab` named ``name`` (torn down after)."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _lab() -> Iterator[Lab]:
        lab = fresh_lab(name, **kwargs)
        try:
            yield lab
        finally:
            lab.down()

    return _lab
