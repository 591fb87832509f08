"""Resource commands: create, enable/disable, delete, defaults, config.

Ids and layout follow pcs 0.11.5 (the oracle): ``<id>-instance_attributes``,
``<id>-meta_attributes``, operation ids ``<id>-<action>-interval-<interval>``;
default operations are every action of the agent's meta-data except
``meta-data``, ``status`` and ``validate-all``, with its interval and timeout
(monitor gets 60s when the agent names no interval).  Moves and bans are in
:mod:`tandem.lib.commands.resource_move`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from tandem.agents.metadata import AgentMetadata, AgentName, parse_agent_name
from tandem.errors import AgentError, Report, Severity, error, warning
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment
from tandem.lib.values import is_time

#: Actions of the meta-data that never become operations.
SKIPPED_DEFAULT_ACTIONS = ("meta-data", "status", "validate-all")
#: Operation attributes pcs accepts besides name and interval.
OP_ATTRIBUTES = (
    "id",
    "interval",
    "description",
    "start-delay",
    "interval-origin",
    "timeout",
    "enabled",
    "record-pending",
    "role",
    "requires",
    "on-fail",
    "OCF_CHECK_LEVEL",
)
ON_FAIL = ("ignore", "block", "demote", "stop", "restart", "standby", "fence", "restart-container")
OCF_TRACE_PARAMETERS = ("trace_ra", "trace_file")
ROLES = ("Stopped", "Started", "Promoted", "Unpromoted", "Master", "Slave")


@dataclass
class Operation:
    """One ``op ACTION NAME=VALUE...`` group of the command line."""

    name: str
    options: dict[str, str] = field(default_factory=dict)


def info(code: str, message: str, **payload: object) -> Report:
    return Report(code, message, payload, Severity.INFO)


# --------------------------------------------------------------------------- agents


def resolve_agent(env: LibraryEnvironment, name: str) -> tuple[AgentName | None, list[Report]]:
    """Full agent name from ``ocf:heartbeat:IPaddr2``, ``lsb:x`` or a bare ``IPaddr2``."""
    full = parse_agent_name(name)
    if full is not None:
        return full, []
    if ":" in name:
        return None, [
            error(
                "INVALID_RESOURCE_AGENT_NAME",
                f"Invalid resource agent name '{name}'. Use standard:provider:type when "
                "standard is 'ocf' or standard:type otherwise.",
                agent=name,
            )
        ]
    matches = env.metadata.find_by_type(name)
    if len(matches) == 1:
        return matches[0], [
            info(
                "AGENT_NAME_GUESSED",
                f"Assumed agent name '{matches[0]}' (deduced from '{name}')",
                entered=name,
                guessed=matches[0].full,
            )
        ]
    if not matches:
        return None, [
            error(
                "AGENT_NAME_GUESS_FOUND_NONE",
                f"Unable to find agent '{name}', try specifying its full name",
                agent=name,
            )
        ]
    names = " or ".join(f"'{m}'" for m in sorted(matches, key=str))
    return None, [
        error(
            "AGENT_NAME_GUESS_FOUND_MORE_THAN_ONE",
            f"Multiple agents match '{name}', please specify full name: {names}",
            agent=name,
            possible=[m.full for m in matches],
        )
    ]


def _quote_list(items: Sequence[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)


def _invalid_value(name: str, value: str, use: str, force_code: str | None = None) -> Report:
    """pcs's "'VALUE' is not a valid NAME value, use ..." error."""
    return error(
        "INVALID_OPTION_VALUE",
        f"'{value}' is not a valid {name} value, use {use}",
        force_code=force_code,
        option_name=name,
        option_value=value,
    )


