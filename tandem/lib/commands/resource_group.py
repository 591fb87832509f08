"""Groups: ``resource create ... --group G``, ``resource group add|remove``, ``resource ungroup``.

The order of a group's members is its meaning (start in order, stop in
reverse), so every command here keeps it explicit: ``--before`` / ``--after``
place members, otherwise they are appended.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from tandem.errors import Report, Severity, error
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment


def _info(code: str, message: str, **payload: object) -> Report:
    return Report(code, message, payload, Severity.INFO)


def validate_position(
    cib: etree._Element,
    group_id: str,
    before: str | None,
    after: str | None,
    moving: Sequence[str] = (),
) -> list[Report]:
    """Problems with the group id and the ``--before``/``--after`` anchor."""
    reports: list[Report] = []
    bad = cib_tools.validate_id(group_id, "group name")
    if bad:
        return [bad]
    el = cib_tools.find_by_id(cib, group_id)
    if el is not None and el.tag != "group":
        reports.append(
            error("ID_BELONGS_TO_UNEXPECTED_TYPE", f"'{group_id}' is not a group", id=group_id)
        )
        return reports
    if before and after:
        reports.append(
            error("MUTUALLY_EXCLUSIVE_OPTIONS", "Only one of '--after', '--before' can be used")
        )
    anchor = before or after
    if anchor:
        members = [p.get("id") for p in el.iterfind("primitive")] if el is not None else []
        if anchor not in members:
            reports.append(
                error(
                    "ID_NOT_FOUND",
                    f"There is no resource '{anchor}' in the group '{group_id}'",
                    id=anchor,
                    group=group_id,
                )
            )
        elif anchor in moving:
            reports.append(
                error(
                    "CANNOT_GROUP_RESOURCE_NEXT_TO_ITSELF",
                    f"Cannot put resource '{anchor}' next to itself",
                    id=anchor,
                )
            )
    return reports


def place(
    cib: etree._Element,
    group_id: str,
    primitives: Sequence[etree._Element],
    before: str | None = None,
    after: str | None = None,
) -> etree._Element:
    """Put ``primitives`` into the group (created at the end of resources when missing)."""
    resources = cib_tools.section(cib, "resources")
    group = cib_tools.find_by_id(cib, group_id)
    if group is None:
        group = etree.SubElement(resources, "group", id=group_id)
    emptied: list[etree._Element] = []
    for prim in primitives:
        old_parent = prim.getparent()
        if old_parent is not None:
            old_parent.remove(prim)
            if old_parent.tag == "group" and old_parent is not group and (
                old_parent.find("primitive") is None
            ):
                emptied.append(old_parent)
    anchor = None
    if before or after:
        anchor = next(p for p in group.iterfind("primitive") if p.get("id") == (before or after))
    for prim in primitives:
        if anchor is None:
            group.append(prim)
        elif before:
            anchor.addprevious(prim)
        else:
            anchor.addnext(prim)
            anchor = prim
    for g in emptied:
        if g.getparent() is not None:
            g.getparent().remove(g)
    return group


def group_add(
    env: LibraryEnvironment,
    group_id: str,
    rsc_ids: Sequence[str],
    *,
    before: str | None = None,
    after: str | None = None,
) -> None:
    """``resource group add G R... [--before R | --after R]``: move primitives into G."""
    rp = env.report_processor
    cib = env.get_cib()
    if not rsc_ids:
        rp.report(error("NO_RESOURCES", "You must specify resource(s) to add to the group"))
    rp.report_list(validate_position(cib, group_id, before, after, rsc_ids))
    prims: list[etree._Element] = []
    seen: set[str] = set()
    for rid in rsc_ids:
        if rid in seen:
            rp.report(error("DUPLICATE_IDS", f"Resource '{rid}' specified more than once", id=rid))
            continue
        seen.add(rid)
        el = cib_tools.find_resource(cib, rid)
        if el is None:
            rp.report(error("ID_NOT_FOUND", f"Resource '{rid}' does not exist", id=rid))
        elif el.tag != "primitive":
            rp.report(
                error(
                    "CANNOT_GROUP_RESOURCE_WRONG_TYPE",
                    f"'{rid}' is a {el.tag} resource, {el.tag} resources cannot be put into "
                    "a group",
                    id=rid,
                )
            )
        elif el.getparent() is not None and el.getparent().tag not in ("resources", "group"):
            rp.report(
                error(
                    "CANNOT_GROUP_RESOURCE_WRONG_TYPE",
                    f"'{rid}' is inside a {el.getparent().tag}, it cannot be put into a group",
                    id=rid,
                )
            )
        else:
            prims.append(el)
    rp.raise_if_errors()
    place(cib, group_id, prims, before, after)
    env.push_cib()


def group_remove(env: LibraryEnvironment, group_id: str, rsc_ids: Sequence[str] = ()) -> None:
    """``resource group remove G [R...]`` / ``resource ungroup G [R...]``.

    The members leave the group and become top-level resources, in their
    order; a group left empty is removed, with the constraints naming it.
    """
    rp = env.report_processor
    cib = env.get_cib()
    group = cib_tools.find_by_id(cib, group_id)
    if group is None or group.tag != "group":
        rp.report(error("ID_NOT_FOUND", f"Group '{group_id}' does not exist", id=group_id))
    rp.raise_if_errors()
    assert group is not None
    members = [p.get("id", "") for p in group.iterfind("primitive")]
    for rid in rsc_ids:
        if rid not in members:
            rp.report(
                error(
                    "ID_NOT_FOUND",
                    f"Resource '{rid}' is not in the group '{group_id}'",
                    id=rid,
                    group=group_id,
                )
            )
    if group.getparent() is not None and group.getparent().tag != "resources" and (
        not rsc_ids or set(rsc_ids) >= set(members)
    ):
        rp.report(
            error(
                "CANNOT_REMOVE_ALL_CLONED_GROUP_MEMBERS",
                f"Cannot remove all resources from a cloned group '{group_id}'",
                id=group_id,
            )
        )
    rp.raise_if_errors()
    leaving = [p for p in group.iterfind("primitive") if not rsc_ids or p.get("id") in rsc_ids]
    anchor = group
    for prim in leaving:
        group.remove(prim)
        anchor.addnext(prim)
        anchor = prim
    if group.find("primitive") is None:
        from tandem.lib.commands.resource import references_to

        for c in sorted(references_to(cib, {group_id}), key=lambda c: c.get("id", "")):
            rp.report(
                _info("CONSTRAINT_REMOVED", f"Removing Constraint - {c.get('id')}", id=c.get("id"))
            )
            c.getparent().remove(c)
        group.getparent().remove(group)
    env.push_cib()
