"""The ``tandemd-api: active/enabled`` line and the PCSD Status section."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import FakeTransport

from tandem.api.paths import ApiPaths
from tandem.api.status import api_daemon_state, daemon_status_line, pcsd_status_section
from tandem.api.storage import Dest, KnownHost, KnownHosts


def test_inactive_disabled_when_nothing_runs(tmp_path: Path) -> None:
    paths = ApiPaths.under(tmp_path)
    assert api_daemon_state(paths, 2224, port_check=lambda _p: False) == (False, False)


def test_enabled_marker_and_pidfile(tmp_path: Path) -> None:
    paths = ApiPaths.under(tmp_path)
    paths.enabled_marker.parent.mkdir(parents=True)
    paths.enabled_marker.touch()
    paths.pidfile.parent.mkdir(parents=True)
    paths.pidfile.write_text(f"{os.getpid()}\n")  # pytest is not tandemd-api: not active
    assert api_daemon_state(paths, 2224, port_check=lambda _p: False) == (False, True)
    assert api_daemon_state(paths, 2224, port_check=lambda p: p == 2224) == (True, True)


def test_daemon_status_line_format(tmp_path: Path) -> None:
    line = daemon_status_line(ApiPaths.under(tmp_path), port=1)  # nothing listens on port 1
    assert line == "  tandemd-api: inactive/disabled"


def test_pcsd_status_section() -> None:
    kh = KnownHosts()
    kh.put(KnownHost("pcmk-1", "t", (Dest("192.0.2.101"),)))
    lines = pcsd_status_section(
        ["pcmk-1", "pcmk-2"], 2.0, kh, FakeTransport({"192.0.2.101": (200, {})})
    )
    assert lines == ["PCSD Status:", "  pcmk-1: Online", "  pcmk-2: Unauthorized"]