def validate_instance_attributes(
    md: AgentMetadata, attrs: Mapping[str, str], kind: str = "resource"
) -> list[Report]:
    """Unknown (forceable) and missing required parameters, worded as pcs does."""
    reports: list[Report] = []
    # pcs lets every OCF resource take the tracing knobs of ocf-shellfuncs
    extra = OCF_TRACE_PARAMETERS if md.agent.standard == "ocf" else ()
    allowed = sorted({*md.parameter_names, *extra})
    unknown = sorted(n for n in attrs if md.parameter(n) is None and n not in extra)
    if unknown:
        if len(unknown) == 1:
            msg = f"invalid {kind} option '{unknown[0]}', allowed options are: "
        else:
            msg = f"invalid {kind} options: {_quote_list(unknown)}, allowed options are: "
        reports.append(
            error(
                "INVALID_OPTIONS",
                msg + (_quote_list(allowed) if allowed else "none"),
                force_code="FORCE",
                option_names=unknown,
                allowed=allowed,
                option_type=kind,
            )
        )
    missing = [n for n in md.required_parameters if attrs.get(n, "") == ""]
    if missing:
        if len(missing) == 1:
            msg = f"required {kind} option '{missing[0]}' is missing"
        else:
            msg = f"required {kind} options {_quote_list(missing)} are missing"
        reports.append(
            error(
                "REQUIRED_OPTIONS_ARE_MISSING",
                msg,
                force_code="FORCE",
                option_names=missing,
                option_type=kind,
            )
        )
    return reports


# --------------------------------------------------------------------------- operations


def _interval_of(op: Operation) -> str:
    if "interval" in op.options:
        return op.options["interval"]
    return "60s" if op.name == "monitor" else "0s"


def default_operations(md: AgentMetadata | None, no_default_ops: bool = False) -> list[Operation]:
    """pcs's default operations from the meta-data (monitor at least)."""
    ops: list[Operation] = []
    seen: set[tuple[str, str]] = set()
    if md is not None and not no_default_ops:
        for action in md.actions:
            if action.name in SKIPPED_DEFAULT_ACTIONS:
                continue
            opts: dict[str, str] = {}
            interval = action.interval or ("60s" if action.name == "monitor" else "0s")
            opts["interval"] = interval if interval != "0" else "0s"
            if action.timeout:
                opts["timeout"] = action.timeout
            if action.role:
                opts["role"] = action.role
            if action.depth and action.depth != "0":
                opts["OCF_CHECK_LEVEL"] = action.depth
            key = (action.name, opts["interval"])
            if key in seen:
                continue
            seen.add(key)
            ops.append(Operation(action.name, opts))
    if not any(op.name == "monitor" for op in ops):
        monitor = next(
            (a for a in (md.actions if md else ()) if a.name == "monitor"), None
        )
        opts = {"interval": (monitor.interval if monitor and monitor.interval else "60s")}
        if monitor and monitor.timeout:
            opts["timeout"] = monitor.timeout
        ops.append(Operation("monitor", opts))
    return ops


def validate_operations(md: AgentMetadata | None, ops: Sequence[Operation]) -> list[Report]:
    reports: list[Report] = []
    allowed_names = sorted(
        {a.name for a in (md.actions if md else ())} | {"monitor", "start", "stop"}
    )
    seen: dict[tuple[str, str], list[str]] = {}
    for op in ops:
        if md is not None and op.name not in allowed_names:
            reports.append(
                _invalid_value(
                    "operation name", op.name, _quote_list(allowed_names), force_code="FORCE"
                )
            )
        bad = sorted(k for k in op.options if k not in OP_ATTRIBUTES)
        if bad:
            reports.append(
                error(
                    "INVALID_OPTIONS",
                    f"invalid operation option{'s' if len(bad) > 1 else ''} "
                    f"{_quote_list(bad)}, allowed options are: {_quote_list(sorted(OP_ATTRIBUTES))}",
                    option_names=bad,
                )
            )
        for key in ("interval", "timeout", "start-delay"):
            value = op.options.get(key)
            if value is not None and not is_time(value):
                reports.append(
                    _invalid_value(key, value, "time interval (e.g. 1, 2s, 3m, 4h, ...)")
                )
        on_fail = op.options.get("on-fail")
        if on_fail is not None and on_fail not in ON_FAIL:
            reports.append(_invalid_value("on-fail", on_fail, _quote_list(ON_FAIL)))
        role = op.options.get("role")
        if role is not None and role not in ROLES:
            reports.append(_invalid_value("role", role, _quote_list(ROLES)))
        seen.setdefault((op.name, _interval_key(_interval_of(op))), []).append(_interval_of(op))
    for (name, _key), intervals in seen.items():
        if len(intervals) > 1:
            reports.append(
                error(
                    "RESOURCE_OPERATION_INTERVAL_DUPLICATION",
                    "multiple specification of the same operation with the same interval:\n"
                    f"{name} with intervals {', '.join(intervals)}",
                    operation=name,
                    intervals=intervals,
                )
            )
    return reports


