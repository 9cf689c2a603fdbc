"""One lab host as a WinRM listener: HTTP(S) on a loopback address, Basic and NTLM authentication
(pyspnego's acceptor), NTLM message encryption over plain HTTP, WS-Man shells (wsman.py) whose
commands run against the lab state (modexec.py), and the network faults of faults.py.

Like HTTP.sys, NTLM authenticates the TCP connection: after the handshake, later requests on the
same connection need no Authorization header (pywinrm relies on this for message encryption).
Nothing here logs a request: headers carry credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import spnego
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

from . import faults, modexec
from .runner import latency
from .wsman import ACTION_CREATE, ACTION_RECEIVE, ShellHost, WSManFault, fault_envelope

SOAP_TYPE = "application/soap+xml;charset=UTF-8"
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
_ENCRYPTED_PART = re.compile(rb"Content-Type: application/octet-stream\r\n(.*)" + re.escape(BOUNDARY) + rb"--\r\n$",
                             re.DOTALL)


last_request = time.monotonic()  # for the endpoint process's idle stop (endpoints.serve)


class ResetConnection(Exception):
    """Drop the TCP connection with a reset, as a middlebox or crashed service would."""


class Account:
    """The lab account: user name and NT hash only (what the NTLM acceptor's user file holds)."""

    def __init__(self, user: str, nt_hash: bytes):
        self.user = user
        self.nt_hash = nt_hash

    def check(self, user: str, password: str) -> bool:
        from spnego._ntlm_raw.crypto import ntowfv1

        name = user.rsplit("\\", 1)[-1].split("@", 1)[0]
        return name.lower() == self.user.lower() and hmac.compare_digest(ntowfv1(password), self.nt_hash)


class Endpoint:
    """What a listener needs to know about its host (shared by its HTTP and HTTPS listeners)."""

    def __init__(self, host: str, account: Account):
        self.host = host
        self.account = account
        self.shells = ShellHost(lambda line, args, stdin: modexec.run_command(host, line, args, stdin),
                                before=self.before_action)

    def condition(self) -> faults.Condition:
        return faults.current(self.host)

    def before_action(self, action: str) -> None:
        condition = self.condition()
        if action == ACTION_RECEIVE:
            # latency on the network: every Receive answers late ($MTK_LAB_LATENCY; winrm-slow: its delay)
            pause = condition.delay if condition.kind == faults.SLOW else latency()
            if pause:
                time.sleep(pause)
        if condition.kind == faults.RESET and action == ACTION_RECEIVE:
            raise ResetConnection()
        elif condition.kind == faults.SOAP_FAULT and action == ACTION_CREATE:
            raise WSManFault(faults.SOAP_FAULT_CODE, faults.SOAP_FAULT_MESSAGE, "w:QuotaLimit")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LabHTTPServer

    def setup(self) -> None:
        super().setup()
        self.context: Any = None  # the connection's NTLM/Negotiate acceptor
        self.user: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _challenge(self, token: str | None = None, scheme: str = "Negotiate") -> None:
        self.send_response(401)
        if token:
            self.send_header("WWW-Authenticate", f"{scheme} {token}")
        else:
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("WWW-Authenticate", "NTLM")
            if self.server.tls:
                self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _authenticated(self, condition: faults.Condition) -> bool:
        header = self.headers.get("Authorization")
        if not header:
            if self.user is None:
                self._challenge()
            return self.user is not None
        scheme, _, token = header.partition(" ")
        endpoint = self.server.endpoint
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(token).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            # WinRM refuses Basic over HTTP unless AllowUnencrypted is set; the lab never sets it.
            if not self.server.tls or not endpoint.account.check(user, password) or condition.kind == faults.BAD_PASSWORD:
                self.user = None
                self._challenge()
                return False
            self.user = user
            return True
        if scheme.lower() not in ("ntlm", "negotiate"):
            self._challenge()
            return False
        if self.context is None or self.context.complete:
            self.context = spnego.server(protocol=scheme.lower(), channel_bindings=self.server.channel_bindings)
        try:
            out = self.context.step(base64.b64decode(token))
        except (SpnegoError, ValueError):
            self.context, self.user = None, None
            self._challenge()
            return False
        if not self.context.complete:
            self._challenge(base64.b64encode(out or b"").decode("ascii"), scheme)
            return False
        if condition.kind == faults.BAD_PASSWORD:  # the account's password changed on the host
            self.context, self.user = None, None
            self._challenge()
            return False
        self.user = str(self.context.client_principal or endpoint.account.user)
        return True

    def do_POST(self) -> None:
        global last_request
        last_request = time.monotonic()
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        condition = endpoint.condition()
        if condition.kind in faults.CLOSED:
            self._reset()  # an open keep-alive connection outlives the listener's closing
            return
        if self.path.lower().rstrip("/") != "/wsman":
            self._send(404)
            return
        if not self._authenticated(condition):
            return
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        try:
            if encrypted:
                body = self._unwrap(body)
            if not body:  # pywinrm's empty POST that sets up the encryption context
                self._send(200)
                return
            try:
                answer, code = endpoint.shells.handle(body), 200
            except WSManFault as fault:
                answer, code = fault_envelope(fault), 500
        except ResetConnection:
            self._reset()
            return
        if encrypted:
            self._send(code, self._wrap(answer), {"Content-Type": f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";'
                                                                 'boundary="Encrypted Boundary"'})
        else:
            self._send(code, answer, {"Content-Type": SOAP_TYPE})

    def _unwrap(self, body: bytes) -> bytes:
        match = _ENCRYPTED_PART.search(body)
        if match is None or self.context is None or not self.context.complete:
            raise WSManFault(2150858817, "the encrypted message could not be decrypted", "w:AccessDenied")
        blob = match.group(1)
        (length,) = struct.unpack("<I", blob[:4])
        return self.context.unwrap_winrm(blob[4:4 + length], blob[4 + length:])

    def _wrap(self, data: bytes) -> bytes:
        wrapped = self.context.wrap_winrm(data)
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
                + f"\tOriginalContent: type={SOAP_TYPE};Length={len(data)}\r\n".encode()
                + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(wrapped.header)) + wrapped.header + wrapped.data + BOUNDARY + b"--\r\n")


class LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoint: Endpoint, tls: dict[str, ssl.SSLContext] | None = None,
                 channel_bindings: GssChannelBindings | None = None):
        super().__init__(address, Handler)
        self.endpoint = endpoint
        self.tls = tls  # {"good": ctx, "mismatch": ctx}
        self.channel_bindings = channel_bindings

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        if self.tls is None:
            return sock, address
        which = "mismatch" if self.endpoint.condition().kind == faults.CERT_MISMATCH else "good"
        return self.tls[which].wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(30)
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: nothing to serve
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that went away is not the lab's problem; tracebacks could echo headers


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def channel_bindings_for(cert: Path) -> GssChannelBindings:
    """tls-server-end-point (RFC 5929) of the certificate, as Windows' CBT hardening checks it."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    return GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest())


class Listener:
    """One listener that can close (connection refused) and reopen on the same address."""

    def __init__(self, address: tuple[str, int], factory: Any):
        self.address = address
        self.factory = factory
        self.server: LabHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def open(self) -> None:
        if self.server is None:
            self.server = self.factory(self.address)
            self.address = self.server.server_address[:2]
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                           daemon=True)
            self.thread.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def user_file_line(account: Account) -> str:
    """smbpasswd format for NTLM_USER_FILE: the NT hash, never the password."""
    return f"{account.user}:1000:{'0' * 32}:{account.nt_hash.hex().upper()}:[U]:LCT-00000000\n"


def write_user_file(path: Path, accounts: list[Account]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.writelines(sorted({user_file_line(a) for a in accounts}))
