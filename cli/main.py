"""The `citebot` command line: one parser for every command; handlers load only when chosen."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import Settings

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace, "Settings"], int]
EXIT_CODES = """exit codes:
  0    done
  1    a user error: one line on stderr names the problem (a missing file, a refused URL,
       an empty question, an unknown id, a bad setting, a rejected bot token...)
  2    usage: unknown command, missing or malformed argument
  130  interrupted (Ctrl-C)"""
KB_HELP = "knowledge base to use (default: CITEBOT_KB, else 'default')"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every citebot command."""
    parser = argparse.ArgumentParser(
        prog="citebot",
        description="Answer questions over articles, with citations.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = _with_epilog(sub.add_parser)  # type: ignore[method-assign]
    _article_commands(sub)
    _measuring_commands(sub)
    _discord_commands(sub)
    _upkeep_commands(sub)
    return parser


def _with_epilog(
    add_parser: Callable[..., argparse.ArgumentParser],
) -> Callable[..., argparse.ArgumentParser]:
    """Give every sub-command's --help the exit codes too."""

    def add(name: str, **kwargs: object) -> argparse.ArgumentParser:
        kwargs.setdefault("epilog", EXIT_CODES)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("description", kwargs.get("help"))
        return add_parser(name, **kwargs)

    return add


def _article_commands(sub: Subparsers) -> None:
    from config.settings import MAX_K

    p = sub.add_parser(
        "add", help="add articles: URLs, files (.txt .md .html .pdf), directories or - for stdin"
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="an http(s) URL, a .txt/.md/.html/.htm/.pdf file, a directory (searched recursively) or - (stdin)",
    )
    p.add_argument("--kb", help=KB_HELP)
    p.add_argument("--title", help="title for the article instead of its own (one SOURCE only)")
    p.set_defaults(handler="cli.articles:cmd_add")

    p = sub.add_parser("ask", help="ask a question ('-' reads one question per line from stdin)")
    p.add_argument("question", help="the question, quoted; - reads one question per line from stdin")
    p.add_argument("--kb", help=KB_HELP)
    p.add_argument(
        "--k", type=int, metavar="N", help=f"passages to cite at most, 1-{MAX_K} (default: CITEBOT_SEARCH__K)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.set_defaults(handler="cli.articles:cmd_ask")

    p = sub.add_parser("list", help="list the articles of a knowledge base")
    p.add_argument("--kb", help=KB_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON array of the articles")
    p.set_defaults(handler="cli.articles:cmd_list")

    p = sub.add_parser("remove", help="remove an article by id")
    p.add_argument("id", help="the article's id, as printed by add and list")
    p.add_argument("--kb", help=KB_HELP)
    p.set_defaults(handler="cli.articles:cmd_remove")

    p = sub.add_parser("refresh", help="fetch a URL article again and update it if it changed")
    p.add_argument("id", help="the id of an article added from a URL, as printed by add and list")
    p.add_argument("--kb", help=KB_HELP)
    p.set_defaults(handler="cli.articles:cmd_refresh")


def _measuring_commands(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="measure retrieval, answers and abstention on a question set")
    p.add_argument("--articles", type=Path, required=True, help="articles.jsonl: {id, title, url, text}")
    p.add_argument("--questions", type=Path, required=True, help="questions.jsonl (xquad-articles format)")
    p.add_argument(
        "--split", choices=("dev", "test", "all"), default="all", help="questions to use (default: all)"
    )
    p.add_argument("--retrieval", choices=("bm25", "dense", "hybrid"), help="override search.mode")
    p.add_argument("--withhold", type=int, default=0, metavar="N", help="leave N articles out (seeded)")
    p.add_argument("--llm", action="store_true", help="answer with the configured LLM (CITEBOT_LLM__*)")
    p.add_argument(
        "--unanswerable", type=Path, help="unanswerable.jsonl: questions that should abstain (squad2-dev)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="cli.evaluation:cmd_eval")

    p = sub.add_parser("bench", help="measure ingest rate, ask latency, memory and cold start")
    p.add_argument("--chunks", default="1000,10000,100000", help="corpus sizes, comma-separated")
    p.add_argument(
        "--articles",
        type=Path,
        help="articles.jsonl whose text fills the corpus, and whose questions.jsonl (dev) are timed "
        "(default: the seed articles and their questions only)",
    )
    p.add_argument("--questions", type=int, default=50, help="dev questions timed per size")
    p.add_argument("--embed-limit", type=int, default=2000, help="embed for real up to this many chunks")
    p.add_argument("--ingest-chunks", type=int, help="chunks for the ingest rate (default: embed limit)")
    p.add_argument("--cold-runs", type=int, default=3, help="cold-start runs (median)")
    p.add_argument("--servers", type=int, default=0, metavar="N", help="instead: N small knowledge bases")
    p.add_argument("--open-kbs", type=int, metavar="N", help="with --servers: knowledge bases kept open")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="cli.bench:cmd_bench")


def _discord_commands(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="run the Discord bot (token from DISCORD_TOKEN)")
    p.set_defaults(handler="cli.serve:cmd_serve")
    p = sub.add_parser("sync", help="register the slash commands with Discord (globally, or to one server)")
    p.add_argument(
        "--guild",
        type=int,
        metavar="ID",
        help="server id: commands appear there at once (copies of the global ones)",
    )
    p.add_argument(
        "--clear",
        action="store_true",
        help="remove the registered commands (global, or the server's with --guild)",
    )
    p.set_defaults(handler="cli.serve:cmd_sync")
    p = sub.add_parser(
        "invite", help="print the link that adds the bot to a server, with the permissions it uses"
    )
    p.add_argument(
        "--app-id", type=int, metavar="ID", help="application id (default: asked from Discord with the token)"
    )
    p.set_defaults(handler="cli.serve:cmd_invite")


def _upkeep_commands(sub: Subparsers) -> None:
    server_kb = "a Discord server's knowledge base: g<server id> (default: CITEBOT_KB)"
    p = sub.add_parser(
        "gaps", help="the questions a Discord server's articles did not answer, similar ones grouped"
    )
    p.add_argument("--kb", help=server_kb)
    p.add_argument("--days", type=int, choices=(7, 30, 90), default=30, help="how far back (default: 30)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON array of the groups")
    out.add_argument("--csv", action="store_true", help="print the groups as CSV (as /citebot gaps exports)")
    p.set_defaults(handler="cli.upkeep:cmd_gaps")

    p = sub.add_parser("stats", help="chart a Discord server's questions, answers, votes and citations (PNG)")
    p.add_argument("--kb", help=server_kb)
    p.add_argument("--out", type=Path, required=True, help="the PNG file to write")
    p.add_argument("--days", type=_days, default=30, metavar="N", help="days, 7 to 90 (default: 30)")
    p.add_argument("--title", help="the chart's title (default: the server id)")
    p.add_argument("--json", action="store_true", help="print the series as one JSON object")
    p.set_defaults(handler="cli.upkeep:cmd_stats")


class _DropVoiceWarnings(logging.Filter):
    """citebot never joins voice: drop discord.py's warnings about missing voice libraries."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


def _days(value: str) -> int:
    """Parse --days: a whole number from 7 to 90."""
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if not 7 <= days <= 90:
        raise argparse.ArgumentTypeError(f"{days} is out of range: 7 to 90 days")
    return days


def configure_logging(level: str) -> None:
    """Configure logging once, on stderr, quieting chatty libraries."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("chromadb", "httpx", "sentence_transformers", "transformers", "discord.http", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # trafilatura logs its own view of pages it cannot read; citebot's error says what is wrong.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("discord.client").addFilter(_DropVoiceWarnings())


def _handler(args: argparse.Namespace) -> Handler:
    module, name = str(args.handler).split(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 done, 1 user error, 2 usage)."""
    from config.loader import ConfigError, load_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        # One-shot commands stay quiet unless asked; `serve` logs at CITEBOT_LOG_LEVEL.
        quiet = "WARNING" if args.command != "serve" else settings.log_level
        configure_logging({0: quiet, 1: "INFO"}.get(args.verbose, "DEBUG"))
        return _handler(args)(args, settings)
    except (CitebotError, ConfigError) as exc:
        print(f"citebot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("citebot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`citebot list | head`): stop quietly, as cat does
        _mute_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for such a pipe


def _mute_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit does not fail a second time."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file behind stdout (tests capture it)
        pass
    finally:
        os.close(devnull)
