"""corosync.conf: write it exactly as Debian's pcs 0.11.5 does, parse it back, make the authkey.

Why mimic pcs byte for byte: administrators (and the walkthrough) compare
files, and tools such as ``pcs``/``crm`` read them; tandem's output must be
indistinguishable from ``pcs cluster setup ... --corosync_conf FILE``.  The
lab test suite compares both outputs (only the random ``cluster_uuid``
normalised).

What pcs writes (observed, pcs 0.11.5):
- ``totem``: version 2, cluster_name, transport, then the totem options
  (sorted by name), then transport options, knet compression
  (``knet_compression_*``) and crypto (``crypto_*``, default aes256/sha256
  for knet) options, each group sorted by name, then ``cluster_uuid``;
  link options become ``interface`` subsections (``knet_`` prefixes);
- ``nodelist``: one ``node`` per node: ``ring<N>_addr`` for each address,
  ``name``, ``nodeid`` (1, 2, ... in the order given);
- ``quorum``: ``provider: corosync_votequorum``, quorum options sorted,
  ``two_node: 1`` for exactly two nodes (unless auto_tie_breaker is on);
- ``logging``: to_logfile yes, logfile /var/log/corosync/corosync.log,
  to_syslog yes, timestamp on;
- 4-space indentation, a blank line between sections and between a
  section's attributes and its subsections.

The parser reads corosync's syntax (``name {``, ``key: value``, ``}``,
``#`` comments) into :class:`Section` trees; :class:`CorosyncConf` answers
the questions the other layers ask (cluster name, nodes, totem timings,
two_node).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tandem.corosync.transport import NodeInfo
from tandem.errors import CorosyncError, Report, ReportList, UsageError, error
from tandem.util.files import write_private_file

COROSYNC_CONF = Path("/etc/corosync/corosync.conf")
COROSYNC_AUTHKEY = Path("/etc/corosync/authkey")
COROSYNC_LOG = "/var/log/corosync/corosync.log"
AUTHKEY_BYTES = 256  # pcs settings.corosync_authkey_bytes (corosync-keygen writes 256 too)
LINKS_KNET_MAX = 8
LINKS_UDP_MAX = 1

TRANSPORTS_KNET = ("knet",)
TRANSPORTS_UDP = ("udp", "udpu")

TOTEM_OPTIONS = (
    "block_unlisted_ips",
    "consensus",
    "downcheck",
    "fail_recv_const",
    "heartbeat_failures_allowed",
    "hold",
    "join",
    "max_messages",
    "max_network_delay",
    "merge",
    "miss_count_const",
    "send_join",
    "seqno_unchanged_const",
    "token",
    "token_coefficient",
    "token_retransmit",
    "token_retransmits_before_loss_const",
    "window_size",
)
QUORUM_OPTIONS = (
    "auto_tie_breaker",
    "last_man_standing",
    "last_man_standing_window",
    "wait_for_all",
)
TRANSPORT_KNET_OPTIONS = ("ip_version", "knet_pmtud_interval", "link_mode")
TRANSPORT_UDP_OPTIONS = ("ip_version", "netmtu")
COMPRESSION_OPTIONS = ("level", "model", "threshold")
CRYPTO_OPTIONS = ("cipher", "hash", "model")
# user name -> corosync name, for knet link options
LINK_KNET_TRANSLATION = {
    "link_priority": "knet_link_priority",
    "linknumber": "linknumber",
    "mcastport": "mcastport",
    "ping_interval": "knet_ping_interval",
    "ping_precision": "knet_ping_precision",
    "ping_timeout": "knet_ping_timeout",
    "pong_count": "knet_pong_count",
    "transport": "knet_transport",
}
LINK_UDP_OPTIONS = ("bindnetaddr", "broadcast", "mcastaddr", "mcastport", "ttl")

_INTEGER_TOTEM = set(TOTEM_OPTIONS) - {"block_unlisted_ips"}


# --------------------------------------------------------------------------- the tree


@dataclass
class Section:
    """One ``name { ... }`` block: ordered attributes then ordered subsections."""

    name: str = ""
    attrs: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value of ``key`` (corosync: the last one wins)."""
        for k, v in reversed(self.attrs):
            if k == key:
                return v
        return default

    def set(self, key: str, value: str) -> None:
        """Replace the first ``key`` in place (dropping duplicates) or append it."""
        out: list[tuple[str, str]] = []
        found = False
        for k, v in self.attrs:
            if k != key:
                out.append((k, v))
            elif not found:
                out.append((key, value))
                found = True
        if not found:
            out.append((key, value))
        self.attrs = out

    def delete(self, key: str) -> None:
        self.attrs = [(k, v) for k, v in self.attrs if k != key]

    def sub(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def ensure(self, name: str) -> Section:
        found = self.sub(name)
        if found:
            return found[-1]
        new = Section(name)
        self.sections.append(new)
        return new

    def export(self, indent: str = "    ", _top: bool = True) -> str:
        """Text in pcs's layout (see the module docstring)."""
        lines = [f"{k}: {v}" for k, v in self.attrs]
        if self.attrs and self.sections:
            lines.append("")
        for i, sec in enumerate(self.sections):
            lines.extend(sec.export(indent, _top=False).rstrip("\n").split("\n"))
            if i < len(self.sections) - 1:
                lines.append("")
        if not _top:
            lines = [f"{self.name} {{", *(indent + x if x else x for x in lines), "}"]
        text = "\n".join(lines)
        return text + "\n" if text else text


_SECTION_RE = re.compile(r"^([^{}:\s]+)\s*\{$")


def parse(text: str, source: str = "corosync.conf") -> Section:
    """Parse corosync's config syntax; every problem is reported with its line number."""
    root = Section("")
    stack = [root]
    reports = ReportList()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SECTION_RE.match(line)
        if m:
            sec = Section(m.group(1))
            stack[-1].sections.append(sec)
            stack.append(sec)
        elif line == "}":
            if len(stack) == 1:
                reports.add(_parse_error(source, lineno, "unexpected '}'"))
            else:
                stack.pop()
        elif ":" in line:
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if not key:
                reports.add(_parse_error(source, lineno, "attribute without a name"))
            else:
                stack[-1].attrs.append((key, value))
        else:
            reports.add(_parse_error(source, lineno, f"cannot understand {line!r}"))
    if len(stack) > 1:
        reports.add(
            _parse_error(
                source, len(text.splitlines()), f"section '{stack[-1].name}' is not closed"
            )
        )
    if reports.has_errors:
        raise CorosyncError(*reports)
    return root


def _parse_error(source: str, lineno: int, what: str) -> Report:
    return error(
        "COROSYNC_CONF_PARSE_ERROR",
        f"{source} line {lineno}: {what}; fix the file (or write a new one with 'cluster setup')",
        file=source,
        line=lineno,
    )


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class SetupNode:
    """A node of ``cluster setup``: its name and addresses (one per link)."""

    name: str
    addrs: tuple[str, ...] = ()


@dataclass
class SetupSpec:
    """Everything ``cluster setup`` says about corosync.conf."""

    cluster_name: str
    nodes: list[SetupNode]
    transport: str = "knet"
    transport_options: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    compression_options: dict[str, str] = field(default_factory=dict)
    crypto_options: dict[str, str] = field(default_factory=dict)
    totem_options: dict[str, str] = field(default_factory=dict)
    quorum_options: dict[str, str] = field(default_factory=dict)
    no_cluster_uuid: bool = False


def validate(spec: SetupSpec) -> ReportList:
    """Every problem of ``spec`` (names, addresses, option names and values)."""
    reports = ReportList()
    if not spec.cluster_name or not re.fullmatch(r"[^\s{}:#]+", spec.cluster_name):
        reports.add(
            error(
                "INVALID_CLUSTER_NAME",
                f"'{spec.cluster_name}' is not a valid cluster name (no spaces, braces, ':' or '#')",
                name=spec.cluster_name,
            )
        )
    if not spec.nodes:
        reports.add(error("NO_NODES", "no nodes given: name at least one node"))
    names = [n.name for n in spec.nodes]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        reports.add(error("NODE_NAMES_DUPLICATION", f"node name '{dup}' is given twice", node=dup))
    all_addrs = [a for n in spec.nodes for a in n.addrs]
    for dup in sorted({a for a in all_addrs if all_addrs.count(a) > 1}):
        reports.add(
            error("NODE_ADDRESSES_DUPLICATION", f"address '{dup}' is given twice", addr=dup)
        )
    counts = {len(n.addrs) for n in spec.nodes}
    if len(counts) > 1:
        reports.add(
            error(
                "NODE_ADDRESSES_COUNT_MISMATCH",
                "all nodes must have the same number of addresses: "
                + ", ".join(f"{n.name}: {len(n.addrs)}" for n in spec.nodes),
            )
        )
    if spec.transport not in TRANSPORTS_KNET + TRANSPORTS_UDP:
        reports.add(
            error(
                "INVALID_TRANSPORT",
                f"'{spec.transport}' is not a valid transport, use knet, udp or udpu",
                transport=spec.transport,
            )
        )
    knet = spec.transport in TRANSPORTS_KNET
    max_links = LINKS_KNET_MAX if knet else LINKS_UDP_MAX
    if counts and max(counts) > max_links:
        reports.add(
            error(
                "TOO_MANY_ADDRESSES",
                f"transport {spec.transport} allows {max_links} address(es) per node",
            )
        )
    _check_names(reports, "totem", spec.totem_options, TOTEM_OPTIONS)
    _check_names(reports, "quorum", spec.quorum_options, QUORUM_OPTIONS)
    _check_names(
        reports,
        "transport",
        spec.transport_options,
        TRANSPORT_KNET_OPTIONS if knet else TRANSPORT_UDP_OPTIONS,
    )
    for link in spec.links:
        _check_names(
            reports, "link", link, tuple(LINK_KNET_TRANSLATION) if knet else LINK_UDP_OPTIONS
        )
    if not knet and (spec.compression_options or spec.crypto_options):
        reports.add(
            error(
                "NOT_SUPPORTED_BY_TRANSPORT",
                f"transport {spec.transport} supports neither compression nor crypto",
            )
        )
    _check_names(reports, "compression", spec.compression_options, COMPRESSION_OPTIONS)
    _check_names(reports, "crypto", spec.crypto_options, CRYPTO_OPTIONS)
    for key, value in spec.totem_options.items():
        if key in _INTEGER_TOTEM and not value.isdigit():
            reports.add(
                error(
                    "INVALID_OPTION_VALUE",
                    f"'{value}' is not a valid {key} value, use a non-negative integer",
                    option=key,
                    value=value,
                )
            )
    for key, value in spec.quorum_options.items():
        if key in ("auto_tie_breaker", "last_man_standing", "wait_for_all") and value not in (
            "0",
            "1",
        ):
            reports.add(
                error(
                    "INVALID_OPTION_VALUE",
                    f"'{value}' is not a valid {key} value, use 0 or 1",
                    option=key,
                    value=value,
                )
            )
    return reports


def _check_names(
    reports: ReportList, kind: str, options: Mapping[str, str], allowed: Sequence[str]
) -> None:
    for key in options:
        if key not in allowed:
            reports.add(
                error(
                    "INVALID_OPTIONS",
                    f"invalid {kind} option '{key}', allowed options are: {', '.join(sorted(allowed))}",
                    option=key,
                    kind=kind,
                )
            )


def build(spec: SetupSpec, *, cluster_uuid: str | None = None) -> Section:
    """The corosync.conf tree pcs would write for ``spec`` (validated first).

    Raises :class:`UsageError` carrying every validation report.

    ``cluster_uuid`` defaults to a fresh ``uuid4().hex`` unless
    ``spec.no_cluster_uuid``.
    """
    reports = validate(spec)
    if reports.has_errors:
        raise UsageError(*reports)
    root = Section("")
    totem = root.ensure("totem")
    nodelist = root.ensure("nodelist")
    quorum = root.ensure("quorum")
    logging = root.ensure("logging")
    totem.attrs += [
        ("version", "2"),
        ("cluster_name", spec.cluster_name),
        ("transport", spec.transport),
    ]
    quorum.attrs.append(("provider", "corosync_votequorum"))
    logging.attrs += [
        ("to_logfile", "yes"),
        ("logfile", COROSYNC_LOG),
        ("to_syslog", "yes"),
        ("timestamp", "on"),
    ]
    for nodeid, node in enumerate(spec.nodes, start=1):
        sec = Section("node")
        sec.attrs += [(f"ring{i}_addr", a) for i, a in enumerate(node.addrs)]
        sec.attrs += [("name", node.name), ("nodeid", str(nodeid))]
        nodelist.sections.append(sec)
    # pcs decides two_node once the nodes exist, and again after the quorum
    # options (auto_tie_breaker removes it): hence its place in the section.
    _update_two_node(quorum, len(spec.nodes))
    _set_sorted(totem, spec.totem_options)
    _set_sorted(quorum, spec.quorum_options)
    _update_two_node(quorum, len(spec.nodes))
    knet = spec.transport in TRANSPORTS_KNET
    _add_links(totem, spec.links, knet)
    _set_sorted(totem, spec.transport_options)
    if knet:
        crypto = spec.crypto_options or {"cipher": "aes256", "hash": "sha256"}
        _set_sorted(
            totem, {f"knet_compression_{k}": v for k, v in spec.compression_options.items()}
        )
        _set_sorted(totem, {f"crypto_{k}": v for k, v in crypto.items()})
    if not spec.no_cluster_uuid:
        totem.set("cluster_uuid", cluster_uuid or uuid.uuid4().hex)
    return root


def _update_two_node(quorum: Section, node_count: int) -> None:
    if node_count == 2 and quorum.get("auto_tie_breaker", "0") != "1":
        quorum.set("two_node", "1")
    else:
        quorum.delete("two_node")


def _set_sorted(section: Section, options: Mapping[str, str]) -> None:
    for key, value in sorted(options.items()):
        if value == "":
            section.delete(key)
        else:
            section.set(key, value)


def _add_links(totem: Section, links: Sequence[Mapping[str, str]], knet: bool) -> None:
    """Link options become ``interface`` subsections, in linknumber order (as pcs)."""
    free = list(range(LINKS_KNET_MAX))
    numbered: list[dict[str, str]] = []
    unnumbered: list[dict[str, str]] = []
    for link in links:
        if "linknumber" in link:
            if int(link["linknumber"]) in free:
                free.remove(int(link["linknumber"]))
            numbered.append(dict(link))
        else:
            unnumbered.append(dict(link))
    for link in unnumbered:
        link["linknumber"] = str(free.pop(0))
        numbered.append(link)
    for link in sorted(numbered, key=lambda item: item["linknumber"]):
        if not [k for k in link if k != "linknumber"]:
            continue
        options = dict(link)
        if knet:
            options = {LINK_KNET_TRANSLATION.get(k, k): v for k, v in options.items()}
        elif "broadcast" in options:
            if options["broadcast"] in ("1", "yes"):
                options["broadcast"] = "yes"
            else:
                del options["broadcast"]
        sec = Section("interface")
        totem.sections.append(sec)
        _set_sorted(sec, options)


def render(spec: SetupSpec, *, cluster_uuid: str | None = None) -> str:
    """corosync.conf text for ``spec``, as pcs 0.11.5 writes it."""
    return build(spec, cluster_uuid=cluster_uuid).export()


# --------------------------------------------------------------------------- setup argv

_SETUP_KEYWORDS = ("transport", "link", "compression", "crypto", "totem", "quorum")


def _kv(token: str, where: str) -> tuple[str, str]:
    key, sep, value = token.partition("=")
    if not sep or not key:
        raise UsageError(
            error(
                "INVALID_SETUP_ARGUMENT",
                f"'{token}' in {where}: expected name=value",
                argument=token,
            )
        )
    return key, value


def parse_setup_argv(argv: Sequence[str], *, name: str | None = None) -> SetupSpec:
    """Read both spellings of ``cluster setup``.

    - pcs 0.10+: ``NAME NODE [addr=ADDR]... [transport knet|udp|udpu [OPTS]
      [link OPTS]... [compression OPTS] [crypto OPTS]] [totem OPTS]
      [quorum OPTS]``;
    - pcs 0.9 (the walkthrough): ``--name NAME NODE[,ALTADDR]...`` (pass
      ``name=`` and only the nodes); a node without an address uses its name
      as ring0_addr, as pcs 0.9 did.

    Options beginning with ``--`` (``--start``, ``--enable``...) are the
    caller's business and must be removed before.
    """
    args = list(argv)
    if name is None:
        if not args:
            raise UsageError(error("MISSING_CLUSTER_NAME", "cluster setup needs a cluster name"))
        name = args.pop(0)
        legacy = False
    else:
        legacy = True
    spec = SetupSpec(cluster_name=name, nodes=[])
    nodes: list[tuple[str, list[str]]] = []
    i = 0
    # Node part: names, each followed by addr=... tokens.
    while i < len(args) and args[i] not in _SETUP_KEYWORDS:
        tok = args[i]
        if tok.startswith("addr="):
            if not nodes:
                raise UsageError(
                    error(
                        "INVALID_SETUP_ARGUMENT", f"'{tok}' must follow a node name", argument=tok
                    )
                )
            nodes[-1][1].append(tok[len("addr=") :])
        elif "=" in tok:
            raise UsageError(
                error(
                    "INVALID_SETUP_ARGUMENT",
                    f"'{tok}': a node takes only addr=ADDRESS",
                    argument=tok,
                )
            )
        elif legacy and "," in tok:
            head, *alts = tok.split(",")
            nodes.append((head, [head, *alts]))
        else:
            nodes.append((tok, []))
        i += 1
    for node_name, addrs in nodes:
        spec.nodes.append(SetupNode(node_name, tuple(addrs) if addrs else (node_name,)))
    # Keyword part.
    current: dict[str, str] | None = None
    seen_transport = False
    while i < len(args):
        tok = args[i]
        if tok == "transport":
            if seen_transport or i + 1 >= len(args):
                raise UsageError(
                    error("INVALID_SETUP_ARGUMENT", "'transport' needs exactly one type, once")
                )
            spec.transport = args[i + 1]
            seen_transport = True
            current = spec.transport_options
            i += 2
            continue
        if tok == "link":
            spec.links.append({})
            current = spec.links[-1]
        elif tok in ("compression", "crypto", "totem", "quorum"):
            current = getattr(spec, f"{tok}_options")
        elif current is None:
            raise UsageError(error("INVALID_SETUP_ARGUMENT", f"unexpected '{tok}'", argument=tok))
        else:
            key, value = _kv(tok, "cluster setup")
            current[key] = value
        i += 1
    return spec


# --------------------------------------------------------------------------- reading back


class CorosyncConf:
    """A parsed corosync.conf and the answers other layers need from it."""

    def __init__(self, root: Section) -> None:
        self.root = root

    @classmethod
    def from_text(cls, text: str, source: str = "corosync.conf") -> CorosyncConf:
        return cls(parse(text, source))

    @classmethod
    def load(cls, path: str | os.PathLike[str] = COROSYNC_CONF) -> CorosyncConf:
        p = Path(path)
        try:
            text = p.read_text()
        except FileNotFoundError as exc:
            raise CorosyncError(
                error(
                    "COROSYNC_CONF_MISSING",
                    f"{p} does not exist: this node is not part of a cluster; "
                    "run 'tandem cluster setup' first",
                    file=str(p),
                )
            ) from exc
        return cls.from_text(text, str(p))

    def _value(self, section: str, key: str, default: str | None = None) -> str | None:
        value = default
        for sec in self.root.sub(section):
            value = sec.get(key, value)
        return value

    @property
    def cluster_name(self) -> str:
        return self._value("totem", "cluster_name", "") or ""

    @property
    def cluster_uuid(self) -> str | None:
        return self._value("totem", "cluster_uuid")

    @property
    def transport(self) -> str:
        return self._value("totem", "transport", "knet") or "knet"

    def totem_options(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for sec in self.root.sub("totem"):
            out.update((k, v) for k, v in sec.attrs)
        return out

    def quorum_options(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for sec in self.root.sub("quorum"):
            out.update((k, v) for k, v in sec.attrs)
        return out

    @property
    def two_node(self) -> bool:
        return self._value("quorum", "two_node", "0") == "1"

    @property
    def token(self) -> int | None:
        """The configured totem token in ms (None = corosync's default, 3000 on Debian)."""
        value = self._value("totem", "token")
        return int(value) if value and value.isdigit() else None

    @property
    def consensus(self) -> int | None:
        value = self._value("totem", "consensus")
        return int(value) if value and value.isdigit() else None

    def nodes(self) -> list[NodeInfo]:
        """The nodelist, in file order; nodes without a nodeid get none (0)."""
        out: list[NodeInfo] = []
        for nodelist in self.root.sub("nodelist"):
            for sec in nodelist.sub("node"):
                attrs = dict(sec.attrs)
                rings = sorted(
                    (int(k[4:-5]), v) for k, v in attrs.items() if re.fullmatch(r"ring\d+_addr", k)
                )
                nodeid = attrs.get("nodeid", "0")
                out.append(
                    NodeInfo(
                        int(nodeid) if nodeid.isdigit() else 0,
                        attrs.get("name", rings[0][1] if rings else ""),
                        tuple(a for _, a in rings),
                    )
                )
        return out

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes()]

    def export(self) -> str:
        return self.root.export()


# --------------------------------------------------------------------------- files


def generate_authkey() -> bytes:
    """256 random bytes, as pcs (settings.corosync_authkey_bytes) and corosync-keygen."""
    return os.urandom(AUTHKEY_BYTES)


def write_authkey(
    path: str | os.PathLike[str] = COROSYNC_AUTHKEY, key: bytes | None = None
) -> bytes:
    """Write the corosync authkey (mode 0400, as corosync-keygen); returns the key."""
    key = generate_authkey() if key is None else key
    if len(key) != AUTHKEY_BYTES:
        raise CorosyncError(
            error(
                "INVALID_AUTHKEY",
                f"corosync authkey must be {AUTHKEY_BYTES} bytes, got {len(key)}",
                size=len(key),
            )
        )
    write_private_file(path, key, 0o400)
    return key


def write_conf(text: str, path: str | os.PathLike[str] = COROSYNC_CONF) -> None:
    """Write corosync.conf atomically (mode 0644, as Debian ships it)."""
    write_private_file(path, text.encode(), 0o644)


def setup_files(
    spec: SetupSpec,
    etc_dir: str | os.PathLike[str] = "/etc/corosync",
    *,
    authkey: bytes | None = None,
    cluster_uuid: str | None = None,
) -> tuple[str, bytes]:
    """Write corosync.conf and authkey into ``etc_dir``; returns (conf text, key).

    All nodes of a cluster need the same key: generate it once and pass it to
    the other nodes' calls.
    """
    text = render(spec, cluster_uuid=cluster_uuid)
    key = write_authkey(Path(etc_dir) / "authkey", authkey)
    write_conf(text, Path(etc_dir) / "corosync.conf")
    return text, key


def nodes_from(names_and_addrs: Iterable[tuple[str, Sequence[str]]]) -> list[SetupNode]:
    """Convenience: [(name, [addr, ...]), ...] -> SetupNode list."""
    return [SetupNode(n, tuple(a)) for n, a in names_and_addrs]
