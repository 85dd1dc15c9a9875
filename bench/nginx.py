"""A throwaway nginx serving a folder on 127.0.0.1…127.0.0.N, with ETag and Last-Modified, that dies with us.

nginx runs as one process (`master_process off`) with PR_SET_PDEATHSIG set, so it stops by itself when the
benchmark exits for any reason, even SIGKILL. Its config, logs and pid live in a temp prefix folder.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def install_nginx() -> str | None:
    """apt-get install nginx-light when we are root on Debian/Ubuntu; None when that is not possible."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nginx-light"]):
        if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            return None
    return find_nginx()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Nginx:
    def __init__(self, binary: str, docroot: Path, prefix: Path, hosts: int = 20):
        self.binary, self.docroot, self.prefix, self.hosts = binary, docroot, prefix, hosts
        self.port = free_port()
        self.access_log = prefix / "access.log"
        self._process: subprocess.Popen | None = None
        self._log_offset = 0

    def host(self, n: int) -> str:
        """The address of loopback host n (0-based, wrapping around the hosts served)."""
        return f"127.0.0.{n % self.hosts + 1}:{self.port}"

    def _config(self) -> str:
        listens = "\n".join(f"    listen 127.0.0.{n}:{self.port};" for n in range(1, self.hosts + 1))
        temp = "\n".join(f"  {kind}_temp_path {self.prefix}/tmp-{kind};" for kind in ("client_body", "proxy", "fastcgi"))
        return f"""
daemon off;
master_process off;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  types {{ text/html html; text/plain txt; }}
  default_type text/html;
  log_format status_only '$status';
  access_log {self.access_log} status_only;
{temp}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  etag on;
  server {{
{listens}
    root {self.docroot};
  }}
}}
"""

    def __enter__(self) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        config = self.prefix / "nginx.conf"
        config.write_text(self._config(), encoding="utf-8")
        self._process = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(config), "-e", str(self.prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 10
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self._process.stderr.read().decode(errors='replace').strip()}")
            try:
                socket.create_connection(("127.0.0.20" if self.hosts >= 20 else "127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening within 10 s") from None
                time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def statuses_since_last_call(self) -> Counter:
        """HTTP statuses nginx answered since the previous call (e.g. how many 304s a warm run got)."""
        with open(self.access_log, "rb") as log:
            log.seek(self._log_offset)
            lines = log.read().split()
            self._log_offset = log.tell()
        return Counter(int(line) for line in lines)