def _interval_key(value: str) -> str:
    """Normalised interval so that ``60`` and ``1min`` count as the same."""
    if not is_time(value):
        return value
    m = re.match(r"^\s*(\d+)\s*([a-z]*)\s*$", value.lower())
    if not m:
        return value
    n, unit = int(m.group(1)), m.group(2)
    factor = {
        "": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0.001, "usec": 0.001,
        "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000,
    }.get(unit, 1000)
    return str(n * factor)


def _op_element(cib: etree._Element, rsc_id: str, op: Operation) -> etree._Element:
    el = etree.Element("op")
    el.set("name", op.name)
    opts = dict(op.options)
    el.set("interval", opts.pop("interval", _interval_of(op)))
    explicit_id = opts.pop("id", None)
    check_level = opts.pop("OCF_CHECK_LEVEL", None)
    for key, value in opts.items():
        el.set(key, value)
    base = explicit_id or cib_tools.sanitize_id(f"{rsc_id}-{op.name}-interval-{el.get('interval')}")
    el.set("id", base if explicit_id else cib_tools.find_unique_id(cib, base))
    if check_level is not None:
        ia = etree.SubElement(el, "instance_attributes")
        ia.set("id", cib_tools.find_unique_id(cib, f"{el.get('id')}-instance_attributes"))
        nv = etree.SubElement(ia, "nvpair")
        nv.set("id", cib_tools.find_unique_id(cib, f"{ia.get('id')}-OCF_CHECK_LEVEL"))
        nv.set("name", "OCF_CHECK_LEVEL")
        nv.set("value", check_level)
    return el


def merge_operations(user_ops: Sequence[Operation], defaults: Sequence[Operation]) -> list[Operation]:
    """Defaults whose action the user did not give, then the user's operations.

    (A user ``op monitor`` replaces every default monitor.  The walkthrough's
    listing shows this order: start, stop, then the user's monitor.)
    """
    given = {op.name for op in user_ops}
    return [op for op in defaults if op.name not in given] + list(user_ops)


# --------------------------------------------------------------------------- create


def create(
    env: LibraryEnvironment,
    rsc_id: str,
    agent_name: str,
    instance_attributes: Mapping[str, str] | None = None,
    operations: Sequence[Operation] = (),
    meta_attributes: Mapping[str, str] | None = None,
    *,
    disabled: bool = False,
    no_default_ops: bool = False,
    group: str | None = None,
    before: str | None = None,
    after: str | None = None,
    clone: Mapping[str, str] | None = None,
    clone_id: str | None = None,
    promotable: bool = False,
) -> etree._Element:
    """``resource create``: validate everything against the agent, then add the primitive.

    With ``group`` the primitive goes into that group (created when missing),
    at the end or ``before``/``after`` a member.  With ``clone`` (its options,
    possibly empty) or ``promotable`` it is wrapped in a clone (``ID-clone`` or
    ``clone_id``).
    """
    from tandem.lib.commands import resource_clone, resource_group

    wants_clone = clone is not None or promotable

    rp = env.report_processor
    instance_attributes = dict(instance_attributes or {})
    meta_attributes = dict(meta_attributes or {})
    cib = env.get_cib()
    if group is not None:
        rp.report_list(resource_group.validate_position(cib, group, before, after))
        if group == rsc_id:
            rp.report(error("ID_ALREADY_EXISTS", f"'{group}' already exists", id=group))
    elif before or after:
        rp.report(error("PREREQUISITE_OPTION_IS_MISSING",
                        "'--before' and '--after' need '--group'"))
    if wants_clone:
        if group is not None:
            rp.report(error("MUTUALLY_EXCLUSIVE_OPTIONS",
                            "'clone' / 'promotable' and '--group' cannot be used together"))
        final_clone_id, reports = resource_clone.validate_clone_id(cib, rsc_id, clone_id)
        rp.report_list(reports)

    id_report = cib_tools.validate_id(rsc_id, "resource name")
    if id_report:
        rp.report(id_report)
    elif cib_tools.does_id_exist(cib, rsc_id):
        rp.report(error("ID_ALREADY_EXISTS", f"'{rsc_id}' already exists", id=rsc_id))
    agent, reports = resolve_agent(env, agent_name)
    rp.report_list(reports)
    md: AgentMetadata | None = None
    if agent is not None:
        try:
            md = env.metadata.get(agent)
        except AgentError as exc:
            rp.report_list(list(exc.reports))
    if md is not None:
        rp.report_list(validate_instance_attributes(md, instance_attributes))
    rp.report_list(validate_operations(md, operations))
    rp.raise_if_errors()
    assert agent is not None

    primitive = etree.Element("primitive")
    primitive.set("id", rsc_id)
    primitive.set("class", agent.standard)
    if agent.provider:
        primitive.set("provider", agent.provider)
    primitive.set("type", agent.type)
    if disabled:
        meta_attributes["target-role"] = "Stopped"
    resources = cib_tools.section(cib, "resources")
    resources.append(primitive)
    if group is not None:
        resource_group.place(cib, group, [primitive], before, after)
    if instance_attributes:
        cib_tools.append_nvset(
            cib, primitive, "instance_attributes", f"{rsc_id}-instance_attributes",
            instance_attributes,
        )
    if meta_attributes:
        cib_tools.append_nvset(
            cib, primitive, "meta_attributes", f"{rsc_id}-meta_attributes", meta_attributes
        )
    ops_el = etree.SubElement(primitive, "operations")
    for op in merge_operations(operations, default_operations(md, no_default_ops)):
        ops_el.append(_op_element(cib, rsc_id, op))
    if wants_clone:
        resource_clone.wrap(cib, primitive, final_clone_id, clone or {}, promotable)
    env.push_cib()
    return primitive


