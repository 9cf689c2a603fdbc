"""The lab's WinRM endpoints: one process (started by `mtk lab up`, stopped by `mtk lab down` or
the tests' fixture) that serves every lab host on its own loopback address, HTTPS and HTTP, on
free ports.

    $MTK_LAB_DIR/winrm/ca.pem                 the throw-away CA (inventory: ansible_winrm_ca_trust_path)
    $MTK_LAB_DIR/winrm/endpoints/HOST.json    {"address", "port", "http_port"} (inventory: ansible_host/port)
    $MTK_LAB_DIR/winrm/daemon.json            {"pid"}: the serving process
    $MTK_LAB_DIR/winrm/ntlm-users             NTLM_USER_FILE of the acceptor: user names and NT hashes, mode 0600

The process stops by itself when daemon.json no longer names it (a new `lab up`, `lab down`, the
lab directory removed), and after $MTK_LAB_WINRM_IDLE seconds without a request when that is set
(the tests set it, so a killed test run leaves no listener behind).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import faults, paths

READY_TIMEOUT = 30.0
# The daemon opens a TLS listener per host before it is ready: ~0.15 s each on a 2-core machine.
READY_TIMEOUT_PER_HOST = 0.5
WATCH_INTERVAL = 0.25


def winrm_dir(lab_dir: Path | None = None) -> Path:
    return (lab_dir or paths.lab_dir()) / "winrm"


def address_of(index: int) -> str:
    return f"127.77.{index // 250}.{1 + index % 250}"


def daemon_pid(lab_dir: Path | None = None) -> int | None:
    try:
        pid = int(json.loads((winrm_dir(lab_dir) / "daemon.json").read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def endpoint(host: str, lab_dir: Path | None = None) -> dict[str, Any]:
    return json.loads((winrm_dir(lab_dir) / "endpoints" / f"{paths.check_host(host)}.json").read_text(encoding="utf-8"))


def start(accounts: dict[str, tuple[str, str]], lab_dir: Path | None = None, env: dict[str, str] | None = None) -> int:
    """Serve `accounts` ({host: (user, password)}); returns the serving process id.

    Stops a process already serving this lab directory first. Only NT hashes reach the disk.
    """
    from spnego._ntlm_raw.crypto import ntowfv1

    from .tlscerts import MISMATCH_NAME, LabCA
    from .winrm_server import Account, write_user_file

    lab_dir = (lab_dir or paths.lab_dir()).resolve()
    stop(lab_dir)
    directory = winrm_dir(lab_dir)
    for stale in (directory / "endpoints").glob("*.json") if (directory / "endpoints").is_dir() else []:
        stale.unlink()
    ca = LabCA(directory)
    hosts = {}
    account_list = []
    for index, (host, (user, password)) in enumerate(sorted(accounts.items())):
        address = address_of(index)
        cert, key = ca.issue(paths.check_host(host), host, address)
        account = Account(user, ntowfv1(password))
        account_list.append(account)
        hosts[host] = {"address": address, "cert": str(cert), "key": str(key), "user": user,
                       "nt_hash": account.nt_hash.hex()}
    mismatch_cert, mismatch_key = ca.issue("mismatch", MISMATCH_NAME, None)
    write_user_file(directory / "ntlm-users", account_list)
    config = {"hosts": hosts, "mismatch": {"cert": str(mismatch_cert), "key": str(mismatch_key)}}
    fd = os.open(directory / "config.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    log = open(directory / "daemon.log", "ab")  # noqa: SIM115 - handed to the child
    process_env = dict(os.environ if env is None else env, MTK_LAB_DIR=str(lab_dir))
    package_root = str(paths.PACKAGE_DIR.parents[1])
    process_env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [process_env.get("PYTHONPATH")])])
    proc = subprocess.Popen([sys.executable, "-m", "mt_eklient.lab.endpoints", str(lab_dir)], env=process_env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    timeout = READY_TIMEOUT + READY_TIMEOUT_PER_HOST * len(hosts)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the lab's WinRM endpoints exited at start (exit {proc.returncode}); "
                               f"see {directory / 'daemon.log'}")
        if daemon_pid(lab_dir) == proc.pid:
            return proc.pid
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"the lab's WinRM endpoints for {len(hosts)} host(s) did not start within {timeout:.0f}s")


def stop(lab_dir: Path | None = None) -> bool:
    """Stop the process serving this lab directory; True if one was running."""
    directory = winrm_dir(lab_dir)
    pid = daemon_pid(lab_dir)
    (directory / "daemon.json").unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------------------------------------
# The serving process


def serve(lab_dir: Path) -> None:
    from . import winrm_server
    from .winrm_server import Account, Endpoint, LabHTTPServer, Listener, channel_bindings_for, tls_context

    directory = winrm_dir(lab_dir)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    os.environ["NTLM_USER_FILE"] = str(directory / "ntlm-users")
    os.environ["MTK_LAB_DIR"] = str(lab_dir)
    mismatch = tls_context(Path(config["mismatch"]["cert"]), Path(config["mismatch"]["key"]))
    listeners: dict[str, list[Listener]] = {}
    (directory / "endpoints").mkdir(exist_ok=True)
    for host, spec in config["hosts"].items():
        endpoint_ = Endpoint(host, Account(spec["user"], bytes.fromhex(spec["nt_hash"])))
        tls = {"good": tls_context(Path(spec["cert"]), Path(spec["key"])), "mismatch": mismatch}
        bindings = channel_bindings_for(Path(spec["cert"]))

        def https(address: tuple[str, int], e: Endpoint = endpoint_, t: dict = tls, b: Any = bindings) -> LabHTTPServer:
            return LabHTTPServer(address, e, t, b)

        def http(address: tuple[str, int], e: Endpoint = endpoint_) -> LabHTTPServer:
            return LabHTTPServer(address, e)

        pair = [Listener((spec["address"], 0), https), Listener((spec["address"], 0), http)]
        for listener in pair:
            listener.open()
        listeners[host] = pair
        info = {"address": spec["address"], "port": pair[0].address[1], "http_port": pair[1].address[1]}
        (directory / "endpoints" / f"{host}.json").write_text(json.dumps(info), encoding="utf-8")
    (directory / "daemon.json").write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    idle_limit = float(os.environ.get("MTK_LAB_WINRM_IDLE") or 0)
    while not stopping and daemon_pid(lab_dir) == os.getpid():
        if idle_limit and time.monotonic() - winrm_server.last_request > idle_limit:
            break
        for host, pair in listeners.items():
            closed = faults.current(host).kind in faults.CLOSED
            for listener in pair:
                if closed:
                    listener.close()
                else:
                    try:
                        listener.open()
                    except OSError:  # the port was taken meanwhile: stays refused
                        pass
        time.sleep(WATCH_INTERVAL)
    for pair in listeners.values():
        for listener in pair:
            listener.close()
    if daemon_pid(lab_dir) == os.getpid():
        (winrm_dir(lab_dir) / "daemon.json").unlink(missing_ok=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
