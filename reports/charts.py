"""Server-drawn SVG charts: no JavaScript, no inline style (CSP); colours come from reports.css classes.

They draw the already-suppressed figures: a hidden value ("*") leaves a gap marked with "*",
so a chart can never show more than its table. Each chart is an <svg role="img"> with a title
and a description; the table beneath it carries the same numbers for screen readers.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 54


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _x_labels(labels: list[str], x_of) -> list[str]:
    step = max(1, len(labels) // 12)  # at most ~12 labels on the axis
    parts = []
    for i, label in enumerate(labels):
        if i % step == 0:
            short = label.split(" (")[0].replace("Week of ", "")
            parts.append(
                f'<text class="chart__label" x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(short)}</text>'
            )
    return parts


def _frame(chart_id: str, title: str, description: str, body: list[str], legend: list[tuple[str, str]]) -> str:
    legend_parts = []
    x = LEFT
    for css, name in legend:
        legend_parts.append(
            f'<rect class="{css}" x="{x}" y="{HEIGHT - 18}" width="12" height="12"></rect>'
            f'<text class="chart__label" x="{x + 16}" y="{HEIGHT - 8}">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-title '
        f'{chart_id}-desc" preserveAspectRatio="xMinYMin meet" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "".join(legend_parts)
        + "</svg>"
    )


def _axis(max_value: float, *, percent: bool) -> tuple[list[str], callable]:
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(value):
        return TOP + plot_h * (1 - (value / max_value if max_value else 0))

    parts = []
    for k in range(5):
        value = max_value * k / 4
        y = y_of(value)
        text = f"{value * 100:.0f}%" if percent else f"{value:,.0f}"
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"></line>'
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


def bar_chart(chart_id: str, *, title: str, description: str, labels: list[str], series: list[tuple], percent=False):
    """Grouped bars. series: [(css class, name, values)]; '*' or None values draw no bar."""
    n, k = len(labels), max(1, len(series))
    plot_w = WIDTH - LEFT - RIGHT
    numbers = [_number(v) for _, _, values in series for v in values]
    top = 1.0 if percent else max([v for v in numbers if v is not None] + [1])
    if not percent:
        magnitude = 10 ** max(0, len(str(int(top))) - 1)
        top = ((int(top) // magnitude) + 1) * magnitude
    grid, y_of = _axis(top, percent=percent)
    group_w = plot_w / n if n else plot_w
    bar_w = max(1.0, group_w * 0.8 / k)

    def x_of(i):
        return LEFT + group_w * (i + 0.5)

    body = [*grid, *_x_labels(labels, x_of)]
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
    return mark_safe(_frame(chart_id, title, description, body, [(css, name) for css, name, _ in series]))  # noqa: S308 (every text is escaped above)
