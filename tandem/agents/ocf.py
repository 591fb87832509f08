"""OCF/LSB vocabulary: exit codes, execution statuses, agent lookup, environment.

Why a module of its own: the executor, the record builder, the scheduler's
failure handling and the CLI all speak about the same numbers (``rc-code`` and
``op-status`` of an ``lrm_rsc_op``).  Keeping the tables here, with no I/O,
lets every layer import them without pulling subprocess code in.

Sources: the OCF RA API 1.1 (exit codes 0-9, 190, 191) and Pacemaker's
execution statuses (``op-status`` in the CIB status section: 0 done,
1 cancelled, 2 timeout, 3 not supported, 4 error, 5 hard error, 6 fatal
error, 7 not installed, ...; -1 pending).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

# The Pacemaker feature set tandem writes into records and passes to agents.
from tandem.cib.history import CRM_FEATURE_SET

OCF_ROOT_DEFAULT = Path("/usr/lib/ocf")
LSB_DIR_DEFAULT = Path("/etc/init.d")
#: Where tandem ships its own agents (provider "tandem", e.g. ocf:tandem:Dummy).
BUILTIN_RESOURCE_D = Path(__file__).resolve().parent / "resource.d"
EXIT_REASON_PREFIX = "ocf-exit-reason:"
DEFAULT_TIMEOUT_MS = 20000


class OcfRc(enum.IntEnum):
    """Exit codes of an OCF agent (and Pacemaker's rc-code values)."""

    OK = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191


class ExecStatus(enum.IntEnum):
    """Pacemaker's execution status of an operation (``op-status``)."""

    PENDING = -1
    DONE = 0
    CANCELLED = 1
    TIMEOUT = 2
    NOT_SUPPORTED = 3
    ERROR = 4
    ERROR_HARD = 5
    ERROR_FATAL = 6
    NOT_INSTALLED = 7
    NOT_CONNECTED = 8
    INVALID = 9


_RC_TEXT = {
    0: "ok",
    1: "error",
    2: "invalid parameter",
    3: "unimplemented feature",
    4: "insufficient privileges",
    5: "not installed",
    6: "not configured",
    7: "not running",
    8: "promoted",
    9: "promoted (failed)",
    190: "OCF_DEGRADED",
    191: "promoted (degraded)",  # crm_mon 2.1.5's words
}


def rc_text(rc: int) -> str:
    """Human name of an exit code, as crm_mon prints it ("not running")."""
    return _RC_TEXT.get(rc, "unknown")


def normalize_ocf_rc(rc: int) -> int:
    """Codes outside the OCF table are generic errors (the spec: "other = soft")."""
    return rc if rc in _RC_TEXT else int(OcfRc.ERR_GENERIC)


def lsb_status_to_ocf(rc: int) -> int:
    """Map an LSB ``status`` exit code to OCF monitor semantics.

    LSB: 0 running; 1 dead but pid file; 2 dead but lock file; 3 not running;
    4 unknown.  Pacemaker also reads 5 (not installed) and 6 (no privilege).
    """
    if rc == 0:
        return int(OcfRc.OK)
    if rc in (1, 2, 3):
        return int(OcfRc.NOT_RUNNING)
    if rc == 5:
        return int(OcfRc.ERR_INSTALLED)
    if rc == 6:
        return int(OcfRc.ERR_PERM)
    return int(OcfRc.ERR_GENERIC)


def lsb_action_to_ocf(action: str, rc: int) -> int:
    """Map an LSB non-status action's exit code (same numbers as OCF 0-7).

    A ``stop`` of an already stopped service that answers 7 is a success: LSB
    scripts vary there, and the cluster only cares that it is stopped.
    """
    if action == "stop" and rc == 7:
        return int(OcfRc.OK)
    return rc if 0 <= rc <= 7 else int(OcfRc.ERR_GENERIC)


@dataclass(frozen=True)
class AgentSpec:
    """Which agent: ``ocf:heartbeat:IPaddr2``, ``lsb:apache2``, ..."""

    rclass: str
    type: str
    provider: str | None = None

    @classmethod
    def parse(cls, text: str) -> AgentSpec:
        parts = text.split(":")
        if len(parts) == 3 and parts[0] == "ocf":
            return cls("ocf", parts[2], parts[1])
        if len(parts) == 2 and parts[0] in ("lsb", "service", "systemd"):
            return cls(parts[0], parts[1])
        raise ValueError(f"agent {text!r} is not CLASS:PROVIDER:TYPE (ocf) or lsb:NAME")

    def __str__(self) -> str:
        if self.provider:
            return f"{self.rclass}:{self.provider}:{self.type}"
        return f"{self.rclass}:{self.type}"


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+@-][A-Za-z0-9_.+@:-]*$")


