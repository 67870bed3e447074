"""A first pass over a big held segment's 8-bit codes: bounds on every row's cosine, in ~0.2 ms.

The exact dense search (lexvectors.py) takes one float32 product per held row: at 10,000 chunks
15 MB, read from memory right after the query's embedding has emptied the CPU caches (~1.3 ms).
The segment's int8 codes (lexcodes.py) are a quarter of that, and ONNX Runtime's integer product
with the codes packed once as a constant reads them in ~0.2 ms. With the query cut to 8 bits
too, each row's product is then known to within a bound, and only the rows whose upper bound
reaches the n-th highest lower bound get their float32 product: the result is exact.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MIN_ROWS = 2048  # below, the float32 product of every row is as quick
BLOCK = 1024  # rows at a time when building


class CodeScan:
    """One segment's codes packed for ONNX Runtime, with what bounds each row's cosine."""

    def __init__(self, session: Any, scales: np.ndarray, fixed: np.ndarray, norms: np.ndarray) -> None:
        self._session = session
        self._scales = scales  # float32, 0 where a row has no codes (its slack is infinite)
        self._fixed = fixed  # float32, per row: slack for a unit query before the query's own rounding
        self._norms = norms  # float32, per row: |codes * scale|, which multiplies the query's rounding
        self._dead: tuple[Any, np.ndarray] | None = None  # fixed, infinite where not live (by live mask)

    @classmethod
    def build(cls, vectors: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> CodeScan | None:
        """Return the scan of a segment's rows and codes, or None if ONNX Runtime cannot give exact sums."""
        if len(vectors) < MIN_ROWS or codes.shape != vectors.shape or not vectors.shape[1]:
            return None
        try:
            session = _session(codes)
            exact = _exact(session, codes)
        except Exception as exc:  # noqa: BLE001 - no onnxruntime, no operator, no memory: the full product
            log.info("no 8-bit first pass: %s", exc)
            return None
        if not exact:
            log.info("no 8-bit first pass: ONNX Runtime's integer sums are not exact on this CPU")
            return None
        known = np.isfinite(scales)
        scale = np.where(known, scales, 0).astype(np.float32)
        err, norms, rows = np.empty(len(codes)), np.empty(len(codes)), np.empty(len(codes))
        for lo in range(0, len(codes), BLOCK):  # in blocks: no float64 copy of every row at once
            hi = lo + BLOCK
            row = vectors[lo:hi].astype(np.float64)
            approx = codes[lo:hi] * scale[lo:hi, None].astype(np.float64)
            diff = row - approx
            err[lo:hi] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            norms[lo:hi] = np.sqrt(np.einsum("ij,ij->i", approx, approx))
            rows[lo:hi] = np.sqrt(np.einsum("ij,ij->i", row, row))
        # The float32 product sums d terms: off by at most d * 2^-24 * |row| |query| (twice allowed);
        # the bounds' own float32 arithmetic by less than 1e-6 (5e-6 allowed).
        fixed = (err + rows * vectors.shape[1] * 2.0**-23) * (1 + 1e-5) + 5e-6
        fixed[~(known & np.isfinite(fixed))] = np.inf  # no codes, or a row not held (NaN)
        return cls(session, scale, fixed.astype(np.float32), (norms * (1 + 1e-5)).astype(np.float32))

    def bounds(self, query: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Return (lower, upper) bounds of each row's cosine with a unit query (None: not unit).

        A row is codes * scale + e and the query q8 * step + r: the product is codes . q8 * scale
        * step (exact integers) off by at most |e| |q| + |codes * scale| |r|. Rows not live have a
        lower bound of -inf (their upper bound is +inf: drop them from what it picks).
        """
        q = query.astype(np.float64)
        if self._session is None or abs(float(q @ q) - 1) > 1e-6:
            return None
        step = float(np.abs(q).max()) / 127 or 1.0
        q8 = np.clip(np.rint(q / step), -127, 127)
        rest = float(np.linalg.norm(q - q8 * step))
        try:
            sums = self._session.run(None, {"q": (q8 + 128).astype(np.uint8)[None, :]})[0][0]
        except Exception as exc:  # noqa: BLE001 - an ask never fails for its first pass: the full product
            log.warning("8-bit first pass failed; the full product from now on: %s", exc)
            self._session = None
            return None
        middle = np.multiply(sums, self._scales, dtype=np.float32)  # sums below 2^24: exact in float32
        middle *= np.float32(step)
        slack = self._norms * np.float32(rest)
        slack += self._fixed_live(live)
        return middle - slack, middle + slack

    def _fixed_live(self, live: np.ndarray) -> np.ndarray:
        """Return the fixed slack, infinite for rows not live (kept while the mask is the same)."""
        dead = self._dead
        if dead is None or dead[0]() is not live:
            dead = self._dead = (weakref.ref(live), np.where(live, self._fixed, np.float32(np.inf)))
        return dead[1]


def _session(codes: np.ndarray) -> Any:
    """Return an ONNX Runtime session of one product: a uint8 query (zero point 128) by the codes."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    d, n = codes.shape[1], codes.shape[0]
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["q", "codes", "zero"], ["sums"])],
        "first_pass",
        [helper.make_tensor_value_info("q", TensorProto.UINT8, [1, d])],
        [helper.make_tensor_value_info("sums", TensorProto.INT32, [1, n])],
        [
            numpy_helper.from_array(np.ascontiguousarray(codes.T), "codes"),
            numpy_helper.from_array(np.array(128, dtype=np.uint8), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _exact(session: Any, codes: np.ndarray) -> bool:
    """Tell whether the session's sums equal exact integer sums at the extremes (some CPUs' kernels saturate)."""
    d = codes.shape[1]
    for q8 in (np.full(d, 127), np.full(d, -127), np.resize([127, -127], d), np.resize([-127, 127, 0], d)):
        got = session.run(None, {"q": (q8 + 128).astype(np.uint8)[None, :]})[0][0]
        for lo in range(0, len(codes), BLOCK):  # float64 sums of these integers are exact
            if not np.array_equal(got[lo : lo + BLOCK], codes[lo : lo + BLOCK].astype(np.float64) @ q8):
                return False
    return True
