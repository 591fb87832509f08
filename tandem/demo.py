"""The main demo (``bash scripts/demo.sh``).

Until the lab runs the walkthrough for real, the demo prints what the
scheduler decides for the walkthrough's cluster: ``tandem simulate`` on the
walkthrough's CIB (section 6: VIP + Apache, colocated, ordered, WebSite
prefers pcmk-1).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from tandem.cli.main import cli

    try:
        from tandem.cib.walkthrough import write_step_cib  # built by the CIB layer
    except ImportError:
        print("demo: the walkthrough CIB builder is not available yet", file=sys.stderr)
        return 1
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_step_cib("6c", f"{tmp}/cib.xml")
        print(f"$ tandem simulate -x {path} -S -s   # walkthrough section 6, WebSite enabled\n")
        return cli(["simulate", "-x", path, "-S", "-s"], standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
