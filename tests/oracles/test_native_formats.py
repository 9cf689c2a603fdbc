"""Oracle 3: what the project reads from native Windows tools is tested on output in the exact form
Windows writes it, localized Windows included, and nothing reads such output by a translated name.

- `auditpol /backup` (the audit.csv format of MS-GPAC 2.2.1.2 "Advanced Audit Configuration File"):
  the header line is translated on localized Windows; GUIDs and the numeric Setting Value are not.
- `secedit /export`: a UTF-16 LE INF with a BOM; section and key names are never translated.
- `Get-AppLockerPolicy -Xml`: Windows writes the policy back in its own form.
- firewall filters: Windows reports subnets as address/mask and "Any" for no restriction.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest
from mt_eklient.applocker import collection_modes, policy_xml, rule_signatures
from mt_eklient.profile import load_profile
from oracle_paths import REPO
from psbinding import Script, text, unwrap, walk

GUID = re.compile(r"^\{[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\}$")
LOGON, LOGOFF, CRED = ("{0cce9215-69ae-11d9-bed3-505054503030}", "{0cce9216-69ae-11d9-bed3-505054503030}",
                       "{0cce923f-69ae-11d9-bed3-505054503030}")
EXPECTED = {LOGON: 3, LOGOFF: 1, CRED: 0}

# auditpol /backup as Windows writes it: CRLF, the machine name in column 1, upper-case GUIDs, the
# inclusion text translated, option and global SACL rows without a GUID.
AUDITPOL_BACKUP = {
    "en-US": ("Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,"
              "Setting Value\r\n"
              "WM1-SONO-01,System,Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Success and Failure,,3\r\n"
              "WM1-SONO-01,System,Logoff,{0CCE9216-69AE-11D9-BED3-505054503030},Success,,1\r\n"
              "WM1-SONO-01,System,Credential Validation,{0CCE923F-69AE-11D9-BED3-505054503030},No Auditing,,0\r\n"
              "WM1-SONO-01,,Option:CrashOnAuditFail,,Disabled,,0\r\n"
              "WM1-SONO-01,,Option:AuditBaseObjects,,Disabled,,0\r\n"),
    # Header as German Windows writes it (public GPO backups of de-DE hosts).
    "de-DE": ("Computername,Richtlinienziel,Unterkategorie,Unterkategorie-GUID,Einschlusseinstellung,"
              "Ausschlusseinstellung,Einstellungswert\r\n"
              "WM1-SONO-01,System,Anmelden,{0CCE9215-69AE-11D9-BED3-505054503030},Erfolg und Fehler,,3\r\n"
              "WM1-SONO-01,System,Abmelden,{0CCE9216-69AE-11D9-BED3-505054503030},Erfolg,,1\r\n"
              "WM1-SONO-01,System,Überprüfung der Anmeldeinformationen,{0CCE923F-69AE-11D9-BED3-505054503030},"
              "Keine Überwachung,,0\r\n"
              "WM1-SONO-01,,Option:CrashOnAuditFail,,Deaktiviert,,0\r\n"),
    # Swedish Windows: translated header and inclusion text ("Lyckade och misslyckade").
    "sv-SE": ("Datornamn,Principmål,Underkategori,GUID för underkategori,Inkluderingsinställning,"
              "Exkluderingsinställning,Inställningsvärde\r\n"
              "WM1-SONO-01,System,Inloggning,{0CCE9215-69AE-11D9-BED3-505054503030},Lyckade och misslyckade,,3\r\n"
              "WM1-SONO-01,System,Utloggning,{0CCE9216-69AE-11D9-BED3-505054503030},Lyckade,,1\r\n"
              "WM1-SONO-01,System,Verifiering av autentiseringsuppgifter,{0CCE923F-69AE-11D9-BED3-505054503030},"
              "Ingen granskning,,0\r\n"),
}
HEADER_NAMES = {cell for sample in AUDITPOL_BACKUP.values() for cell in sample.split("\r\n", 1)[0].split(",")}

# Only the collector reads native output: the appliers are given the changes (tests/build/test_static.py).
AUDIT_READERS = [REPO / "verifier" / "mt_eklient" / "collector" / "collect.ps1"]


def csv_header(path: Path) -> list[str] | None:
    """The -Header names of the script's Import-Csv call (a literal list or a variable holding one)."""
    script = Script(path.name, path.read_bytes())
    for _, call in script.calls():
        if call is None or call.cmdlet.lower() != "import-csv":
            continue
        elements = call.elements
        for index, (kind, value) in enumerate(elements):
            if kind in ("param", "param:") and value.lower() == "header" and index + 1 < len(elements):
                return _string_list(script, elements[index + 1][1])
        return None
    raise AssertionError(f"{path.name}: no Import-Csv call")


