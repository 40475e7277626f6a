"""Where path B spends its time: a per-op trace of the exported SavedModel, and the first Dense.

:func:`trace_savedmodel` loads the SavedModel into a TF1 graph session (the same graph,
kernels and Grappler rewrites as ``serving_default``) and runs it with ``FULL_TRACE``:
every executed node with its time and output shape. Nodes under the MLP's name scope
(``mlp/``) are the model; everything else is preprocessing.

:func:`first_dense_costs` times the MLP's first layer fed by the one-hot block both
ways: the dense product of the wide one-hot matrix with the kernel (what the embedded
and bare models do) and the gather of one kernel row per text column (what issue 6
asks for), to size the gain before building it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

#: The MLP's name scope inside the embedded model (Keras may suffix it: ``mlp_1``).
_MODEL_SCOPE = re.compile(r"/mlp(_\d+)?/")


def _shape(node_stats) -> str:
    import tensorflow as tf

    shapes = []
    for out in node_stats.output:
        description = out.tensor_description
        dims = [d.size for d in description.shape.dim]
        dtype = tf.dtypes.as_dtype(description.dtype).name if description.dtype else "?"
        shapes.append(f"{dtype}{dims}")
    return ", ".join(shapes)


def trace_savedmodel(savedmodel: str, feeds: dict[str, np.ndarray], runs: int = 5) -> dict[str, Any]:
    """Per-node times (median over ``runs`` traced runs) of ``serving_default`` on ``feeds``."""
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], savedmodel)
        signature = meta.signature_def["serving_default"]
        feed = {signature.inputs[key].name: values for key, values in feeds.items()}
        fetch = signature.outputs["output_0"].name
        for _ in range(3):
            session.run(fetch, feed)
        per_node: dict[str, list[float]] = defaultdict(list)
        info: dict[str, tuple[str, str]] = {}
        walls = []
        for _ in range(runs):
            options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
            metadata = tf.compat.v1.RunMetadata()
            session.run(fetch, feed, options=options, run_metadata=metadata)
            starts, ends = [], []
            for device in metadata.step_stats.dev_stats:
                for node in device.node_stats:
                    if node.node_name in ("_SOURCE", "_SINK") or node.node_name.startswith("_arg_"):
                        continue
                    per_node[node.node_name].append(node.op_end_rel_micros / 1e3)
                    starts.append(node.all_start_micros)
                    ends.append(node.all_start_micros + node.all_end_rel_micros)
                    if node.node_name not in info:
                        op = node.timeline_label.split("=")[-1].strip().split("(")[0] or "?"
                        info[node.node_name] = (op, _shape(node))
            walls.append((max(ends) - min(starts)) / 1e3 if starts else 0.0)
    nodes = []
    for name, times in per_node.items():
        op, shape = info[name]
        scope = _MODEL_SCOPE.search(name)
        short = "mlp/" + name[scope.end() :] if scope else name.split("/")[-1]
        nodes.append(
            {
                "node": short,
                "op": op,
                "output": shape,
                "ms": float(np.median(times)),
                "part": "model" if scope else "preprocessing",
            }
        )
    nodes.sort(key=lambda n: -n["ms"])
    by_op: dict[str, float] = defaultdict(float)
    for n in nodes:
        by_op[f"{n['part']}: {n['op']}"] += n["ms"]
    return {
        "wall_ms": float(np.median(walls)),
        "nodes_executed": len(nodes),
        "sum_ms": {
            part: float(sum(n["ms"] for n in nodes if n["part"] == part))
            for part in ("preprocessing", "model")
        },
        "top_nodes": nodes[:12],
        "by_op": dict(sorted(by_op.items(), key=lambda kv: -kv[1])[:10]),
    }


def first_dense_costs(mlp, n_numeric: int, category_sizes: list[int], batches, budget_s: float) -> dict:
    """Median ms of the first Dense on (numbers + one-hot): wide matmul vs kernel-row gather."""
    import tensorflow as tf
    from measure import interleaved

    kernel, bias = (tf.constant(w) for w in mlp.layers[0].get_weights())
    width = int(kernel.shape[0])
    offsets = n_numeric + np.concatenate([[0], np.cumsum(category_sizes)[:-1]]).astype(np.int32)

    @tf.function(input_signature=[tf.TensorSpec([None, width], tf.float32)])
    def dense(x):
        return tf.nn.relu(tf.matmul(x, kernel) + bias)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, n_numeric], tf.float32),
            tf.TensorSpec([None, len(category_sizes)], tf.int32),
        ]
    )
    def gather(numbers, codes):
        rows = tf.gather(kernel, codes + offsets)  # (batch, k, units)
        return tf.nn.relu(tf.matmul(numbers, kernel[:n_numeric]) + tf.reduce_sum(rows, axis=1) + bias)

    rng = np.random.default_rng(0)
    results = {}
    for batch in batches:
        codes = np.stack([rng.integers(0, s, batch) for s in category_sizes], axis=1).astype(np.int32)
        numbers = rng.normal(size=(batch, n_numeric)).astype(np.float32)
        wide = np.zeros((batch, width), np.float32)
        wide[:, :n_numeric] = numbers
        wide[np.arange(batch)[:, None], codes + offsets] = 1.0
        wide, numbers, codes = tf.constant(wide), tf.constant(numbers), tf.constant(codes)
        check = np.abs(dense(wide).numpy() - gather(numbers, codes).numpy()).max()
        timing = interleaved(
            {
                "one-hot matmul": (lambda a: dense(a).numpy(), wide),
                "kernel-row gather": (lambda a: gather(*a).numpy(), (numbers, codes)),
            },
            budget_s=budget_s,
            min_reps=5,
            max_reps=300,
        )
        results[batch] = {name: t["median_ms"] for name, t in timing.items()} | {"max_abs_diff": float(check)}
    return results


def signature_overhead(counts=(16, 100, 500), budget_s: float = 1.0) -> dict[str, float]:
    """Median ms of a ``serving_default`` call on n one-row float inputs whose graph only sums them.

    What calling a SavedModel signature from Python costs per named input, with no
    preprocessing at all: the floor under path B's batch-1 latency for a table of n columns.
    """
    import tempfile

    import tensorflow as tf
    from measure import interleaved

    calls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            specs = {f"c{i}": tf.TensorSpec([None], tf.float32, name=f"c{i}") for i in range(n)}
            module = tf.Module()
            module.serve = tf.function(lambda d: {"out": tf.add_n(list(d.values()))}, input_signature=[specs])
            path = f"{tmp}/sum{n}"
            tf.saved_model.save(module, path, signatures=module.serve.get_concrete_function())
            loaded = tf.saved_model.load(path)
            feed = {name: tf.ones([1], tf.float32) for name in specs}
            calls[str(n)] = (lambda kw, s=loaded.signatures["serving_default"], keep=loaded: s(**kw), feed)
        timing = interleaved(calls, budget_s=budget_s, min_reps=20, max_reps=300)
    return {n: t["median_ms"] for n, t in timing.items()}
