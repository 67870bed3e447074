"""Measure citebot on real text: the seed question set on both texts, and the fixture pages.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python -m tools.real_text --real-seed PATH [--misses]

Prints the seed set's score on the shipped article (auto-seeded) and on the user's document
added as a file, then, for each fixture page, the body characters kept against the characters
its paragraphs hold, the title, and the answers to a few questions on the pages. Run it with
PYTHONPATH pointing at another checkout to measure that code on the same data (the figures in
docs/quality.md, "Real text", were taken that way: the code before and after issue 11).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import tempfile
from pathlib import Path

from cli.evaluation import answer_contains
from config.loader import load_settings
from retrieval.compose import build_service, scratch_settings
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.extract import extract
from retrieval.service import CitebotService

DATA = Path("tests") / "data"
SPEED_QUESTION = "How fast is Kim's train?"
PAGE_QUESTIONS = {
    "split_by_ad": [
        ("When will the new night trains ordered now be delivered?", ["end of the decade"]),
        ("Which night service did France reopen in 2021?", ["Paris to Nice"]),
    ],
    "split_by_related": [
        ("How many years of extra bus service would one garage pay for?", ["ten years"]),
        ("What should the council publish before the next garage?", ["occupancy data"]),
    ],
    "headings_and_models": [
        ("What range does the ID. Seven Tourer have?", ["685 kilometers"]),
        ("Which wagon is the long-range pick?", ["ID. Seven Tourer"]),
        ("How much luggage space did the family hauler have?", ["605 liters"]),
    ],
}


def service(embedder: SentenceTransformerEmbedder) -> CitebotService:
    """Return a service on a fresh temporary data dir."""
    settings = scratch_settings(load_settings(), Path(tempfile.mkdtemp(prefix="citebot-real-")), "real")
    return build_service(settings, embedder=embedder)


def score(svc: CitebotService, questions: list[tuple[str, list[str]]], misses: bool) -> int:
    """Ask every question and return how many answers contain a gold answer."""
    right = 0
    for question, golds in questions:
        got = svc.ask(question)
        ok = not got.abstained and answer_contains(got.answer, golds)
        right += ok
        if misses and not ok:
            print(f"    miss: {question} -> {got.answer[:140]}")
    return right


def paragraph_chars(markup: str) -> int:
    """Return the characters of text in the page's <p> elements outside nav, aside, header, footer."""
    markup = re.sub(r"(?s)<(nav|aside|footer|header|form)\b.*?</\1>", "", markup)
    paragraphs = re.findall(r"(?s)<p\b[^>]*>(.*?)</p>", markup)
    return sum(len(" ".join(html.unescape(re.sub("<[^>]+>", "", p)).split())) for p in paragraphs)


def main(argv: list[str] | None = None) -> int:
    """Print the seed-set scores and the fixture-page figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-seed", type=Path, required=True, help="the user's seed document (a .txt)")
    parser.add_argument("--questions", type=Path, default=DATA / "seed_questions.jsonl")
    parser.add_argument("--pages", type=Path, default=DATA / "pages", help="the fixture pages")
    parser.add_argument("--misses", action="store_true", help="print the questions answered wrongly")
    args = parser.parse_args(argv)
    embedder = SentenceTransformerEmbedder(load_settings().embedding)
    embedder.load()
    rows = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines()]
    seed_set = [(r["question"], r["answers"]) for r in rows if not r.get("abstain")]
    for name in ("shipped", "real"):
        svc = service(embedder)
        if name == "shipped":
            svc.seed()
        else:
            svc.add_source(str(args.real_seed))
        right = score(svc, seed_set, args.misses)
        print(f"seed set, {name}: {right}/{len(seed_set)} = {right / len(seed_set):.3f}")
        speed = svc.ask(SPEED_QUESTION).answer
        print(f"    {SPEED_QUESTION} -> {speed[:140]}")
    pages = service(embedder)
    for page in PAGE_QUESTIONS:
        path = args.pages / f"{page}.html"
        data = path.read_bytes()
        got = extract(data, content_type="text/html", url=f"http://127.0.0.1/{page}")
        print(
            f"page {page}: kept {len(got.text)} of {paragraph_chars(data.decode())} chars; title {got.title!r}"
        )
        pages.add_source(str(path))
    page_questions = [q for qs in PAGE_QUESTIONS.values() for q in qs]
    right = score(pages, page_questions, args.misses)
    print(f"fixture page questions: {right}/{len(page_questions)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
