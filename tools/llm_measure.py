"""Seed questions through retrieval + LLM + verifier vs the extractive answer (needs an OpenAI-compatible server)."""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

from config.settings import LLMSettings, Settings
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.evaluation import answer_contains
from retrieval.llm import LLMAnswerer
from retrieval.service import CitebotService
from retrieval.store import ChromaStore

ap = argparse.ArgumentParser()
ap.add_argument("--base-url")
ap.add_argument("--model", default="smollm2-135m-instruct")
ap.add_argument("--questions", default="tests/data/seed_questions.jsonl")
ap.add_argument("--show", action="store_true")
args = ap.parse_args()


def run(base_url: str) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), kb="llmmeasure")
    emb = SentenceTransformerEmbedder(settings.embedding)
    emb.load()
    svc = CitebotService(settings, emb, ChromaStore.from_settings(settings))
    svc.seed()
    llm = LLMAnswerer(LLMSettings(provider="openai", model=args.model, base_url=base_url, timeout=120), emb)
    qs = [json.loads(line) for line in Path(args.questions).read_text().splitlines()]
    k = settings.search.k
    rows, kept, total, reasons, lat = [], 0, 0, collections.Counter(), []
    for q in qs:
        kb = svc.kb()
        vec = emb.encode([q["question"]])[0]
        passages = kb.search(q["question"], vec, settings.search, k)
        ex = svc.ask(q["question"], use_llm=False)  # the shipped extractive answer (no LLM configured)
        t = time.perf_counter()
        r = llm.answer(q["question"], passages[:k])
        lat.append(time.perf_counter() - t)
        n = r.verdict.kept + len(r.verdict.dropped)
        kept += r.verdict.kept if not r.fallback else 0
        total += n
        if r.fallback:
            reasons[r.reason.split(":")[0] if "failed" in r.reason else r.reason.split(" (")[0]] += 1
        shown = ex.answer if r.fallback else r.text
        shown_abst = ex.abstained if r.fallback else False
        gold = q.get("answers") or []
        unans = bool(q.get("abstain"))
        rows.append(
            {
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
            }
        )
        if args.show:
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    ans = [r for r in rows if not r["unans"]]
    un = [r for r in rows if r["unans"]]
    sh = [r for r in rows if r["llm_shown"]]
    print(
        f"\nquestions {len(rows)} ({len(ans)} answerable, {len(un)} unanswerable); model {args.model}; k={k}"
    )
    print(f"LLM latency: median {sorted(lat)[len(lat) // 2]:.2f} s, max {max(lat):.2f} s")
    print(f"model sentences that verified (shown / all sentences the model wrote): {kept}/{total}")
    print(f"LLM answer shown: {len(sh)}/{len(rows)}; fell back: {len(rows) - len(sh)} -> {dict(reasons)}")
    print(
        f"answer accuracy, answerable: extractive {sum(r['ex_ok'] for r in ans)}/{len(ans)}; LLM+verify+fallback {sum(r['fin_ok'] for r in ans)}/{len(ans)}; raw LLM (unverified) {sum(r['raw_ok'] for r in ans)}/{len(ans)}"
    )
    print(
        f"on the {len([r for r in sh if not r['unans']])} answerable questions where the LLM answer was shown: LLM {sum(r['fin_ok'] for r in sh if not r['unans'])}, extractive {sum(r['ex_ok'] for r in sh if not r['unans'])}"
    )
    print(
        f"abstention on unanswerable: extractive {sum(r['ex_ok'] for r in un)}/{len(un)}; LLM+verify+fallback {sum(r['fin_ok'] for r in un)}/{len(un)}"
    )
    llm.close()


if args.base_url:
    run(args.base_url)
else:
    from tests.llm_server import llama_server

    with llama_server() as url:
        run(url)
