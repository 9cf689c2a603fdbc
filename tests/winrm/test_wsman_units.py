"""The lab's WinRM endpoint piece by piece, in-process and fast: the WS-Man shell operations, the
module payload of the pinned ansible-core, and the HTTP layer's authentication and NTLM message
encryption with the real pywinrm client."""

from __future__ import annotations

import base64
import json
import re
import threading
from pathlib import Path

import pytest
from lab_session import REPO
from mt_eklient.lab import faults, modexec, wsman

ECHO = wsman.CommandResult


def echo(line: str, args: list[str], stdin: bytes) -> wsman.CommandResult:
    return ECHO(stdin or f"{line} {' '.join(args)}".encode(), b"", 0)


def soap(action: str, body: str = "", shell: str | None = None) -> bytes:
    selector = (f'<w:SelectorSet><w:Selector Name="ShellId">{shell}</w:Selector></w:SelectorSet>' if shell else "")
    return (f'<s:Envelope xmlns:s="{wsman.NS["s"]}" xmlns:a="{wsman.NS["a"]}" xmlns:w="{wsman.NS["w"]}" '
            f'xmlns:rsp="{wsman.NS["rsp"]}"><s:Header><a:Action>{action}</a:Action>'
            f'<a:MessageID>uuid:1</a:MessageID>{selector}</s:Header><s:Body>{body}</s:Body></s:Envelope>').encode()


def test_shell_operations_carry_stdin_and_chunked_stdout():
    host = wsman.ShellHost(echo)
    shell = re.search(rb'Name="ShellId">([^<]+)<', host.handle(soap(wsman.ACTION_CREATE, "<rsp:Shell/>"))).group(1)
    shell = shell.decode()
    answer = host.handle(soap(wsman.ACTION_COMMAND, "<rsp:CommandLine><rsp:Command>powershell</rsp:Command>"
                              "</rsp:CommandLine>", shell))
    command = re.search(rb"CommandId>([^<]+)<", answer).group(1).decode()
    payload = bytes(range(256)) * 2500  # 640 kB: three Receive chunks
    for start in range(0, len(payload), 200_000):
        part = base64.b64encode(payload[start:start + 200_000]).decode()
        end = ' End="true"' if start + 200_000 >= len(payload) else ""
        host.handle(soap(wsman.ACTION_SEND, f'<rsp:Send><rsp:Stream Name="stdin" CommandId="{command}"{end}>{part}'
                                            "</rsp:Stream></rsp:Send>", shell))
    received, receives = b"", 0
    while True:
        answer = host.handle(soap(wsman.ACTION_RECEIVE, f'<rsp:Receive><rsp:DesiredStream CommandId="{command}">'
                                  "stdout stderr</rsp:DesiredStream></rsp:Receive>", shell)).decode()
        receives += 1
        received += b"".join(base64.b64decode(m) for m in re.findall(r'Name="stdout"[^>]*>([^<]*)<', answer))
        if "CommandState/Done" in answer:
            assert re.search(r"ExitCode>0<", answer)
            break
    assert received == payload and receives == 3
    host.handle(soap(wsman.ACTION_SIGNAL, f'<rsp:Signal CommandId="{command}"><rsp:Code>terminate</rsp:Code>'
                                          "</rsp:Signal>", shell))
    host.handle(soap(wsman.ACTION_DELETE, "", shell))
    with pytest.raises(wsman.WSManFault) as err:
        host.handle(soap(wsman.ACTION_COMMAND, "<rsp:CommandLine><rsp:Command>x</rsp:Command></rsp:CommandLine>",
                         shell))
    assert err.value.code == wsman.FAULT_INVALID_SELECTORS
    assert b"WSManFault" in wsman.fault_envelope(err.value, "uuid:1")


def test_unknown_actions_and_garbage_are_soap_faults():
    host = wsman.ShellHost(echo)
    with pytest.raises(wsman.WSManFault, match="not supported"):
        host.handle(soap("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"))
    with pytest.raises(wsman.WSManFault, match="malformed"):
        host.handle(b"<not xml")


# --- the pinned ansible-core's module payload --------------------------------------------------


