"""Clones: ``resource create ... clone|promotable``, ``resource clone|promotable|unclone``.

pcs's layout: ``<clone id="RSC-clone">`` (or the id given) holding the
primitive or group, its options in ``<clone id>-meta_attributes``, and
``promotable=true`` appended for promotable clones.  ``unclone`` puts the
resource back at the end of the resources and removes the constraints that
named the clone.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from tandem.errors import Report, Severity, error
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment


def _info(code: str, message: str, **payload: object) -> Report:
    return Report(code, message, payload, Severity.INFO)


def validate_clone_id(cib: etree._Element, rsc_id: str, clone_id: str | None) -> tuple[str, list[Report]]:
    """The clone's id (``RSC-clone`` by default) and the problems with it."""
    cid = clone_id or f"{rsc_id}-clone"
    bad = cib_tools.validate_id(cid, "clone id")
    if bad:
        return cid, [bad]
    if cib_tools.does_id_exist(cib, cid) or cid == rsc_id:
        return cid, [error("ID_ALREADY_EXISTS", f"'{cid}' already exists", id=cid)]
    return cid, []


def wrap(
    cib: etree._Element,
    el: etree._Element,
    clone_id: str,
    options: Mapping[str, str],
    promotable: bool,
) -> etree._Element:
    """Put ``el`` (primitive or group) into a new clone at its place."""
    clone = etree.Element("clone", id=clone_id)
    el.addprevious(clone)
    clone.append(el)
    values = dict(options)
    if promotable:
        values["promotable"] = "true"
    if values:
        nvset = etree.SubElement(clone, "meta_attributes")
        nvset.set("id", cib_tools.find_unique_id(cib, f"{clone_id}-meta_attributes"))
        cib_tools.update_nvset(cib, nvset, values)
    return clone


def clone(
    env: LibraryEnvironment,
    rsc_id: str,
    clone_id: str | None = None,
    options: Mapping[str, str] | None = None,
    *,
    promotable: bool = False,
) -> str:
    """``resource clone|promotable RSC [CLONE_ID] [OPTION=VALUE...]``."""
    rp = env.report_processor
    cib = env.get_cib()
    el = cib_tools.find_resource(cib, rsc_id)
    if el is None:
        rp.report(error("ID_NOT_FOUND", f"Resource '{rsc_id}' does not exist", id=rsc_id))
    elif el.tag not in ("primitive", "group"):
        rp.report(
            error("CANNOT_CLONE", f"'{rsc_id}' is a {el.tag}, it cannot be cloned", id=rsc_id)
        )
    elif el.getparent() is not None and el.getparent().tag != "resources":
        rp.report(
            error(
                "CANNOT_CLONE",
                f"'{rsc_id}' is inside a {el.getparent().tag}, it cannot be cloned",
                id=rsc_id,
            )
        )
    cid, reports = validate_clone_id(cib, rsc_id, clone_id)
    rp.report_list(reports)
    if promotable and options and "promotable" in options:
        rp.report(
            error("INVALID_OPTIONS", "option 'promotable' cannot be set for a promotable clone")
        )
    rp.raise_if_errors()
    assert el is not None
    wrap(cib, el, cid, options or {}, promotable)
    env.push_cib()
    return cid


def unclone(env: LibraryEnvironment, rsc_or_clone: str) -> None:
    """``resource unclone RSC|CLONE``: the resource leaves its clone, which is removed."""
    rp = env.report_processor
    cib = env.get_cib()
    el = cib_tools.find_resource(cib, rsc_or_clone)
    clone_el: etree._Element | None = None
    if el is not None and el.tag in ("clone", "master"):
        clone_el = el
    elif el is not None and el.getparent() is not None and el.getparent().tag in ("clone", "master"):
        clone_el = el.getparent()
    if clone_el is None:
        rp.report(
            error(
                "NOT_A_CLONE",
                f"could not find resource: {rsc_or_clone}" if el is None
                else f"'{rsc_or_clone}' is not a clone resource",
                id=rsc_or_clone,
            )
        )
    rp.raise_if_errors()
    assert clone_el is not None
    inner = next(c for c in clone_el if c.tag in ("primitive", "group"))
    from tandem.lib.commands.resource import references_to

    for c in sorted(references_to(cib, {clone_el.get("id", "")}), key=lambda c: c.get("id", "")):
        rp.report(
            _info("CONSTRAINT_REMOVED", f"Removing Constraint - {c.get('id')}", id=c.get("id"))
        )
        c.getparent().remove(c)
    resources = clone_el.getparent()
    resources.remove(clone_el)
    resources.append(inner)
    env.push_cib()
