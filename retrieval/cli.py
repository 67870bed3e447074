"""The `citebot` command line: parse arguments, call the service, print results."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.models import AddResult, Answer
    from retrieval.service import CitebotService

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, "Settings"], int]
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every citebot command."""
    parser = argparse.ArgumentParser(
        prog="citebot", description="Answer questions over articles, with citations."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "add", help="add articles: URLs, files (.txt .md .html .pdf), directories or - for stdin"
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--kb", help="knowledge base (default: CITEBOT_KB or 'default')")
    p.add_argument("--title", help="title for the article (one source only)")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("ask", help="ask a question ('-' reads one question per line from stdin)")
    p.add_argument("question")
    p.add_argument("--kb")
    p.add_argument("--k", type=int, help="passages to cite at most (1-20)")
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("list", help="list the articles of a knowledge base")
    p.add_argument("--kb")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("remove", help="remove an article by id")
    p.add_argument("id")
    p.add_argument("--kb")
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("refresh", help="fetch a URL article again and update it if it changed")
    p.add_argument("id")
    p.add_argument("--kb")
    p.set_defaults(handler=cmd_refresh)

    p = sub.add_parser("eval", help="measure retrieval, answers and abstention on a question set")
    p.add_argument("--articles", type=Path, required=True, help="articles.jsonl: {id, title, url, text}")
    p.add_argument("--questions", type=Path, required=True, help="questions.jsonl (xquad-articles format)")
    p.add_argument("--split", choices=("dev", "test", "all"), default="all")
    p.add_argument("--retrieval", choices=("bm25", "dense", "hybrid"), help="override search.mode")
    p.add_argument("--withhold", type=int, default=0, metavar="N", help="leave N articles out (seeded)")
    p.add_argument("--llm", action="store_true", help="answer with the configured LLM (CITEBOT_LLM__*)")
    p.add_argument(
        "--unanswerable", type=Path, help="unanswerable.jsonl: questions that should abstain (squad2-dev)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("bench", help="measure ingest rate, ask latency, memory and cold start")
    p.add_argument("--chunks", default="1000,10000,100000", help="corpus sizes, comma-separated")
    p.add_argument("--articles", type=Path, help="articles.jsonl (default: ../shared/eval/xquad-articles)")
    p.add_argument("--questions", type=int, default=50, help="dev questions timed per size")
    p.add_argument("--embed-limit", type=int, default=2000, help="embed for real up to this many chunks")
    p.add_argument("--ingest-chunks", type=int, help="chunks for the ingest rate (default: embed limit)")
    p.add_argument("--cold-runs", type=int, default=3, help="cold-start runs (median)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_bench)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


def build_service(settings: Settings, load_model: bool = True) -> CitebotService:
    """Compose the service: load the model in a worker thread while the store opens."""
    from concurrent.futures import ThreadPoolExecutor

    from retrieval.embedding import SentenceTransformerEmbedder
    from retrieval.service import CitebotService
    from retrieval.store import ChromaStore

    embedder = SentenceTransformerEmbedder(settings.embedding)
    if not load_model:  # list and remove never embed: skip the model's start-up cost
        return CitebotService(settings, embedder, ChromaStore.from_settings(settings))
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(embedder.load)
        store = ChromaStore.from_settings(settings)
        loading.result()
    llm = None
    if settings.llm.provider != "none":
        from retrieval.llm import LLMAnswerer

        llm = LLMAnswerer(settings.llm, embedder)
    return CitebotService(settings, embedder, store, llm=llm)


def _print_added(result: AddResult) -> None:
    a = result.article
    if result.status in ("already present", "unchanged"):
        print(f"{a.id}\t{a.title}\t{result.status}")
    else:
        print(f"{a.id}\t{a.title}\t{a.chunks} chunks\t{result.status}")


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add each source; report one line per article."""
    from retrieval import ingest

    if args.title and len(args.sources) > 1:
        raise CitebotError("--title applies to one source; give one SOURCE with it")
    service = build_service(settings)
    failures = 0
    for source in args.sources:
        try:
            if source == "-":
                doc = ingest.from_text(sys.stdin.read(), args.title, settings.limits, source="stdin")
                _print_added(service.add_document(doc, args.kb, added_by="cli"))
            elif not ingest.is_url(source) and Path(source).is_dir():
                failures += _add_directory(service, Path(source), args.kb)
            else:
                _print_added(service.add_source(source, args.kb, args.title, added_by="cli"))
        except CitebotError as exc:
            print(f"citebot: {source}: {exc}", file=sys.stderr)
            failures += 1
    return 1 if failures else 0


def _add_directory(service: CitebotService, root: Path, kb: str | None, batch: int = 16) -> int:
    """Add every supported file below root, embedding and indexing several files at a time."""
    from tqdm import tqdm

    from retrieval import ingest
    from retrieval.models import SourceDocument

    files = list(ingest.walk_directory(root))
    if not files:
        raise CitebotError(f"{root}: no supported files (.txt .md .html .htm .pdf) in this directory")
    failures = 0
    docs: list[SourceDocument] = []
    with tqdm(total=len(files), desc="adding", unit="file", file=sys.stderr, disable=None) as bar:
        for i, path in enumerate(files, start=1):
            try:
                docs.append(ingest.from_path(path, None, service.settings.limits))
            except CitebotError as exc:
                print(f"citebot: {path}: {exc}", file=sys.stderr)
                failures += 1
            if docs and (len(docs) >= batch or i == len(files)):
                for result in service.add_documents(docs, kb, added_by="cli"):
                    _print_added(result)
                bar.update(len(docs))
                docs = []
            elif not docs:
                bar.update(i - bar.n)
    return failures


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        return
    print(answer.answer)
    for c in answer.citations:
        where = c.url or c.title
        print(f"\n[{c.n}] {c.title} ({where}, chars {c.start}-{c.end}, score {c.score:.3f})")
        print("    " + c.passage.replace("\n", "\n    "))
    print(flush=True)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or one per line of stdin."""
    service = build_service(settings)
    kb = service.kb(args.kb)
    if not kb.articles:
        results = service.seed(args.kb)
        titles = ", ".join(r.article.title for r in results)
        print(
            f"citebot: knowledge base {kb.store.name!r} was empty; added the seed article(s): {titles}",
            file=sys.stderr,
        )
    if args.question != "-":
        _print_answer(service.ask(args.question, args.kb, args.k), args.json)
        return 0
    failures = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            _print_answer(service.ask(line, args.kb, args.k), args.json)
        except CitebotError as exc:
            print(f"citebot: {exc}", file=sys.stderr)
            failures += 1
    return 1 if failures else 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """List articles."""
    from dataclasses import asdict

    service = build_service(settings, load_model=False)
    articles = service.list_articles(args.kb)
    if args.json:
        print(json.dumps([asdict(a) for a in articles], ensure_ascii=False))
    elif not articles:
        print("(no articles)")
    for a in [] if args.json else articles:
        print(f"{a.id}\t{a.title}\t{a.chunks} chunks\t{a.url or a.source}\t{a.added_at}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove an article."""
    service = build_service(settings, load_model=False)
    info = service.remove(args.id, args.kb)
    print(f"{info.id}\t{info.title}\tremoved")
    return 0


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    """Refresh a URL article."""
    service = build_service(settings)
    _print_added(service.refresh(args.id, args.kb))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate on a question set, in a fresh temporary knowledge base."""
    import tempfile

    import bm25s  # noqa: F401 - it sets its own logger to DEBUG on import: quiet it before ingesting

    from retrieval import evaluation
    from retrieval.unanswerable import load_unanswerable

    logging.getLogger("bm25s").setLevel(max(logging.WARNING, logging.getLogger().level))
    articles = evaluation.load_articles(args.articles)
    questions = evaluation.load_questions(args.questions, args.split)
    unanswerable = load_unanswerable(args.unanswerable, args.split) if args.unanswerable else []
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as tmp:
        search = settings.search.model_copy(update={"mode": args.retrieval or settings.search.mode})
        chroma = settings.chroma.model_copy(update={"url": None})  # always a fresh embedded store
        llm = settings.llm if args.llm else settings.llm.model_copy(update={"provider": "none"})
        if args.llm and llm.provider == "none":
            raise CitebotError("--llm needs CITEBOT_LLM__PROVIDER (openai or ollama) and CITEBOT_LLM__MODEL")
        local = settings.model_copy(
            update={"data_dir": Path(tmp), "kb": "eval", "search": search, "chroma": chroma, "llm": llm}
        )
        report, _ = evaluation.run(
            build_service(local), articles, questions, args.withhold, unanswerable=unanswerable
        )
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Measure performance at the given corpus sizes, in temporary data dirs."""
    from retrieval import bench, benchcorpus

    try:
        sizes = [int(x) for x in args.chunks.split(",") if x.strip()]
    except ValueError as exc:
        raise CitebotError(f"--chunks takes sizes like 1000,10000: {exc}") from exc
    if not sizes or min(sizes) < 1 or args.questions < 1 or args.embed_limit < 1:
        raise CitebotError("--chunks, --questions and --embed-limit must be positive")
    articles = args.articles or benchcorpus.default_articles()
    say = None if args.json else (lambda msg: print(f"citebot bench: {msg}", file=sys.stderr, flush=True))
    ingest = args.ingest_chunks or args.embed_limit
    report = bench.run(
        sizes,
        articles,
        questions=args.questions,
        embed_limit=args.embed_limit,
        ingest_chunks=ingest,
        cold_runs=max(1, args.cold_runs),
        progress=say,
    )
    print(json.dumps(report) if args.json else bench.table(report))
    return 0


def configure_logging(level: str) -> None:
    """Configure logging once, on stderr, quieting chatty libraries."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in (
        "chromadb",
        "httpx",
        "sentence_transformers",
        "transformers",
        "discord.http",
        "urllib3",
        "bm25s",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
        handler: Handler = args.handler
        return handler(args, settings)
    except (CitebotError, ConfigError) as exc:
        print(f"citebot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("citebot: interrupted", file=sys.stderr)
        return 130
