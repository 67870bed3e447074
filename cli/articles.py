"""The article commands: add, ask, list, remove and refresh, printed for people or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.compose import build_service
from retrieval.errors import CitebotError, InvalidInput

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.models import AddResult, Answer, Citation
    from retrieval.service import CitebotService


def _print_added(result: AddResult) -> None:
    a = result.article
    print(f"{a.id}\t{a.title}\t{a.chunks} chunk{'' if a.chunks == 1 else 's'}\t{result.status}")


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add each source; report one line per article."""
    from retrieval import ingest

    if args.title and len(args.sources) > 1:
        raise CitebotError("--title applies to one source; give one SOURCE with it")
    missing = [s for s in args.sources if s != "-" and not ingest.is_url(s) and not Path(s).exists()]
    for source in missing:  # said before the model loads
        print(f"citebot: {source}: no such file or directory", file=sys.stderr)
    sources = [s for s in args.sources if s not in missing]
    if not sources:
        return 1
    failures = len(missing)
    with build_service(settings) as service:
        for source in sources:
            try:
                failures += _add_one(service, source, args)
            except CitebotError as exc:
                _failed(source, exc)
                failures += 1
    return 1 if failures else 0


def _failed(source: object, exc: CitebotError) -> None:
    """Say on stderr, in one line, that a source failed: named once, whether the error names it or not."""
    said = str(exc)
    named = len(str(source)) > 1 and str(source) in said  # "-" (stdin) is in many a message
    print(f"citebot: {said}" if named else f"citebot: {source}: {said}", file=sys.stderr)


def _add_one(service: CitebotService, source: str, args: argparse.Namespace) -> int:
    """Add one source (stdin, a directory, a file or a URL); return how many of its files failed."""
    from retrieval import ingest
    from retrieval.extract import decode_text

    if source == "-":
        text = decode_text(_stdin_bytes(), None, "the text on stdin")
        doc = ingest.from_text(text, args.title, service.settings.limits, source="stdin")
        _print_added(service.add_document(doc, args.kb, added_by="cli"))
    elif not ingest.is_url(source) and Path(source).is_dir():
        return _add_directory(service, Path(source), args.kb)
    else:
        _print_added(service.add_source(source, args.kb, args.title, added_by="cli"))
    return 0


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
                _failed(path, exc)
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
        print("\n" + citation_line(c))
        print("    " + c.passage.replace("\n", "\n    "))
    print(flush=True)


def citation_line(c: Citation) -> str:
    """Return the line naming a cited passage: number, title, URL (or "no URL"), span and score."""
    return f"[{c.n}] {c.title} ({c.url or 'no URL'}, chars {c.start}-{c.end}, score {c.score:.3f})"


def check_ask(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse a bad question or --k before the model loads (it takes seconds)."""
    from config.settings import MAX_K
    from retrieval.asking import clean_question
    from retrieval.errors import InvalidInput

    if args.k is not None and not 1 <= args.k <= MAX_K:
        raise InvalidInput(f"--k must be between 1 and {MAX_K}, not {args.k}")
    if args.question != "-":
        clean_question(args.question, settings.limits.max_question_chars)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or one per line of stdin."""
    check_ask(args, settings)
    with build_service(settings) as service:
        return _ask(service, args)


def _ask(service: CitebotService, args: argparse.Namespace) -> int:
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
    for n, raw in enumerate(_stdin_lines(), start=1):
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            error: CitebotError = InvalidInput(f"the question is not valid UTF-8 text (byte {exc.start + 1})")
        else:
            try:
                _print_answer(service.ask(line, args.kb, args.k), args.json)
                continue
            except CitebotError as exc:
                error = exc
        print(f"citebot: line {n}: {error}", file=sys.stderr)
        if args.json:  # one object per question, so output lines pair with input lines
            print(json.dumps({"question": line.strip(), "error": str(error)}, ensure_ascii=False), flush=True)
        failures += 1
    return 1 if failures else 0


def _stdin_lines() -> Iterator[bytes]:
    """Yield stdin's lines as bytes, as they arrive (a text stream without a buffer is encoded back)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        yield from (line.encode("utf-8", errors="surrogateescape") for line in sys.stdin)
    else:
        yield from buffer


def _stdin_bytes() -> bytes:
    """Read all of stdin as bytes."""
    return b"".join(_stdin_lines())


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """List articles."""
    from dataclasses import asdict

    with build_service(settings, load_model=False) as service:
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
    with build_service(settings, load_model=False) as service:
        info = service.remove(args.id, args.kb)
    print(f"{info.id}\t{info.title}\tremoved")
    return 0


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    """Refresh a URL article."""
    with build_service(settings) as service:
        _print_added(service.refresh(args.id, args.kb))
    return 0
