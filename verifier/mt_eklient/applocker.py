"""AppLocker policy generated from a device profile, and the rule signatures used to compare
policies. The build writes `policy_xml(profile)`; the verifier compares signatures of the
machine's effective policy with the signatures of the same generated policy."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the evaluation imports this module without the profile models
    from .profile import Profile

EVERYONE = "S-1-1-0"
ADMINISTRATORS = "S-1-5-32-544"
# The collections the toolkit manages. DLL rules are left NotConfigured unless a profile's
# extra_rules name the Dll collection: Microsoft warns they slow every process start.
MANAGED_COLLECTIONS = ("Exe", "Msi", "Script", "Appx")
MODE = {"audit": "AuditOnly", "enforce": "Enabled"}
_NAMESPACE = uuid.UUID("6b1d3c0e-2f4e-4a52-9a58-6d2f0c1b7e11")

# Folders under %WINDIR% that standard users can write to: carve them out of the Windows rule so
# nothing runs from a user-writable path.
USER_WRITABLE_UNDER_WINDIR = (
    r"%WINDIR%\Temp\*",
    r"%WINDIR%\Tasks\*",
    r"%WINDIR%\tracing\*",
    r"%WINDIR%\Registration\CRMLog\*",
    r"%SYSTEM32%\Tasks\*",
    r"%SYSTEM32%\spool\drivers\color\*",
    r"%SYSTEM32%\spool\PRINTERS\*",
    r"%SYSTEM32%\com\dmp\*",
    r"%SYSTEM32%\FxsTmp\*",
    r"%SYSTEM32%\Microsoft\Crypto\RSA\MachineKeys\*",
)


def _rule_id(*parts: str) -> str:
    # Stable ids keep the generated XML identical between runs, so a rebuild changes nothing. The
    # policy schema's GuidType has no braces (AppLocker CSP, "Policy XSD Schema").
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def _as_folder_pattern(path: str) -> str:
    path = path.rstrip("\\")
    return path if path.endswith("*") else path + "\\*"


def _path_rule(parent: _Collection, collection: str, name: str, path: str, sid: str = EVERYONE,
               exceptions: tuple[str, ...] = (), action: str = "Allow") -> None:
    rule = ET.Element("FilePathRule", Id=_rule_id(collection, "path", path, sid, action), Name=name,
                      Description="mt-eklient", UserOrGroupSid=sid, Action=action)
    parent.append(rule)
    ET.SubElement(ET.SubElement(rule, "Conditions"), "FilePathCondition", Path=path)
    if exceptions:
        holder = ET.SubElement(rule, "Exceptions")
        for exception in exceptions:
            ET.SubElement(holder, "FilePathCondition", Path=exception)


def _publisher_rule(parent: _Collection, collection: str, name: str, publisher: str, action: str = "Allow") -> None:
    rule = ET.Element("FilePublisherRule", Id=_rule_id(collection, "publisher", publisher, action),
                      Name=name, Description="mt-eklient", UserOrGroupSid=EVERYONE, Action=action)
    parent.append(rule)
    condition = ET.SubElement(ET.SubElement(rule, "Conditions"), "FilePublisherCondition",
                              PublisherName=publisher, ProductName="*", BinaryName="*")
    ET.SubElement(condition, "BinaryVersionRange", LowSection="*", HighSection="*")


def _hash_rule(parent: _Collection, collection: str, name: str, digest: str, kind: str, action: str = "Allow") -> None:
    rule = ET.Element("FileHashRule", Id=_rule_id(collection, "hash", kind, digest.lower(), action), Name=name,
                      Description="mt-eklient", UserOrGroupSid=EVERYONE, Action=action)
    parent.append(rule)
    condition = ET.SubElement(ET.SubElement(rule, "Conditions"), "FileHashCondition")
    ET.SubElement(condition, "FileHash", Type=kind, Data=digest, SourceFileName=name, SourceFileLength="0")


class _Collection:
    """One RuleCollection that drops a rule equal to one it already holds (two applications signed
    by the same publisher need one rule, and AppLocker rejects duplicate rule Ids)."""

    def __init__(self, root: ET.Element, collection: str, mode: str):
        self.element = ET.SubElement(root, "RuleCollection", Type=collection, EnforcementMode=mode)
        self.ids: set[str] = set()

    def append(self, rule: ET.Element) -> None:
        if rule.get("Id") not in self.ids:
            self.ids.add(rule.get("Id", ""))
            self.element.append(rule)


def policy_xml(profile: Profile) -> str:
    mode = MODE[profile.whitelisting.mode]
    root = ET.Element("AppLockerPolicy", Version="1")
    dll = ("Dll",) if any(r.collection == "Dll" for r in profile.whitelisting.extra_rules) else ()
    for collection in (*MANAGED_COLLECTIONS, *dll):
        rc = _Collection(root, collection, mode)
        if collection == "Appx":
            _publisher_rule(rc, collection, "Signed packaged apps", "*")
        else:
            if collection == "Msi":
                _path_rule(rc, collection, "Windows Installer cache", r"%WINDIR%\Installer\*")
            else:
                _path_rule(rc, collection, "Windows folder", r"%WINDIR%\*", exceptions=USER_WRITABLE_UNDER_WINDIR)
                _path_rule(rc, collection, "Program Files", r"%PROGRAMFILES%\*")
            _path_rule(rc, collection, "Administrators", "*", sid=ADMINISTRATORS)
        if collection in ("Exe", "Dll"):  # an application's DLLs sit beside its executables
            for app in profile.applications:
                if app.publisher:
                    _publisher_rule(rc, collection, f"{app.name} (publisher)", app.publisher)
                for path in app.install_paths:
                    _path_rule(rc, collection, f"{app.name} ({path})", _as_folder_pattern(path))
        for extra in profile.whitelisting.extra_rules:
            if extra.collection != collection:
                continue
            action = extra.action.capitalize()
            if extra.kind == "publisher":
                _publisher_rule(rc, collection, extra.name, extra.value, action)
            elif extra.kind == "path":
                _path_rule(rc, collection, extra.name, extra.value, action=action)
            else:
                _hash_rule(rc, collection, extra.name, extra.value, str(extra.hash_type), action)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


# policy_xml per profile object (several controls and the build plan ask for the same profile's policy).
_POLICIES: dict[int, tuple[Profile, str]] = {}
_POLICIES_KEPT = 64


def profile_policy(profile: Profile) -> str:
    """policy_xml(profile), built once per profile object."""
    hit = _POLICIES.get(id(profile))
    if hit is None or hit[0] is not profile:  # the profile is kept with it, so its id is not reused
        if len(_POLICIES) >= _POLICIES_KEPT:
            _POLICIES.clear()
        hit = _POLICIES[id(profile)] = (profile, policy_xml(profile))
    return hit[1]


def collection_modes(xml_text: str | None) -> dict[str, str]:
    """EnforcementMode per collection; collections absent from the policy are NotConfigured."""
    modes = {c: "NotConfigured" for c in (*MANAGED_COLLECTIONS, "Dll")}
    if xml_text:
        for rc in ET.fromstring(xml_text).iter("RuleCollection"):
            modes[rc.get("Type", "")] = rc.get("EnforcementMode", "NotConfigured")
    return modes


def rule_signatures(xml_text: str | None) -> set[str]:
    """One comparable string per rule: collection, action, user SID and condition (ids and names ignored)."""
    if not xml_text:
        return set()
    out: set[str] = set()
    for rc in ET.fromstring(xml_text).iter("RuleCollection"):
        collection = rc.get("Type", "")
        for rule in rc:
            conditions = rule.find("Conditions")
            if conditions is None:
                continue
            for cond in conditions:
                value = cond.get("Path") or cond.get("PublisherName") or ""
                hashed = cond.find("FileHash")
                if hashed is not None:
                    value = f"{hashed.get('Type', '')}:{hashed.get('Data', '')}"
                exceptions = sorted(e.get("Path", "") for e in rule.findall("Exceptions/FilePathCondition"))
                suffix = f" except {';'.join(exceptions)}" if exceptions else ""
                out.add(f"{collection}:{rule.get('Action')}:{rule.get('UserOrGroupSid')}:{cond.tag}:{value.lower()}{suffix.lower()}")
    return out
