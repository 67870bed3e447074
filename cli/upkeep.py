"""`citebot gaps` and `citebot stats`: what a Discord server's editors see, on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import InvalidInput

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.gaps import Gap
    from retrieval.stats import Stats


def server_of(kb: str) -> int:
    """Return the Discord server whose knowledge base kb is, or explain why there is none."""
    from retrieval.records import guild_of_kb

    guild_id = guild_of_kb(kb)
    if guild_id is None:
        raise InvalidInput(
            f"knowledge base {kb!r} is no Discord server's: questions are recorded only on Discord, "
            "where a server's knowledge base is named g<server id> (e.g. --kb g123456789012345678)"
        )
    return guild_id


def gap_line(gap: Gap) -> str:
    """Return one group as a line: count, last asked, why, example (and how many other wordings)."""
    others = len(gap.questions) - 1
    more = f"  (+{others} other wording{'s' if others > 1 else ''})" if others else ""
    return f"{gap.count:4d}×  {gap.last_asked[:16].replace('T', ' ')}  {gap.why_text()}\n       {gap.example}{more}"


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    """Print the questions a server's articles did not answer, similar ones grouped."""
    from retrieval.compose import build_service
    from retrieval.gaps import find_gaps, to_csv
    from retrieval.records import Records

    guild_id = server_of(args.kb or settings.kb)
    with build_service(settings) as service:
        gaps = find_gaps(Records(service.store), service.embedder.encode, guild_id, args.days)
    if args.json:
        print(json.dumps([g.to_json() for g in gaps], ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(to_csv(gaps))
    else:
        asks = sum(g.count for g in gaps)
        print(f"last {args.days} days: {asks} unanswered questions in {len(gaps)} groups")
        for gap in gaps:
            print(gap_line(gap))
    return 0


def stats_lines(stats: Stats) -> list[str]:
    """Describe the stats in a few lines."""
    t = stats.totals()

    def share(key: str) -> str:
        return f"{t[key] / t['questions']:.0%}" if t["questions"] else "0%"

    lines = [
        f"last {len(stats.days)} days: {t['questions']} questions: answered {share('answered')}, "
        f"not sure {share('unsure')}, not found {share('abstained')}; thumbs up {t['up']}, down {t['down']}"
    ]
    lines += [f"{n:6d}  {title}" for title, n in stats.cited]
    return lines


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Write a server's stats chart (PNG) and print its figures."""
    from retrieval.compose import build_service
    from retrieval.records import Records
    from retrieval.stats import server_stats

    guild_id = server_of(args.kb or settings.kb)
    out: Path = args.out
    if out.suffix.lower() != ".png":
        raise InvalidInput(f"--out must name a .png file, not {str(out)!r}")
    if not out.parent.is_dir():
        raise InvalidInput(f"--out: no such directory: {str(out.parent)!r}")
    with build_service(settings, load_model=False) as service:
        stats = server_stats(Records(service.store), guild_id, args.days)
    from retrieval.chart import render_png

    png = render_png(stats, args.title or f"server {guild_id}")
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(png)
    tmp.replace(out)  # never a half-written chart under the name asked for
    if args.json:
        print(json.dumps(stats.to_json(), ensure_ascii=False))
    else:
        print("\n".join(stats_lines(stats)))
        print(f"chart: {out} ({len(png)} bytes)")
    return 0
