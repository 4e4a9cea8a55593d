"""Per-request cost of idp's cheap protocol paths, in process, on a throwaway SQLite database.

    .venv/bin/python bench/hot_paths.py [--requests 300]

Prints the mean wall time per request of a ``client_credentials`` token, an introspection and
the discovery document, through the real app (Flask's test client, no network). Run it on two
checkouts in the same session (``PYTHONPATH=<other checkout>``) and compare the ratios; the
absolute figures depend on the machine and what else it is doing. Gunicorn-level figures
with server CPU per request are issue 14's benchmark.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from pathlib import Path

from idp import create_app
from idp.extensions import db
from idp.services import clients


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    n = parser.parse_args().requests
    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "SECRET_KEY": "b" * 40},
        instance_path=str(tmp / "instance"),
    )
    with app.app_context():
        db.create_all()
        service, secret = clients.create(name="Bench", client_type="service", redirect_uris=[])
        db.session.commit()
        client_id = service.client_id
    auth = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
    http = app.test_client()

    def token() -> str:
        response = http.post("/token", data={"grant_type": "client_credentials"}, headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_json()["access_token"])

    access = token()
    paths = {
        "client_credentials token": token,
        "introspection": lambda: http.post("/introspect", data={"token": access}, headers=auth),
        "discovery": lambda: http.get("/.well-known/openid-configuration"),
    }
    for name, call in paths.items():
        for _ in range(20):  # warm caches and the connection pool
            call()
        started = time.perf_counter()
        for _ in range(n):
            call()
        print(f"{name:<26} {1000 * (time.perf_counter() - started) / n:7.2f} ms/request")


if __name__ == "__main__":
    main()
