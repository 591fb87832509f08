"""``property set|unset|config``: cluster options in ``crm_config``.

pcs keeps them in the ``cluster_property_set`` with id ``cib-bootstrap-options``
(created first if missing); nvpair ids are ``cib-bootstrap-options-<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from tandem.errors import error
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment
from tandem.lib.values import CLUSTER_PROPERTIES, READONLY_PROPERTIES, validate_property_value

SET_ID = "cib-bootstrap-options"


def _property_set(cib: etree._Element, create: bool) -> etree._Element | None:
    crm_config = cib_tools.section(cib, "crm_config") if create else cib.find(
        "configuration/crm_config"
    )
    if crm_config is None:
        return None
    for nvset in crm_config.iterfind("cluster_property_set"):
        if nvset.get("id") == SET_ID:
            return nvset
    if not create:
        return None
    nvset = etree.Element("cluster_property_set")
    nvset.set("id", cib_tools.find_unique_id(cib, SET_ID))
    crm_config.insert(0, nvset)
    return nvset


def set_properties(env: LibraryEnvironment, values: Mapping[str, str]) -> None:
    """Set cluster properties; an empty value removes the property."""
    rp = env.report_processor
    if not values:
        rp.report(error("NO_PROPERTIES", "no properties specified"))
    unknown = [n for n in values if n not in CLUSTER_PROPERTIES]
    if unknown:
        allowed = ", ".join(f"'{n}'" for n in sorted(CLUSTER_PROPERTIES))
        names = ", ".join(f"'{n}'" for n in unknown)
        if len(unknown) == 1:
            msg = f"invalid cluster property option {names}, allowed options are: {allowed}"
        else:
            msg = f"invalid cluster property options: {names}, allowed options are: {allowed}"
        readonly = [n for n in unknown if n in READONLY_PROPERTIES]
        rp.report(
            error(
                "INVALID_OPTIONS",
                msg,
                force_code=None if readonly else "FORCE",
                option_names=unknown,
                allowed=sorted(CLUSTER_PROPERTIES),
            )
        )
    for name, value in values.items():
        if value == "":
            continue
        report = validate_property_value(name, value)
        if report:
            rp.report(report)
    rp.raise_if_errors()
    cib = env.get_cib()
    nvset = _property_set(cib, create=True)
    assert nvset is not None
    cib_tools.update_nvset(cib, nvset, values)
    env.push_cib()


def unset_properties(env: LibraryEnvironment, names: list[str]) -> None:
    """Remove cluster properties; a property that is not set is an error (forceable)."""
    rp = env.report_processor
    if not names:
        rp.report(error("NO_PROPERTIES", "no properties specified"))
    cib = env.get_cib()
    nvset = _property_set(cib, create=False)
    present = cib_tools.nvset_to_dict(nvset)
    for name in names:
        if name not in present:
            rp.report(
                error(
                    "CANNOT_REMOVE_PROPERTY",
                    f"Cannot remove property '{name}', it is not present in property set "
                    f"'{SET_ID}'",
                    force_code="FORCE",
                    property=name,
                    set_id=SET_ID,
                )
            )
    rp.raise_if_errors()
    if nvset is not None:
        cib_tools.update_nvset(cib, nvset, {n: "" for n in names})
    env.push_cib()


def get_properties(env: LibraryEnvironment) -> dict[str, str]:
    """The configured cluster properties (``cib-bootstrap-options``), in CIB order."""
    return cib_tools.nvset_to_dict(_property_set(env.get_cib(), create=False))


def property_defaults() -> dict[str, str]:
    """Every settable property with its default (``property config --defaults``)."""
    return {n: spec[1] or "" for n, spec in sorted(CLUSTER_PROPERTIES.items())}
