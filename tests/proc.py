"""Run the citebot command line as a separate process, the way a user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping


def run_citebot(env: Mapping[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `citebot ARGS` in a new Python process with env; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
