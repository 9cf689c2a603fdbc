"""The lab's firewall_rules emulation passes the same Set-NetFirewallRule parameters as the script."""

from __future__ import annotations

from mt_eklient.lab.appliers.fwrules import update_parameters
from oracle_paths import REPO
from psbinding import Script

SCRIPT = REPO / "roles" / "mt_segmentation" / "files" / "firewall_rules.ps1"
PARAMETER = {"display_name": "NewDisplayName", "direction": "Direction", "action": "Action", "enabled": "Enabled",
             "protocol": "Protocol", "profiles": "Profile", "remote_addresses": "RemoteAddress", "program": "Program",
             "local_ports": "LocalPort", "remote_ports": "RemotePort"}


def set_call_parameters() -> set[str]:
    script = Script("firewall_rules.ps1", SCRIPT.read_bytes())
    (node, call), = [(n, c) for n, c in script.calls() if c and c.cmdlet == "Set-NetFirewallRule"]
    named = {v for kind, v in call.elements if kind in ("param", "param:")}
    splat = script.splat_keys(script.scope_of(node), call.splats[0])
    assert not splat.dynamic
    return named | splat.keys


def test_emulation_and_script_update_the_same_filters() -> None:
    want = {"display_name": "d", "direction": "in", "action": "allow", "enabled": True, "protocol": "tcp",
            "profiles": ["Domain"], "remote_addresses": [], "program": "", "local_ports": [], "remote_ports": []}
    emulated = {PARAMETER[k] for k in update_parameters(want, clear_ports=True, clear_program=True)} | {"Name"}
    assert emulated == set_call_parameters()


def test_the_update_names_the_rule_and_renames_with_new_display_name() -> None:
    keys = set_call_parameters()
    assert {"Name", "NewDisplayName", "LocalPort", "RemotePort", "Program", "RemoteAddress"} <= keys
    assert "DisplayName" not in keys