# --------------------------------------------------------------------------- update / meta


def _first_set(cib: etree._Element, el: etree._Element, tag: str) -> etree._Element:
    for nvset in el.iterfind(tag):
        return nvset
    nvset = etree.SubElement(el, tag)
    nvset.set("id", cib_tools.find_unique_id(cib, f"{el.get('id')}-{tag}"))
    ops = el.find("operations")
    if ops is not None:  # pcs puts a new set after the operations
        el.remove(nvset)
        ops.addnext(nvset)
    return nvset


def update(
    env: LibraryEnvironment,
    rsc_id: str,
    instance_attributes: Mapping[str, str] | None = None,
    meta_attributes: Mapping[str, str] | None = None,
    operations: Sequence[Operation] = (),
) -> None:
    """``resource update ID [NAME=VALUE...] [meta ...] [op ACTION ...]``.

    An empty value removes an attribute.  Parameters are checked against the
    agent (unknown, or a required one removed: forceable).  An ``op ACTION``
    replaces the first operation of that action, at its place.
    """
    rp = env.report_processor
    instance_attributes = dict(instance_attributes or {})
    meta_attributes = dict(meta_attributes or {})
    cib = env.get_cib()
    el = cib_tools.find_resource(cib, rsc_id)
    if el is None:
        message = (
            f"Unable to find resource: {rsc_id}"
            if instance_attributes or operations or not meta_attributes
            else f"unable to find a resource/clone/group: {rsc_id}"
        )
        rp.report(error("ID_NOT_FOUND", message, id=rsc_id))
    rp.raise_if_errors()
    assert el is not None
    md: AgentMetadata | None = None
    if el.tag == "primitive" and (instance_attributes or operations):
        agent = parse_agent_name(
            ":".join(x for x in (el.get("class"), el.get("provider"), el.get("type")) if x)
        )
        if agent is not None:
            try:
                md = env.metadata.get(agent)
            except AgentError as exc:
                rp.report_list(list(exc.reports))
    elif instance_attributes or operations:
        rp.report(
            error(
                "NOT_A_PRIMITIVE",
                f"'{rsc_id}' is a {el.tag}: only primitives have parameters and operations",
                id=rsc_id,
            )
        )
    if md is not None and instance_attributes:
        current = {}
        for nvset in el.iterfind("instance_attributes"):
            current.update(cib_tools.nvset_to_dict(nvset))
        after = {**current, **instance_attributes}
        after = {k: v for k, v in after.items() if v != ""}
        reports = validate_instance_attributes(md, after)
        # only complain about unknown names the user gives now
        given_unknown = sorted(
            n for n in instance_attributes
            if md.parameter(n) is None and n not in OCF_TRACE_PARAMETERS
        )
        for r in reports:
            if r.code == "INVALID_OPTIONS":
                if not given_unknown:
                    continue
                r = validate_instance_attributes(md, dict.fromkeys(given_unknown, "x"))[0]
            rp.report(r)
    rp.report_list(validate_operations(md, operations))
    rp.raise_if_errors()
    if instance_attributes:
        cib_tools.update_nvset(cib, _first_set(cib, el, "instance_attributes"), instance_attributes)
    if meta_attributes:
        cib_tools.update_nvset(cib, _first_set(cib, el, "meta_attributes"), meta_attributes)
    if operations:
        ops_el = el.find("operations")
        if ops_el is None:
            ops_el = etree.SubElement(el, "operations")
        for op in operations:
            old = next((o for o in ops_el.iterfind("op") if o.get("name") == op.name), None)
            if old is not None:
                following = old.getnext()
                ops_el.remove(old)
                new_el = _op_element(cib, rsc_id, op)
                if following is not None:
                    following.addprevious(new_el)
                else:
                    ops_el.append(new_el)
            else:
                ops_el.append(_op_element(cib, rsc_id, op))
    env.push_cib()


