"""``verify(..., model=)``: an embedded model at its boundary strictly, its outputs within the bound."""

from __future__ import annotations

import keras
import numpy as np

from .bounds import network_bound, network_split
from .convert import to_keras
from .parity import ParityReport, compare


class NetworkCheck:
    """An embedded model against ``model(boundary)``, chunk by chunk of rows.

    Built once per ``verify`` call (the model that computes our boundary, the user's
    network split for the bound); called on each chunk, it checks the boundary strictly
    and the outputs within the float32 rounding bound. The boundary is the embedded
    model's own where it computes it as one tensor; where it is fused into the first
    layer, it is ``to_keras(preprocessor)``'s (the same converters).
    """

    def __init__(self, preprocessor, embedded: keras.Model, model: keras.Model, width: int):
        self.model = model
        split, self.note = network_split(embedded), ""
        if split is not None and len(split.boundary) == 1 and tuple(split.boundary[0].shape) == (None, width):
            self.boundary_model = keras.Model(embedded.inputs, split.boundary[0])
        else:
            self.note = (
                "the boundary is fused into the first layer: compared as to_keras(preprocessor) computes it"
            )
            self.boundary_model = to_keras(preprocessor)
        self.own = network_split(model)

    def __call__(self, inputs, ours, boundary: np.ndarray, rtol: float, atol: float) -> ParityReport:
        """The report of one chunk: ``inputs`` to the embedded model, ``ours`` its outputs."""
        x = boundary.astype(np.float32)
        reference = self.model.predict(x, verbose=0)
        ours_x = np.asarray(self.boundary_model.predict(inputs, verbose=0), dtype=np.float64)
        pre = compare(ours_x, boundary, rtol=rtol, atol=atol)
        with np.errstate(invalid="ignore"):
            gap = np.abs(ours_x - x.astype(np.float64))
        bounds, why = (None, "no graph") if self.own is None else network_bound(self.own, [x], [gap])
        bound = None if bounds is None or len(bounds) != 1 else next(iter(bounds.values()))
        flat = np.asarray(reference).reshape(len(x), -1)
        report = compare(
            np.asarray(ours).reshape(len(x), -1),
            flat,
            rtol=rtol,
            atol=atol,
            bound=None if bound is None else bound.reshape(flat.shape),
        )
        report.preprocessing, report.note = pre, "; ".join(n for n in (self.note, why) if n)
        return report
