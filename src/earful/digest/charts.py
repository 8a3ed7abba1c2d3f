"""Charts as PNG bytes (matplotlib, Agg canvas, no pyplot state: safe in threads and workers).

``render_charts(data) -> {name: png}`` with names ``trend``, ``sentiment``, ``sources`` and
``share_of_voice``; the HTML refers to them by name (``cid:`` in email, ``data:`` on the web).
Only computed numbers and brand/source names are drawn — never mention text.
"""

from __future__ import annotations

import io
import logging

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from earful.digest.data import DigestData

logger = logging.getLogger(__name__)

COLORS = {"positive": "#2e7d32", "neutral": "#9e9e9e", "negative": "#c62828"}
ACCENT = "#1f4e79"
CHART_NAMES = ("trend", "sentiment", "sources", "share_of_voice")
_DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    # No metadata: the same data gives byte-identical PNGs.
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax: object, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#777777")  # type: ignore[attr-defined]
    ax.set_axis_off()  # type: ignore[attr-defined]


def _safe_label(name: str, limit: int = 28) -> str:
    # matplotlib reads "$...$" as mathtext; escape it so a name never breaks the chart.
    clean = name.replace("$", r"\$")
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def trend_chart(data: DigestData) -> bytes:
    fig = Figure(figsize=(6.4, 2.6))
    ax = fig.add_subplot(1, 1, 1)
    days = [p.day for p in data.trend]
    volumes = [p.mix.total for p in data.trend]
    if not any(volumes):
        _empty(ax, f"No mentions in the last {len(days)} days")
    else:
        xs = list(range(len(days)))
        colors = [ACCENT if d != data.last_day else "#f57c00" for d in days]
        ax.bar(xs, volumes, color=colors, width=0.8, label="mentions")
        ax.set_ylabel("mentions", fontsize=8)
        step = max(1, len(days) // 6)
        ax.set_xticks(xs[::step], [d.strftime("%b %d") for d in days[::step]], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax2 = ax.twinx()
        nets = [p.mix.net for p in data.trend]
        pts = [(x, n) for x, n in zip(xs, nets, strict=True) if n is not None]
        if pts:
            ax2.plot([x for x, _ in pts], [n for _, n in pts], color="#c62828", marker="o", ms=2.5)
        ax2.axhline(0, color="#bbbbbb", linewidth=0.6)
        ax2.set_ylim(-1.05, 1.05)
        ax2.set_ylabel("net sentiment", fontsize=8, color="#c62828")
        ax2.tick_params(axis="y", labelsize=7, colors="#c62828")
        for spine in ("top",):
            ax.spines[spine].set_visible(False)
            ax2.spines[spine].set_visible(False)
    ax.set_title("Volume (bars) and net sentiment (line)", fontsize=9, loc="left")
    fig.tight_layout()
    return _png(fig)


def sentiment_chart(data: DigestData) -> bytes:
    fig = Figure(figsize=(6.4, 0.9))
    ax = fig.add_subplot(1, 1, 1)
    mix = data.sentiment
    if not mix.total:
        _empty(ax, "No mentions in this period")
    else:
        left = 0.0
        for label in ("positive", "neutral", "negative"):
            share = mix.share(label)
            ax.barh([0], [share], left=left, color=COLORS[label], height=0.6)
            if share >= 0.08:
                ax.text(left + share / 2, 0, f"{label} {share:.0%}", ha="center", va="center",
                        color="white", fontsize=8)  # fmt: skip
            left += share
        ax.set_xlim(0, 1)
        ax.set_axis_off()
    fig.tight_layout(pad=0.2)
    return _png(fig)


def sources_chart(data: DigestData) -> bytes:
    rows = data.by_source[:8]
    fig = Figure(figsize=(6.4, 0.5 + 0.32 * max(len(rows), 2)))
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        _empty(ax, "No mentions in this period")
    else:
        names = [_safe_label(s.source) for s in rows][::-1]
        lefts = [0.0] * len(rows)
        for label in ("positive", "neutral", "negative"):
            vals = [float(getattr(s.mix, label)) for s in rows][::-1]
            ax.barh(names, vals, left=lefts, color=COLORS[label], label=label, height=0.6)
            lefts = [a + b for a, b in zip(lefts, vals, strict=True)]
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right", frameon=False)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    ax.set_title("Mentions by source", fontsize=9, loc="left")
    fig.tight_layout()
    return _png(fig)


def share_of_voice_chart(data: DigestData) -> bytes:
    shares = data.sov_shares()
    fig = Figure(figsize=(6.4, 0.5 + 0.32 * max(len(shares), 2)))
    ax = fig.add_subplot(1, 1, 1)
    if not sum(data.share_of_voice.values()):
        _empty(ax, "No mentions of the brand or its competitors")
    else:
        names = list(shares)[::-1]
        vals = [shares[n] for n in names]
        colors = ["#f57c00" if n == data.brand else ACCENT for n in names]
        ax.barh([_safe_label(n) for n in names], vals, color=colors, height=0.6)
        for y, v in enumerate(vals):
            ax.text(v + 0.01, y, f"{v:.0%}", va="center", fontsize=7)
        ax.set_xlim(0, 1.1)
        ax.tick_params(labelsize=7)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    ax.set_title("Share of voice", fontsize=9, loc="left")
    fig.tight_layout()
    return _png(fig)


def render_charts(data: DigestData) -> dict[str, bytes]:
    """All charts of the digest as PNG bytes, keyed by ``CHART_NAMES``."""
    return {
        "trend": trend_chart(data),
        "sentiment": sentiment_chart(data),
        "sources": sources_chart(data),
        "share_of_voice": share_of_voice_chart(data),
    }