def _string_list(script: Script, written: str) -> list[str]:
    if written.startswith("$"):
        for node in walk(script.root):
            if node.type == "assignment_expression" and text(unwrap(node.children[0])).lower() == written.lower():
                written = text(node.children[-1])
                break
    return re.findall(r"'([^']*)'", written)


def import_csv_with_header(sample: str, header: list[str]) -> list[dict[str, str]]:
    """Import-Csv -Header: every line is data (the file's own header line too), fields by position."""
    return [dict(zip(header, row, strict=False)) for row in csv.reader(io.StringIO(sample, newline=""))]


@pytest.mark.parametrize("path", AUDIT_READERS, ids=lambda p: p.name)
@pytest.mark.parametrize("language", sorted(AUDITPOL_BACKUP))
def test_auditpol_backup_is_read_by_column_position(path: Path, language: str) -> None:
    header = csv_header(path)
    assert header, f"{path.name}: Import-Csv without -Header reads the translated header line as names"
    assert len(header) == 7 and {"guid", "value"} <= set(header)
    source = path.read_text(encoding="utf-8")
    assert "$row.guid" in source and "$row.value" in source
    read = {}
    for row in import_csv_with_header(AUDITPOL_BACKUP[language], header):
        guid, value = row["guid"].strip().lower(), row["value"].strip()
        if GUID.match(guid) and value.isdigit():
            read[guid] = int(value) & 3
    assert read == EXPECTED


def _strings(path: Path) -> list[str]:
    """The string literals of a script or module (comments and docstrings are prose, not reads)."""
    if path.suffix == ".ps1":
        return [text(n).strip("'\"") for n in walk(Script(path.name, path.read_bytes()).root)
                if n.type == "string_literal"]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_code_reads_native_output_by_a_translated_name() -> None:
    offenders = []
    for path in [*REPO.glob("roles/*/files/*.ps1"), *REPO.glob("verifier/mt_eklient/**/*.ps1"),
                 *REPO.glob("verifier/mt_eklient/**/*.py")]:
        offenders += [f"{path.relative_to(REPO)}: reads the header {value!r}" for value in _strings(path)
                      if value in HEADER_NAMES]
    assert not offenders, "\n".join(offenders)


def test_the_translated_name_check_sees_a_read(tmp_path: Path) -> None:
    reader = tmp_path / "reader.ps1"
    reader.write_text("# 'Setting Value' in a comment is prose\n$row.'Subcategory GUID'\n", encoding="utf-8")
    assert _strings(reader) == ["Subcategory GUID"]


def test_every_csv_read_of_a_native_tool_names_its_columns() -> None:
    for path in [*REPO.glob("roles/*/files/*.ps1"), *REPO.glob("verifier/mt_eklient/**/*.ps1")]:
        script = Script(path.name, path.read_bytes())
        for _, call in script.calls():
            if call and call.cmdlet.lower() in ("import-csv", "convertfrom-csv"):
                names = {v.lower() for kind, v in call.elements if kind in ("param", "param:")}
                assert "header" in names, f"{path.name}:{call.line}: {call.cmdlet} without -Header"


