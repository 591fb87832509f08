"""A tiny directive language for multi-node daemon scenarios (testdata/*.txt).

Why: each scenario reads like a trace of what an administrator and the
network do, with the expected facts after each step, in the manner of
etcd-io/raft's interaction tests.  One directive per line, ``#`` comments:

    nodes 1=pcmk-1 2=pcmk-2          a new simulated cluster (two_node when 2 nodes)
    start 1 2                        tandemd starts on these nodes (then settle)
    stop 1                           `cluster stop` (clean shutdown, corosync stops)
    crash 2 / boot 2                 power cut / corosync back (tandemd not started)
    partition 3 / heal               nodes listed form one side / all reach all
    tick 5                           5 seconds pass
    corrupt 2                        node 2's CIB file is truncated
    apply 1 create resources <xml>   a change on node 1 (must succeed)
    apply! 1 modify <xml>            ... must fail
    push 1 <cib ...>                 cib push on node 1
    expect dc=pcmk-1 on 1 2          a key of `info` on these nodes (dc=NONE for no DC)
    expect online=pcmk-1,pcmk-2 on 1 (names of online nodes, sorted)
    expect quorate=yes on 3
    expect same-cib 1 2 3            identical configuration digest and version
    expect xpath=//primitive[@id='A'] on 1 2     the live CIB has a match (xpath! = none)
    expect disk=//primitive[@id='A'] on 2        the persisted file has a match (disk! = none)
    expect epoch=2 on 1                          the epoch part of the CIB version
    expect exited 2 code=2           tandemd on 2 exited with that code
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from tandem.daemon.sim import SimCluster


class ScenarioError(AssertionError):
    pass


def _nodes(words: list[str]) -> list[int]:
    return [int(w) for w in words]


def _split_on(rest: list[str]) -> tuple[list[str], list[int]]:
    if "on" in rest:
        i = rest.index("on")
        return rest[:i], _nodes(rest[i + 1 :])
    return rest, []


def run(text: str, source: str = "<scenario>") -> SimCluster:
    sim: SimCluster | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        where = f"{source}:{lineno}: {line}"
        cmd, _, rest_text = line.partition(" ")
        if cmd == "nodes":
            names = dict(w.split("=", 1) for w in rest_text.split())
            sim = SimCluster({int(k): v for k, v in names.items()})
            continue
        assert sim is not None, f"{where}: 'nodes' must come first"
        words = rest_text.split()
        if cmd == "start":
            for n in _nodes(words):
                sim.start(n)
            sim.settle()
        elif cmd == "stop":
            for n in _nodes(words):
                reply = sim.stop(n)
                if not reply.ok:
                    raise ScenarioError(f"{where}: stop refused: {reply.reports}")
        elif cmd == "crash":
            for n in _nodes(words):
                sim.crash(n)
            sim.settle()
        elif cmd == "boot":
            for n in _nodes(words):
                sim.boot(n)
            sim.settle()
        elif cmd == "partition":
            sim.partition(_nodes(words))
            sim.settle()
        elif cmd == "heal":
            sim.heal()
            sim.settle()
        elif cmd == "tick":
            sim.tick(float(words[0]))
        elif cmd == "corrupt":
            for n in _nodes(words):
                sim.nodes[n].storage.corrupt()
        elif cmd in ("apply", "apply!"):
            node_s, op, *args = rest_text.split(" ", 3)
            n = int(node_s)
            if op == "create":
                parent, xml = args[0], " ".join(args[1:])
                ops = [{"op": "create", "parent": parent, "xml": xml}]
            elif op == "modify":
                ops = [{"op": "modify", "xml": " ".join(args)}]
            elif op == "delete":
                ops = [{"op": "delete", "xpath": " ".join(args)}]
            else:
                raise ScenarioError(f"{where}: unknown op {op}")
            reply = sim.request(n, "apply", ops=ops)
            if reply.ok != (cmd == "apply"):
                raise ScenarioError(
                    f"{where}: expected {'success' if cmd == 'apply' else 'failure'}, got {reply}"
                )
        elif cmd == "push":
            n = int(words[0])
            reply = sim.request(n, "replace", xml=rest_text.split(" ", 1)[1])
            if not reply.ok:
                raise ScenarioError(f"{where}: push failed: {reply.reports}")
        elif cmd == "expect":
            _expect(sim, words, where)
        else:
            raise ScenarioError(f"{where}: unknown directive '{cmd}'")
    assert sim is not None
    return sim


def _expect(sim: SimCluster, words: list[str], where: str) -> None:
    what = words[0]
    if what == "same-cib":
        nodes = _nodes(words[1:])
        seen = {n: (sim.info(n)["version"], sim.info(n)["digest"]) for n in nodes}
        if len(set(seen.values())) != 1:
            raise ScenarioError(f"{where}: CIBs differ: {seen}")
        return
    if what == "exited":
        n = int(words[1])
        code = int(words[2].split("=", 1)[1])
        ex = sim.nodes[n].exit
        if ex is None or ex.code != code:
            raise ScenarioError(f"{where}: node {n} exit is {ex}")
        return
    cond, nodes = _split_on(words)
    key, _, want = " ".join(cond).partition("=")
    for n in nodes:
        if key in ("xpath", "xpath!", "disk", "disk!"):
            if key.startswith("disk"):
                data = sim.nodes[n].storage.data
                tree = etree.fromstring(data) if data else None
            else:
                tree = etree.fromstring(sim.cib(n).encode())
            found = bool(tree is not None and tree.xpath(want))
            if found != (not key.endswith("!")):
                raise ScenarioError(f"{where}: node {n}: {key} {want} -> {found}")
            continue
        info = sim.info(n)
        if key == "online":
            got = ",".join(sorted(x["name"] for x in info["nodes"] if x["online"]))
        elif key == "quorate":
            got = "yes" if info["quorate"] else "no"
        elif key == "dc":
            got = info["dc"] or "NONE"
        elif key == "epoch":
            got = info["version"].split(":")[1]
        else:
            got = str(info[key])
        if got != want:
            raise ScenarioError(f"{where}: node {n}: {key} is {got!r}, expected {want!r}")


def load(path: Path) -> SimCluster:
    return run(path.read_text(), source=path.name)
