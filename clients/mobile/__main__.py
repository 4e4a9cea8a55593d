"""``python -m clients.mobile``: sign in with the system browser, or with the stored refresh
token (``--refresh``), then print who is signed in."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from clients.mobile.app import (
    SignInError,
    discover,
    fetch_keys,
    fetch_userinfo,
    forget_refresh_token,
    load_refresh_token,
    refresh,
    save_refresh_token,
    sign_in,
    verify_id_token,
)

DEFAULT_TOKEN_FILE = Path.home() / ".config" / "idp-demo-mobile" / "refresh-token"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m clients.mobile", description=__doc__)
    parser.add_argument("--issuer", default="http://localhost:5000", help="idp's base URL")
    parser.add_argument("--client-id", default="demo-mobile")
    parser.add_argument("--token-file", type=Path, default=DEFAULT_TOKEN_FILE)
    parser.add_argument(
        "--refresh", action="store_true", help="use the refresh token kept by the last sign-in"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the sign-in URL instead of opening it"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for sign-in")
    return parser.parse_args(argv)


def show_url(url: str) -> None:
    print(f"Sign in at: {url}", flush=True)


def open_browser(url: str) -> None:
    print("Opening your browser to sign in...", flush=True)
    if not webbrowser.open(url):
        show_url(url)  # no browser here: the person opens it wherever they like


def run(args: argparse.Namespace, http: requests.Session) -> dict[str, Any]:
    """Sign in (or refresh), keep the new refresh token, return the customer's UserInfo."""
    issuer = args.issuer.rstrip("/")
    metadata = discover(http, issuer)
    token, nonce = None, None
    if args.refresh:
        stored = load_refresh_token(args.token_file)
        if stored is None:
            print("No stored sign-in yet: signing in with the browser.", flush=True)
        else:
            try:
                token = refresh(http, metadata, args.client_id, stored)
            except SignInError as exc:
                print(f"The stored sign-in no longer works ({exc}); signing in again.", flush=True)
                forget_refresh_token(args.token_file)
    if token is None:
        opener = show_url if args.no_browser else open_browser
        token, nonce = sign_in(
            http, metadata, args.client_id, open_url=opener, timeout=args.timeout
        )
    profile = fetch_userinfo(http, metadata, token["access_token"])
    if "id_token" in token:
        claims = verify_id_token(
            token["id_token"],
            keys=fetch_keys(http, metadata),
            issuer=issuer,
            client_id=args.client_id,
            nonce=nonce,
        )
        if profile.get("sub") != claims["sub"]:  # OIDC Core 5.3.2
            raise SignInError("UserInfo describes someone other than the ID token.")
    if "refresh_token" in token:
        save_refresh_token(args.token_file, token["refresh_token"])
    return profile


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with requests.Session() as http:
        try:
            profile = run(args, http)
        except (SignInError, requests.RequestException) as exc:
            print(f"Could not sign in: {exc}", file=sys.stderr)
            return 1
    name = profile.get("name") or profile.get("email") or "customer"
    print(f"Signed in as {name}, customer id {profile['sub']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
