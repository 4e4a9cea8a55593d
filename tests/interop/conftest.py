"""Fixtures for the interoperability tests: openid-client installed from the repo's lockfile,
and the live idp, customer, clients and user agent of the protocol tests."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from hashlib import sha256
from pathlib import Path

import pytest

from tests.interop.relying_party import INTEROP
from tests.oauth.conftest import agent, customer, native_client, web_client

__all__ = ["agent", "customer", "native_client", "node_modules", "web_client"]

LOCKFILE = INTEROP / "package-lock.json"
NODE_MODULES = INTEROP / "node_modules"
NPM_TIMEOUT = 300


def _pinned(lock: dict) -> dict[str, tuple[str, str]]:
    return {
        path: (entry.get("version", ""), entry.get("integrity", ""))
        for path, entry in lock.get("packages", {}).items()
        if path.startswith("node_modules/")
    }


def _up_to_date() -> bool:
    """node_modules holds exactly what package-lock.json pins (npm's own record of the install)."""
    installed = NODE_MODULES / ".package-lock.json"
    if not installed.exists():
        return False
    wanted = _pinned(json.loads(LOCKFILE.read_text()))
    return _pinned(json.loads(installed.read_text())) == wanted


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Run ``npm ci`` once when tests/interop/node_modules is missing or differs from the lock."""
    # Two pytest runs at once must not both wipe and refill the same node_modules.
    lock_path = Path(tempfile.gettempdir()) / f"idp-npm-{sha256(bytes(INTEROP)).hexdigest()[:12]}"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _up_to_date():
            return NODE_MODULES
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not on PATH: install Node 20+ to run tests/interop")
        command = [npm, "ci", "--prefix", str(INTEROP), "--no-audit", "--no-fund"]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{' '.join(command)}` took over {NPM_TIMEOUT}s (registry unreachable?)")
        if done.returncode != 0 or not _up_to_date():
            pytest.fail(
                f"`{' '.join(command)}` failed ({done.returncode}); the openid-client tests "
                f"cannot run without it.\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
    return NODE_MODULES
