"""A real `chroma run` server on loopback for tests (or the one CI already started)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def chroma_server() -> Iterator[str]:
    """Yield the URL of a Chroma server: CITEBOT_TEST_CHROMA_URL, or one started here."""
    given = os.environ.get("CITEBOT_TEST_CHROMA_URL")
    if given:
        yield given
        return
    exe = Path(sys.executable).with_name("chroma")
    workdir = Path(tempfile.mkdtemp(prefix="citebot-chroma-"))
    port = _free_port()
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(workdir / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "chroma server did not start: " + (workdir / "server.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
