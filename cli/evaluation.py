"""Evaluate answers and citations on a question set over a fixed corpus (e.g. xquad-articles)."""

from __future__ import annotations

import json
import random
import re
import string
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.evalfiles import field_of, read_rows
from retrieval.adding import article_id_for
from retrieval.errors import CitebotError, InvalidInput
from retrieval.models import Answer, Citation, SourceDocument
from retrieval.verify import strip_markers

if TYPE_CHECKING:
    import argparse

    from cli.unanswerable import UnanswerableQuestion
    from config.settings import Settings
    from retrieval.service import CitebotService

RANK_DEPTH = 10  # passages asked for when measuring hit@k and MRR@10
WITHHOLD_SEED = 20240601
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


@dataclass(frozen=True)
class EvalArticle:
    """One article of an evaluation corpus."""

    id: str
    title: str
    url: str | None
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    """One question with its gold answers and where the first one stands."""

    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str
    answer_start: int
    split: str


@dataclass(frozen=True)
class QuestionResult:
    """What the service did with one question."""

    question: EvalQuestion
    withheld: bool
    abstained: bool
    answer: str
    correct: bool
    rank: int | None  # 1-based citation number of the first covering passage (k=RANK_DEPTH)
    latency_ms: float
    consistent: bool  # the k=RANK_DEPTH answer equals the default-k answer
    confidence: float | None = None  # the answerability check's, for an answer it let through


@dataclass(frozen=True)
class EvalReport:
    """Aggregate metrics of one evaluation run."""

    questions: int
    hits: dict[int, float]
    mrr: float
    answer_accuracy: float
    withheld_questions: int
    abstained_on_withheld: float | None
    answered_on_kept: float
    latency_p50: float
    latency_p95: float
    inconsistent: int
    unanswerable: dict[str, Any] | None = None  # `citebot eval --unanswerable`
    calibration: dict[str, Any] | None = None  # reliability of answer confidences, when given

    def to_json(self) -> dict[str, Any]:
        """Return the `citebot eval --json` shape of this report."""
        return {
            "questions": self.questions,
            **{f"hit@{k}": round(v, 4) for k, v in self.hits.items()},
            "mrr@10": round(self.mrr, 4),
            "answer_accuracy": round(self.answer_accuracy, 4),
            "abstention": {
                "withheld_questions": self.withheld_questions,
                "abstained_on_withheld": None
                if self.abstained_on_withheld is None
                else round(self.abstained_on_withheld, 4),
                "answered_on_kept": round(self.answered_on_kept, 4),
                **({"unanswerable": self.unanswerable} if self.unanswerable is not None else {}),
            },
            "latency_ms": {"p50": round(self.latency_p50, 2), "p95": round(self.latency_p95, 2)},
            "answer_mismatch_at_k10": self.inconsistent,
            **({"calibration": self.calibration} if self.calibration is not None else {}),
        }

    def table(self) -> str:
        """Return the report as a small plain-text table."""
        rows = [("questions", str(self.questions))]
        rows += [(f"hit@{k}", f"{v:.3f}") for k, v in self.hits.items()]
        rows += [("mrr@10", f"{self.mrr:.3f}"), ("answer accuracy", f"{self.answer_accuracy:.3f}")]
        rows.append(("answered (kept)", f"{self.answered_on_kept:.3f}"))
        if self.abstained_on_withheld is not None:
            rows.append(
                (f"abstained ({self.withheld_questions} withheld q)", f"{self.abstained_on_withheld:.3f}")
            )
        if self.unanswerable is not None:
            u = self.unanswerable
            rows.append((f"abstained ({u['questions']} unanswerable q)", f"{u['abstained']}"))
            rows.append(("answered with plausible span", f"{u['answered_with_plausible_span']}"))
        rows += [("latency p50 ms", f"{self.latency_p50:.1f}"), ("latency p95 ms", f"{self.latency_p95:.1f}")]
        rows.append(("answer differs at k=10", str(self.inconsistent)))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