def test_ansible_core_pin_and_its_module_payload():
    from ansible.executor.powershell.module_manifest import _create_powershell_wrapper
    from ansible.release import __version__
    from packaging.specifiers import SpecifierSet

    pin = re.search(r'"ansible-core([^"]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert SpecifierSet(pin) == SpecifierSet(">=2.18,<2.19") and __version__ in SpecifierSet(pin)
    args = {"path": "HKLM:\\SOFTWARE\\X", "name": "Y", "_ansible_module_name": "ansible.windows.win_regedit",
            "_ansible_check_mode": True, "_ansible_diff": True, "_ansible_no_log": False}
    payload = _create_powershell_wrapper(b"#!powershell\n#AnsibleRequires -CSharpUtil Ansible.Basic\n", "m.ps1", args,
                                         {}, 0, False, None, None, None, None, "powershell", {},
                                         "ansible.windows.win_regedit")
    assert modexec.parse_module_payload(payload) == (
        "ansible.windows.win_regedit", {"path": "HKLM:\\SOFTWARE\\X", "name": "Y"}, True, True)


@pytest.mark.parametrize("stdin", [
    b"",  # a raw command
    b"wrapper\0\0\0\0" + json.dumps({"name": "2.19 bootstrap", "script": "...", "params": {}}).encode(),
    b"wrapper\0\0\0\0not json",
])
def test_other_payloads_fail_like_an_unknown_program(stdin):
    result = modexec.run_command("h", "PowerShell", ["-EncodedCommand", "x"], stdin)
    assert result.rc == 1 and result.stdout == b"" and b"simulated lab: cannot run" in result.stderr


def test_latency_is_slept_by_the_endpoint_before_each_receive(monkeypatch):
    """MTK_LAB_LATENCY over WinRM: the endpoint answers each Receive late (latency on the network,
    server side); other operations answer at once; winrm-slow's delay replaces it."""
    import time

    from mt_eklient.lab import winrm_server as ws

    monkeypatch.setenv("MTK_LAB_LATENCY", "0.3")
    endpoint = ws.Endpoint("unit-host", ws.Account("svc-unit", b"\0" * 16))
    condition = [faults.Condition()]
    endpoint.condition = lambda: condition[0]

    def took(action: str) -> float:
        started = time.monotonic()
        endpoint.before_action(action)
        return time.monotonic() - started

    assert took(wsman.ACTION_RECEIVE) >= 0.3 and took(wsman.ACTION_CREATE) < 0.1 and took(wsman.ACTION_COMMAND) < 0.1
    condition[0] = faults.Condition(faults.SLOW, 0.6)
    assert took(wsman.ACTION_RECEIVE) >= 0.6


# --- HTTP: authentication and message encryption with pywinrm -----------------------------------

PASSWORD = "Unit-test-password-1!"


@pytest.fixture(scope="module")
def listeners(tmp_path_factory):
    from mt_eklient.lab import winrm_server as ws
    from mt_eklient.lab.tlscerts import LabCA
    from spnego._ntlm_raw.crypto import ntowfv1

    directory: Path = tmp_path_factory.mktemp("winrm-unit")
    account = ws.Account("svc-unit", ntowfv1(PASSWORD))
    ws.write_user_file(directory / "users", [account])
    assert PASSWORD.encode() not in (directory / "users").read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NTLM_USER_FILE", str(directory / "users"))
        endpoint = ws.Endpoint("unit-host", account)
        endpoint.condition = lambda: faults.Condition()  # no lab state here
        endpoint.shells = wsman.ShellHost(echo, before=endpoint.before_action)
        ca = LabCA(directory)
        cert, key = ca.issue("unit", "unit-host", "127.0.0.1")
        tls = {"good": ws.tls_context(cert, key), "mismatch": ws.tls_context(cert, key)}
        servers = {"https": ws.LabHTTPServer(("127.0.0.1", 0), endpoint, tls, ws.channel_bindings_for(cert)),
                   "http": ws.LabHTTPServer(("127.0.0.1", 0), endpoint)}
        for server in servers.values():
            threading.Thread(target=server.serve_forever, daemon=True).start()
        yield {name: f"{name}://127.0.0.1:{s.server_address[1]}/wsman" for name, s in servers.items()}, ca.ca_path
        for server in servers.values():
            server.shutdown()
            server.server_close()


def run(url: str, ca: Path, transport: str, password: str = PASSWORD, stdin: bytes = b"hello") -> bytes:
    import winrm.protocol

    protocol = winrm.protocol.Protocol(url, transport=transport, username="svc-unit", password=password,
                                       ca_trust_path=str(ca), server_cert_validation="validate")
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd")
    protocol.send_command_input(shell, command, stdin, end=True)
    stdout, _, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert rc == 0
    return stdout


def test_ntlm_and_basic_over_https_with_channel_binding(listeners):
    urls, ca = listeners
    assert run(urls["https"], ca, "ntlm") == b"hello"
    assert run(urls["https"], ca, "basic") == b"hello"


def test_ntlm_over_http_is_message_encrypted(listeners):
    import winrm.protocol

    urls, ca = listeners
    big = b"x" * 300_000
    assert run(urls["http"], ca, "ntlm", stdin=big) == big
    protocol = winrm.protocol.Protocol(urls["http"], transport="ntlm", username="svc-unit", password=PASSWORD)
    protocol.open_shell()
    assert protocol.transport.encryption is not None  # pywinrm wraps every message: nothing readable on the wire


@pytest.mark.parametrize(("scheme", "transport"), [("https", "ntlm"), ("https", "basic"), ("http", "basic")])
def test_a_wrong_password_or_basic_over_http_is_401(listeners, scheme, transport):
    from winrm.exceptions import InvalidCredentialsError

    urls, ca = listeners
    password = PASSWORD if scheme == "http" else "not-the-password"
    with pytest.raises(InvalidCredentialsError):
        run(urls[scheme], ca, transport, password=password)
