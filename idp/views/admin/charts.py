"""Bar charts drawn on the server as SVG: no script, nothing for the CSP to allow, and readable
by a screen reader (``role="img"`` with a title and a summary; the page puts the numbers in a
table beside each chart)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 720, 140, 24


def bar_chart(title: str, labels: list[str], values: list[int], *, chart_id: str) -> Markup:
    """One bar per label, scaled to the largest value; each bar says its day and value."""
    top = max(values, default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(values), 1)
    bar = max(step - 1, 1)
    peak = max(range(len(values)), key=lambda i: values[i]) if values else 0
    summary = (
        f"{len(values)} days from {labels[0]} to {labels[-1]}; total {sum(values)}; "
        f"highest {values[peak]} on {labels[peak]}"
        if values
        else "no data"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(summary)}</desc>',
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - PAD}" y2="{HEIGHT}" stroke="#767676"/>',
        f'<text x="{PAD}" y="{PAD - 8}" font-size="12" fill="#1b1b1f">{top}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (HEIGHT - PAD) * value / top
        x = PAD + i * step
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="#1d4ed8"><title>{escape(label)}: {value}</title></rect>'
        )
    if labels:
        parts.append(
            f'<text x="{PAD}" y="{HEIGHT + 16}" font-size="12" fill="#1b1b1f">'
            f"{escape(labels[0])}</text>"
        )
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{HEIGHT + 16}" font-size="12" fill="#1b1b1f" '
            f'text-anchor="end">{escape(labels[-1])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped or a number)
