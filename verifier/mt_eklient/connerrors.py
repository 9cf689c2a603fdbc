"""What a WinRM connection error means and what a technician should check: one classifier for the
scan, the testinfra plugin and any other caller that turns Ansible's or pywinrm's message into a
host-level reason. The messages recognised are those of Ansible's winrm/psrp connection plugins,
pywinrm, requests/urllib3 and Python's ssl module (docs/scan.md, "When a host fails").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConnectionProblem:
    kind: str  # auth | tls | refused | name | timeout | reset | wsman_fault | connection
    summary: str  # the reason's first words, e.g. "authentication failed"
    check: str  # what to check, for the technician

    def reason(self, message: str) -> str:
        # the advice first: reports shorten long reasons, and the library's message is the long part
        return f"{self.summary}. Check {self.check}. Error: {message}"


_KINDS: list[tuple[re.Pattern[str], ConnectionProblem]] = [(re.compile(p, re.IGNORECASE), c) for p, c in [
    ((r"credentials were rejected|unauthori[sz]ed|\b401\b|authentication (failed|failure|error)|logon failure|kinit|"
      r"gssapi|server not found in kerberos database|pre-?authentication|password (incorrect|expired|has expired)"),
     ConnectionProblem("auth", "authentication failed",
                       "the account (ansible_user) and its vaulted ansible_password in the inventory, that the account "
                       "is not locked out or expired, and that the host allows the transport (ansible_winrm_transport)")),
    ((r"certificate verify failed|certificate_verify_failed|hostname mismatch|ip address mismatch|"
      r"certificate is not valid for|self[- ]signed certificate|ssl: wrong_version|sslerror"),
     ConnectionProblem("tls", "TLS certificate rejected",
                       "that the host's WinRM HTTPS listener certificate names this host (ansible_host) and chains to "
                       "a CA in ansible_winrm_ca_trust_path; keep certificate validation on")),
    (r"connection refused|errno 111\b|actively refused|10061",
     ConnectionProblem("refused", "connection refused",
                       "that the WinRM service runs and listens on ansible_port (5986 for HTTPS), and that the "
                       "host's firewall allows the controller")),
    ((r"name or service not known|nodename nor servname|getaddrinfo failed|temporary failure in name resolution|"
      r"no address associated"),
     ConnectionProblem("name", "host name not resolved", "the host name (ansible_host) and DNS")),
    (r"timed? ?out|timeout|expected time frame",
     ConnectionProblem("timeout", "timeout",
                       "that the host is on and the network path and firewalls let WinRM through; a slow link may "
                       "need a larger --timeout")),
    (r"connection (aborted|reset)|reset by peer|remotedisconnected|remote end closed|broken pipe|errno 104\b",
     ConnectionProblem("reset", "connection reset",
                       "proxies, TLS inspection or IDS between the controller and the host, and the host's "
                       "Microsoft-Windows-WinRM/Operational event log")),
    (r"wsmanfault|ws-management|wsman fault|soap fault",
     ConnectionProblem("wsman_fault", "WinRM service fault",
                       "the host's WinRM configuration (`winrm get winrm/config`: MaxShellsPerUser, "
                       "MaxMemoryPerShellMB) and its Microsoft-Windows-WinRM/Operational event log")),
]]

BY_KIND = {problem.kind: problem for _, problem in _KINDS}
# The step a connection problem stopped at (docs/scan.md, "Troubleshooting"): nothing answered,
# the account was not accepted, or the collector did not finish.
STEP = {"refused": "connect", "name": "connect", "timeout": "connect", "tls": "connect", "connection": "connect",
        "auth": "authenticate", "reset": "run collector", "wsman_fault": "run collector"}
CONNECTION = ConnectionProblem("connection", "connection failed",
                               "that the host is on, reachable from the controller and answering on ansible_port")


def located(step: str, transport: str | None, reason: str) -> str:
    """A host's failure with where it happened: `authenticate (winrm ntlm over https): ...`."""
    return f"{step} ({transport}): {reason}" if transport else f"{step}: {reason}"


# The connection variables `transport` reads.
TRANSPORT_VARS = frozenset({"ansible_connection", "ansible_port", "ansible_winrm_transport", "ansible_winrm_scheme",
                            "ansible_psrp_auth", "ansible_psrp_protocol"})


def transport(hostvars: dict[str, Any]) -> str | None:
    """How Ansible reaches the host, in words (`winrm kerberos over https`, `psrp negotiate over
    https`), from its connection variables; None for a connection that is not WinRM or PSRP."""
    connection = _word(hostvars.get("ansible_connection")).rsplit(".", 1)[-1]
    port = _word(hostvars.get("ansible_port"))
    default_scheme = "http" if port == "5985" else "https"
    if connection == "winrm":
        auth = _word(hostvars.get("ansible_winrm_transport")) or "default transport"
        return f"winrm {auth} over {_word(hostvars.get('ansible_winrm_scheme')) or default_scheme}"
    if connection == "psrp":
        auth = _word(hostvars.get("ansible_psrp_auth")) or "negotiate"
        return f"psrp {auth} over {_word(hostvars.get('ansible_psrp_protocol')) or default_scheme}"
    return None


def _word(value: Any) -> str:
    # A value still to be templated says nothing yet; a transport list reads as ntlm/kerberos.
    text = "/".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
    return "" if "{{" in text else text.strip().lower()


def classify(message: str) -> ConnectionProblem | None:
    """The kind of connection problem `message` describes; None when it names none."""
    for pattern, problem in _KINDS:
        if pattern.search(message):
            return problem
    return None