# -- metrics ----------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """Normalise text the SQuAD way: lower case, no punctuation or articles, folded spaces."""
    # Curly quotes and dashes count as punctuation too: real text is full of them.
    text = "".join(
        ch for ch in text.lower() if ch not in _PUNCT and not unicodedata.category(ch).startswith("P")
    )
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_contains(answer: str, golds: Iterable[str]) -> bool:
    """Tell whether the answer text, markers removed, contains a gold answer once normalised."""
    shown = f" {normalize_answer(strip_markers(answer))} "
    return any(f" {g} " in shown for g in map(normalize_answer, golds) if g)


def covers(citation: Citation, article_id: str, start: int, end: int) -> bool:
    """Tell whether a citation comes from the article and its span contains [start, end)."""
    return citation.article_id == article_id and citation.start <= start and end <= citation.end


def first_covering_rank(citations: Sequence[Citation], article_id: str, start: int, end: int) -> int | None:
    """Return the citation number (1-based order) of the first covering passage, or None."""
    for rank, citation in enumerate(sorted(citations, key=lambda c: c.n), start=1):
        if covers(citation, article_id, start, end):
            return rank
    return None


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Return the share of ranks that are at most k (None is a miss)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    """Return the mean reciprocal rank, counting ranks beyond k (or None) as zero."""
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# -- data -------------------------------------------------------------------------------
def load_articles(path: Path) -> list[EvalArticle]:
    """Read an articles.jsonl file ({id, title, url, text} per line)."""
    return read_rows(
        path,
        lambda r: EvalArticle(
            field_of(r, "id", str),
            field_of(r, "title", str),
            field_of(r, "url", str, True),
            field_of(r, "text", str),
        ),
    )


def load_questions(path: Path, split: str = "all") -> list[EvalQuestion]:
    """Read a questions.jsonl file, keeping one split (dev, test) or all."""
    return read_rows(
        path,
        lambda r: EvalQuestion(
            field_of(r, "id", str),
            field_of(r, "question", str),
            tuple(field_of(r, "answers", list)),
            field_of(r, "article_id", str),
            field_of(r, "answer_start", int),
            field_of(r, "split", str),
        ),
        split,
    )


def choose_withheld(article_ids: Sequence[str], n: int, seed: int = WITHHOLD_SEED) -> set[str]:
    """Return a fixed, seeded choice of n article ids to leave out of the corpus."""
    if not 0 <= n < len(article_ids):
        raise InvalidInput(f"--withhold must be between 0 and {len(article_ids) - 1}")
    return set(random.Random(seed).sample(sorted(article_ids), n))


def check_offsets(articles: Sequence[EvalArticle], questions: Sequence[EvalQuestion]) -> None:
    """Raise InvalidInput unless every question's first answer stands at answer_start."""
    texts = {a.id: a.text for a in articles}
    for q in questions:
        text = texts.get(q.article_id)
        if text is None:
            raise InvalidInput(f"question {q.id} names an unknown article {q.article_id}")
        if text[q.answer_start : q.answer_start + len(q.answers[0])] != q.answers[0]:
            raise InvalidInput(f"question {q.id}: answer_start does not point at its answer")


# -- running ----------------------------------------------------------------------------
def ingest(service: CitebotService, articles: Sequence[EvalArticle], progress: bool = True) -> dict[str, str]:
    """Add the articles verbatim (no normalisation) and return eval id -> stored article id."""
    from tqdm import tqdm

    ids: dict[str, str] = {}
    for a in tqdm(articles, desc="ingesting", unit="article", file=sys.stderr, disable=not progress or None):
        doc = SourceDocument(text=a.text, title=a.title, source="eval", url=a.url)
        result = service.add_document(doc)
        ids[a.id] = result.article.id
        if result.article.id != article_id_for(doc):
            raise InvalidInput(f"article {a.id} duplicates another article of the corpus")
    store = service.kb().store
    for a in articles:
        if store.article_text(ids[a.id]) != a.text:
            raise InvalidInput(f"article {a.id}: the stored text differs from the input; offsets would shift")
    return ids


def ask_one(
    service: CitebotService, q: EvalQuestion, stored_id: str | None, withheld: bool
) -> QuestionResult:
    """Ask one question the way users do, then again with k=RANK_DEPTH for the ranking."""
    t0 = time.perf_counter()
    shown: Answer = service.ask(q.question)
    latency = (time.perf_counter() - t0) * 1000
    ranked = service.ask(q.question, k=RANK_DEPTH, use_llm=False)  # ranking only: no LLM call
    end = q.answer_start + len(q.answers[0])
    rank = None
    if stored_id is not None and not ranked.abstained:
        rank = first_covering_rank(ranked.citations, stored_id, q.answer_start, end)
    correct = not shown.abstained and answer_contains(shown.answer, q.answers)
    return QuestionResult(
        q,
        withheld,
        shown.abstained,
        shown.answer,
        correct,
        rank,
        latency,
        ranked.answer == shown.answer,
        shown.confidence,
    )


