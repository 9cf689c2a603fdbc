"""The MDS2 questions that decide device-profile fields, as a table.

Each `Rule` names a profile field and the questions that decide it; its rows are tried in order and
the first whose answers match gives the value (and, where the answer has consequences the MT
engineer must act on, a finding). When no row matches (a question missing, unanswered, "See Note",
or N/A where Yes/No is needed) the field becomes a placeholder to fill in and a finding says why:
never a silent default. `CONTRADICTIONS` are answer combinations that cannot both be true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .mds2 import Answer


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
NOT_YES = frozenset({"No", "N/A", None})  # None: the question is missing or unanswered
Match = Answer | frozenset[Answer | None] | _Any


@dataclass(frozen=True)
class Fill:
    """A placeholder: the MDS2 does not answer this field."""

    hint: str


@dataclass(frozen=True)
class PathsFromNotes:
    """Windows paths quoted in the notes of the rule's questions, else a placeholder."""

    hint: str


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()          # the field does not apply (e.g. exclusions when anti-malware is forbidden)
NOT_WINDOWS = "not-windows"


@dataclass(frozen=True)
class Row:
    when: tuple[Match, ...]
    value: Any = OMIT
    finding: str | None = None


@dataclass(frozen=True)
class Rule:
    field: str | None          # dotted profile path; None for rules that only raise findings
    questions: tuple[str, ...]
    rows: tuple[Row, ...]
    hint: str = ""             # placeholder text when no row matches


@dataclass(frozen=True)
class Contradiction:
    when: tuple[tuple[str, Match], ...]
    message: str


# The manufacturer's "compensating controls in place or available" (MLDP-3 = Yes) become these catalog
# controls, mandatory on the client (enforced whitelisting, blocked removable storage, default-deny
# firewall, no extra administrators, only approved updates), as in the catalog's AV-REALTIME-OFF.
COMPENSATING_CONTROLS = (
    "WL-EXE-MODE", "WL-MSI-MODE", "WL-SCRIPT-MODE", "WL-EXE-RULES", "WL-APPIDSVC-START", "WL-APPIDSVC-STATE",
    "RM-USBSTOR-OFF", "RM-DENY-ALL", "AUTORUN-ALL-DRIVES", "FW-INBOUND-DEFAULT", "FW-OUTBOUND-DEFAULT",
    "FW-RULES", "ACC-LOCAL-ADMINS", "PATCH-ONLY-APPROVED",
)

CLASS_RULE = Rule(
    "classification.type", ("DOC-11", "DOC-11.1", "DOC-11.2", "CSUP-2"),
    (
        Row(("Yes", ANY, "Yes", ANY), "WM"),
        Row(("Yes", "Yes", "No", ANY), "M",
            "the software brings its own operating system (DOC-11.1 = Yes, DOC-11.2 = No): an M computer, "
            "verified but never built or changed by this toolkit"),
        Row(("No", ANY, ANY, "Yes"), "M",
            "a device with its own hardware and operating system (DOC-11 = No, CSUP-2 = Yes): an M computer, "
            "verified but never built or changed by this toolkit"),
        Row(("No", ANY, ANY, frozenset({"No", "N/A"})), NOT_WINDOWS,
            "not a Windows client profile: the device is not software on an operator-provided operating "
            "system (DOC-11 = No) and contains no operating system (CSUP-2 is not Yes); a W/WM/M profile "
            "does not describe it"),
    ),
    "W, WM or M: the MDS2 does not say who provides the operating system (DOC-11, DOC-11.1, DOC-11.2, CSUP-2)",
)

