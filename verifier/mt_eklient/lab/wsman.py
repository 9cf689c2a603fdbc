"""WS-Management shell operations (MS-WSMV), the six pywinrm uses: Create, Command, Send, Receive,
Signal, Delete. Pure protocol: SOAP envelopes in, SOAP envelopes out; what a command does is the
`Runner` handed in (lab/modexec.py runs Ansible module payloads against the lab's stand-ins).

A command runs when its stdin ends (`End="true"`), or at once when it has no stdin. Output leaves in
chunks of MAX_CHUNK bytes, one chunk per Receive, so large results take several round trips as
they do from Windows.
"""

from __future__ import annotations

import base64
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SIGNAL = SHELL_URI + "/Signal"
STATE_DONE = SHELL_URI + "/CommandState/Done"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"
MAX_CHUNK = 256 * 1024

# WinRM's own fault codes (MS-WSMV, ERROR_WSMAN_*), as Windows puts them in WSManFault/@Code.
FAULT_INVALID_SELECTORS = 2150858843
FAULT_INTERNAL = 2150858770


@dataclass
class CommandResult:
    stdout: bytes
    stderr: bytes = b""
    rc: int = 0


Runner = Callable[[str, list[str], bytes], CommandResult]


class WSManFault(Exception):
    """A SOAP fault as WinRM sends it (HTTP 500), with a WSManFault code and message."""

    def __init__(self, code: int, message: str, subcode: str = "w:InternalError"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode


@dataclass
class Command:
    line: str
    args: list[str]
    stdin: bytearray = field(default_factory=bytearray)
    stdin_done: bool = False
    result: CommandResult | None = None
    sent: int = 0  # stdout bytes already handed out by Receive


@dataclass
class Shell:
    commands: dict[str, Command] = field(default_factory=dict)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _text(node: ET.Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


class Request:
    def __init__(self, body: bytes):
        try:
            self.root = ET.fromstring(body)
        except ET.ParseError as err:
            raise WSManFault(FAULT_INTERNAL, f"malformed SOAP envelope: {err}", "w:SchemaValidationError") from None
        header = self.root.find("s:Header", NS)
        self.body = self.root.find("s:Body", NS)
        if header is None or self.body is None:
            raise WSManFault(FAULT_INTERNAL, "SOAP envelope without Header or Body", "w:SchemaValidationError")
        self.action = _text(header.find("a:Action", NS))
        self.message_id = _text(header.find("a:MessageID", NS))
        self.selectors = {s.get("Name"): _text(s) for s in header.iterfind("w:SelectorSet/w:Selector", NS)}


def envelope(action: str, relates_to: str, body: ET.Element | None = None,
             header_extra: list[ET.Element] | None = None) -> bytes:
    root = ET.Element(_q("s", "Envelope"))
    header = ET.SubElement(root, _q("s", "Header"))
    ET.SubElement(header, _q("a", "Action")).text = action
    ET.SubElement(header, _q("a", "MessageID")).text = f"uuid:{uuid.uuid4()}"
    ET.SubElement(header, _q("a", "To")).text = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    ET.SubElement(header, _q("a", "RelatesTo")).text = relates_to
    for extra in header_extra or []:
        header.append(extra)
    body_node = ET.SubElement(root, _q("s", "Body"))
    if body is not None:
        body_node.append(body)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def fault_envelope(fault: WSManFault, relates_to: str = "") -> bytes:
    node = ET.Element(_q("s", "Fault"))
    code = ET.SubElement(node, _q("s", "Code"))
    ET.SubElement(code, _q("s", "Value")).text = "s:Receiver"
    ET.SubElement(ET.SubElement(code, _q("s", "Subcode")), _q("s", "Value")).text = fault.subcode
    ET.SubElement(ET.SubElement(node, _q("s", "Reason")), _q("s", "Text")).text = fault.message
    detail = ET.SubElement(node, _q("s", "Detail"))
    wsman = ET.SubElement(detail, _q("f", "WSManFault"), {"Code": str(fault.code), "Machine": "lab"})
    ET.SubElement(wsman, _q("f", "Message")).text = fault.message
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, node)


class ShellHost:
    """The shells of one WinRM endpoint. Thread-safe: the HTTP server serves connections in threads."""

    def __init__(self, runner: Runner, before: Callable[[str], None] | None = None):
        self.runner = runner
        self.before = before  # called with each request's action first (the lab's network faults)
        self.shells: dict[str, Shell] = {}
        self._lock = threading.Lock()

    def handle(self, body: bytes) -> bytes:
        request = Request(body)
        if self.before:
            self.before(request.action)
        handler = {ACTION_CREATE: self._create, ACTION_DELETE: self._delete, ACTION_COMMAND: self._command,
                   ACTION_SEND: self._send, ACTION_RECEIVE: self._receive, ACTION_SIGNAL: self._signal}.get(request.action)
        if handler is None:
            raise WSManFault(FAULT_INTERNAL, f"the WS-Management action {request.action or '(none)'} is not supported "
                             "by the simulated lab", "w:ActionNotSupported")
        return handler(request)

    def _shell(self, request: Request) -> Shell:
        shell = self.shells.get(request.selectors.get("ShellId", ""))
        if shell is None:
            raise WSManFault(FAULT_INVALID_SELECTORS, "The request for the Windows Remote Shell with ShellId "
                             f"{request.selectors.get('ShellId')} failed because the shell was not found on the server.",
                             "w:InvalidSelectors")
        return shell

    def _command_of(self, request: Request, node: ET.Element | None) -> Command:
        shell = self._shell(request)
        command_id = node.get("CommandId", "") if node is not None else ""
        command = shell.commands.get(command_id)
        if command is None:
            raise WSManFault(FAULT_INVALID_SELECTORS, f"no command {command_id or '(none)'} in this shell",
                             "w:InvalidSelectors")
        return command

    def _create(self, request: Request) -> bytes:
        shell_id = str(uuid.uuid4()).upper()
        with self._lock:
            self.shells[shell_id] = Shell()
        created = ET.Element(_q("x", "ResourceCreated"))
        ET.SubElement(created, _q("a", "Address")).text = "http://localhost/wsman"
        params = ET.SubElement(created, _q("a", "ReferenceParameters"))
        ET.SubElement(params, _q("w", "ResourceURI")).text = SHELL_URI + "/cmd"
        selectors = ET.SubElement(params, _q("w", "SelectorSet"))
        ET.SubElement(selectors, _q("w", "Selector"), {"Name": "ShellId"}).text = shell_id
        shell = ET.Element(_q("rsp", "Shell"))
        ET.SubElement(shell, _q("rsp", "ShellId")).text = shell_id
        created.append(shell)
        return envelope(ACTION_CREATE + "Response", request.message_id, created)

    def _delete(self, request: Request) -> bytes:
        self._shell(request)
        with self._lock:
            self.shells.pop(request.selectors["ShellId"], None)
        return envelope(ACTION_DELETE + "Response", request.message_id)

    def _command(self, request: Request) -> bytes:
        shell = self._shell(request)
        line = request.body.find("rsp:CommandLine", NS)
        if line is None:
            raise WSManFault(FAULT_INTERNAL, "Command without CommandLine", "w:SchemaValidationError")
        command_id = str(uuid.uuid4()).upper()
        command = Command(_text(line.find("rsp:Command", NS)), [_text(a) for a in line.iterfind("rsp:Arguments", NS)])
        shell.commands[command_id] = command
        response = ET.Element(_q("rsp", "CommandResponse"))
        ET.SubElement(response, _q("rsp", "CommandId")).text = command_id
        return envelope(ACTION_COMMAND + "Response", request.message_id, response)

    def _send(self, request: Request) -> bytes:
        stream = request.body.find("rsp:Send/rsp:Stream", NS)
        command = self._command_of(request, stream)
        if stream is not None and stream.text:
            command.stdin += base64.b64decode(stream.text)
        if stream is not None and stream.get("End", "").lower() == "true":
            command.stdin_done = True
        return envelope(ACTION_SEND + "Response", request.message_id, ET.Element(_q("rsp", "SendResponse")))

    def _receive(self, request: Request) -> bytes:
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command = self._command_of(request, desired)
        command_id = desired.get("CommandId", "") if desired is not None else ""
        if command.result is None:
            # Ansible opens a command with console-mode stdin and sends stdin before its first
            # Receive; a command without Send has no stdin, as cmd /c ... has none.
            command.result = self.runner(command.line, command.args, bytes(command.stdin))
        result = command.result
        chunk = result.stdout[command.sent:command.sent + MAX_CHUNK]
        command.sent += len(chunk)
        done = command.sent >= len(result.stdout)
        response = ET.Element(_q("rsp", "ReceiveResponse"))
        ET.SubElement(response, _q("rsp", "Stream"), {"Name": "stdout", "CommandId": command_id}).text = \
            base64.b64encode(chunk).decode("ascii")
        if done:
            ET.SubElement(response, _q("rsp", "Stream"), {"Name": "stderr", "CommandId": command_id}).text = \
                base64.b64encode(result.stderr).decode("ascii")
        state = ET.SubElement(response, _q("rsp", "CommandState"),
                              {"CommandId": command_id, "State": STATE_DONE if done else STATE_RUNNING})
        if done:
            ET.SubElement(state, _q("rsp", "ExitCode")).text = str(result.rc)
        return envelope(ACTION_RECEIVE + "Response", request.message_id, response)

    def _signal(self, request: Request) -> bytes:
        node = request.body.find("rsp:Signal", NS)
        self._command_of(request, node)
        self.shells[request.selectors["ShellId"]].commands.pop(node.get("CommandId", ""), None)
        return envelope(ACTION_SIGNAL + "Response", request.message_id, ET.Element(_q("rsp", "SignalResponse")))
