"""KBinsDiscretizer: per-column bins from the fitted ``bin_edges_``, ordinal or one-hot."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.preprocessing import KBinsDiscretizer

from ..blocks import bins, categories
from ..registry import register_converter
from ._checks import refuse


def _inner_edges(estimator) -> list[np.ndarray]:
    """``bin_edges_[j][1:-1]`` per column, after checking they agree with ``n_bins_``."""
    edges = [np.asarray(e, dtype=np.float64) for e in estimator.bin_edges_]
    n_bins = np.asarray(estimator.n_bins_)
    for j, e in enumerate(edges):
        if e.ndim != 1 or e.size != n_bins[j] + 1 or not np.all(e[1:-1][1:] >= e[1:-1][:-1]):
            raise refuse(
                estimator,
                "bin_edges_",
                f"column {j}: {e.tolist()} with n_bins_={n_bins[j]}",
                "each column needs n_bins_ + 1 sorted edges, as fit() writes them; refit "
                "instead of editing bin_edges_ or n_bins_.",
            )
    return [e[1:-1] for e in edges]


@register_converter(
    KBinsDiscretizer,
    notes=(
        "Any strategy, quantile_method, n_bins (per column too), subsample, random_state, dtype; "
        "encode='ordinal', 'onehot' (densified), 'onehot-dense'. Bins from the fitted bin_edges_ "
        "(searchsorted side='right' in float64, removed bins and constant columns included). "
        "NaN, which scikit-learn rejects, lands in bin 0; +inf in the last bin."
    ),
)
def convert_kbins_discretizer(estimator, x):
    ids = bins.bucketize(x, _inner_edges(estimator))
    if estimator.encode == "ordinal":
        return ids
    if estimator.encode not in ("onehot", "onehot-dense"):
        raise refuse(estimator, "encode", estimator.encode, "use 'ordinal', 'onehot' or 'onehot-dense'.")
    n_bins = np.asarray(estimator.n_bins_, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_bins)[:-1]]).astype(np.float64)
    return categories.one_hot(ops.add(ids, offsets), int(n_bins.sum()))
