"""A client's web server publishing its JWK Set over http or https, for the jwks_uri tests;
it counts connections and requests and misbehaves on demand; and a clock the tests move."""

from __future__ import annotations

import contextlib
import datetime
import gzip
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey


class JWKSServer:
    """A client's web server publishing its JWK Set, told by each test how to misbehave."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.document: Any = {"keys": []}
        self.behaviour = "jwks"
        self.delay = 0.0
        self.paths: list[str] = []
        self.connections = 0
        self.release = threading.Event()  # ends a "slow" answer at teardown
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                time.sleep(owner.delay)
                # idp hangs up on purpose on a body too big or too slow.
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    owner.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def verify_request(self, request: Any, client_address: Any) -> bool:
                owner.connections += 1
                return True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        # A short poll interval: shutdown() waits for it at every test's end.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, host: str = "127.0.0.1", path: str = "/jwks", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def publish(self, *keys: ECKey) -> None:
        self.document = {"keys": [key.as_dict(private=False) for key in keys]}

    @property
    def fetches(self) -> int:
        return len(self.paths)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps(self.document).encode()
        behaviour = self.behaviour
        if behaviour == "redirect":
            # To a path that would serve the set: a followed redirect would show in ``paths``.
            handler.send_response(302)
            handler.send_header("Location", self.url(path="/moved"))
            handler.end_headers()
            return
        if behaviour == "slow":
            self.release.wait(10)
        status = 404 if behaviour == "404" else 200
        handler.send_response(status)
        handler.send_header("Content-Type", "application/jwk-set+json")
        if behaviour == "gzip":
            body = gzip.compress(body)
            handler.send_header("Content-Encoding", "gzip")
        if behaviour == "not-json":
            body = b"<html><body>Welcome to nginx!</body></html>"
        if behaviour == "big":
            body = b" " * (1024 * 1024) + body
        if behaviour == "big-unannounced" or behaviour == "trickle":
            handler.end_headers()  # HTTP/1.0: the body ends when the connection closes
            for _ in range(1024 if behaviour == "big-unannounced" else 20):
                handler.wfile.write(b" " * (1024 if behaviour == "big-unannounced" else 1))
                handler.wfile.flush()
                if behaviour == "trickle":
                    time.sleep(0.3)
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class Clock:
    """A monotonic clock that moves only when told, for the cache's lifetime and refresh limit."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tls_files(tmp_path: Path, names: list[str]) -> tuple[Path, Path]:
    """A test certificate authority, and a server certificate and key for ``names`` signed by it
    (one PEM file holding both); returns (authority, server)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    authority = tmp_path / "ca.pem"
    authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "server.pem"
    chain.write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return authority, chain


def https_server(chain: Path) -> JWKSServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return JWKSServer(tls=context)
