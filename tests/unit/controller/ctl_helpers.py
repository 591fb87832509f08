"""CIBs for the controller's scenarios: Dummy resources (the fake executor behaves like Dummy)."""

from __future__ import annotations


def dummy(rid: str, *, monitor: str = "10s", op_extra: str = "", meta: str = "",
          start_extra: str = "") -> str:
    meta_xml = ""
    if meta:
        pairs = "".join(
            f'<nvpair id="{rid}-meta_attributes-{k}" name="{k}" value="{v}"/>'
            for k, v in (kv.split("=", 1) for kv in meta.split())
        )
        meta_xml = f'<meta_attributes id="{rid}-meta_attributes">{pairs}</meta_attributes>'
    return (
        f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">'
        f'<instance_attributes id="{rid}-instance_attributes">'
        f'<nvpair id="{rid}-instance_attributes-state" name="state" value="/run/{rid}.state"/>'
        f"</instance_attributes>{meta_xml}"
        f'<operations>'
        f'<op id="{rid}-monitor-interval-{monitor}" name="monitor" interval="{monitor}" '
        f'timeout="20s" {op_extra}/>'
        f'<op id="{rid}-start-interval-0s" name="start" interval="0s" timeout="20s" {start_extra}/>'
        f'<op id="{rid}-stop-interval-0s" name="stop" interval="0s" timeout="20s"/>'
        f"</operations></primitive>"
    )


def make_cib(resources: str, constraints: str = "", *, stonith: bool = False,
             props: dict[str, str] | None = None, rsc_defaults: str = "") -> str:
    options = {"stonith-enabled": "true" if stonith else "false"}
    options.update(props or {})
    nvs = "".join(
        f'<nvpair id="cib-bootstrap-options-{k}" name="{k}" value="{v}"/>' for k, v in options.items()
    )
    defaults = ""
    if rsc_defaults:
        pairs = "".join(
            f'<nvpair id="rsc_defaults-meta_attributes-{k}" name="{k}" value="{v}"/>'
            for k, v in (kv.split("=", 1) for kv in rsc_defaults.split())
        )
        defaults = (f'<rsc_defaults><meta_attributes id="rsc_defaults-meta_attributes">{pairs}'
                    "</meta_attributes></rsc_defaults>")
    return (
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="5" num_updates="0" '
        'admin_epoch="0"><configuration><crm_config>'
        f'<cluster_property_set id="cib-bootstrap-options">{nvs}</cluster_property_set>'
        "</crm_config><nodes/>"
        f"<resources>{resources}</resources><constraints>{constraints}</constraints>"
        f"{defaults}</configuration><status/></cib>"
    )


