"""Usage signals (/admin/signals): active customers per day, channel and client, new customers,
failed and throttled sign-ins, and customers at risk; each list also as CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from idp.models import AdminRole
from idp.services.admin import signals
from idp.views.admin import bp, guard
from idp.views.admin.charts import bar_chart

TOP_CLIENTS = 8


def _days() -> int:
    raw = request.args.get("days", "90")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= signals.MAX_DAYS else 90


def rule() -> signals.RiskRule:
    cfg = current_app.config
    return signals.RiskRule(
        min_activity=cfg["AT_RISK_MIN_ACTIVITY"],
        silent_days=cfg["AT_RISK_SILENT_DAYS"],
        period_days=cfg["AT_RISK_PERIOD_DAYS"],
    )


def _daily(days: int) -> dict[str, signals.Daily]:
    clients = signals.active_customers(days, by="client")
    top = sorted(clients.series, key=lambda s: -s.total)[:TOP_CLIENTS]
    return {
        "active": signals.active_customers(days),
        "channels": signals.active_customers(days, by="channel"),
        "clients": signals.Daily(clients.days, top),
        "new": signals.new_customers(days),
        "failures": signals.sign_in_failures(days),
    }


@bp.get("/signals")
@guard.role_required(AdminRole.VIEWER)
def signals_page() -> ResponseReturnValue:
    days = _days()
    daily = _daily(days)
    charts: dict[tuple[str, str], Markup] = {}
    for name, series in daily.items():
        for s in series.series:
            charts[(name, s.name)] = bar_chart(
                f"{name}: {s.name}", series.days, s.values, chart_id=f"c-{name}-{len(charts)}"
            )
    return render_template(
        "admin/signals.html",
        days=days,
        daily=daily,
        charts=charts,
        at_risk=signals.at_risk(rule(), limit=100),
        rule=rule(),
    )


def _csv(rows: list[list[object]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection, OWASP).
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.get("/signals/<name>.csv")
@guard.role_required(AdminRole.VIEWER)
def signals_csv(name: str) -> ResponseReturnValue:
    days = _days()
    if name == "at-risk":
        rows: list[list[object]] = [["customer", "email", "activity", "last_seen", "by_channel"]]
        for r in signals.at_risk(rule(), limit=10_000):
            rows.append(
                [
                    r.customer.public_id,
                    r.customer.email,
                    r.activity,
                    r.last_seen.isoformat(),
                    " ".join(
                        f"{k}={v.isoformat()}" for k, v in sorted(r.last_seen_by_channel.items())
                    ),
                ]
            )
        return _csv(rows, "at-risk")
    daily = _daily(days)
    if name not in daily:
        abort(404)
    found = daily[name]
    rows = [["day", *(s.name for s in found.series)]]
    for i, day in enumerate(found.days):
        rows.append([day, *(s.values[i] for s in found.series)])
    return _csv(rows, name)