RULES: tuple[Rule, ...] = (
    Rule("antivirus.permitted", ("MLDP-2",),
         (Row(("Yes",), True), Row(("No",), False)),
         "true or false: may anti-malware run on the client (MLDP-2)?"),
    Rule("antivirus.realtime", ("MLDP-2", "MLDP-2.8"),
         (Row(("Yes", frozenset({"No", "N/A"})), True),
          Row(("Yes", "Yes"), Fill("true or false: the manufacturer restricts anti-malware (MLDP-2.8 = Yes); "
                                   "read its restrictions on real-time scanning")),
          Row(("No", ANY))),
         "true or false: real-time scanning (MLDP-2.8)"),
    Rule("antivirus.signatures", ("MLDP-2", "MLDP-2.3"),
         (Row(("Yes", "Yes"), {"source": "wsus"}),
          Row(("Yes", "No"), {"source": "vendor"},
              "the owner may not install or update anti-malware (MLDP-2.3 = No): signatures come from the "
              "manufacturer"),
          Row(("No", ANY))),
         "where signatures come from: wsus, internal_share or vendor (MLDP-2.3)"),
    Rule("antivirus.exclusions.paths", ("MLDP-2", "MLDP-2.8"),
         (Row(("Yes", ANY), PathsFromNotes("the exclusion paths from the manufacturer's IfU or security guide "
                                           "(no MDS2 note lists them)")),
          Row(("No", ANY))),
         "exclusion paths (MLDP-2.8)"),
    Rule(None, ("MLDP-2", "MLDP-2.4"),
         (Row(("Yes", "No"), finding="the owner may not (re-)configure anti-malware settings (MLDP-2.4 = No): "
              "exclusions, schedules and real-time settings exactly as the manufacturer sets them"),)),
    Rule("antivirus.compensating_controls", ("MLDP-2", "MLDP-3"),
         (Row(("No", "Yes"), list(COMPENSATING_CONTROLS)),
          Row(("No", "No"), Fill("the controls that stand in for anti-malware (the manufacturer names none)"),
              "anti-malware is not permitted (MLDP-2 = No) and the manufacturer offers no compensating "
              "controls (MLDP-3 = No): the residual risk must be accepted in writing"),
          Row(("Yes", ANY))),
         "the compensating controls (MLDP-3)"),
    Rule("whitelisting.mode", ("MLDP-4", "MLDP-2"),
         (Row(("Yes", ANY), "enforce"),
          Row(("No", "Yes"), "audit"),
          Row(("No", "No"), Fill("audit or enforce: whitelisting must compensate for the missing anti-malware, "
                                 "but the manufacturer does not support it (MLDP-4 = No)"),
              "anti-malware is not permitted (MLDP-2 = No) and application whitelisting is not supported "
              "(MLDP-4 = No): enforce only with the manufacturer's written consent")),
         "audit or enforce (MLDP-4)"),
    Rule("whitelisting.extra_rules", ("CSUP-9",),
         (Row(("Yes",), Fill("AppLocker rules for the manufacturer's approved third-party software (CSUP-9 list)")),
          Row(("No",), [])),
         "rules for approved third-party software (CSUP-9)"),
    Rule(None, ("CSUP-9", "CSUP-10"),
         (Row(("No", "Yes"), finding="the owner may install manufacturer-approved software (CSUP-10 = Yes) but "
              "there is no approved list (CSUP-9 = No): ask for the list"),)),
    Rule("patching.policy", ("CSUP-2.2", "CSUP-2.4", "CSUP-8"),
         (Row(("Yes", ANY, ANY), "vendor_managed",
              "only the manufacturer or its service installs patches (CSUP-2.2 = Yes): the hospital's WSUS does "
              "not patch this client"),
          Row((NOT_YES, "No", ANY), "vendor_approved"),
          Row((NOT_YES, "Yes", "Yes"), "automatic"),
          Row((NOT_YES, "Yes", frozenset({"No", "N/A"})), "deferred")),
         "automatic, deferred, vendor_approved or vendor_managed (CSUP-2.4: Microsoft updates without approval?)"),
    Rule("patching.defer_days", ("CSUP-2.2", "CSUP-2.4", "CSUP-8"),
         (Row((NOT_YES, "Yes", frozenset({"No", "N/A"})),
              Fill("days after Microsoft's release that updates wait (1-30; a guide that counts working days: "
                   "replace with defer_working_days): no MDS2 question states it")),
          Row((ANY, ANY, ANY))),),
    Rule("patching.approved_kbs", ("CSUP-2.2", "CSUP-2.4"),
         (Row((NOT_YES, "No"), [Fill("the updates (KB numbers) the manufacturer approved")]),
          Row((ANY, ANY))),),
    Rule(None, ("CSUP-2.4", "CSUP-7"),
         (Row(("No", "No"), finding="updates need the manufacturer's approval (CSUP-2.4 = No) but it does not "
              "notify the hospital of approved updates (CSUP-7 = No): agree how approvals reach MT"),)),
    Rule("accounts.local_admins", ("AUTH-3",),
         (Row(("Yes",), []),
          Row(("No",), [Fill("SIDs of the manufacturer's service accounts that must be administrators")],
              "the owner cannot obtain administrator rights (AUTH-3 = No): the hospital cannot build or "
              "maintain this computer itself; consider class M")),
         "local administrators (AUTH-3)"),
    Rule("accounts.kiosk", ("AUTH-5",),
         (Row(("Yes",), {"enabled": True, "account_sid": Fill("SID of the kiosk account")}),
          Row(("No",), {"enabled": False})),
         "kiosk (AUTH-5)"),
    Rule(None, ("AUTH-1.2",),
         (Row(("No",), finding="the manufacturer does not allow customer group policies (AUTH-1.2 = No): the "
              "build's policy settings need its written approval"),)),
    Rule(None, ("AUTH-1.3",),
         (Row(("Yes",), finding="special groups, OUs or group policies are required (AUTH-1.3 = Yes): see the "
              "manufacturer's note"),)),
    Rule("removable_media.policy", ("CONN-1.2.3", "CONN-1.2.2"),
         (Row(("Yes", ANY), "allow_listed"), Row(("No", ANY), "block"),
          Row((frozenset({"N/A", None}), "No"), "block")),   # no USB ports: nothing to allow
         "block, allow or allow_listed (CONN-1.2.3, CONN-1.2.2)"),
    Rule("removable_media.allowed_device_ids", ("CONN-1.2.3",),
         (Row(("Yes",), [Fill("device instance ids of the removable media the application needs")]),
          Row((ANY,))),),
    Rule("network.internet", ("CONN-6",),
         (Row(("Yes",), "allow",
              "the manufacturer requires an internet connection (CONN-6 = Yes): against the WM reference "
              "design (no internet); allow only the named destinations"),
          Row(("No",), "deny")),
         "deny or allow (CONN-6)"),
    Rule("network.inbound", ("CONN-2",),
         (Row(("Yes",), Fill("inbound rules from the manufacturer's port list (CONN-2)")),
          Row(("No",), Fill("inbound rules: the manufacturer gives no port list, measure the ports in the lab"),
              "the manufacturer provides no list of ports and protocols (CONN-2 = No): the firewall rules "
              "must be measured and confirmed by the manufacturer")),
         "inbound rules (CONN-2)"),
    Rule("network.outbound", ("CONN-2",),
         (Row(("Yes",), Fill("outbound rules from the manufacturer's port list (CONN-2)")),
          Row(("No",), Fill("outbound rules: the manufacturer gives no port list, measure the ports in the lab"))),
         "outbound rules (CONN-2)"),
    Rule("remote_access.method", ("RMOT-1", "RMOT-1.1"),
         (Row(("No", ANY), "none"),
          Row(("Yes", "Yes"), "customer_initiated_vpn"),
          Row(("Yes", "No"), "vendor_portal",
              "the manufacturer starts remote service sessions itself (RMOT-1.1 = No): Normen 4.7 asks for a "
              "written agreement, termination in a DMZ, strong authentication and logging")),
         "none, customer_initiated_vpn or vendor_portal (RMOT-1, RMOT-1.1)"),
    Rule(None, ("RMOT-1", "RMOT-1.2"),
         (Row(("Yes", "No"), finding="no indicator shows an active remote session (RMOT-1.2 = No)"),)),
    Rule(None, ("STCF-1", "STCF-1.2"),
         (Row(("No", ANY), finding="the device cannot encrypt data at rest (STCF-1 = No): patient data on this "
              "client needs disk encryption that the manufacturer approves"),
          Row(("Yes", "No"), finding="encryption at rest is supported but off by default (STCF-1.2 = No): turn "
              "it on as the manufacturer instructs (STCF-1.3)"))),
    Rule(None, ("RDMP-3",),
         (Row(("Yes",), finding="the manufacturer publishes support dates (RDMP-3 = Yes): record the end of "
              "support from its note"),
          Row(("No",), finding="the manufacturer publishes no support dates (RDMP-3 = No): ask for the end of "
              "support in the contract"))),
    Rule(None, ("RDMP-4",),
         (Row(("No",), finding="no plan for third-party components' end of life (RDMP-4 = No): Windows LTSC "
              "support may end before the device's"),)),
)

