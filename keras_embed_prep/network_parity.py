"""``verify(..., model=)``: an embedded model at its boundary strictly, its outputs within the bound."""

from __future__ import annotations

import keras
import numpy as np

from .bounds import network_bound, network_split
from .convert import to_keras
from .parity import ParityReport, compare


def verify_network(preprocessor, embedded, model, inputs, ours, boundary, rtol, atol) -> ParityReport:
    """An embedded model against ``model(boundary)``: the boundary strictly, the outputs within the bound.

    The boundary is the embedded model's own where it computes it as one tensor; where it is
    fused into the first layer, it is ``to_keras(preprocessor)``'s (the same converters).
    """
    x = boundary.astype(np.float32)
    reference = model.predict(x, verbose=0)
    split, note = network_split(embedded), ""
    if (
        split is not None
        and len(split.boundary) == 1
        and tuple(split.boundary[0].shape) == (None, x.shape[1])
    ):
        ours_x = keras.Model(embedded.inputs, split.boundary[0]).predict(inputs, verbose=0)
    else:
        note = "the boundary is fused into the first layer: compared as to_keras(preprocessor) computes it"
        ours_x = to_keras(preprocessor).predict(inputs, verbose=0)
    ours_x = np.asarray(ours_x, dtype=np.float64)
    pre = compare(ours_x, boundary, rtol=rtol, atol=atol)
    with np.errstate(invalid="ignore"):
        gap = np.abs(ours_x - x.astype(np.float64))
    own = network_split(model)
    bounds, why = (None, "no graph") if own is None else network_bound(own, [x], [gap])
    bound = None if bounds is None or len(bounds) != 1 else next(iter(bounds.values()))
    flat = np.asarray(reference).reshape(len(x), -1)
    report = compare(
        np.asarray(ours).reshape(len(x), -1),
        flat,
        rtol=rtol,
        atol=atol,
        bound=None if bound is None else bound.reshape(flat.shape),
    )
    report.preprocessing, report.note = pre, "; ".join(n for n in (note, why) if n)
    return report
