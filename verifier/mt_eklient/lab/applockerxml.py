"""AppLocker policy XML as Get-AppLockerPolicy -Effective -Xml shows it: all five rule collections,
missing ones as NotConfigured, rules in a stable order, so two equal policies compare equal.
Set-AppLockerPolicy's refusals follow the policy schema of the AppLocker CSP documentation (rule Ids
are GuidType, without braces; a FileHash is 0x plus 64 hex digits, SHA1 40)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

COLLECTIONS = ("Appx", "Dll", "Exe", "Msi", "Script")
MODES = ("NotConfigured", "AuditOnly", "Enabled")
RULE_TAGS = ("FilePublisherRule", "FilePathRule", "FileHashRule")
GUID = re.compile(r"[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
HASH_DATA = {"SHA256": re.compile(r"0x[0-9A-Fa-f]{64}"), "SHA256Flat": re.compile(r"0x[0-9A-Fa-f]{64}"),
             "SHA1": re.compile(r"0x[0-9A-Fa-f]{40}")}


class PolicyError(ValueError):
    pass


def empty_policy() -> str:
    return normalise('<AppLockerPolicy Version="1" />')


def normalise(xml_text: str) -> str:
    """Parse, check and re-serialise a policy; raises PolicyError like Set-AppLockerPolicy would."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as err:
        raise PolicyError(f"the AppLocker policy XML is not well-formed: {err}") from None
    if root.tag != "AppLockerPolicy":
        raise PolicyError(f"the root element must be AppLockerPolicy, not {root.tag}")
    collections: dict[str, ET.Element] = {}
    for child in root:
        if child.tag != "RuleCollection":
            raise PolicyError(f"unexpected element {child.tag} in AppLockerPolicy")
        kind = child.get("Type", "")
        if kind not in COLLECTIONS:
            raise PolicyError(f"unknown rule collection type {kind!r} (expected one of {', '.join(COLLECTIONS)})")
        if kind in collections:
            raise PolicyError(f"rule collection {kind} appears twice")
        mode = child.get("EnforcementMode", "NotConfigured")
        if mode not in MODES:
            raise PolicyError(f"{kind}: invalid EnforcementMode {mode!r} (expected one of {', '.join(MODES)})")
        ids = set()
        for rule in child:
            if rule.tag not in RULE_TAGS:
                raise PolicyError(f"{kind}: unexpected element {rule.tag}")
            rule_id = rule.get("Id", "")
            if not rule_id or rule_id.lower() in ids:
                raise PolicyError(f"{kind}: rule {rule.get('Name')!r} has a missing or duplicate Id")
            if not GUID.fullmatch(rule_id):
                raise PolicyError(f"{kind}: rule Id {rule_id!r} is not a GUID (GuidType: no braces)")
            for file_hash in rule.iter("FileHash"):
                pattern = HASH_DATA.get(file_hash.get("Type", ""))
                if pattern is None or not pattern.fullmatch(file_hash.get("Data", "")):
                    raise PolicyError(f"{kind}: rule {rule_id}: FileHash Type {file_hash.get('Type')!r} with Data "
                                      f"{file_hash.get('Data')!r} is not a valid hash")
            ids.add(rule_id.lower())
            if rule.get("Action") not in ("Allow", "Deny"):
                raise PolicyError(f"{kind}: rule {rule_id} has Action {rule.get('Action')!r}")
        collections[kind] = child
    out = ET.Element("AppLockerPolicy", {"Version": root.get("Version", "1")})
    for kind in COLLECTIONS:
        source = collections.get(kind)
        element = ET.SubElement(out, "RuleCollection",
                                {"Type": kind, "EnforcementMode": source.get("EnforcementMode", "NotConfigured")
                                 if source is not None else "NotConfigured"})
        if source is not None:
            for rule in sorted(source, key=lambda r: r.get("Id", "").lower()):
                element.append(rule)
    for element in out.iter():  # whitespace between elements is not part of the policy
        element.tail = None
        if len(element) and element.text and not element.text.strip():
            element.text = None
    return ET.tostring(out, encoding="unicode")


def collections_summary(xml_text: str) -> dict[str, dict[str, object]]:
    """{collection: {"mode": ..., "rule_count": n}} for the facts document."""
    root = ET.fromstring(xml_text)
    return {c.get("Type", ""): {"mode": c.get("EnforcementMode", "NotConfigured"), "rule_count": len(c)}
            for c in root}