# secedit /export /cfg: UTF-16 LE with a BOM, CRLF, strings quoted, rights as *SID lists.
SECEDIT_EXPORT = ("\ufeff[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = 0\r\n"
                  "MinimumPasswordLength = 14\r\nLockoutBadCount = 10\r\nNewAdministratorName = \"Administrator\"\r\n"
                  "[Event Audit]\r\nAuditSystemEvents = 0\r\n[Privilege Rights]\r\n"
                  "SeDenyNetworkLogonRight = *S-1-5-32-546\r\nSeNetworkLogonRight = *S-1-1-0,*S-1-5-32-544\r\n"
                  "[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n").encode("utf-16-le")
SECEDIT_READERS = [REPO / "verifier" / "mt_eklient" / "collector" / "collect.ps1"]


def _match_patterns(script: Script) -> list[str]:
    out = []
    for node in walk(script.root):
        if node.type == "comparison_expression" and any(text(c).lower() in ("-match", "-notmatch") for c in node.children):
            literal = unwrap(node.children[-1])
            if literal.type == "string_literal":
                out.append(text(literal)[1:-1])
    return out


@pytest.mark.parametrize("path", SECEDIT_READERS, ids=lambda p: p.name)
def test_secedit_export_is_read_as_windows_writes_it(path: Path) -> None:
    script = Script(path.name, path.read_bytes())
    reads = [c for _, c in script.calls() if c and c.cmdlet == "Get-Content"]
    encodings = {v.lower() for c in reads for (k, n), (_, v) in zip(c.elements, c.elements[1:], strict=False)
                 if k == "param" and n.lower() == "encoding"}
    # Windows PowerShell reads a BOM whatever -Encoding says; without a BOM only -Encoding Unicode would do.
    assert encodings <= {"unicode"}, encodings
    lines = SECEDIT_EXPORT.decode("utf-16").splitlines()
    patterns = _match_patterns(script)
    section = next(p for p in patterns if (m := re.match(p, "[System Access]")) and m.groups() == ("System Access",))
    entry = next(p for p in patterns if (m := re.match(p, "MinimumPasswordLength = 14"))
                 and m.groups()[:2] == ("MinimumPasswordLength", "14"))
    parsed: dict[str, dict[str, str]] = {}
    current = ""
    for raw in lines:
        line = raw.strip()
        if m := re.match(section, line):
            current = m.group(1)
            parsed[current] = {}
        elif current and (m := re.match(entry, line)):
            parsed[current][m.group(1)] = m.group(2).strip()
    assert parsed["System Access"]["MinimumPasswordLength"] == "14"
    assert parsed["System Access"]["NewAdministratorName"] == '"Administrator"'
    assert parsed["Privilege Rights"]["SeNetworkLogonRight"] == "*S-1-1-0,*S-1-5-32-544"


def test_applocker_policy_as_windows_returns_it_compares_equal() -> None:
    """Get-AppLockerPolicy -Xml writes every collection, upper-case hex, no indentation; the verifier's
    rule signatures and modes must not see a difference."""
    written = policy_xml(load_profile(REPO / "profiles" / "sonora-review-4.yml").profile)
    returned = re.sub(r">\s+<", "><", written)
    returned = re.sub(r'(Id|Data)="([^"]+)"', lambda m: f'{m.group(1)}="{m.group(2).upper()}"', returned)
    returned = returned.replace('<AppLockerPolicy Version="1">',
                                '<AppLockerPolicy Version="1"><RuleCollection Type="Dll" EnforcementMode="NotConfigured" />')
    assert rule_signatures(returned) == rule_signatures(written)
    assert collection_modes(returned) == collection_modes(written)


def test_firewall_filters_as_windows_reports_them() -> None:
    """Get-NetFirewallAddressFilter reports 10.20.0.0/255.255.255.0 and single hosts without a mask."""
    from mt_eklient.evaluate import _norm_ports, _norm_remote

    assert _norm_remote(["10.20.0.0/255.255.255.0", "10.30.4.10", "LocalSubnet"]) == \
        _norm_remote(["10.20.0.0/24", "10.30.4.10/32", "localsubnet"])
    assert _norm_ports(["Any"]) == _norm_ports([]) == []
