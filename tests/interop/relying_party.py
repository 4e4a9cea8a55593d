"""Driving the openid-client relying parties of tests/interop (rp.mjs, and fapi2.mjs for FAPI
2.0) over JSON lines on stdin/stdout.

Every read has a deadline, so a Node process that hangs or dies fails the test in seconds with
its stderr attached, instead of blocking the run.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

INTEROP = Path(__file__).parent
SCRIPT = INTEROP / "rp.mjs"
FAPI2_SCRIPT = INTEROP / "fapi2.mjs"
SCOPE = "openid profile email phone address offline_access"
READ_TIMEOUT = 15.0


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)  # end of stream


@dataclass
class NodeRP:
    process: subprocess.Popen[str]
    stdout: queue.Queue[str | None] = field(default_factory=queue.Queue)
    stderr: queue.Queue[str | None] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def _stderr_text(self) -> str:
        chunks = []
        while True:
            try:
                chunk = self.stderr.get_nowait()
            except queue.Empty:
                break
            if chunk is not None:
                chunks.append(chunk)
        return "".join(chunks)

    def read(self, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        """The next JSON message from the RP; fail the test on a timeout or an early exit."""
        try:
            line = self.stdout.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"rp.mjs said nothing for {timeout}s; stderr:\n{self._stderr_text()}")
        if line is None:
            self.process.wait(timeout=5)
            pytest.fail(
                f"rp.mjs exited ({self.process.returncode}) after {self.seen!r}; "
                f"stderr:\n{self._stderr_text()}"
            )
        self.seen.append(line)
        return json.loads(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()


@contextmanager
def start(settings: dict[str, Any], script: Path = SCRIPT) -> Iterator[NodeRP]:
    """Run ``node script`` with ``settings``; always reap it, even when the test fails."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the openid-client interoperability tests need Node 20+")
    process = subprocess.Popen(
        [node, str(script), json.dumps(settings)],
        cwd=INTEROP,
        text=True,
        encoding="utf-8",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    rp = NodeRP(process)
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, rp.stdout), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, rp.stderr), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        yield rp
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        for pump in pumps:
            pump.join(timeout=5)
        process.stdout.close()
        process.stderr.close()


def run_code_flow(
    settings: dict[str, Any],
    go: Callable[[str], str],
    tamper: Callable[[str], str] = lambda url: url,
) -> dict[str, Any]:
    """One whole login: the RP's authorization URL, the user agent, the callback back to the RP.

    Returns the RP's last message, ``{"result": ...}`` or ``{"error": ...}``.
    """
    with start(settings) as rp:
        first = rp.read()
        assert "authorization_url" in first, first
        callback = go(first["authorization_url"])
        rp.send({"callback": tamper(callback)})
        return rp.read()


def run_fapi2_flow(
    settings: dict[str, Any],
    register: Callable[[dict[str, Any]], dict[str, Any]],
    go: Callable[[str], str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A login by fapi2.mjs: its keys, registered by ``register``, then the front channel.

    Returns the public keys Node made and its last message, ``{"result": ...}`` or
    ``{"error": ...}``; a refusal before the front channel (at ``/par``) is that error.
    """
    with start(settings, FAPI2_SCRIPT) as rp:
        first = rp.read()
        assert "keys" in first, first
        rp.send({"client": register(first["keys"])})
        step = rp.read()
        if "authorization_url" not in step:
            return first["keys"], step
        rp.send({"callback": go(step["authorization_url"])})
        return first["keys"], rp.read()
