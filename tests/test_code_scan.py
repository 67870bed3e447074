"""The first pass over 8-bit codes (lexfirst.py) leaves the exact dense search's results unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import retrieval.lexfirst
from retrieval.lexcodes import quantize
from retrieval.lexfirst import MIN_ROWS, CodeScan
from retrieval.lexsegment import Segment
from retrieval.lexvectors import (
    best,
    code_scan,
    held,
    kth_highest,
    narrowed,
    nearest,
    one_blas_thread,
    rescored,
    unit,
    unit_rows,
)
from retrieval.store import StoredChunk

DIM = 64


def _rows(rng: np.random.Generator, count: int) -> np.ndarray:
    """Return unit rows around a few topics (as sentence embeddings cluster), some repeated exactly."""
    centres = rng.standard_normal((12, DIM))
    rows = centres[rng.integers(0, 12, count)] + 0.8 * rng.standard_normal((count, DIM))
    rows[5::97] = rows[4::97][: len(rows[5::97])]  # duplicate chunks: exact ties
    return unit_rows(rows)


def _segment(rows: np.ndarray, name: str = "s") -> Segment:
    chunks = [StoredChunk(f"a{i // 10}:v:{i}", f"a{i // 10}", "v", 0, 1, "") for i in range(len(rows))]
    empty = np.zeros(0, dtype=np.int64)
    seg = Segment(
        name, chunks, np.ones(len(rows), dtype=np.int64), np.zeros(1, dtype=np.int64), empty, empty, [], empty
    )
    seg.codes, seg.scales = quantize(rows)
    seg.vectors, seg.texts, seg.sentences = rows, [f"text {i}" for i in range(len(rows))], [None] * len(rows)
    return seg


def _full(
    segments: list[Segment], lives: list[np.ndarray], query: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The reference: every row's float32 product, the n best (ties by position)."""
    flat = np.concatenate(
        [np.where(live, seg.vectors @ query, -np.inf) for seg, live in zip(segments, lives, strict=True)]
    )  # type: ignore[operator]
    top = best(flat, n)
    return top, flat[top]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _one_blas_thread() -> None:
    """As the service runs: with two threads OpenBLAS splits a product where it likes (lexvectors.py)."""
    one_blas_thread()


def test_first_pass_gives_the_full_products_n_best_bit_for_bit(rng: np.random.Generator) -> None:
    seg = _segment(_rows(rng, 3001))  # not a multiple of 4: the product's last rows round otherwise
    seg.scales = seg.scales.copy()  # type: ignore[union-attr]
    seg.scales[::50] = np.nan  # rows whose codes were dropped (re-titled): no bound, always checked
    live = rng.random(3001) < 0.9
    narrowing = 0
    for _ in range(40):
        query = unit(rng.standard_normal(DIM) + _rows(rng, 1)[0] * 4)
        for n in (1, 8, 30, 60):
            got = narrowed([seg], [live], query, n)
            want = _full([seg], [live], query, n)
            if got is not None:
                narrowing += 1
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert narrowing >= 120  # the codes did narrow the search (most queries)


def test_bounds_hold_for_every_live_row(rng: np.random.Generator) -> None:
    rows = _rows(rng, 2500)
    scan = CodeScan.build(rows, *quantize(rows))
    assert scan is not None
    live = np.ones(len(rows), dtype=bool)
    live[::7] = False
    for _ in range(30):
        query = unit(rng.standard_normal(DIM))
        found = scan.bounds(query, live)
        assert found is not None
        lower, upper = found
        exact = rows @ query
        assert (lower[live] <= exact[live]).all() and (exact[live] <= upper[live]).all()
        assert (upper[live] - lower[live]).max() < 0.2  # tight enough to narrow
        assert np.isneginf(lower[~live]).all()
    assert scan.bounds(unit(rng.standard_normal(DIM)) * 1.01, live) is None  # not a unit query


def test_a_big_and_a_small_segment_together_give_the_full_products_results(rng: np.random.Generator) -> None:
    big, small = _segment(_rows(rng, MIN_ROWS + 3), "big"), _segment(_rows(rng, 300), "small")
    lives = [rng.random(MIN_ROWS + 3) < 0.95, np.ones(300, dtype=bool)]
    assert code_scan(big) is not None and code_scan(small) is None
    for _ in range(20):
        vector = rng.standard_normal(DIM).astype(np.float32)
        want = _full([big, small], lives, unit(vector), 30)
        got = nearest([big, small], lives, vector, 30)
        assert got is not None
        flat = [*big.chunks, *small.chunks]
        assert [c.id for c, _ in got] == [flat[i].id for i in want[0]]
        assert [score for _, score in got] == [float(s) for s in want[1]]
        assert [c.text for c, _ in got] == [
            f"text {i if i < len(big.chunks) else i - len(big.chunks)}" for i in want[0]
        ]


def test_the_first_pass_follows_new_rows_under_the_same_segment(rng: np.random.Generator) -> None:
    seg = _segment(_rows(rng, 2600))
    first = code_scan(seg)
    assert first is not None and code_scan(seg) is first  # built once
    other = _rows(np.random.default_rng(99), 2600)  # other embeddings under the same chunk ids
    codes, scales = quantize(other)
    renewed = dataclasses.replace(seg, vectors=other, codes=codes, scales=scales)
    live = np.ones(2600, dtype=bool)
    for _ in range(20):
        query = unit(rng.standard_normal(DIM))
        got = narrowed([renewed], [live], query, 10)
        want = _full([renewed], [live], query, 10)
        assert got is not None and np.array_equal(got[0], want[0])
    assert code_scan(renewed) is not first


