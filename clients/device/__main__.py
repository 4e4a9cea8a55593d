"""``python -m clients.device``: show a code and a QR code, wait for the customer's approval,
then greet them by name."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import requests

from clients.device.app import (
    SCOPE,
    DeviceFlowError,
    discover,
    fetch_userinfo,
    greeting,
    poll_for_tokens,
    request_codes,
    show,
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m clients.device", description=__doc__)
    parser.add_argument("--issuer", default="http://localhost:5000", help="idp's base URL")
    parser.add_argument("--client-id", default="demo-speaker")
    parser.add_argument("--scope", default=SCOPE)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with requests.Session() as http:
        try:
            metadata = discover(http, args.issuer.rstrip("/"))
            authorization = request_codes(http, metadata, args.client_id, args.scope)
            show(authorization, sys.stdout)
            print("Waiting for your approval...", flush=True)
            tokens = poll_for_tokens(http, metadata, args.client_id, authorization)
            profile = fetch_userinfo(http, metadata, tokens["access_token"])
        except DeviceFlowError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except requests.RequestException as exc:
            print(f"Could not reach idp: {exc}", file=sys.stderr)
            return 1
    print(greeting(profile), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
