"""Oracle 1: every cmdlet call in every .ps1 of the project binds to ONE parameter set documented by
Microsoft, for every LTSC edition still in support (psbinding.py says how)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from mt_eklient.buildplan import DEFENDER_EXCLUSIONS
from mt_eklient.catalog import load_catalog
from mt_eklient.lifecycle import editions
from oracle_paths import REPO, reference_file
from psbinding import Reference, Script, bind, check_script

SKIP_DIRS = {".venv", ".git", "node_modules", "__pycache__"}
# Windows client build -> the docset of the Windows Server release on the same code base.
DOCSET_BY_BUILD = {14393: "winserver2016-ps", 17763: "winserver2019-ps", 19044: "winserver2022-ps",
                   26100: "winserver2025-ps"}
ORDER = sorted(DOCSET_BY_BUILD.values())

# Microsoft documents these in the PowerShell 5.1 reference, but the extracted reference lacks them.
# Their SYNTAX, as on the pages named, until the reference has them (a test below drops each then).
SUPPLEMENT = {
    # learn.microsoft.com/powershell/module/microsoft.powershell.core/foreach-object?view=powershell-5.1
    "ForEach-Object": {"module": "Microsoft.PowerShell.Core", "docsets": {"powershell-5.1": {"parameter_sets": {
        "ScriptBlockSet": {
            "InputObject": {"mandatory": False, "positional": False, "type": "PSObject"},
            "Begin": {"mandatory": False, "positional": False, "type": "ScriptBlock"},
            "Process": {"mandatory": True, "positional": True, "type": "ScriptBlock[]"},
            "End": {"mandatory": False, "positional": False, "type": "ScriptBlock"},
            "RemainingScripts": {"mandatory": False, "positional": False, "type": "ScriptBlock[]"},
            "WhatIf": {"mandatory": False, "positional": False, "type": "SwitchParameter"},
            "Confirm": {"mandatory": False, "positional": False, "type": "SwitchParameter"}},
        "PropertyAndMethodSet": {
            "InputObject": {"mandatory": False, "positional": False, "type": "PSObject"},
            "MemberName": {"mandatory": True, "positional": True, "type": "String"},
            "ArgumentList": {"mandatory": False, "positional": False, "type": "Object[]"},
            "WhatIf": {"mandatory": False, "positional": False, "type": "SwitchParameter"},
            "Confirm": {"mandatory": False, "positional": False, "type": "SwitchParameter"}}}}}},
    # learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json?view=powershell-5.1
    "ConvertTo-Json": {"module": "Microsoft.PowerShell.Utility", "docsets": {"powershell-5.1": {"parameter_sets": {
        "__AllParameterSets": {
            "InputObject": {"mandatory": True, "positional": True, "type": "Object"},
            "Depth": {"mandatory": False, "positional": False, "type": "Int32"},
            "Compress": {"mandatory": False, "positional": False, "type": "SwitchParameter"}}}}}},
    # learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertfrom-json?view=powershell-5.1
    "ConvertFrom-Json": {"module": "Microsoft.PowerShell.Utility", "docsets": {"powershell-5.1": {"parameter_sets": {
        "__AllParameterSets": {
            "InputObject": {"mandatory": True, "positional": True, "type": "String"}}}}}},
}


def supported_docsets(today: date) -> list[str]:
    """The docsets of the LTSC editions still in support (every one must have a docset)."""
    out = set()
    for edition in editions().values():
        if edition.end_of_support < today:
            continue
        assert edition.build in DOCSET_BY_BUILD, f"{edition.id}: no Microsoft docset for build {edition.build}"
        out.add(DOCSET_BY_BUILD[edition.build])
    return sorted(out)


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.load(reference_file("cmdlets.json"), SUPPLEMENT)


def ps1_files() -> list[Path]:
    """The project's scripts (not the simulated lab's run-time folder ./lab, made by `mtk lab up`)."""
    return sorted(p for p in REPO.rglob("*.ps1") if p.is_file() and p.relative_to(REPO).parts[0] != "lab"
                  and not SKIP_DIRS.intersection(p.relative_to(REPO).parts[:-1]))


def runtime_keys() -> dict[tuple[str, str], set[str]]:
    """Splats whose keys Python computes: the defender applier's Preferences (one Set-MpPreference
    call) and Exclusions (one Add-/Remove-MpPreference call each) are catalog property names."""
    names = {str(c.check.get("property")) for c in load_catalog().controls
             if c.check.get("method") == "defender" and c.check.get("source") == "preferences" and c.build}
    defender = "roles/mt_antivirus/files/defender.ps1"
    return {(defender, "set"): names - set(DEFENDER_EXCLUSIONS),
            (defender, "arguments"): set(DEFENDER_EXCLUSIONS)}


def test_the_project_has_scripts_to_check() -> None:
    labels = {str(p.relative_to(REPO)) for p in ps1_files()}
    assert "verifier/mt_eklient/collector/collect.ps1" in labels
    assert "roles/mt_segmentation/files/firewall_rules.ps1" in labels


def test_supported_editions_have_docsets() -> None:
    assert supported_docsets(date(2026, 12, 1)) == ["winserver2019-ps", "winserver2022-ps", "winserver2025-ps"]


@pytest.mark.parametrize("path", ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_cmdlet_call_binds_to_one_documented_parameter_set(path: Path, reference: Reference) -> None:
    label = str(path.relative_to(REPO))
    report = check_script(label, path.read_bytes(), reference, supported_docsets(date.today()), ORDER,
                          runtime_keys())
    problems = report.problems + [f"{u.file}:{u.line}: {u.cmdlet}: the keys of @{u.variable} are computed at run "
                                  "time and no test says which they can be" for u in report.unresolved]
    assert not problems, "\n".join(problems)


def test_supplement_only_holds_what_the_reference_lacks() -> None:
    import json

    documented = json.loads(reference_file("cmdlets.json").read_text(encoding="utf-8"))["cmdlets"]
    assert not set(SUPPLEMENT) & set(documented), "the reference documents these now: drop them from SUPPLEMENT"


# ---------------------------------------------------------------- the oracle catches what Windows rejects

DOCSETS = ["winserver2019-ps", "winserver2022-ps", "winserver2025-ps"]


def problems_of(snippet: str, reference: Reference) -> list[str]:
    return check_script("t.ps1", snippet.encode(), reference, DOCSETS, ORDER).problems


@pytest.mark.parametrize(("snippet", "expected"), [
    ("Set-NetFirewallRule -Name $n -DisplayName $d",
     "t.ps1:1: Set-NetFirewallRule: -Name and -DisplayName are in different parameter sets (ByName, ByDisplayName)"),
    ("$s = @{ DisplayName = 'x' }\nSet-NetFirewallRule -Name $n @s",
     "t.ps1:2: Set-NetFirewallRule: -Name and -DisplayName are in different parameter sets (ByName, ByDisplayName)"),
    ("$s = @{}\n$s.DisplayName = 'x'\nSet-NetFirewallRule -Name $n @s", "different parameter sets"),
    ("$s = @{}\n$s['DisplayName'] = 'x'\nSet-NetFirewallRule -Name $n @s", "different parameter sets"),
    ("function Get-S { $h = @{ DisplayName = 'x' }\n $h }\n$s = Get-S\nSet-NetFirewallRule -Name $n @s",
     "different parameter sets"),
    ("New-NetFirewallRule -Name $n -Direction Inbound", "set __AllParameterSets needs -DisplayName"),
    ("Set-AppLockerPolicy -Merge", "needs -XmlPolicy"),
    ("Get-AppLockerPolicy -Local -Effective -Xml", "-Local and -Effective are in different parameter sets"),
    ("Get-NetFirewallRule -P PersistentStore", "-P is ambiguous"),
    ("Set-MpPreference -ScanScheduleTimeOfDay 1", "-ScanScheduleTimeOfDay is not a parameter"),
    ("Get-MtkUndefined -X 1", "Get-MtkUndefined: not documented in Microsoft's reference nor defined in this file"),
    ("Get-Content -LiteralPath", "-LiteralPath needs a value"),
    ("Join-Path 'a'", "needs -ChildPath"),
    ("& $command -X", "dynamic command"),
])
def test_oracle_rejects_calls_windows_rejects(snippet: str, expected: str, reference: Reference) -> None:
    problems = problems_of(snippet, reference)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("snippet", [
    "Set-NetFirewallRule -Name $n -NewDisplayName $d -LocalPort Any",
    "$r | Get-NetFirewallPortFilter",  # the mandatory rule comes from the pipeline
    "Join-Path $a 'b'",  # both mandatory parameters by position
    "Get-NetFirewallRule -PolicyStore PersistentStore -ErrorAction SilentlyContinue",
    "Get-AppLockerPolicy -Effective -Xml",
    "Remove-Item -LiteralPath $f -Force -WhatIf:$false",
    "function Get-MtkX { 1 }\nGet-MtkX -Anything 1",  # defined in the file
    "& auditpol.exe /backup /file:x",  # native tools are not cmdlets
    "Get-NetFirewallRule -Direc Inbound",  # unambiguous prefix
])
def test_oracle_accepts_documented_calls(snippet: str, reference: Reference) -> None:
    assert problems_of(snippet, reference) == []


def test_a_splat_computed_at_run_time_must_be_accounted_for(reference: Reference) -> None:
    snippet = b"$s = @{}\nforeach ($k in $Keys) { $s[$k] = 1 }\nSet-MpPreference @s\n"
    report = check_script("t.ps1", snippet, reference, DOCSETS, ORDER)
    assert [(u.line, u.variable) for u in report.unresolved] == [(3, "s")]
    bad = check_script("t.ps1", snippet, reference, DOCSETS, ORDER, {("t.ps1", "s"): ["ScanScheduleTimeOfDay"]})
    assert bad.problems == [("t.ps1:3: Set-MpPreference: splatted key 'ScanScheduleTimeOfDay': "
                             "-ScanScheduleTimeOfDay is not a parameter")]


def test_a_cmdlet_missing_from_an_older_docset_is_reported_for_it(reference: Reference) -> None:
    # Get-NetFirewallDynamicKeywordAddress arrived with Windows Server 2022: not on LTSC 2019.
    problems = problems_of("Get-NetFirewallDynamicKeywordAddress", reference)
    assert problems == [("t.ps1:1: Get-NetFirewallDynamicKeywordAddress: not documented for winserver2019-ps "
                         "(on winserver2019-ps)")]


def test_binding_sees_positional_and_pipeline_input(reference: Reference) -> None:
    sets = reference.cmdlets["get-netfirewallportfilter"]["winserver2022-ps"]
    (_, call), = list(Script("t", b"Get-NetFirewallPortFilter -AssociatedNetFirewallRule $r").calls())
    assert bind(call, sets, []) is None


def test_lab_defender_emulation_knows_only_documented_preferences() -> None:
    """The lab's Set-MpPreference refuses what no Microsoft docset documents; what the build sends
    binds on every supported docset (test_every_cmdlet_call_..., through runtime_keys)."""
    import json

    from mt_eklient.lab.appliers.defender import KNOWN

    documented = json.loads(reference_file("cmdlets.json").read_text(encoding="utf-8"))["cmdlets"]["Set-MpPreference"]
    parameters = {p for doc in documented["docsets"].values() for ps in doc["parameter_sets"].values() for p in ps}
    assert sorted(set(KNOWN.values()) - parameters) == []
