"""The ONNX side of the export's parity check: onnxruntime on the probe rows, and the rejected rows.

The format-neutral parts (probe rows, the Keras model's outputs, the boundary outputs, the comparison)
are in :mod:`keras_embed_prep.export.probes`, shared with the LiteRT export.
"""

from __future__ import annotations

import numpy as np

from ...errors import ExportError
from ...verify import ParityReport
from ..probes import BOUNDARY, compare_outputs, first_line, row_count, take_rows
from ..signatures import signature_keys


def _ort_feed(model, rows) -> dict[str, np.ndarray]:
    keys = signature_keys(model)
    return {keys[name]: value for name, value in rows.items()}


def check_rejections(model, session, rejected, checks: list[str], limit: int = 8) -> None:
    """Each row that the Keras model's checks reject (the first ``limit``) must make onnxruntime fail too."""
    for i in range(min(row_count(rejected), limit)):
        row = take_rows(rejected, [i])
        try:
            session.run(None, _ort_feed(model, row))
        except Exception:  # the failure is the expected outcome
            continue
        raise ExportError(
            f"The Keras model {model.name!r} fails on a row where the ONNX file answers: an inference-time "
            f"check ({'; '.join(checks) or 'unknown'}) did not survive the conversion. Row: "
            f"{str({k: v.tolist() for k, v in row.items()})[:300]}. Nothing was written; "
            "export(format='saved_model') keeps the checks."
        )


def without_boundary(proto):
    """``proto`` without the boundary outputs, and without the nodes that only fed them."""
    kept = [o for o in proto.graph.output if not o.name.startswith(BOUNDARY)]
    del proto.graph.output[:]
    proto.graph.output.extend(kept)
    while True:
        read = {name for n in proto.graph.node for name in n.input} | {o.name for o in kept}
        dead = [n for n in proto.graph.node if not any(out in read for out in n.output)]
        if not dead:
            return proto
        for node in dead:
            proto.graph.node.remove(node)


def onnx_parity(model, session, rows, expected, *, split, rtol: float, atol: float) -> ParityReport:
    """onnxruntime on ``rows`` against the Keras model's ``expected`` outputs, in two parts.

    The boundary outputs (the tensors the network receives) at the strict rule; the model's
    outputs at the strict rule plus the network's float32 rounding bound on each row
    (:func:`keras_embed_prep.bounds.network_bound`). Raises ExportError naming the part and
    the worst column if they differ.
    """
    names = [o.name for o in session.get_outputs()]
    try:
        got = dict(zip(names, session.run(None, _ort_feed(model, rows)), strict=True))
    except Exception as exc:  # onnxruntime refused rows the Keras model accepts
        raise ExportError(
            f"onnxruntime failed on rows that the Keras model {model.name!r} accepts "
            f"({type(exc).__name__}: {first_line(exc)}). Nothing was written."
        ) from exc
    return compare_outputs(model, got, expected, split=split, rtol=rtol, atol=atol)