def meta(env: LibraryEnvironment, rsc_id: str, meta_attributes: Mapping[str, str]) -> None:
    """``resource meta ID NAME=VALUE...`` (any resource: primitive, group, clone)."""
    if not meta_attributes:
        env.report(error("NO_OPTIONS", "no meta attributes specified"))
    update(env, rsc_id, meta_attributes=meta_attributes)


# --------------------------------------------------------------------------- enable/disable


def _missing_resources(cib: etree._Element, ids: Sequence[str], kinds: str) -> list[Report]:
    return [
        error(
            "ID_NOT_FOUND",
            f"{kinds} '{rid}' does not exist",
            id=rid,
            expected_types=kinds.split("/"),
        )
        for rid in ids
        if cib_tools.find_resource(cib, rid) is None
    ]


def _meta_set(cib: etree._Element, el: etree._Element) -> etree._Element:
    for nvset in el.iterfind("meta_attributes"):
        return nvset
    nvset = etree.Element("meta_attributes")
    nvset.set("id", cib_tools.find_unique_id(cib, f"{el.get('id')}-meta_attributes"))
    el.insert(0, nvset)
    return nvset


def _set_target_role(env: LibraryEnvironment, ids: Sequence[str], value: str) -> None:
    rp = env.report_processor
    cib = env.get_cib()
    if not ids:
        rp.report(error("NO_RESOURCES", "You must specify resource(s)"))
    rp.report_list(_missing_resources(cib, ids, "bundle/clone/group/resource/tag"))
    rp.raise_if_errors()
    for rid in ids:
        el = cib_tools.find_resource(cib, rid)
        assert el is not None
        # pcs enables the inner resources of a clone or group too.
        targets = list(el.iter(*cib_tools.RESOURCE_TAGS)) if value == "" else [el]
        for target in targets:
            if value == "":
                for nvset in target.iterfind("meta_attributes"):
                    cib_tools.update_nvset(cib, nvset, {"target-role": ""})
            else:
                cib_tools.update_nvset(cib, _meta_set(cib, target), {"target-role": value})
    env.push_cib()


def enable(env: LibraryEnvironment, ids: Sequence[str]) -> None:
    """Let the cluster start the resources (drop ``target-role``)."""
    _set_target_role(env, ids, "")


def disable(env: LibraryEnvironment, ids: Sequence[str]) -> None:
    """Stop the resources (``target-role=Stopped`` in their meta attributes)."""
    _set_target_role(env, ids, "Stopped")


# --------------------------------------------------------------------------- delete


def references_to(cib: etree._Element, rsc_ids: set[str]) -> list[etree._Element]:
    """Constraints that name any of ``rsc_ids`` (directly or in a resource set)."""
    cons = cib.find("configuration/constraints")
    found: list[etree._Element] = []
    if cons is None:
        return found
    for c in cons:
        if not isinstance(c.tag, str):
            continue
        direct = {c.get(a) for a in ("rsc", "with-rsc", "first", "then")}
        in_sets = {ref.get("id") for ref in c.iter("resource_ref")}
        if (direct | in_sets) & rsc_ids:
            found.append(c)
    return found


