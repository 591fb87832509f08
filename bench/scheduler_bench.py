"""Time ``tandem simulate -x FILE -s`` against Pacemaker's ``crm_simulate -x FILE -s -Q``.

Why: the scheduler runs on every cluster event; it must be no slower than
Pacemaker's on large clusters (the project aims at a tenth of its time).
For each size (nodes x resources) and state (steady: everything running;
fresh: nothing running yet) this generates a CIB with bench/gen_cib.py,
times both tools on the same file in the same run, prints the ratio and
checks that every allocation score agrees.  Timings are reported, never
asserted (this is a benchmark, not a test).

    python bench/scheduler_bench.py                          # all sizes
    python bench/scheduler_bench.py --sizes 8x200,16x1000    # some sizes
    python bench/scheduler_bench.py --skip-crm-above 1000    # no crm_simulate past 1000 resources

crm_simulate 2.1.5 takes about 175 s on 32x2000 fresh: use --skip-crm-above
for a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gen_cib  # noqa: E402

DEFAULT_SIZES = "8x200,16x1000,32x2000"
SCORE_RE = re.compile(r"pcmk__primitive_assign: (\S+) allocation score on (\S+): (\S+)\s*$")


@dataclass
class Row:
    size: str
    state: str
    gen_s: float
    file_mb: float
    tandem_s: float | None = None
    tandem_cpu_s: float | None = None
    tandem_error: str | None = None
    crm_s: float | None = None
    crm_cpu_s: float | None = None
    crm_error: str | None = None
    scores: int = 0
    mismatches: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.tandem_s is None or not self.crm_s:
            return None
        return self.tandem_s / self.crm_s

    @property
    def cpu_ratio(self) -> float | None:
        if self.tandem_cpu_s is None or not self.crm_cpu_s:
            return None
        return self.tandem_cpu_s / self.crm_cpu_s


def parse_scores(text: str) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        m = SCORE_RE.search(line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(3)
    return out


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(
    cmd: list[str], env: dict[str, str], timeout: float
) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds, result): CPU time is what counts on a busy machine."""
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return time.perf_counter() - t0, _children_cpu() - c0, proc


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return "(no output)"


def run_one(
    nodes: int,
    resources: int,
    state: str,
    workdir: Path,
    crm: str | None,
    tandem_cmd: list[str],
    timeout: float,
) -> Row:
    path = workdir / f"{nodes}x{resources}-{state}.xml"
    t0 = time.perf_counter()
    gen_cib.write(nodes, resources, state, path)
    row = Row(
        size=f"{nodes}x{resources}",
        state=state,
        gen_s=time.perf_counter() - t0,
        file_mb=path.stat().st_size / 1e6,
    )
    env = {**os.environ, "LC_ALL": "C", "CIB_shadow_dir": str(workdir)}
    ours: dict[tuple[str, str], str] = {}
    try:
        secs, cpu, proc = timed([*tandem_cmd, "simulate", "-x", str(path), "-s"], env, timeout)
        if proc.returncode == 0:
            row.tandem_s, row.tandem_cpu_s = secs, cpu
            ours = parse_scores(proc.stdout)
        else:
            row.tandem_error = f"exit {proc.returncode}: {first_line(proc.stderr or proc.stdout)}"
    except subprocess.TimeoutExpired:
        row.tandem_error = f"timed out after {timeout:g} s"
    if crm is None:
        return row
    try:
        secs, cpu, proc = timed([crm, "-x", str(path), "-s", "-Q"], env, timeout)
        if proc.returncode == 0:
            row.crm_s, row.crm_cpu_s = secs, cpu
            theirs = parse_scores(proc.stdout)
            row.scores = len(theirs)
            if row.tandem_s is not None:
                keys = sorted(set(theirs) | set(ours))
                bad = [k for k in keys if theirs.get(k) != ours.get(k)]
                row.mismatches = len(bad)
                row.examples = [
                    f"{r} on {n}: tandem {ours.get((r, n))} crm_simulate {theirs.get((r, n))}"
                    for r, n in bad[:5]
                ]
        else:
            row.crm_error = f"exit {proc.returncode}: {first_line(proc.stderr or proc.stdout)}"
    except subprocess.TimeoutExpired:
        row.crm_error = f"timed out after {timeout:g} s"
    return row


def fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def print_row(row: Row) -> None:
    agree = "-"
    if row.crm_s is not None and row.tandem_s is not None:
        agree = "all" if row.mismatches == 0 else f"{row.mismatches} differ"
    ratio = "-" if row.ratio is None else f"{row.ratio:.3f}"
    cpu_ratio = "-" if row.cpu_ratio is None else f"{row.cpu_ratio:.3f}"
    print(
        f"{row.size:>9} {row.state:>6} {row.file_mb:7.1f}MB {fmt(row.gen_s):>8} "
        f"{fmt(row.tandem_s):>9} {fmt(row.crm_s):>9} {ratio:>7} "
        f"{fmt(row.tandem_cpu_s):>9} {fmt(row.crm_cpu_s):>9} {cpu_ratio:>7} "
        f"{row.scores:>7} {agree:>10}",
        flush=True,
    )
    for what, err in (("tandem", row.tandem_error), ("crm_simulate", row.crm_error)):
        if err:
            print(f"    {what}: {err}", flush=True)
    for ex in row.examples:
        print(f"    score differs: {ex}", flush=True)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        n, _, r = part.strip().partition("x")
        sizes.append((int(n), int(r)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="tandem simulate vs crm_simulate timings")
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"NODESxRESOURCES,... ({DEFAULT_SIZES})")
    ap.add_argument("--states", default="steady,fresh")
    ap.add_argument(
        "--skip-crm-above",
        type=int,
        default=None,
        metavar="N",
        help="do not run crm_simulate on sizes with more than N resources",
    )
    ap.add_argument("--no-crm", action="store_true", help="never run crm_simulate")
    ap.add_argument("--crm-simulate", default=shutil.which("crm_simulate"))
    ap.add_argument(
        "--tandem",
        default=f"{sys.executable} -m tandem.cli.main",
        help="command that runs tandem (default: this Python, -m tandem.cli.main)",
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="per run, seconds")
    ap.add_argument("--workdir", default=None, help="keep the generated CIBs here")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)

    crm = None if args.no_crm else args.crm_simulate
    if crm is None and not args.no_crm:
        print("crm_simulate not found: timing tandem only", flush=True)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(
            f"{'size':>9} {'state':>6} {'file':>9} {'generate':>8} {'tandem':>9} "
            f"{'crm_sim':>9} {'ratio':>7} {'t_cpu':>9} {'crm_cpu':>9} {'cpu_rt':>7} "
            f"{'scores':>7} {'agree':>10}",
            flush=True,
        )
        rows = []
        for nodes, resources in parse_sizes(args.sizes):
            for state in args.states.split(","):
                use_crm = crm
                if args.skip_crm_above is not None and resources > args.skip_crm_above:
                    use_crm = None
                row = run_one(
                    nodes, resources, state, workdir, use_crm, args.tandem.split(), args.timeout
                )
                print_row(row)
                rows.append(row)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [{**asdict(r), "ratio": r.ratio, "cpu_ratio": r.cpu_ratio} for r in rows], indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
