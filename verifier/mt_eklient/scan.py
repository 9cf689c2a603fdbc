"""Fleet scan through Ansible's connection layer.

    inventory (ansible-inventory --list) -> baseline per host (hosts.resolve_host's rules, each
    profile loaded once) -> collection_request()
        -> ONE ansible-playbook run (ansible_scan/collect.yml): win_powershell runs the collector
           once per host, --forks bounded, task `timeout:` per host, an overall deadline
        -> callback plugin streams one JSON line per host -> facts validated as they arrive
        -> each host evaluated at once (scanresult.evaluate_host) and handed to every report and
           the history (reports.stream); its facts are then dropped, only counts are kept

Everything that talks to hosts goes through Ansible, so the inventory's connection settings
(WinRM over HTTPS, Kerberos, PSRP, vaulted credentials) apply unchanged. The scan itself never
handles a connection secret: host variables are read into memory only to resolve baselines, the
per-host requests travel in files (never on a command line), and every message that leaves this
module goes through a `Redactor` holding the inventory's secret-looking values.

This module collects and streams each host to the reports; evaluation, report formats and the exit
code belong to `scanresult.py`, `evaluate.py` and `reports/`. Usage: docs/scan.md.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import connerrors
from .catalog import Catalog
from .collection import collection_request
from .errors import InputError, Problem
from .evaluate import HostResult, failed_host
from .facts import FactsRefused, parse_facts_text, validate_facts
from .hosts import HostResolver
from .plaindata import plain
from .reports.stream import ScanReports, Tally
from .resolve import Baseline
from .scanlimits import DEFAULT_FORKS, DEFAULT_TIMEOUT
from .scanresult import HostInput, evaluate_host, open_reports, scan_header
from .textsafe import printable
from .yamlsource import plain_reason

COLLECTOR = Path(__file__).resolve().parent / "collector" / "collect.ps1"
PLAYBOOK = Path(__file__).resolve().parent / "ansible_scan" / "collect.yml"
CALLBACK = "mtk_scan"

# Extra time the overall deadline allows for Ansible's start-up and the last results.
OVERALL_MARGIN = 60.0
INTERRUPTED = "scan interrupted"
# -vvvvv shows pywinrm's transport, endpoint and connection tracebacks; -vvvvvv would print every
# command's output (the facts included), so more is not passed on.
MAX_VERBOSITY = 5

# Host variables whose values are secrets (connection passwords, become passwords, tokens).
SECRET_VAR = re.compile(r"pass(word|phrase)?|pwd|secret|token|credential|private.?key|api.?key", re.IGNORECASE)
REDACTED = "********"
# Shorter values are not redacted: replacing every "ab" in a message would make it unreadable.
MIN_SECRET_LENGTH = 4

# A task failure that is really a logon failure (PSRP reports some as task failures).
_AUTH_STRONG = re.compile(r"credentials were rejected|unauthori[sz]ed|\b401\b|logon failure", re.IGNORECASE)
# Connection problems that can surface as a task failure: the connection broke mid-command.
_CONNECTION_KINDS_IN_FAILURES = {"reset", "refused", "tls"}


# ---------------------------------------------------------------------------------------------
# Secrets


class Redactor:
    """Replaces known secret values in text. Built from the inventory's host variables."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Any) -> None:
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def add_hostvars(self, hostvars: dict[str, Any]) -> None:
        for name, value in hostvars.items():
            self._walk(value, bool(SECRET_VAR.search(str(name))))

    def _walk(self, value: Any, secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._walk(item, secret or bool(SECRET_VAR.search(str(key))))
        elif isinstance(value, list):
            for item in value:
                self._walk(item, secret)
        elif secret:
            self.add(value)

    def __call__(self, text: Any) -> Any:
        if not isinstance(text, str) or not self._secrets:
            return text
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def deep(self, value: Any) -> Any:
        """Redact every string of a JSON-like value (the value itself when there is nothing to redact)."""
        if not self._secrets:
            return value
        if isinstance(value, dict):
            return {self(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        return self(value)


# ---------------------------------------------------------------------------------------------
# Inventory


@dataclass
class AnsibleOptions:
    """How to run Ansible: the inventory, vault access and extra environment."""

    inventory: list[str]
    limit: str | None = None
    vault_password_files: list[str] = field(default_factory=list)
    vault_password: str | None = None  # from --ask-vault-pass; given to Ansible through an env-reading script
    env: dict[str, str] | None = None  # e.g. the lab's shadow collections (lab.ansible_env())
    verbosity: int = 0  # -v ... -vvvvv, passed to Ansible; its redacted output is printed after the run
    keep_logs: Path | None = None  # keep Ansible's redacted output and each host's outcome here

    def verbose_args(self) -> list[str]:
        return ["-" + "v" * min(self.verbosity, MAX_VERBOSITY)] if self.verbosity else []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env or {})
        env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0"})
        return env


def ansible_bin(name: str) -> str:
    """ansible-* next to this Python (the venv) first, then PATH."""
    local = Path(sys.executable).with_name(name)
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise InputError.single(name, "not found: install ansible-core (pip install -e .)")
    return found


_VAULT_CLIENT = """#!{python}
# Written by mtk scan: hands the vault password asked for once to every Ansible process.
import os, sys
sys.stdout.write(os.environ.get("MTK_SCAN_VAULT_PASSWORD", ""))
"""


def _vault_args(options: AnsibleOptions, workdir: Path, env: dict[str, str]) -> list[str]:
    args: list[str] = []
    for path in options.vault_password_files:
        args += ["--vault-password-file", str(path)]
    if options.vault_password is not None:
        client = workdir / "vault-client.py"
        client.write_text(_VAULT_CLIENT.format(python=sys.executable), encoding="utf-8")
        client.chmod(0o700)
        env["MTK_SCAN_VAULT_PASSWORD"] = options.vault_password
        args += ["--vault-password-file", str(client)]
    return args


def _inventory_sources(options: AnsibleOptions) -> list[str]:
    problems = []
    for source in options.inventory:
        # A comma means an ad-hoc host list ("h1,h2,"); anything else must be a file or directory.
        if "," not in source and not Path(source).exists():
            problems.append(Problem(source, None, "", "inventory not found"))
    if problems:
        raise InputError(problems)
    return [arg for source in options.inventory for arg in ("-i", source)]


def _hosts_of(inventory: dict[str, Any], group: str = "all", seen: set[str] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    if group in seen:
        return []
    seen.add(group)
    node = inventory.get(group) or {}
    out = list(node.get("hosts") or [])
    for child in node.get("children") or []:
        out += _hosts_of(inventory, child, seen)
    return out


_UNMATCHED = re.compile(r"^\[WARNING\]: Could not match supplied host pattern, ignoring:(.*?)(?=^\[|\Z)",
                        re.MULTILINE | re.DOTALL)


def _unmatched_patterns(stderr: str, limit: str) -> list[str]:
    """The --limit patterns Ansible ignored, except exclusions (`!typo` skips nothing). Its warnings
    are wrapped at 79 columns and a pattern holds no whitespace, so line breaks inside one go."""
    excluded = {term.strip()[1:] for term in re.split(r"[,:]", limit) if term.strip().startswith("!")}
    found = [re.sub(r"\s+", "", m) for m in _UNMATCHED.findall(stderr) if m.strip()]
    return [pattern for pattern in found if pattern not in excluded]


_YAML_ERROR = re.compile(r"Syntax Error while loading YAML\. [^.]*\. (?:(?P<context>while [^\"]+?) in \"<unicode string>\", "
                         r"line (?P<context_line>\d+), column \d+ )?(?P<problem>[^\"]+?) in \"<unicode string>\".*?"
                         r"The error appears to be in '(?P<file>.+?)': line (?P<line>\d+), column (?P<column>\d+)")


def _yaml_error(stderr: str) -> tuple[str, int, str] | None:
    """File, line and reason of a YAML syntax error in an inventory file, from Ansible's (wrapped) warning."""
    match = _YAML_ERROR.search(" ".join(stderr.split()))
    if not match:
        return None
    # Wrapping breaks a long path at '-' or '/', adding a space there: a path keeps none.
    path = re.sub(r"(?<=[-/]) ", "", match["file"])
    context_line = int(match["context_line"]) if match["context_line"] else None
    reason = plain_reason(match["context"], context_line, match["problem"], int(match["line"]))
    return path, int(match["line"]), f"malformed YAML at line {match['line']}, column {match['column']}: {reason}"


def read_inventory(options: AnsibleOptions, redactor: Redactor) -> dict[str, dict[str, Any]]:
    """{host: hostvars} of the inventory (after --limit), in inventory order. InputError if unreadable."""
    with tempfile.TemporaryDirectory(prefix="mtk-inv-") as tmp:
        env = options.environment()
        env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "1"
        env["ANSIBLE_HOST_PATTERN_MISMATCH"] = "warning"  # _unmatched_patterns reads the warnings
        # The JSON goes to a file: with -v, Ansible's own messages share stdout.
        listing = Path(tmp) / "inventory.json"
        cmd = [ansible_bin("ansible-inventory"), *_inventory_sources(options), "--list", "--output", str(listing),
               *_vault_args(options, Path(tmp), env), *options.verbose_args()]
        if options.limit:
            cmd += ["--limit", options.limit]
        proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        listed = listing.read_text(encoding="utf-8") if listing.is_file() else ""
    troubleshooting_log(options, "ansible-inventory", proc.stdout + proc.stderr, redactor)
    source = ",".join(options.inventory)
    if options.limit and proc.returncode == 0 and (unmatched := _unmatched_patterns(proc.stderr, options.limit)):
        # Ansible only warns and scans the rest: a compliance scan must not skip a machine quietly.
        raise InputError.single(source, "no host or group matches " + ", ".join(map(repr, unmatched)),
                                field="--limit")
    if proc.returncode != 0 and (located := _yaml_error(proc.stderr)):
        raise InputError([Problem(*located[:2], "", "cannot read the inventory: " + redactor(located[2]))])
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        message = " ".join(lines[-3:]) if lines else f"ansible-inventory exited with {proc.returncode}"
        raise InputError.single(source, "cannot read the inventory: " + redactor(message))
    try:
        inventory = json.loads(listed)
    except json.JSONDecodeError as err:
        raise InputError.single(source, f"ansible-inventory printed no JSON: {err.msg}") from None
    hostvars = (inventory.get("_meta") or {}).get("hostvars") or {}
    hosts: dict[str, dict[str, Any]] = {}
    for host in _hosts_of(inventory):
        if host not in hosts:
            hosts[host] = dict(hostvars.get(host) or {})
            redactor.add_hostvars(hosts[host])
    if not hosts:
        where = f" matching --limit {options.limit!r}" if options.limit else ""
        raise InputError.single(source, f"no hosts{where}")
    return hosts


# ---------------------------------------------------------------------------------------------
# Planning: one baseline and one collection request per host


@dataclass
class PlannedHost:
    name: str
    baseline: Baseline | None = None
    applications: list[dict[str, Any]] = field(default_factory=list)
    request: dict[str, Any] | None = None
    error: str | None = None  # the host's variables do not resolve
    declared_class: str | None = None
    lab: bool = False  # a host of the simulated lab (its variables say so)
    transport: str | None = None  # how Ansible reaches it, for failure reasons (connerrors.transport)


def plan_hosts(hosts: dict[str, dict[str, Any]], today: date, profiles_dir: str | Path | None = None,
               catalog: Catalog | None = None, redactor: Redactor | None = None) -> list[PlannedHost]:
    """One entry per host. Hosts resolved alike share their controls, applications and request
    (HostResolver resolves each profile, class and site once), so planning costs little per host."""
    redactor = redactor or Redactor()
    resolver = HostResolver(today, profiles_dir, catalog)
    planned = []
    applications: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
    requests: dict[int, tuple[Any, dict[str, Any]]] = {}
    for name, hostvars in hosts.items():
        declared = hostvars.get("mt_class")
        entry = PlannedHost(name, declared_class=str(declared) if declared is not None else None,
                            lab=any(str(k).startswith(LAB_VARIABLE_PREFIX) for k in hostvars),
                            transport=connerrors.transport(hostvars))
        try:
            loaded, baseline = resolver(name, hostvars)
            entry.baseline = baseline
            if id(loaded) not in applications:  # the loaded profile is kept with it: its id stays unique
                applications[id(loaded)] = (loaded, plain(loaded.profile.applications))
            entry.applications = applications[id(loaded)][1]
            if id(baseline.controls) not in requests:
                requests[id(baseline.controls)] = (baseline.controls,
                                                   collection_request(baseline, entry.applications))
            entry.request = requests[id(baseline.controls)][1]
        except InputError as err:
            entry.error = redactor("; ".join(str(p) for p in err.problems))
        except Exception as err:  # noqa: BLE001 - a bad host never stops the scan
            entry.error = redactor(f"cannot resolve the baseline: {type(err).__name__}: {err}")
        planned.append(entry)
    return planned


# ---------------------------------------------------------------------------------------------
# Collection


@dataclass
class Collected:
    """One host's collection outcome."""

    host: str
    status: str  # ok | unreachable | error
    facts: dict[str, Any] | None = None
    reason: str | None = None
    duration: float | None = None  # seconds, as Ansible's callback measured


def _first_message(result: dict[str, Any]) -> str:
    parts = []
    if result.get("msg"):
        parts.append(str(result["msg"]))
    # win_powershell's error records: {exception: {message, ...}, error_details: {message}, output, ...}
    for record in result.get("error") or []:
        if not isinstance(record, dict):
            continue
        candidates = [(record.get(k) or {}).get("message") for k in ("error_details", "exception")
                      if isinstance(record.get(k), dict)] + [record.get("message")]
        text = next((str(c) for c in candidates if c), None)
        if text and text not in parts:
            parts.append(text)
            break
    stderr = str(result.get("stderr") or "").strip()
    if not parts and stderr:
        parts.append(stderr.splitlines()[-1])
    return ": ".join(parts) or "no message"


def classify_failure(status: str, result: dict[str, Any], timeout: int,
                     transport: str | None = None) -> tuple[str, str]:
    """(host status, reason) of a failed/unreachable/skipped callback event; the reason names the
    step that failed and the transport (docs/scan.md, "Troubleshooting")."""
    message = " ".join(_first_message(result).split())
    if result.get("timedout"):
        return "error", connerrors.located("connect or run collector", transport, connerrors.BY_KIND["timeout"].reason(
            f"no result within {timeout}s (task timeout)"))
    if status == "skipped":
        return "error", "the collection task was skipped"
    problem = connerrors.classify(message)
    if status == "unreachable":
        problem = problem or connerrors.CONNECTION
        return "unreachable", connerrors.located(connerrors.STEP[problem.kind], transport, problem.reason(message))
    if problem is not None and (problem.kind in _CONNECTION_KINDS_IN_FAILURES
                                or (problem.kind == "auth" and _AUTH_STRONG.search(message))):
        return "unreachable", connerrors.located(connerrors.STEP[problem.kind], transport, problem.reason(message))
    if _NOT_WINDOWS.search(message):
        # Ansible ran the Windows module as if the host were POSIX: its advice (set the interpreter) misleads.
        return "error", ("the host is not a Windows host as Ansible reaches it: the collector is a PowerShell "
                         "module, so give the host ansible_connection winrm or psrp. Error: " + message)
    return "error", connerrors.located("run collector", transport, f"collector failed: {message}")


_NOT_WINDOWS = re.compile(r"set the interpreter|module failed to execute correctly|/bin/sh: .*powershell",
                          re.IGNORECASE)
# A host of the simulated lab (docs/lab.md) carries these variables; `mtk lab scan` sets up its environment.
LAB_VARIABLE_PREFIX = "mtk_lab_"
LAB_HINT = ("a host of the simulated lab (mtk_lab_* variables): scan it with `mtk lab scan`, which gives "
            "Ansible the lab's vault password and endpoints (after `mtk lab up`)")


class BadFacts(Exception):
    """The collector's answer holds no usable facts document; the message says why."""


def facts_from_result(host: str, result: dict[str, Any]) -> dict[str, Any]:
    """The facts document in a win_powershell result (`output`: the collector's one JSON string).

    Raises BadFacts with a reason for missing, garbage or truncated output and for a document the
    schema rejects.
    """
    output = result.get("output")
    if not isinstance(output, list) or not output:
        raise BadFacts("the collector returned no output (no facts document)")
    documents = [item for item in output if isinstance(item, (str, dict))]
    if len(documents) != 1 or len(output) != 1:
        raise BadFacts(f"the collector returned {len(output)} output objects, expected one facts document")
    doc, bounded = documents[0], False
    if isinstance(doc, str):
        text = doc.strip()
        try:
            doc, bounded = parse_facts_text(text, f"{host} facts"), True
        except FactsRefused as err:
            raise BadFacts(err.problems[0].message) from None
        except json.JSONDecodeError as err:
            truncated = (err.pos >= len(text) - 1 or err.msg.startswith("Unterminated")
                         or (text.startswith("{") and not text.endswith("}")))
            hint = " (truncated?)" if truncated else ""
            raise BadFacts(f"facts are not valid JSON{hint}: {err.msg} at character {err.pos} of {len(text)}") \
                from None
    if not isinstance(doc, dict):
        raise BadFacts(f"facts are a JSON {type(doc).__name__}, not an object")
    try:
        return validate_facts(doc, f"{host} facts", bounded=bounded)
    except FactsRefused as err:
        raise BadFacts(err.problems[0].message) from None
    except InputError as err:
        problems = err.problems
        shown = "; ".join(f"{p.field or '(document)'}: {p.message}" for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BadFacts(f"invalid facts document: {shown}{more}") from None


def outcome_from_event(event: dict[str, Any], timeout: int, redactor: Redactor,
                       transport: str | None = None) -> Collected:
    host = str(event.get("host"))
    status = event.get("status")
    result = event.get("result") or {}
    duration = event.get("duration")
    if status == "ok":
        try:
            # Facts-derived text (collector errors, program names) reaches every report: redact it too.
            return Collected(host, "ok", facts=redactor.deep(facts_from_result(host, result)), duration=duration)
        except BadFacts as err:
            return Collected(host, "error", reason=redactor(connerrors.located("parse", transport, str(err))),
                             duration=duration)
    host_status, reason = classify_failure(str(status), result, timeout, transport)
    return Collected(host, host_status, reason=redactor(reason), duration=duration)


class _EventReader:
    """Reads complete JSON lines appended to a file by the callback plugin."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for the rest
        events = []
        for line in lines:
            if line.strip():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return events


def request_file_name(host: str) -> str:
    """The playbook finds a host's request as `(inventory_hostname | hash('sha1')) ~ '.json'`."""
    return hashlib.sha1(host.encode("utf-8"), usedforsecurity=False).hexdigest() + ".json"


def _stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop the ansible-playbook process group this scan started (its own session)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


Progress = Callable[[Collected], None]


class _StopRequest:
    requested = False


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """Ctrl-C, SIGTERM and SIGHUP (a CI job cancelled, a terminal closed) only request the stop: the
    scan loop then stops the Ansible process group, which lives in its own session and is never
    left running, and a host being evaluated or written to the reports is never cut in half."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum: int, frame: Any) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class CollectionRun:
    outcomes: dict[str, Collected]
    interrupted: bool = False
    deadline_exceeded: bool = False
    ansible_rc: int | None = None
    wall_seconds: float = 0.0


def collect(requests: dict[str, dict[str, Any]], options: AnsibleOptions, forks: int = DEFAULT_FORKS,
            timeout: int = DEFAULT_TIMEOUT, on_outcome: Progress | None = None,
            redactor: Redactor | None = None, overall_deadline: float | None = None,
            poll_interval: float = 0.05, transports: dict[str, str | None] | None = None) -> CollectionRun:
    """Run the collector once on every host of `requests` ({host: collection request}).

    Returns every host's outcome; hosts without an answer (interrupted, overall deadline, Ansible
    crashed) get status error with the reason. Ctrl-C stops Ansible and keeps what arrived.
    `on_outcome` gets every outcome as it arrives, with its facts, which the run then does not keep.
    """
    redactor = redactor or Redactor()
    run = CollectionRun(outcomes={})
    if not requests:
        return run
    started = time.monotonic()
    if overall_deadline is None:
        overall_deadline = timeout * math.ceil(len(requests) / max(1, forks)) + OVERALL_MARGIN
    with tempfile.TemporaryDirectory(prefix="mtk-scan-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o700)
        request_dir = workdir / "requests"
        request_dir.mkdir()
        written: dict[int, Path] = {}  # hosts planned alike share one request object: write it once
        for host, request in requests.items():
            target = request_dir / request_file_name(host)
            try:
                os.link(written[id(request)], target)
            except (KeyError, OSError):  # the first of its kind, or a file system without hard links
                target.write_text(json.dumps(request), encoding="utf-8")
                written.setdefault(id(request), target)
        extra_vars = workdir / "vars.json"
        extra_vars.write_text(json.dumps({"mtk_collector": str(COLLECTOR), "mtk_request_dir": str(request_dir),
                                          "mtk_timeout": int(timeout)}), encoding="utf-8")
        limit = workdir / "hosts.txt"
        limit.write_text("".join(f"{host}\n" for host in requests), encoding="utf-8")
        events_path = workdir / "events.jsonl"
        log_path = workdir / "ansible.log"

        env = options.environment()
        env.update({"MTK_SCAN_EVENTS": str(events_path), "ANSIBLE_STDOUT_CALLBACK": CALLBACK,
                    "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        cmd = [ansible_bin("ansible-playbook"), *_inventory_sources(options), str(PLAYBOOK),
               "--limit", f"@{limit}", "--forks", str(max(1, forks)), "--extra-vars", f"@{extra_vars}",
               *_vault_args(options, workdir, env), *options.verbose_args()]
        reader = _EventReader(events_path)

        def consume() -> None:
            for event in reader.read():
                if event.get("event") != "host" or event.get("host") not in requests:
                    continue
                if event["host"] in run.outcomes:
                    continue
                outcome = outcome_from_event(event, timeout, redactor, (transports or {}).get(event["host"]))
                run.outcomes[outcome.host] = outcome
                if on_outcome:
                    on_outcome(outcome)
                    outcome.facts = None

        with open(log_path, "wb") as log, _stop_on_signals() as stop:
            # Its own session: Ctrl-C reaches only mtk, which then stops Ansible itself (see _stop).
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                while True:
                    consume()
                    if stop.requested:
                        raise KeyboardInterrupt
                    if proc.poll() is not None:
                        break
                    if time.monotonic() - started > overall_deadline:
                        run.deadline_exceeded = True
                        _stop(proc)
                        break
                    time.sleep(poll_interval)
            except KeyboardInterrupt:
                run.interrupted = True
                _stop(proc)
            finally:
                if proc.poll() is None:
                    _stop(proc)
            consume()
            run.ansible_rc = proc.returncode

        if run.interrupted:
            missing_reason = INTERRUPTED
        elif run.deadline_exceeded:
            missing_reason = f"timeout: the scan's overall deadline ({overall_deadline:.0f}s) passed first"
        else:
            missing_reason = _ansible_failure(log_path, run.ansible_rc, redactor)
        for host in requests:
            if host not in run.outcomes:
                outcome = Collected(host, "error", reason=missing_reason)
                run.outcomes[host] = outcome
                if on_outcome:
                    on_outcome(outcome)
        troubleshooting_log(options, "ansible-playbook", log_path.read_text(encoding="utf-8", errors="replace"),
                            redactor, {h: f"{o.status}: {o.reason or 'collected'}" for h, o in run.outcomes.items()})
    run.wall_seconds = time.monotonic() - started
    return run


def troubleshooting_log(options: AnsibleOptions, name: str, text: str, redactor: Redactor,
                        outcomes: dict[str, str] | None = None) -> None:
    """With -v, Ansible's output (redacted) on stderr; with --keep-logs DIR, the same in DIR/NAME.log
    (and each host's outcome in DIR/hosts.txt). Owner-only: it names hosts and accounts."""
    if not (options.verbosity or options.keep_logs):
        return
    text = redactor(text)
    if options.verbosity:
        sys.stderr.write(f"--- {name} output (-{'v' * min(options.verbosity, MAX_VERBOSITY)}, secrets redacted) ---\n{text}"
                         f"{'' if text.endswith(chr(10)) or not text else chr(10)}--- end of {name} output ---\n")
    if options.keep_logs:
        from .filemodes import HISTORY_MODE, write_private

        options.keep_logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(options.keep_logs / f"{name}.log", text, HISTORY_MODE)
        if outcomes is not None:
            write_private(options.keep_logs / "hosts.txt",
                          "".join(f"{host} {redactor(line)}\n" for host, line in outcomes.items()), HISTORY_MODE)


def _ansible_failure(log_path: Path, rc: int | None, redactor: Redactor) -> str:
    try:
        lines = [line.strip() for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.strip()]
    except OSError:
        lines = []
    errors = [line for line in lines if line.startswith(("ERROR", "[ERROR]"))] or lines[-2:]
    # Ansible names the plugin object it was in ("(<...CallbackModule object at 0x7f...>): "): noise.
    detail = _PLUGIN_OBJECT.sub("", redactor(" ".join(errors)[:500])) if errors else "no output"
    if "no vault secrets found" in detail:
        return ("the inventory holds vaulted values (ansible_password) and no vault password was given: "
                "use --vault-password-file FILE or --ask-vault-pass")
    return f"no result from ansible-playbook (exit {rc}): {detail}"


_PLUGIN_OBJECT = re.compile(r"\(<[\w.]+ object at 0x[0-9a-f]+>\):? ?")


# ---------------------------------------------------------------------------------------------
# The whole scan


@dataclass
class ScanRun:
    """What a scan produced: its exit code, the counts its summary was made of, how collection went."""

    exit_code: int
    tally: Tally
    collection: CollectionRun


def host_inputs(planned: list[PlannedHost], outcomes: dict[str, Collected]) -> list[HostInput]:
    """One evaluation input per planned host: its collected facts, or why there are none.
    Shared by `mtk scan` and the playbook (scanjob.py)."""
    inputs = []
    for entry in planned:
        if entry.error or entry.baseline is None:
            inputs.append(HostInput(entry.name, status="error", error=entry.error or "no baseline",
                                    declared_class=entry.declared_class))
            continue
        outcome = outcomes.get(entry.name) or Collected(entry.name, "error", reason="no collection result")
        status = outcome.status if outcome.status in ("ok", "unreachable") else "error"
        inputs.append(HostInput(entry.name, baseline=entry.baseline, facts=outcome.facts,
                                applications=entry.applications, status=status, error=outcome.reason,
                                declared_class=entry.declared_class))
    return inputs


def progress_printer(total: int, stream=None) -> Callable[[str, str, float | None, str | None], None]:
    """`[12/200] wm1-sono-01 ok 0.4s` lines on stderr."""
    stream = stream or sys.stderr
    done = [0]
    width = len(str(total))

    def emit(host: str, status: str, duration: float | None, reason: str | None) -> None:
        done[0] += 1
        took = f" {duration:.1f}s" if duration is not None else ""
        why = f": {reason}" if reason else ""
        print(printable(f"[{done[0]:>{width}}/{total}] {host} {status}{took}{why}"), file=stream, flush=True)

    return emit


def evaluate_outcome(entry: PlannedHost, outcome: Collected | None, today: date, warn_days: int) -> HostResult:
    """The host's result; an exception while evaluating one host's facts is that host's error."""
    if entry.error or entry.baseline is None:
        item = HostInput(entry.name, status="error", error=entry.error or "no baseline",
                         declared_class=entry.declared_class)
    else:
        assert outcome is not None
        status = outcome.status if outcome.status in ("ok", "unreachable") else "error"
        item = HostInput(entry.name, baseline=entry.baseline, facts=outcome.facts, applications=entry.applications,
                         status=status, error=outcome.reason, declared_class=entry.declared_class)
    try:
        # Facts were validated as they arrived (facts_from_result), no need to do it twice.
        return evaluate_host(item, today, warn_days, validate=False)
    except Exception as err:  # noqa: BLE001 - one hostile facts document is one host error
        return failed_host(entry.name, "error", f"cannot evaluate the facts: {type(err).__name__}: {err}",
                           entry.baseline, entry.declared_class)


def scan(options: AnsibleOptions, *, today: date | None = None, forks: int = DEFAULT_FORKS,
         timeout: int = DEFAULT_TIMEOUT, warn_days: int = 180, profiles_dir: str | Path | None = None,
         progress: bool = True, stream=None, ansible_env: dict[str, str] | None = None,
         command: str = "scan", outputs: dict[str, Any] | None = None) -> ScanRun:
    """Read the inventory, collect once per host, evaluate each host as it arrives and stream it to
    the reports (`outputs`: scanresult.open_reports' keyword arguments). InputError if the inventory
    is unreadable, before any report is written.

    `ansible_env`: extra environment for the Ansible processes (e.g. the lab's shadow collections);
    it overrides `options.env`.
    """
    started = _now()
    today = today or date.today()
    if ansible_env:
        options.env = {**(options.env or {}), **ansible_env}
    stream = stream or sys.stderr
    redactor = Redactor([options.vault_password] if options.vault_password else [])
    hosts = read_inventory(options, redactor)
    planned = plan_hosts(hosts, today, profiles_dir=profiles_dir, redactor=redactor)
    del hosts  # host variables are not needed any more; some fleets have a lot of them
    source = {"kind": "inventory", "inventory": list(options.inventory), "limit": options.limit,
              "forks": forks, "timeout": timeout}
    reports = open_reports(scan_header(today=today, warn_days=warn_days, source=source, command=command,
                                       started=started), **(outputs or {}))
    with reports:
        run = _stream(planned, reports, options, today=today, forks=forks, timeout=timeout, warn_days=warn_days,
                      progress=progress, stream=stream, redactor=redactor,
                      lab_hint=not {**os.environ, **(options.env or {})}.get("MTK_LAB"))
        if run.interrupted:
            reports.meta["source"]["interrupted"] = True
        code = reports.finish(_now())
    return ScanRun(exit_code=code, tally=reports.tally, collection=run)


def _stream(planned: list[PlannedHost], reports: ScanReports, options: AnsibleOptions, *, today: date, forks: int,
            timeout: int, warn_days: int, progress: bool, stream: Any, redactor: Redactor,
            lab_hint: bool = False) -> CollectionRun:
    emit = progress_printer(len(planned), stream) if progress else (lambda *a: None)
    by_name = {}
    for entry in planned:
        if entry.error or entry.request is None:
            emit(entry.name, "error", None, entry.error)
            reports.add(evaluate_outcome(entry, None, today, warn_days))
        else:
            by_name[entry.name] = entry

    def arrived(outcome: Collected) -> None:
        if lab_hint and by_name[outcome.host].lab and outcome.status != "ok" and outcome.reason != INTERRUPTED:
            # Scanned like a real site, a lab host fails on what only the lab wrapper provides.
            outcome.reason = f"{LAB_HINT}. {outcome.reason}"
        if outcome.reason != INTERRUPTED:
            emit(outcome.host, outcome.status, outcome.duration, outcome.reason if outcome.status != "ok" else None)
        reports.add(evaluate_outcome(by_name[outcome.host], outcome, today, warn_days))

    requests = {name: entry.request for name, entry in by_name.items() if entry.request is not None}
    run = collect(requests, options, forks=forks, timeout=timeout, redactor=redactor, on_outcome=arrived,
                  transports={name: entry.transport for name, entry in by_name.items()})
    if run.interrupted and progress:
        missing = sum(1 for c in run.outcomes.values() if c.reason == INTERRUPTED)
        print(f"mtk scan: interrupted; {len(requests) - missing} host(s) collected and evaluated, "
              f"{missing} reported as '{INTERRUPTED}'", file=stream, flush=True)
    return run


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ask_vault_password() -> str:
    return getpass.getpass("Vault password: ")
