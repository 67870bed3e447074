"""Draw a server's stats as one PNG (matplotlib's Agg canvas: no display, no global pyplot state).

Imported only by the stats commands: matplotlib is never on the ask path. The bot draws in a
child process (`python -m retrieval.chart`, stats as JSON on stdin, the PNG on stdout): drawing
holds the GIL for a second or more, and matplotlib would stay in the serving process's memory.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import TYPE_CHECKING

from retrieval.errors import CitebotError
from retrieval.stats import Stats, from_json

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1200, 1000, 100
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DRAW_SECONDS = 120.0  # a chart takes 1-5 s to draw on a busy 2-core machine
COLOURS = {
    "answered": "#5865F2",  # Discord's blurple
    "unsure": "#F0B232",
    "abstained": "#949BA4",
    "up": "#23A55A",
    "down": "#DA373C",
}
LABELS = {"answered": "answered", "unsure": "not sure", "abstained": "not found"}
TITLE_CHARS = 60


def figure(stats: Stats, title: str = "citebot") -> Figure:
    """Build the chart: questions per day, how they were answered, votes per day, most cited articles."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    # Sub-figures lay out on their own: long article titles do not push the other panels aside.
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[1.25, 1, 1], squeeze=False)[:, 0]
    first, last = stats.days[0], stats.days[-1]
    totals = stats.totals()
    fig.suptitle(
        f"{_short(title, 50)} · last {len(stats.days)} days ({first:%d %b} – {last:%d %b %Y}) · "
        f"{totals['questions']} questions",
        fontsize=15,
        fontweight="bold",
    )
    _per_day(top.add_subplot(), stats)
    left, right = middle.subplots(1, 2, width_ratios=[1, 2])
    _shares(left, stats)
    _votes(right, stats)
    _cited(bottom.add_subplot(), stats)
    return fig


def _days_axis(ax: Axes, stats: Stats, top: int, ticks: int) -> list[int]:
    from matplotlib.ticker import MaxNLocator

    xs = list(range(len(stats.days)))
    step = max(1, -(-len(xs) // ticks))
    ax.set_ylim(0, max(1, top) * 1.3)  # room for the legend above the bars
    ax.set_xticks(xs[::step], [f"{d:%d %b}" for d in stats.days[::step]])
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return xs


def _per_day(ax: Axes, stats: Stats) -> None:
    xs = _days_axis(ax, stats, max(stats.questions), ticks=15)
    bottom = [0] * len(xs)
    for key in ("answered", "unsure", "abstained"):
        series = getattr(stats, key)
        ax.bar(xs, series, bottom=bottom, color=COLOURS[key], label=LABELS[key], gid=key)
        bottom = [b + v for b, v in zip(bottom, series, strict=True)]
    ax.set_title("Questions per day", loc="left")
    ax.legend(loc="upper left", frameon=False, ncols=3)


def _shares(ax: Axes, stats: Stats) -> None:
    totals = stats.totals()
    keys = [k for k in ("answered", "unsure", "abstained") if totals[k]]
    ax.set_title("How they were answered", loc="left")
    if not keys:
        ax.text(0.5, 0.5, "no questions yet", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return
    ax.pie(
        [totals[k] for k in keys],
        labels=[LABELS[k] for k in keys],
        colors=[COLOURS[k] for k in keys],
        autopct="%1.0f%%",
        startangle=90,
        counterclock=False,
        wedgeprops={"width": 0.45},
        pctdistance=0.78,
    )


def _votes(ax: Axes, stats: Stats) -> None:
    xs = _days_axis(ax, stats, max(stats.up + stats.down), ticks=8)
    totals = stats.totals()
    half = 0.4
    ax.bar([x - half / 2 for x in xs], stats.up, width=half, color=COLOURS["up"], gid="up")
    ax.bar([x + half / 2 for x in xs], stats.down, width=half, color=COLOURS["down"], gid="down")
    ax.set_title("Feedback per day", loc="left")
    ax.legend(
        [f"helpful (thumbs up): {totals['up']}", f"not helpful (thumbs down): {totals['down']}"],
        loc="upper left",
        frameon=False,
        ncols=2,
    )


def _cited(ax: Axes, stats: Stats) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title("Most cited articles (answers citing each)", loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    if not stats.cited:
        ax.text(0.5, 0.5, "no answers with citations yet", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return
    titles = [_short(t) for t, _ in stats.cited]
    counts = [n for _, n in stats.cited]
    bars = ax.barh(range(len(counts)), counts, color=COLOURS["answered"], gid="cited", height=0.6)
    ax.set_yticks(range(len(counts)), titles)
    ax.set_ylim(max(len(counts), 4) - 0.4, -0.6)  # most cited on top; a few articles keep thin bars
    ax.bar_label(bars, padding=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _short(title: str, limit: int = TITLE_CHARS) -> str:
    """Clip text for the chart; a $ is escaped, or matplotlib would read it as mathematics."""
    title = " ".join(title.split()) or "Untitled"
    title = title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
    return title.replace("$", r"\$")


def render_png(stats: Stats, title: str = "citebot") -> bytes:
    """Return the chart as PNG bytes (WIDTH × HEIGHT pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(stats, title)
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


async def draw_elsewhere(stats: Stats, title: str) -> bytes:
    """Draw the chart in a child process and return the PNG (a CitebotError if that fails)."""
    import asyncio

    request = json.dumps({"stats": stats.to_json(), "title": title}).encode()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retrieval.chart",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        png, err = await asyncio.wait_for(child.communicate(request), DRAW_SECONDS)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise CitebotError("Drawing the chart took too long; please try again later.") from None
    if child.returncode != 0 or not png.startswith(PNG_MAGIC):
        log.error(
            "the chart process failed (exit %s): %s", child.returncode, err.decode(errors="replace")[-2000:]
        )
        raise CitebotError("I could not draw the chart; the error was logged.")
    return png


def main() -> int:
    """Read {"stats": ..., "title": ...} as JSON on stdin, write the PNG to stdout."""
    request = json.load(sys.stdin)
    sys.stdout.buffer.write(render_png(from_json(request["stats"]), str(request.get("title") or "citebot")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