def test_kth_highest_equals_a_sort(rng: np.random.Generator) -> None:
    for size, k in ((10, 3), (5000, 1), (5000, 30), (20000, 60), (20000, 20000)):
        values = rng.standard_normal(size).astype(np.float32)
        values[::3] = -np.inf
        values[7::11] = values[8::11][: len(values[7::11])]  # ties
        assert kth_highest(values, k) == np.sort(values)[::-1][k - 1]


def test_rescored_rows_equal_the_whole_product_bit_for_bit(rng: np.random.Generator) -> None:
    rows = _rows(rng, 1003)
    query = unit(rng.standard_normal(DIM))
    whole = rows @ query
    for count in (1, 2, 3, 5, 30, 41):
        picked = np.sort(rng.choice(1003, count, replace=False))
        assert np.array_equal(rescored(rows, picked, query), whole[picked])
    tail = np.array([1000, 1002])
    assert np.array_equal(rescored(rows, tail, query), whole[tail])


def test_no_first_pass_when_the_integer_sums_are_not_exact(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(rng, 2100)
    real = retrieval.lexfirst._session

    class Saturating:
        """Sums as a kernel that saturates 16-bit pairs would give them."""

        def __init__(self, codes: np.ndarray) -> None:
            self.inner = real(codes)

        def run(self, outputs: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            sums = self.inner.run(outputs, feeds)[0]
            return [np.clip(sums, -30000, 30000)]

    monkeypatch.setattr(retrieval.lexfirst, "_session", Saturating)
    assert CodeScan.build(rows, *quantize(rows)) is None
    monkeypatch.setattr(retrieval.lexfirst, "_session", real)
    assert CodeScan.build(rows, *quantize(rows)) is not None


def test_held_chunks_are_built_once_and_follow_new_texts(rng: np.random.Generator) -> None:
    seg = _segment(_rows(rng, 40))
    first = held(seg, 3)
    assert held(seg, 3) is first and (first.id, first.text) == (seg.chunks[3].id, "text 3")
    renewed = dataclasses.replace(seg, texts=[f"new {i}" for i in range(40)])  # read again (re-titled)
    assert held(renewed, 3).text == "new 3"
    resent = dataclasses.replace(renewed, sentences=["blob"] * 40)
    assert held(resent, 3).sentences == "blob"


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_a_segment_past_a_group_of_four_gives_its_last_rows_bit_for_bit(
    rng: np.random.Generator, extra: int
) -> None:
    rows = _rows(rng, MIN_ROWS + extra)
    rows[-1] = rows[10]  # its twin is inside the groups of four: the two must tie exactly
    seg = _segment(rows)
    live = np.ones(len(rows), dtype=bool)
    for _ in range(40):
        query = unit(rows[10] + 0.3 * rng.standard_normal(DIM))
        got = narrowed([seg], [live], query, 5)
        want = _full([seg], [live], query, 5)
        assert got is not None and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_the_first_pass_takes_no_stored_codes_and_narrows_with_rows_that_have_none(
    rng: np.random.Generator,
) -> None:
    seg = _segment(_rows(rng, 2400))
    seg.scales = np.full(2400, np.inf, dtype=np.float32)  # every stored code dropped (all re-titled)
    live = np.ones(2400, dtype=bool)
    query = unit(rng.standard_normal(DIM))
    got = narrowed([seg], [live], query, 10)
    want = _full([seg], [live], query, 10)
    assert got is not None and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_a_segment_made_from_another_builds_its_own_caches(rng: np.random.Generator) -> None:
    from retrieval.lexvectors import dropped

    seg = _segment(_rows(rng, 2100))
    assert code_scan(seg) is not None and held(seg, 3).text == "text 3"
    assert seg.scan is not None and seg.shown is not None
    for other in (dropped(seg), dataclasses.replace(seg, name="again")):
        assert other.scan is None and other.shown is None  # no old texts or session kept alive


def test_a_failing_onnx_runtime_falls_back_to_the_full_product(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(rng, 2100)
    live = np.ones(len(rows), dtype=bool)
    query = unit(rng.standard_normal(DIM))
    want = _full([_segment(rows)], [live], query, 10)

    class Failing(Exception):
        """Not a RuntimeError: ONNX Runtime's own errors derive from Exception."""

    def broken(codes: np.ndarray) -> None:
        raise Failing("cannot allocate")

    real = retrieval.lexfirst._session
    monkeypatch.setattr(retrieval.lexfirst, "_session", broken)
    assert CodeScan.build(rows, *quantize(rows)) is None
    found = nearest([_segment(rows)], [live], query, 10)
    assert found is not None and [s for _, s in found] == want[1].tolist()

    class FailsOnRun:
        def __init__(self, codes: np.ndarray) -> None:
            self.inner, self.runs = real(codes), 0

        def run(self, outputs: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            self.runs += 1
            if self.runs > 4:  # past the build's exactness probe
                raise Failing("run failed")
            return self.inner.run(outputs, feeds)

    monkeypatch.setattr(retrieval.lexfirst, "_session", FailsOnRun)
    seg = _segment(rows)
    assert code_scan(seg) is not None
    for _ in range(2):  # failed, then not tried again
        found = nearest([seg], [live], query, 10)
        assert found is not None and [s for _, s in found] == want[1].tolist()


def test_nan_scores_never_rank_nor_break_the_cut() -> None:
    scores = np.array([np.nan, 0.5, np.nan, 0.9, np.nan, 0.1], dtype=np.float32)
    assert best(scores, 2).tolist() == [3, 1]
    assert best(scores, 5).tolist() == [3, 1, 5]
    assert best(np.full(4, np.nan, dtype=np.float32), 3).tolist() == []
