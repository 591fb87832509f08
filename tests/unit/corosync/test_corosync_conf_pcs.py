"""corosync.conf as Debian's pcs 0.11.5 writes it: pcs itself is the oracle.

pcs needs no root and no cluster for ``cluster setup ... --corosync_conf
FILE`` (scripts/setup.sh installs it); a missing pcs is a failure, not a skip.
Only the random cluster_uuid is normalised.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tandem.corosync.conf import CorosyncConf, parse_setup_argv, render

CASES = [
    "mycluster pcmk-1 addr=192.0.2.101 pcmk-2 addr=192.0.2.102",
    "c3 pcmk-1 addr=192.0.2.101 pcmk-2 addr=192.0.2.102 pcmk-3 addr=192.0.2.103"
    " totem token=1000 consensus=1200",
    "c3q n1 addr=192.0.2.1 n2 addr=192.0.2.2 n3 addr=192.0.2.3"
    " quorum wait_for_all=1 last_man_standing=1",
    "c2 a addr=10.0.0.1 addr=10.0.1.1 b addr=10.0.0.2 addr=10.0.1.2 transport knet"
    " ip_version=ipv4 link_mode=passive link linknumber=1 link_priority=2"
    " link ping_interval=100 ping_timeout=200 compression level=5 model=zlib"
    " crypto cipher=aes128 hash=sha512 quorum auto_tie_breaker=1 wait_for_all=1",
    "c2u a addr=10.0.0.1 b addr=10.0.0.2 transport udpu link mcastport=5405"
    " totem token=5000 quorum wait_for_all=0",
    "c2n a addr=10.0.0.1 b addr=10.0.0.2 transport knet crypto cipher=none hash=none",
    "single pcmk-1 addr=192.0.2.101",
]

UUID_RE = re.compile(r"(cluster_uuid: )[0-9a-f]{32}")


# Runs pcs's own entry point once per job inside ONE interpreter: each pcs
# start costs one to three seconds of imports on a loaded machine.  pcs.app.main
# resets its global options on every call.
PCS_DRIVER = r"""
import json, sys
from pcs.app import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code:
            sys.exit(f"pcs {' '.join(argv)} exited with {exc.code}")
"""


@pytest.fixture(scope="module")
def pcs_outputs(tmp_path_factory) -> dict[tuple[str, bool], str]:
    """pcs's corosync.conf for every case, without uuid, and with one for the first two."""
    pcs = shutil.which("pcs")
    assert pcs, "pcs is not installed: run scripts/setup.sh (Debian package pcs)"
    with open(pcs) as fh:
        interpreter = fh.readline()[2:].split()[0]  # '#!/usr/bin/python3 -Es'
    tmp = tmp_path_factory.mktemp("pcs")
    jobs: dict[tuple[str, bool], Path] = {}
    argvs = []
    for n, case in enumerate(CASES):
        for uuid in (False, True) if n < 2 else (False,):
            out = tmp / f"{n}-{uuid}.conf"
            jobs[(case, uuid)] = out
            extra = [] if uuid else ["--no-cluster-uuid"]
            argvs.append(["cluster", "setup", *case.split(), "--corosync_conf", str(out), *extra])
    proc = subprocess.run(
        [interpreter, "-Es", "-c", PCS_DRIVER, json.dumps(argvs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return {key: out.read_text() for key, out in jobs.items()}


@pytest.mark.parametrize("case", CASES)
def test_same_bytes_as_pcs_without_uuid(case: str, pcs_outputs) -> None:
    expected = pcs_outputs[(case, False)]
    spec = parse_setup_argv(case.split())
    spec.no_cluster_uuid = True
    assert render(spec) == expected


@pytest.mark.parametrize("case", CASES[:2])
def test_same_bytes_as_pcs_with_uuid_normalised(case: str, pcs_outputs) -> None:
    expected = pcs_outputs[(case, True)]
    assert UUID_RE.search(expected), "pcs wrote no cluster_uuid"
    mine = render(parse_setup_argv(case.split()))
    assert UUID_RE.search(mine)
    assert UUID_RE.sub(r"\1X", mine) == UUID_RE.sub(r"\1X", expected)


def test_pcs_output_parses_back(pcs_outputs) -> None:
    text = pcs_outputs[(CASES[1], True)]
    conf = CorosyncConf.from_text(text)
    assert conf.cluster_name == "c3"
    assert [(n.nodeid, n.name, n.addrs) for n in conf.nodes()] == [
        (1, "pcmk-1", ("192.0.2.101",)),
        (2, "pcmk-2", ("192.0.2.102",)),
        (3, "pcmk-3", ("192.0.2.103",)),
    ]
    assert (conf.token, conf.consensus, conf.two_node) == (1000, 1200, False)
    assert conf.export() == text