def summarise(results: Sequence[QuestionResult]) -> EvalReport:
    """Aggregate per-question results into an EvalReport."""
    kept = [r for r in results if not r.withheld]
    withheld = [r for r in results if r.withheld]
    ranks = [r.rank for r in kept]
    latencies = [r.latency_ms for r in results]
    n = len(kept) or 1
    return EvalReport(
        questions=len(kept),
        hits={k: hit_at(ranks, k) for k in (1, 3, 5)},
        mrr=mrr_at(ranks, RANK_DEPTH),
        answer_accuracy=sum(r.correct for r in kept) / n,
        withheld_questions=len(withheld),
        abstained_on_withheld=sum(r.abstained for r in withheld) / len(withheld) if withheld else None,
        answered_on_kept=sum(not r.abstained for r in kept) / n,
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        inconsistent=sum(not r.consistent for r in results),
    )


def run(
    service: CitebotService,
    articles: Sequence[EvalArticle],
    questions: Sequence[EvalQuestion],
    withhold: int = 0,
    progress: bool = True,
    *,
    unanswerable: Sequence[UnanswerableQuestion] = (),
) -> tuple[EvalReport, list[QuestionResult]]:
    """Ingest the kept articles into the service's (empty) knowledge base and ask every question.

    Unanswerable questions are asked too when given; the report then counts how often they abstain.
    """
    from tqdm import tqdm

    from cli.calibration import reliability
    from cli.unanswerable import ask_unanswerable, summarise_unanswerable

    if service.kb().articles:
        raise InvalidInput("evaluation needs an empty knowledge base")
    check_offsets(articles, questions)
    left_out = choose_withheld([a.id for a in articles], withhold)
    ids = ingest(service, [a for a in articles if a.id not in left_out], progress)
    if questions:
        service.ask(questions[0].question)  # warm-up: first-call costs are not ask latency
    results = [
        ask_one(service, q, ids.get(q.article_id), q.article_id in left_out)
        for q in tqdm(questions, desc="asking", unit="q", file=sys.stderr, disable=not progress or None)
    ]
    report = summarise(results)
    scored = [(r.confidence, r.correct) for r in results if r.confidence is not None]
    if unanswerable:
        known = {a.id for a in articles}
        if unknown := sorted({u.article_id for u in unanswerable} - known):
            raise InvalidInput(f"unanswerable questions name unknown articles: {', '.join(unknown[:3])}")
        bar = tqdm(unanswerable, desc="unanswerable", unit="q", file=sys.stderr, disable=not progress or None)
        asked = [ask_unanswerable(service, u) for u in bar]
        report = replace(report, unanswerable=summarise_unanswerable(asked))
        scored += [(u.confidence, False) for u in asked if u.confidence is not None]
    if scored:
        report = replace(report, calibration=reliability(scored))
    return report, results


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate on a question set, in a fresh temporary knowledge base."""
    import tempfile

    from cli.unanswerable import load_unanswerable
    from retrieval.compose import build_service, scratch_settings

    if args.llm and settings.llm.provider == "none":
        raise CitebotError("--llm needs CITEBOT_LLM__PROVIDER (openai or ollama) and CITEBOT_LLM__MODEL")
    articles = load_articles(args.articles)
    questions = load_questions(args.questions, args.split)
    if not questions:
        raise InvalidInput(
            f"{args.questions}: no questions" + (f" in split {args.split}" if args.split != "all" else "")
        )
    unanswerable = load_unanswerable(args.unanswerable, args.split) if args.unanswerable else []
    search = {"mode": args.retrieval} if args.retrieval else {}
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as tmp:
        local = scratch_settings(settings, Path(tmp), "eval", llm=args.llm, search=search)
        with build_service(local) as service:
            report, _ = run(service, articles, questions, args.withhold, unanswerable=unanswerable)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0