def find_agent(
    spec: AgentSpec,
    ocf_dirs: Sequence[Path] = (OCF_ROOT_DEFAULT / "resource.d", BUILTIN_RESOURCE_D),
    lsb_dir: Path = LSB_DIR_DEFAULT,
) -> Path | None:
    """Path of the executable for ``spec``, or None when it is not installed.

    Names with ``/`` or ``..`` are refused: a resource definition must never
    make the executor run an arbitrary file.
    """
    names = [spec.type] + ([spec.provider] if spec.provider else [])
    if not all(_SAFE_NAME.match(n) and n not in (".", "..") for n in names):
        return None
    if spec.rclass == "ocf" and spec.provider:
        for root in ocf_dirs:
            path = root / spec.provider / spec.type
            if path.is_file():
                return path
        return None
    if spec.rclass in ("lsb", "service"):
        path = lsb_dir / spec.type
        return path if path.is_file() else None
    return None


def meta_env_name(name: str) -> str:
    """``target-role`` -> ``OCF_RESKEY_CRM_meta_target_role`` (Pacemaker's spelling)."""
    return "OCF_RESKEY_CRM_meta_" + name.replace("-", "_")


@dataclass(frozen=True)
class AgentCall:
    """One action of one resource's agent: the fields every layer passes along.

    Why a base: the runner's request and the environment input carry the same
    call; ``params``/``meta`` are frozen copies so a caller's later edits
    cannot change an invocation already handed over.
    """

    rsc_id: str
    spec: AgentSpec
    action: str
    params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)
    interval_ms: int = 0
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))


@dataclass(frozen=True)
class EnvInput(AgentCall):
    """Everything that goes into an OCF agent's environment."""

    node_name: str = ""
    node_uuid: str = ""
    ocf_root: Path = OCF_ROOT_DEFAULT


BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "LANG": "C",
}


def ocf_environment(inp: EnvInput) -> dict[str, str]:
    """The environment Pacemaker gives an OCF agent, rebuilt from scratch.

    Resource meta attributes go in as ``CRM_meta_*`` (dashes become
    underscores) like Pacemaker does; ``timeout``/``interval`` are in ms,
    ``name`` is the action name and ``on_node``/``on_node_uuid`` the node.
    """
    env = dict(BASE_ENV)
    env.update(
        {
            "OCF_ROOT": str(inp.ocf_root),
            "OCF_RA_VERSION_MAJOR": "1",
            "OCF_RA_VERSION_MINOR": "1",
            "OCF_RESOURCE_INSTANCE": inp.rsc_id,
            "OCF_RESOURCE_TYPE": inp.spec.type,
            "OCF_EXIT_REASON_PREFIX": EXIT_REASON_PREFIX,
            "OCF_RESKEY_crm_feature_set": CRM_FEATURE_SET,
        }
    )
    if inp.spec.provider:
        env["OCF_RESOURCE_PROVIDER"] = inp.spec.provider
    for name, value in inp.meta.items():
        env[meta_env_name(name)] = str(value)
    meta = {
        "timeout": str(inp.timeout_ms),
        "interval": str(inp.interval_ms),
        "name": inp.action,
    }
    if inp.node_name:
        meta["on_node"] = inp.node_name
        meta["on_node_uuid"] = inp.node_uuid or inp.node_name
    for name, value in meta.items():
        env[meta_env_name(name)] = value
    for name, value in inp.params.items():
        if name == "OCF_CHECK_LEVEL":
            # an op's depth (pcs: OCF_CHECK_LEVEL=10) goes to the agent as itself
            env["OCF_CHECK_LEVEL"] = str(value)
        env["OCF_RESKEY_" + name] = str(value)
    return env


def lsb_action(action: str) -> str:
    """LSB scripts know ``status``, not ``monitor``."""
    return "status" if action == "monitor" else action


def parse_exit_reason(stderr: str) -> str:
    """The last ``ocf-exit-reason:`` line an agent printed (what crm_mon shows)."""
    reason = ""
    for line in stderr.splitlines():
        idx = line.find(EXIT_REASON_PREFIX)
        if idx >= 0:
            reason = line[idx + len(EXIT_REASON_PREFIX) :].strip()
    return reason[:128]