CONTRADICTIONS: tuple[Contradiction, ...] = (
    Contradiction((("MLDP-2", "No"), ("MLDP-2.1", "Yes")),
                  "anti-malware is not supported (MLDP-2 = No) but included by default (MLDP-2.1 = Yes)"),
    Contradiction((("MLDP-2", "No"), ("MLDP-2.3", "Yes")),
                  "anti-malware is not supported (MLDP-2 = No) but the owner may install it (MLDP-2.3 = Yes)"),
    Contradiction((("CSUP-2.2", "Yes"), ("CSUP-2.4", "Yes")),
                  "only the manufacturer installs patches (CSUP-2.2 = Yes) but Microsoft updates need no approval "
                  "(CSUP-2.4 = Yes)"),
    Contradiction((("CONN-1.2.3", "No"), ("MPII-3.3", "Yes")),
                  "no removable media (CONN-1.2.3 = No) but patient data goes to removable media (MPII-3.3 = Yes)"),
    Contradiction((("CONN-6", "Yes"), ("CONN-4", "No")),
                  "an internet connection is required (CONN-6 = Yes) but nothing outside the hospital is contacted "
                  "(CONN-4 = No)"),
    Contradiction((("RMOT-1", "No"), ("RMOT-1.1", "Yes")),
                  "no remote service (RMOT-1 = No) but the owner can start remote service sessions (RMOT-1.1 = Yes)"),
    Contradiction((("DOC-11", "No"), ("DOC-11.2", "Yes")),
                  "not software-only (DOC-11 = No) but the software relies on an operator-provided OS "
                  "(DOC-11.2 = Yes)"),
)


def matches(pattern: Match, answer: Answer | None) -> bool:
    if isinstance(pattern, _Any):
        return True
    if isinstance(pattern, frozenset):
        return answer in pattern
    return answer == pattern


def decisive(rule: Rule, row: Row) -> tuple[str, ...]:
    """The questions a row actually looked at (the provenance of its value)."""
    return tuple(q for q, m in zip(rule.questions, row.when, strict=True) if not isinstance(m, _Any))