def delete(
    env: LibraryEnvironment,
    rsc_id: str,
    *,
    wait_stopped: Callable[[LibraryEnvironment, str], None] | None = None,
) -> None:
    """``resource delete``: the resource and every constraint naming it.

    On a live cluster the resource is first stopped (``target-role=Stopped``) and
    ``wait_stopped`` waits for it, as pcs does, so that nothing is left running.
    """
    rp = env.report_processor
    cib = env.get_cib()
    el = cib_tools.find_resource(cib, rsc_id)
    if el is None:
        rp.report(error("ID_NOT_FOUND", f"Resource '{rsc_id}' does not exist.", id=rsc_id))
    rp.raise_if_errors()
    assert el is not None
    if env.is_cib_live and wait_stopped is not None:
        disable(env, [rsc_id])
        wait_stopped(env, rsc_id)
        cib = env.reload_cib()
        el = cib_tools.find_resource(cib, rsc_id)
        if el is None:
            return
    # A clone or group left empty goes too (with the constraints naming it).
    while True:
        parent = el.getparent()
        if parent is None or parent.tag not in ("clone", "master", "group", "bundle"):
            break
        if len([c for c in parent if c.tag in cib_tools.RESOURCE_TAGS]) != 1:
            break
        el = parent
    inner = {e.get("id", "") for e in el.iter(*cib_tools.RESOURCE_TAGS)}
    for c in sorted(references_to(cib, inner), key=lambda c: c.get("id", "")):
        refs = [r for r in c.iter("resource_ref") if r.get("id") in inner]
        if refs and not ({c.get(a) for a in ("rsc", "with-rsc", "first", "then")} & inner):
            for r in refs:
                rset = r.getparent()
                rset.remove(r)
                if len(rset.findall("resource_ref")) == 0:
                    c.remove(rset)
            if c.find("resource_set") is not None:
                continue
        rp.report(
            info("CONSTRAINT_REMOVED", f"Removing Constraint - {c.get('id')}", id=c.get("id"))
        )
        c.getparent().remove(c)
    el.getparent().remove(el)
    rp.report(info("RESOURCE_DELETED", f"Deleting Resource - {rsc_id}", id=rsc_id))
    env.push_cib()


# --------------------------------------------------------------------------- defaults


def defaults_update(
    env: LibraryEnvironment, values: Mapping[str, str], section_name: str = "rsc_defaults"
) -> None:
    """``resource defaults [update] NAME=VALUE``: the first meta set of rsc/op defaults."""
    rp = env.report_processor
    if not values:
        rp.report(error("NO_OPTIONS", "no defaults specified"))
    rp.raise_if_errors()
    cib = env.get_cib()
    sect = cib_tools.section(cib, section_name)
    nvset = sect.find("meta_attributes")
    if nvset is None:
        nvset = cib_tools.append_nvset(
            cib, sect, "meta_attributes", f"{section_name}-meta_attributes", {}
        )
    cib_tools.update_nvset(cib, nvset, values)
    rp.report(
        warning(
            "DEFAULTS_CAN_BE_OVERRIDDEN",
            "Defaults do not apply to resources which override them with their own defined "
            "values",
        )
    )
    env.push_cib()


def defaults_config(
    env: LibraryEnvironment, section_name: str = "rsc_defaults"
) -> list[tuple[str, dict[str, str]]]:
    """``resource defaults [config]``: (set id, values) of every meta set."""
    sect = env.get_cib().find(f"configuration/{section_name}")
    if sect is None:
        return []
    return [
        (s.get("id", ""), cib_tools.nvset_to_dict(s)) for s in sect.iterfind("meta_attributes")
    ]


# --------------------------------------------------------------------------- config


@dataclass
class PrimitiveView:
    """What ``resource config`` shows about one primitive (document order kept)."""

    id: str
    agent: str
    standard: str
    provider: str | None
    type: str
    instance_attributes: list[tuple[str, list[tuple[str, str]]]]
    meta_attributes: list[tuple[str, list[tuple[str, str]]]]
    operations: list[tuple[str, str, list[tuple[str, str]]]]  # (id, name, [(attr, value)])
    parent: str | None = None


