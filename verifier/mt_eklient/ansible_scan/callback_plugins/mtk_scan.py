# Internal to `mtk scan`: stream each host's outcome as one JSON line.
from __future__ import annotations

DOCUMENTATION = """
    name: mtk_scan
    type: stdout
    short_description: one JSON line per host outcome for mt-eklient's fleet scan
    description:
      - Writes nothing to the terminal. For every host it appends one line to the file named by the
        MTK_SCAN_EVENTS environment variable, flushed at once so the scan can read it as it arrives
      - >-
        Lines hold the outcome (ok, failed, unreachable, skipped), the duration and, for win_powershell,
        its output/result/error fields and the message. Never the task arguments or host variables.
      - >-
        Every string of a line is redacted first: the values of the host's connection and secret
        variables as Ansible resolves them (lookups, vault, variables referring to other variables)
        and of every vaulted variable the host has become ******** before anything leaves this
        process, inside the facts document too.
"""

import contextlib
import json
import os
import re
import time

from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar
from ansible.utils.unsafe_proxy import AnsibleUnsafeText

# Fields of a win_powershell result the scan needs; everything else (invocation = module args,
# host_out, ...) stays out of the file.
_KEEP = ("output", "result", "error", "msg", "timedout", "exception", "rc", "stderr", "stdout")


# Variables whose resolved values are secrets: every connection password (winrm, psrp, ssh, become,
# httpapi) matches, and so does any other variable named like a secret. mt_eklient.scan.SECRET_VAR
# is the same pattern for what `ansible-inventory --list` shows.
SECRET_VAR = re.compile(r"pass(word|phrase)?|pwd|secret|token|credential|private.?key|api.?key", re.IGNORECASE)
REDACTED = "********"
MIN_SECRET_LENGTH = 4
# mtk refuses larger facts documents anyway (facts.MAX_FACTS_BYTES); do not parse them here.
MAX_JSON_TEXT = 16 * 1024 * 1024


def _redact_text(text, secrets):
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _redact(value, secrets, depth=0):
    """Redact every string; a string that is a JSON document (the collector's facts) is redacted
    value by value, so a secret escaped differently by ConvertTo-Json is caught too."""
    if not secrets or depth > 64:
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets, depth + 1): _redact(v, secrets, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets, depth + 1) for v in value]
    if isinstance(value, str):
        if value.lstrip().startswith(("{", "[")) and len(value) <= MAX_JSON_TEXT:
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                return _redact_text(value, secrets)
            if _contains_secret(parsed, secrets):
                return json.dumps(_redact_json(parsed, secrets))
            return _redact_text(value, secrets)
        return _redact_text(value, secrets)
    return value


def _walk_strings(value):
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, AnsibleVaultEncryptedUnicode):  # a vaulted value not yet decrypted
            node = str(node)
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _contains_secret(parsed, secrets):
    return any(secret in text for text in _walk_strings(parsed) for secret in secrets)


def _redact_json(value, secrets):
    # Facts are bounded by mtk later; here an iterative copy keeps a deep document from recursing.
    if isinstance(value, str):
        return _redact_text(value, secrets)
    root = [value]
    stack = [(root, 0)]
    while stack:
        container, key = stack.pop()
        node = container[key]
        if isinstance(node, str):
            container[key] = _redact_text(node, secrets)
        elif isinstance(node, dict):
            copy = {_redact_text(k, secrets) if isinstance(k, str) else k: v for k, v in node.items()}
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(node, list):
            copy = list(node)
            container[key] = copy
            stack.extend((copy, i) for i in range(len(copy)))
    return root[0]


def _jsonable(value, depth=0):
    if depth > 64:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _preload_collector_action():
    """Import the collector task's action plugin here, in the process that forks a worker per host:
    a plugin the parent never imported is imported again by every worker (tens of ms per host)."""
    from ansible.plugins.loader import action_loader

    with contextlib.suppress(Exception):  # only an optimisation: the workers then import it themselves
        action_loader.get("ansible.windows.win_powershell", class_only=True)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "mtk_scan"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}
        self._play = None
        self._decrypted = {}  # ciphertext -> plaintext, see _unvault
        path = os.environ.get("MTK_SCAN_EVENTS")
        self._out = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - open for the run

    def _emit(self, event):
        if self._out is None:
            return
        self._out.write(json.dumps(event, sort_keys=True, default=str) + "\n")
        self._out.flush()

    def _host_event(self, status, result):
        host = result._host.get_name()
        started = self._started.pop(host, None)
        raw = result._result or {}
        secrets = self._secrets(result._host, result._task)
        event = {
            "event": "host",
            "host": host,
            "status": status,
            "duration": round(time.monotonic() - started, 3) if started is not None else None,
            "result": {k: _redact(_jsonable(raw[k]), secrets) for k in _KEEP if k in raw},
        }
        self._emit(event)

    def _secrets(self, host, task):
        """The host's secret values as Ansible resolves them for the connection, longest first: every
        variable named like a secret, and every vaulted value the host has."""
        if self._play is None:
            return []
        try:
            variables = self._play.get_variable_manager().get_vars(play=self._play, host=host, task=task)
        except Exception:  # noqa: BLE001 - no variables, nothing known to redact; mtk redacts what it knows
            return []
        found = set()
        variables = {name: self._unvault(value, found) for name, value in variables.items()}
        templar = Templar(loader=self._play.get_loader(), variables=variables)
        for name in list(variables):
            if not SECRET_VAR.search(str(name)):
                continue
            try:
                value = templar.template(variables[name])
            except Exception:  # noqa: BLE001, S112 - an unresolvable variable is not used for the connection
                continue
            found.update(_walk_strings(value))
        return sorted((text for text in found if len(text) >= MIN_SECRET_LENGTH), key=len, reverse=True)

    def _unvault(self, value, found, depth=0):
        """The value with each vaulted string decrypted once per run (every decryption derives the key
        again, ~10 ms, and a group's hosts share its ciphertext), added to `found`, and marked unsafe:
        the templar never reads a secret as Jinja. One that does not decrypt stays as it was."""
        if isinstance(value, AnsibleVaultEncryptedUnicode):
            ciphertext = getattr(value, "_ciphertext", None)
            plain = self._decrypted.get(ciphertext) if ciphertext is not None else None
            if plain is None:
                try:
                    plain = AnsibleUnsafeText(str(value))
                except Exception:  # noqa: BLE001 - no vault secret for it: the connection cannot use it either
                    return value
                if ciphertext is not None:
                    self._decrypted[ciphertext] = plain
            found.add(str(plain))
            return plain
        if depth >= 64:
            return value
        if isinstance(value, dict):
            return {key: self._unvault(item, found, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            return [self._unvault(item, found, depth + 1) for item in value]
        return value

    def v2_playbook_on_play_start(self, play):
        self._play = play

    def v2_playbook_on_start(self, playbook):
        self._emit({"event": "start", "pid": os.getpid()})
        _preload_collector_action()

    def v2_runner_on_start(self, host, task):
        self._started[host.get_name()] = time.monotonic()

    def v2_runner_on_ok(self, result):
        self._host_event("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._host_event("failed", result)

    def v2_runner_on_unreachable(self, result):
        self._host_event("unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._host_event("skipped", result)

    def v2_playbook_on_no_hosts_matched(self):
        self._emit({"event": "no_hosts"})

    def v2_playbook_on_stats(self, stats):
        self._emit({"event": "done"})
