"""Computes expected outputs for test/fixtures/onnx/* with numpy, independently of ONNX Runtime.
Run after scripts/gen-onnx-fixtures.ts (see its header)."""
import json
import pathlib
import sys

import numpy as np

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/onnx")


def f32(v):
    return np.asarray(v, dtype=np.float32)


def mlp(p):
    w = p["weights"]
    x = f32(p["inputs"]["input"]).reshape(p["shape"])
    h = np.maximum(x @ f32(w["w1"]).reshape(x.shape[1], -1) + f32(w["b1"]), 0)
    z = h @ f32(w["w2"]).reshape(h.shape[1], -1) + f32(w["b2"])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    return {"inputs": {"input": {"shape": list(x.shape), "data": x.ravel().tolist()}},
            "outputs": {"probabilities": {"shape": list(probs.shape), "data": probs.astype(np.float32).ravel().tolist()}}}


def multi_io(p):
    a = f32(p["inputs"]["a"])
    b = np.asarray(p["inputs"]["b"], dtype=np.int64)
    return {"inputs": {"a": {"shape": list(a.shape), "data": a.ravel().tolist()},
                       "b": {"shape": list(b.shape), "data": b.ravel().tolist()}},
            "outputs": {"sum": {"shape": list(a.shape), "data": (a + b.astype(np.float32)).ravel().tolist()},
                        "doubled": {"shape": list(b.shape), "data": (b * 2).ravel().tolist()},
                        "positive": {"shape": list(a.shape), "data": (a > 0).ravel().tolist()}}}


def fixed_matmul(p):
    x = np.asarray(p["inputs"]["x"], dtype=np.float64)
    y = x @ np.asarray(p["weights"]["w"], dtype=np.float64).reshape(2, 2)
    return {"inputs": {"x": {"shape": [2, 2], "data": x.ravel().tolist()}},
            "outputs": {"y": {"shape": [2, 2], "data": y.ravel().tolist()}}}


CASES = {"mlp": mlp, "mlp-v2": mlp, "multi-io": multi_io, "fixed-matmul": fixed_matmul}

for name, fn in CASES.items():
    params = json.loads((root / name / "params.json").read_text())
    (root / name / "expected.json").write_text(json.dumps(fn(params)) + "\n")
    print("wrote", root / name / "expected.json")
