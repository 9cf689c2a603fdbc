"""`# mtk-applier: applocker` (roles/mt_whitelisting/files/applocker.ps1).

PolicyXml: the whole local policy. Compared as the script does, by signature - per rule collection
"Type:EnforcementMode:sorted rule ids", NotConfigured collections without rules left out - and set
(Set-AppLockerPolicy without -Merge: a replacement) only when the signatures differ. A change to a
rule that keeps its Id is therefore not applied, as on Windows. Diff: the signatures, one per line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .. import applockerxml
from . import ApplierError, Outcome, State, take


def signature(xml_text: str) -> list[str]:
    if not xml_text:
        return []
    root = ET.fromstring(xml_text)
    out = []
    for collection in root.findall("RuleCollection"):
        ids = sorted(str(r.get("Id")).lower() for r in collection if r.get("Id"))
        line = f"{collection.get('Type')}:{collection.get('EnforcementMode', '')}:{','.join(ids)}"
        if not line.endswith(":NotConfigured:"):
            out.append(line)
    return sorted(out)


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "applocker", {"PolicyXml": str}, required=("PolicyXml",))
    try:
        want = signature(p["PolicyXml"])
    except ET.ParseError as err:
        raise ApplierError(f"Cannot convert value to type \"System.Xml.XmlDocument\". Error: \"{err}\"") from None
    current = state["applocker"]["policy_xml"]
    have = signature(current)
    before, after = "\n".join(have), "\n".join(want)
    if have == want:
        return Outcome(False, 0, before, after, {})
    try:
        state["applocker"]["policy_xml"] = applockerxml.normalise(p["PolicyXml"])
    except applockerxml.PolicyError as err:
        raise ApplierError(f"Set-AppLockerPolicy : {err}") from None
    return Outcome(True, 1, before, after, {})
