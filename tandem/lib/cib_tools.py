"""Small helpers over CIB XML shared by the library commands.

Why here and not in ``tandem.cib``: these encode pcs's conventions for
*editing* a configuration (id generation, where pcs puts a new element, how
name/value sets are updated), which belong to the command layer; the
``tandem.cib`` package models the CIB for the scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from lxml import etree

from tandem.errors import Report, error

SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults", "op_defaults")

_ID_FIRST = re.compile(r"[^a-zA-Z_]")
_ID_REST = re.compile(r"[^a-zA-Z0-9_.-]")
_VALID_ID = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")


def sanitize_id(text: str, replacement: str = "") -> str:
    """Make an XML id from free text, as pcs does (drop what an id cannot hold)."""
    if not text:
        return text
    first = _ID_FIRST.sub(replacement, text[0])
    return first + _ID_REST.sub(replacement, text[1:])


def validate_id(value: str, description: str = "id") -> Report | None:
    """pcs's id check: letters, digits, ``_.-``; the first one a letter or ``_``."""
    if not value:
        return error(
            "INVALID_ID_IS_EMPTY", f"{description} cannot be empty", id=value, description=description
        )
    if _VALID_ID.match(value):
        return None
    if not re.match(r"[a-zA-Z_]", value[0]):
        bad, where = value[0], "first character for"
    else:
        bad = next(c for c in value[1:] if not re.match(r"[a-zA-Z0-9_.-]", c))
        where = "character for"
    return error(
        "INVALID_ID_BAD_CHAR",
        f"invalid {description} '{value}', '{bad}' is not a valid {where} a {description}",
        id=value,
        character=bad,
        description=description,
    )


def configuration(cib: etree._Element) -> etree._Element:
    conf = cib.find("configuration")
    if conf is None:
        conf = etree.SubElement(cib, "configuration")
    return conf


def section(cib: etree._Element, name: str) -> etree._Element:
    """A configuration section, created (in schema order) when missing."""
    conf = configuration(cib)
    el = conf.find(name)
    if el is not None:
        return el
    el = etree.Element(name)
    order = list(SECTIONS)
    pos = order.index(name) if name in order else len(order)
    for i, child in enumerate(conf):
        if child.tag in order and order.index(child.tag) > pos:
            conf.insert(i, el)
            return el
    conf.append(el)
    return el


def find_by_id(cib: etree._Element, element_id: str) -> etree._Element | None:
    """Element with that id anywhere in the configuration (status excluded)."""
    conf = cib.find("configuration")
    if conf is None:
        return None
    for el in conf.iter():
        if isinstance(el.tag, str) and el.get("id") == element_id:
            return el
    return None


def does_id_exist(cib: etree._Element, element_id: str) -> bool:
    return find_by_id(cib, element_id) is not None


def find_unique_id(cib: etree._Element, base: str, reserved: Iterable[str] = ()) -> str:
    """``base``, or ``base-1``, ``base-2``... the first unused one (pcs's rule)."""
    taken = set(reserved)
    candidate = base
    n = 1
    while candidate in taken or does_id_exist(cib, candidate):
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def find_primitive(cib: etree._Element, rsc_id: str) -> etree._Element | None:
    res = cib.find("configuration/resources")
    if res is None:
        return None
    for el in res.iter("primitive"):
        if el.get("id") == rsc_id:
            return el
    return None


RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")


def find_resource(cib: etree._Element, rsc_id: str) -> etree._Element | None:
    """A primitive, group, clone or bundle by id."""
    res = cib.find("configuration/resources")
    if res is None:
        return None
    for el in res.iter(*RESOURCE_TAGS):
        if el.get("id") == rsc_id:
            return el
    return None


def all_resource_ids(cib: etree._Element) -> list[str]:
    res = cib.find("configuration/resources")
    if res is None:
        return []
    return [el.get("id", "") for el in res.iter(*RESOURCE_TAGS)]


def node_names(cib: etree._Element) -> list[str]:
    nodes = cib.find("configuration/nodes")
    if nodes is None:
        return []
    return [n.get("uname") or n.get("id", "") for n in nodes.iter("node")]


def find_node(cib: etree._Element, name: str) -> etree._Element | None:
    nodes = cib.find("configuration/nodes")
    if nodes is None:
        return None
    for n in nodes.iter("node"):
        if n.get("uname") == name:
            return n
    return None


def nvset_to_dict(nvset: etree._Element | None) -> dict[str, str]:
    if nvset is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in nvset.iterfind("nvpair")}


def update_nvset(
    cib: etree._Element, nvset: etree._Element, values: Mapping[str, str]
) -> None:
    """Set (or with an empty value remove) name/value pairs, with pcs's nvpair ids.

    The id of a new pair is ``<set id>-<name>`` made unique; an existing pair keeps
    its id and is updated in place.
    """
    set_id = nvset.get("id", "")
    for name, value in values.items():
        existing = next((nv for nv in nvset.iterfind("nvpair") if nv.get("name") == name), None)
        if value == "":
            if existing is not None:
                nvset.remove(existing)
            continue
        if existing is not None:
            existing.set("value", value)
            continue
        nv = etree.SubElement(nvset, "nvpair")
        nv.set("id", find_unique_id(cib, sanitize_id(f"{set_id}-{name}")))
        nv.set("name", name)
        nv.set("value", value)


def append_nvset(
    cib: etree._Element,
    parent: etree._Element,
    tag: str,
    id_base: str,
    values: Mapping[str, str],
    *,
    first: bool = False,
) -> etree._Element:
    nvset = etree.Element(tag)
    nvset.set("id", find_unique_id(cib, id_base))
    if first:
        parent.insert(0, nvset)
    else:
        parent.append(nvset)
    update_nvset(cib, nvset, values)
    return nvset


def parse_name_values(args: Iterable[str]) -> tuple[dict[str, str], list[Report]]:
    """``NAME=VALUE`` arguments to an ordered dict; reports malformed ones."""
    result: dict[str, str] = {}
    reports: list[Report] = []
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep or not name:
            reports.append(
                error(
                    "INVALID_NAME_VALUE",
                    f"missing value of '{arg}' option" if not sep else f"missing key in '{arg}' option",
                    argument=arg,
                )
            )
            continue
        result[name] = value
    return result, reports


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "on", "yes", "y", "1")


PCMK_BOOLEANS = ("0", "1", "false", "n", "no", "off", "on", "true", "y", "yes")
