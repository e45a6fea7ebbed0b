"""Server-drawn SVG charts: no JavaScript, no inline style (CSP); colours come from reports.css classes.

They draw the already-suppressed figures: a hidden value ("*") leaves a gap marked with "*",
so a chart can never show more than its table. Each chart is an <svg role="img"> with a title
and a description; the table beneath it carries the same numbers for screen readers.
"""

import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 900, 260
SPARK_W, SPARK_H = 120, 28
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 54


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _x_labels(labels: list[str], x_of, width: int = WIDTH) -> list[str]:
    # At most ~12 labels across the full width, ~6 across a half-page chart (whose labels would touch).
    step = max(1, len(labels) // (12 if width >= WIDTH else max(1, width // 100)))
    parts = []
    for i, label in enumerate(labels):
        if i % step == 0:
            short = label.split(" (")[0].replace("Week of ", "")
            parts.append(
                f'<text class="chart__label" x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(short)}</text>'
            )
    return parts


def _frame(
    chart_id: str, title: str, description: str, body: list[str], legend: list[tuple[str, str]], width: int = WIDTH
) -> str:
    legend_parts = []
    x = LEFT
    for css, name in legend:
        legend_parts.append(
            f'<rect class="{css}" x="{x}" y="{HEIGHT - 18}" width="12" height="12"></rect>'
            f'<text class="chart__label" x="{x + 16}" y="{HEIGHT - 8}">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-labelledby="{chart_id}-title '
        f'{chart_id}-desc" preserveAspectRatio="xMinYMin meet" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "".join(legend_parts)
        + "</svg>"
    )


def _decimal(value: float) -> str:
    """A tick of a fractional axis as written: 0.25, 0.5, 1 (never 0.25 shown as 0.2)."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def nice_top(max_value: float) -> tuple[float, float]:
    """(top, step): the axis runs 0, step, 2 step, ... top, with step 1, 2, 2.5 or 5 x 10^k and 2 to 5 steps."""
    if max_value <= 0:
        return 1.0, 0.25
    magnitude = 10 ** math.floor(math.log10(max_value / 4))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if max_value <= step * 5:
            return step * math.ceil(max_value / step), step
    return max_value, max_value / 4  # pragma: no cover (10 x magnitude always fits)


def _axis(
    max_value: float, *, percent: bool, step: float | None = None, width: int = WIDTH
) -> tuple[list[str], callable]:
    """Horizontal grid lines and labels at regular ticks (0, step, 2 step, ... max_value)."""
    plot_h = HEIGHT - TOP - BOTTOM
    step = step or max_value / 4

    def y_of(value):
        return TOP + plot_h * (1 - (value / max_value if max_value else 0))

    parts = []
    ticks = round(max_value / step) if step else 0
    for k in range(ticks + 1):
        value = step * k
        y = y_of(value)
        text = f"{value * 100:.0f}%" if percent else f"{value:,.0f}" if float(step).is_integer() else _decimal(value)
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"></line>'
            f'<text class="chart__label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    return parts, y_of


def line_chart(chart_id: str, *, title: str, description: str, labels: list[str], series: list[tuple]) -> str:
    """series: [(css class, name, values)] with values in 0..1 (rates)."""
    n = len(labels)
    plot_w = WIDTH - LEFT - RIGHT

    def x_of(i):
        return LEFT + (plot_w * (i + 0.5) / n if n else 0)

    grid, y_of = _axis(1.0, percent=True)
    body = [*grid, *_x_labels(labels, x_of)]
    for css, _name, values in series:
        run: list[str] = []
        runs = []
        for i, value in enumerate(values):
            number = _number(value)
            if number is None:
                if run:
                    runs.append(run)
                run = []
                if value == "*":
                    body.append(
                        f'<text class="chart__suppressed" x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM - 4}" '
                        'text-anchor="middle">*</text>'
                    )
                continue
            run.append(f"{x_of(i):.1f},{y_of(number):.1f}")
            body.append(
                f'<circle class="{css} chart__point" cx="{x_of(i):.1f}" cy="{y_of(number):.1f}" r="3"></circle>'
            )
        if run:
            runs.append(run)
        for points in runs:
            body.append(f'<polyline class="{css} chart__line" fill="none" points="{" ".join(points)}"></polyline>')
    return mark_safe(_frame(chart_id, title, description, body, [(css, name) for css, name, _ in series]))  # noqa: S308 (every text is escaped above)


def bar_chart(
    chart_id: str, *, title: str, description: str, labels: list[str], series: list[tuple], percent=False, width=WIDTH
):
    """Grouped bars. series: [(css class, name, values)]; '*' or None values draw no bar. `width`: of the viewBox
    (a chart in half the page draws its text at the same size with a narrower one)."""
    n, k = len(labels), max(1, len(series))
    plot_w = width - LEFT - RIGHT
    numbers = [_number(v) for _, _, values in series for v in values]
    if percent:
        top, step = 1.0, 0.25
    else:
        top, step = nice_top(max([v for v in numbers if v is not None] + [0]))
    grid, y_of = _axis(top, percent=percent, step=step, width=width)
    group_w = plot_w / n if n else plot_w
    bar_w = max(1.0, group_w * 0.8 / k)

    def x_of(i):
        return LEFT + group_w * (i + 0.5)

    body = [*grid, *_x_labels(labels, x_of, width)]
    for j, (css, _name, values) in enumerate(series):
        for i, value in enumerate(values):
            x = LEFT + group_w * i + group_w * 0.1 + bar_w * j
            number = _number(value)
            if number is None:
                if value == "*":
                    body.append(
                        f'<text class="chart__suppressed" x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM - 4}" '
                        'text-anchor="middle">*</text>'
                    )
                continue
            y = y_of(number)
            body.append(
                f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.0, HEIGHT - BOTTOM - y):.1f}"></rect>'
            )
    legend = [(css, name) for css, name, _ in series]
    return mark_safe(_frame(chart_id, title, description, body, legend, width))  # noqa: S308 (every text is escaped above)


def sparkline(values: list, *, label: str) -> str:
    """A small trend line of one headline figure over the report's periods: gaps where a value is hidden."""
    numbers = [_number(v) for v in values]
    known = [v for v in numbers if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1
    n = len(values)

    def point(i, v):
        x = 2 + (SPARK_W - 4) * (i / (n - 1) if n > 1 else 0.5)
        y = SPARK_H - 3 - (SPARK_H - 6) * ((v - low) / span)
        return f"{x:.1f},{y:.1f}"

    runs, run = [], []
    for i, v in enumerate(numbers):
        if v is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(point(i, v))
    if run:
        runs.append(run)
    lines = "".join(
        f'<polyline class="sparkline__line" fill="none" points="{" ".join(points)}"></polyline>'
        if len(points) > 1
        else f'<circle class="sparkline__dot" cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="1.5">'
        "</circle>"
        for points in runs
    )
    return mark_safe(  # noqa: S308 (the label is escaped; the rest are numbers)
        f'<svg class="sparkline" viewBox="0 0 {SPARK_W} {SPARK_H}" role="img" aria-label="{escape(label)}" '
        f'focusable="false">{lines}</svg>'
    )


def change_bars(chart_id: str, *, title: str, description: str, rows: list[tuple], width: int = WIDTH) -> str:
    """Horizontal stacked bars, one per measure: how many improved, stayed the same and got worse.

    rows: [(label, improved, same, worse)] of presented counts; a hidden count is a '*' in place of its bar.
    """
    left, right, row_h, top_pad = 230, 16, 22, 6
    height = top_pad + row_h * len(rows) + 50
    numbers = [sum(_number(v) or 0 for v in r[1:]) for r in rows]
    top, step = nice_top(max([*numbers, 0]))
    plot_w = width - left - right

    def x_of(value):
        return left + plot_w * value / top

    body = []
    for k in range(round(top / step) + 1):
        x = x_of(step * k)
        body.append(
            f'<line class="chart__grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad}" y2="{height - 42}"></line>'
            f'<text class="chart__label" x="{x:.1f}" y="{height - 28}" text-anchor="middle">{step * k:,.0f}</text>'
        )
    for i, (label, *counts) in enumerate(rows):
        y = top_pad + row_h * i + 3
        body.append(f'<text class="chart__label" x="{left - 8}" y="{y + 12}" text-anchor="end">{escape(label)}</text>')
        x, hidden = left, 0
        for css, value in zip(("change-better", "change-same", "change-worse"), counts, strict=True):
            number = _number(value)
            if number is None:  # hidden (1 to 7): no bar; a star after the row's bars says so
                hidden += value == "*"
                continue
            bar = plot_w * number / top
            body.append(f'<rect class="{css}" x="{x:.1f}" y="{y}" width="{bar:.1f}" height="{row_h - 7}"></rect>')
            x += bar
        if hidden:
            body.append(f'<text class="chart__suppressed" x="{x + 4:.1f}" y="{y + 13}">{"*" * hidden}</text>')
    legend_y = height - 16
    legend = []
    x = left
    for css, name in (("change-better", "Improved"), ("change-same", "Same"), ("change-worse", "Worse")):
        legend.append(
            f'<rect class="{css}" x="{x}" y="{legend_y - 10}" width="12" height="12"></rect>'
            f'<text class="chart__label" x="{x + 16}" y="{legend_y}">{name}</text>'
        )
        x += 90
    return mark_safe(  # noqa: S308 (every text is escaped above)
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-title '
        f'{chart_id}-desc" preserveAspectRatio="xMinYMin meet" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "".join(legend)
        + "</svg>"
    )
