"""``python -m clients.webshop``: serve one shop; run it twice with other options for two."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from werkzeug.serving import make_server

from clients.webshop.app import DEFAULT_ISSUER, Settings, create_app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m clients.webshop", description=__doc__)
    parser.add_argument("--brand", default="Demo shop", help="the shop's name")
    parser.add_argument("--colour", help="the header colour (CSS); derived from the brand if unset")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--issuer", default=DEFAULT_ISSUER, help="idp's base URL")
    parser.add_argument("--client-id", default="demo-shop")
    parser.add_argument("--client-secret", default="demo-shop-secret")
    parser.add_argument(
        "--acr-values",
        help="demand this sign-in strength, e.g. urn:idp:acr:mfa (checked on return)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    app = create_app(
        Settings(
            brand=args.brand,
            colour=args.colour,
            issuer=args.issuer.rstrip("/"),
            client_id=args.client_id,
            client_secret=args.client_secret,
            acr_values=args.acr_values,
        )
    )
    # Threaded: idp's back-channel call may arrive while a browser request is being served.
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"{args.brand} is open at http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
