"""The public keys a client signs its assertions with (RFC 7523 2.2; RFC 7591 2 ``jwks`` and
``jwks_uri``).

A client registers its JWK Set inline (``jwks``) or publishes it at ``jwks_uri``. A published set
is fetched, kept per app for ``IDP_JWKS_CACHE_TTL`` seconds, and fetched again sooner when an
assertion names a ``kid`` the kept set lacks: that is how a client rotates its keys (OIDC Core
10.1.1). Assertions are read before anyone is authenticated, so that early fetch, and a retry
after a failure, happen at most once per ``REFRESH_INTERVAL`` per client: nobody can make idp
fetch on demand.

A fetch is a request a client makes idp send (server-side request forgery), so it is fenced:

- the URL passes the registration rule again (``client_metadata.validate_jwks_uri``: https, or
  http on a loopback host), for rows written before the rule;
- the host is resolved once and every address it resolves to is checked (``idp.outbound``:
  private, link-local, multicast, reserved and unspecified addresses are refused, loopback only
  for a loopback host), before any connection is attempted;
- idp connects to the checked address itself, with the host name kept for the ``Host`` header
  and the TLS certificate check, so a second DNS answer cannot send the connection elsewhere
  (DNS rebinding);
- no redirect is followed (any status but 200 fails); the body is read up to ``MAX_JWKS_BYTES``
  and never decompressed; connecting, the headers and the body share one deadline,
  ``IDP_JWKS_FETCH_TIMEOUT``. Name resolution is the one step left to the system resolver's own
  timeouts, since ``getaddrinfo`` takes none.

Any failure is logged at warning level with the real reason; the client gets the one
``invalid_client`` answer every failed client authentication gets.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from joserfc.jwk import KeySet
from urllib3 import exceptions as urllib3_errors
from urllib3.connection import HTTPConnection, HTTPSConnection

from idp import outbound
from idp.errors import ValidationError
from idp.models import Client
from idp.services import client_metadata

EXTENSION = "idp.client_keys"
# A JWK Set of a few keys is 1-5 KiB; 64 KiB leaves room for many RSA keys and no more.
MAX_JWKS_BYTES = 64 * 1024
# Fetches for a kid not in the kept set, or after a failure, at most once per this many seconds.
REFRESH_INTERVAL = 30.0
# Kept sets, least recently used dropped first: dynamic registration must not grow memory.
MAX_CLIENTS = 1000
_READ_SIZE = 8192

log = logging.getLogger(__name__)

# socket.getaddrinfo's shape, so a test can resolve a name without DNS.
Resolver = Callable[..., list[tuple[Any, ...]]]
Clock = Callable[[], float]


class KeysUnavailable(Exception):
    """Why a client has no usable keys right now; logged, never shown to the client."""


# Fetching -------------------------------------------------------------------------------------


def _addresses(host: str, port: int, getaddrinfo: Resolver) -> list[str]:
    """Every address ``host`` resolves to, each checked; one refused address refuses the host,
    since a name that also points inside is not a name to trust."""
    try:
        answers = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise KeysUnavailable(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    if not addresses:
        raise KeysUnavailable(f"{host} does not resolve")
    loopback = host in outbound.LOOPBACK_HOSTS
    for address in addresses:
        problem = outbound.refused_address(address, loopback_host=loopback)
        if problem is not None:
            raise KeysUnavailable(f"{host} resolves to {problem}; not fetched")
    return addresses


class _Deadline:
    """One time budget for the whole fetch; each socket operation gets what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def exceeded(self) -> KeysUnavailable:
        return KeysUnavailable(f"took longer than IDP_JWKS_FETCH_TIMEOUT ({self.seconds} s)")

    def left(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        return left


def _connect(
    addresses: list[str],
    host: str,
    port: int,
    https: bool,
    tls: ssl.SSLContext | None,
    deadline: _Deadline,
) -> HTTPConnection:
    """A connection to the first checked address that answers, never to the name itself."""
    failures = []
    for address in addresses:
        connection: HTTPConnection
        if https:
            # The certificate is checked against the host name, not the address connected to.
            connection = HTTPSConnection(
                address,
                port,
                timeout=deadline.left(),
                server_hostname=host,
                assert_hostname=host,
                cert_reqs="CERT_REQUIRED",
                ssl_context=tls,
            )
        else:
            connection = HTTPConnection(address, port, timeout=deadline.left())
        try:
            connection.connect()
        # ValueError: a certificate for another name (urllib3's CertificateError).
        except (OSError, ValueError, urllib3_errors.HTTPError) as exc:
            connection.close()
            failures.append(f"{address}: {exc}")
            continue
        return connection
    raise KeysUnavailable(f"could not connect ({'; '.join(failures)})")


def _read_body(connection: HTTPConnection, target: str, netloc: str, deadline: _Deadline) -> bytes:
    sock = connection.sock  # kept: http.client lets go of it once a response says close
    assert sock is not None
    sock.settimeout(deadline.left())
    connection.request(
        "GET",
        target,
        headers={
            "Host": netloc,
            "Accept": "application/jwk-set+json, application/json",
            # Compressed bodies are refused: 64 KiB of gzip can unpack to gigabytes.
            "Accept-Encoding": "identity",
            "User-Agent": "idp (jwks_uri)",
        },
        preload_content=False,
        decode_content=False,
    )
    response = connection.getresponse()
    if response.status != 200:
        redirect = " (a redirect: idp follows none)" if 300 <= response.status < 400 else ""
        raise KeysUnavailable(f"answered HTTP {response.status}{redirect}")
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise KeysUnavailable("sent a compressed body")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_JWKS_BYTES:
        raise KeysUnavailable(f"announced {length} bytes, more than {MAX_JWKS_BYTES}")
    body = bytearray()
    while True:
        left = deadline.left()
        if sock.fileno() != -1:  # closed by http.client once a sized body is all read
            sock.settimeout(left)
        chunk = response.read1(_READ_SIZE, decode_content=False)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise KeysUnavailable(f"sent more than {MAX_JWKS_BYTES} bytes")


def _key_set(body: bytes) -> KeySet:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise KeysUnavailable("did not send JSON") from None
    try:
        # The registration rule for inline sets: public keys only, each one readable.
        client_metadata.validate_jwks(document)
    except ValidationError as exc:
        raise KeysUnavailable(f"did not send a public JWK Set: {exc.errors['jwks']}") from None
    return KeySet.import_key_set(document)


def fetch(
    uri: str,
    *,
    timeout: float,
    getaddrinfo: Resolver = socket.getaddrinfo,
    tls: ssl.SSLContext | None = None,
) -> KeySet:
    """The JWK Set at ``uri``, fetched within the fences of this module's docstring; ``tls``
    replaces the system's trusted certificates (for tests)."""
    deadline = _Deadline(timeout)
    try:
        client_metadata.validate_jwks_uri(uri)
    except ValidationError as exc:
        raise KeysUnavailable(exc.errors["jwks_uri"]) from None
    parts = urlsplit(uri)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    addresses = _addresses(host, port, getaddrinfo)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connect(addresses, host, port, https, tls, deadline)
    try:
        body = _read_body(connection, target, parts.netloc, deadline)
    except (TimeoutError, urllib3_errors.TimeoutError):  # a socket timeout: the deadline came first
        raise deadline.exceeded() from None
    # Timeouts, resets, malformed HTTP: whatever the other end sends is a failed fetch.
    except (OSError, ValueError, urllib3_errors.HTTPError, HTTPException) as exc:
        raise KeysUnavailable(f"failed: {exc!r}") from None
    finally:
        connection.close()
    return _key_set(body)


# Keeping --------------------------------------------------------------------------------------


@dataclass
class _Kept:
    """What is known of one client's published set; its lock makes one fetch at a time."""

    uri: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys: KeySet | None = None
    kids: frozenset[str] = frozenset()
    expires_at: float = -math.inf
    # The last attempt, successful or not: the refresh limit counts from it.
    fetched_at: float = -math.inf
    failure: str | None = None


class ClientKeys:
    """The JWK Sets clients publish, kept for one app (one process); safe across threads."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        getaddrinfo: Resolver = socket.getaddrinfo,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._clock = clock
        self._getaddrinfo = getaddrinfo
        self._tls = tls
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def _entry(self, client_id: str, uri: str) -> _Kept:
        with self._lock:
            kept = self._kept.get(client_id)
            if kept is None or kept.uri != uri:
                # Keyed by client and URI: a client that changes its jwks_uri starts afresh.
                kept = self._kept[client_id] = _Kept(uri)
            self._kept.move_to_end(client_id)
            while len(self._kept) > MAX_CLIENTS:
                self._kept.popitem(last=False)
            return kept

    def key_set(
        self, client_id: str, uri: str, kid: str | None, *, ttl: float, timeout: float
    ) -> KeySet:
        """The set to check an assertion naming ``kid`` against, fetched when needed."""
        kept = self._entry(client_id, uri)
        # Held while fetching: concurrent assertions of one client wait for one fetch.
        with kept.lock:
            now = self._clock()
            fresh = kept.keys is not None and now < kept.expires_at
            recent = now - kept.fetched_at < REFRESH_INTERVAL
            if fresh and kept.keys is not None:
                if kid is None or kid in kept.kids:
                    return kept.keys
                if recent:
                    log.warning(
                        "client %s: kid %r is not in the JWK Set of %s, fetched again at most "
                        "every %d s",
                        client_id,
                        kid,
                        uri,
                        REFRESH_INTERVAL,
                    )
                    return kept.keys  # the assertion then fails for want of its key
            elif kept.failure is not None and recent:
                raise KeysUnavailable(f"{kept.failure} (not tried again yet)")
            kept.fetched_at = now
            try:
                keys = fetch(uri, timeout=timeout, getaddrinfo=self._getaddrinfo, tls=self._tls)
            except KeysUnavailable as exc:
                kept.failure = f"{uri} {exc}"
                log.warning("client %s: jwks_uri %s", client_id, kept.failure)
                if fresh and kept.keys is not None:
                    return kept.keys  # a failed early fetch leaves the unexpired set in use
                kept.keys, kept.kids = None, frozenset()
                raise KeysUnavailable(kept.failure) from None
            kept.keys, kept.failure = keys, None
            kept.kids = frozenset(key.kid for key in keys.keys if key.kid)
            kept.expires_at = now + ttl
            return keys


def cache() -> ClientKeys:
    """This app's kept sets, made on first use; ``setdefault`` is atomic, so racing threads
    still share one."""
    extensions = current_app.extensions
    found = extensions.get(EXTENSION)
    if found is None:
        found = extensions.setdefault(EXTENSION, ClientKeys())
    return found  # type: ignore[no-any-return]


def lookup(client: Client) -> Callable[[str | None], KeySet]:
    """How to find the keys for an assertion from ``client`` once its ``kid`` is read: the
    inline ``jwks`` as registered, else the set published at ``jwks_uri``."""
    if client.jwks:
        inline = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
        return lambda _kid: inline
    uri = client.jwks_uri
    if not uri:
        raise KeysUnavailable("the client registered no public keys (jwks or jwks_uri)")
    client_id = client.client_id
    ttl = current_app.config["JWKS_CACHE_TTL"]
    timeout = current_app.config["JWKS_FETCH_TIMEOUT"]
    kept = cache()
    return lambda kid: kept.key_set(client_id, uri, kid, ttl=ttl, timeout=timeout)