def _pairs(nvset: etree._Element) -> list[tuple[str, str]]:
    return [(nv.get("name", ""), nv.get("value", "")) for nv in nvset.iterfind("nvpair")]


def primitive_view(el: etree._Element) -> PrimitiveView:
    standard = el.get("class", "")
    provider = el.get("provider")
    rtype = el.get("type", "")
    ops: list[tuple[str, str, list[tuple[str, str]]]] = []
    ops_el = el.find("operations")
    if ops_el is not None:
        for op in ops_el.iterfind("op"):
            # interval first, as both pcs layouts show it
            attrs = [("interval", op.get("interval"))] if op.get("interval") is not None else []
            attrs += [(k, v) for k, v in op.attrib.items() if k not in ("id", "name", "interval")]
            for ia in op.iterfind("instance_attributes"):
                attrs += _pairs(ia)
            ops.append((op.get("id", ""), op.get("name", ""), attrs))
    parent = el.getparent()
    return PrimitiveView(
        id=el.get("id", ""),
        agent=f"{standard}:{provider}:{rtype}" if provider else f"{standard}:{rtype}",
        standard=standard,
        provider=provider,
        type=rtype,
        instance_attributes=[(s.get("id", ""), _pairs(s)) for s in el.iterfind("instance_attributes")],
        meta_attributes=[(s.get("id", ""), _pairs(s)) for s in el.iterfind("meta_attributes")],
        operations=ops,
        parent=parent.get("id") if parent is not None and parent.tag != "resources" else None,
    )


def _shown_resources(
    env: LibraryEnvironment, ids: Sequence[str]
) -> tuple[etree._Element, etree._Element | None]:
    """The CIB and its resources section, once every named resource is known to exist."""
    cib = env.get_cib()
    rp = env.report_processor
    for rid in ids:
        if cib_tools.find_resource(cib, rid) is None:
            rp.report(error("ID_NOT_FOUND", f"Unable to find resource: '{rid}'", id=rid))
    rp.raise_if_errors()
    return cib, cib.find("configuration/resources")


def config(env: LibraryEnvironment, ids: Sequence[str] = ()) -> list[PrimitiveView]:
    """Primitives to show (all, or the named resources and what they contain)."""
    cib, res = _shown_resources(env, ids)
    if res is None:
        return []
    if not ids:
        return [primitive_view(p) for p in res.iter("primitive")]
    views: list[PrimitiveView] = []
    for rid in ids:
        el = cib_tools.find_resource(cib, rid)
        assert el is not None
        views += [primitive_view(p) for p in el.iter("primitive")]
    return views


@dataclass
class GroupView:
    """A group or clone in ``resource config``: meta attributes and members, in order.

    ``kind`` is ``group`` or ``clone``; a clone's single member may be a group.
    """

    id: str
    meta_attributes: list[tuple[str, list[tuple[str, str]]]]
    members: list[PrimitiveView | GroupView]
    kind: str = "group"


def _container_view(el: etree._Element) -> GroupView:
    members: list[PrimitiveView | GroupView] = []
    for child in el:
        if child.tag == "primitive":
            members.append(primitive_view(child))
        elif child.tag == "group":
            members.append(_container_view(child))
    return GroupView(
        id=el.get("id", ""),
        meta_attributes=[(m.get("id", ""), _pairs(m)) for m in el.iterfind("meta_attributes")],
        members=members,
        kind="group" if el.tag == "group" else "clone",
    )


def config_items(env: LibraryEnvironment, ids: Sequence[str] = ()) -> list[PrimitiveView | GroupView]:
    """Primitives, then groups, then clones (pcs's order); only the named ones with ``ids``."""
    cib, res = _shown_resources(env, ids)
    if res is None:
        return []
    elements = [cib_tools.find_resource(cib, rid) for rid in ids] if ids else list(res)
    rank = {"primitive": 0, "group": 1, "clone": 2, "master": 2}
    if not ids:
        elements = sorted(
            (e for e in elements if isinstance(e.tag, str) and e.tag in rank),
            key=lambda e: rank[e.tag],
        )
    items: list[PrimitiveView | GroupView] = []
    for el in elements:
        if el is None or not isinstance(el.tag, str):
            continue
        if el.tag == "primitive":
            items.append(primitive_view(el))
        elif el.tag in ("group", "clone", "master"):
            items.append(_container_view(el))
    return items
