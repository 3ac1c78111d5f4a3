"""Gedeon (1997) variable importance from the first two weight matrices (spec section 8)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def gedeon_varimp(W1, W2=None, coef_names=None, na_slot_zero_mask=None) -> pd.DataFrame:
    """Variable importance per expanded input feature (coefficient).

    Parameters
    ----------
    W1 : (n1, n0) weights input -> hidden layer 1 (row j = incoming weights of hidden unit j).
         With no hidden layer (H == 0) pass the input -> output matrix here and ``W2=None``.
    W2 : (n2, n1) weights hidden 1 -> next layer (the output layer when there is one hidden
         layer), or None when the network has no hidden layer.
    coef_names : n0 coefficient names (e.g. ``DPROS.2``, ``RACE.missing(NA)``); default C1..Cn0.
    na_slot_zero_mask : optional (n0,) bool; True marks a categorical NA slot that never saw a
         training row with NA, whose importance is set to 0 after the max-scaling.

    Maxout layers hold two channels per unit.  H2O reads those matrices as if single-channel,
    which mixes the channels; here the caller passes, for a maxout layer, the mean of the two
    channels' absolute weights (``(|W_a| + |W_b|) / 2``) as ``W1``/``W2``.  Only absolute values
    are used, so such an array can be passed directly.

    Returns a DataFrame with columns ``variable, relative_importance, scaled_importance,
    percentage`` sorted by decreasing importance (ties keep coefficient order).
    ``relative_importance`` and ``scaled_importance`` are v / max(v); ``percentage`` is v / sum(v).
    """
    A1 = np.abs(np.asarray(W1, dtype=np.float64))
    if A1.ndim != 2:
        raise ValueError(f"W1 must be a 2-D (n1, n0) array; got shape {A1.shape}")
    n1, n0 = A1.shape
    if coef_names is None:
        coef_names = [f"C{i + 1}" for i in range(n0)]
    coef_names = [str(c) for c in coef_names]
    if len(coef_names) != n0:
        raise ValueError(f"coef_names has {len(coef_names)} names but W1 has {n0} input columns")

    if W2 is None:
        v = A1.sum(axis=0)
    else:
        A2 = np.abs(np.asarray(W2, dtype=np.float64))
        if A2.ndim != 2 or A2.shape[1] != n1:
            raise ValueError(f"W2 must be a 2-D (n2, {n1}) array matching W1's {n1} hidden units; "
                             f"got shape {A2.shape}")
        s = A1.sum(axis=1)                       # per hidden-1 unit
        u = A2.sum(axis=1)                       # per next-layer unit
        R1 = np.divide(A1, s[:, None], out=np.zeros_like(A1), where=s[:, None] > 0)
        R2 = np.divide(A2, u[:, None], out=np.zeros_like(A2), where=u[:, None] > 0)
        Q = R1.T @ R2.T                          # (n0, n2): Q[i,k] = sum_j R1[j,i] R2[k,j]
        colsum = Q.sum(axis=0)
        Q = np.divide(Q, colsum[None, :], out=np.zeros_like(Q), where=colsum[None, :] > 0)
        v = Q.sum(axis=1)

    vmax = v.max() if v.size else 0.0
    v = v / vmax if vmax > 0 else np.zeros_like(v)
    if na_slot_zero_mask is not None:
        mask = np.asarray(na_slot_zero_mask, dtype=bool).reshape(-1)
        if mask.shape[0] != n0:
            raise ValueError(f"na_slot_zero_mask has {mask.shape[0]} entries but W1 has {n0} input columns")
        v = np.where(mask, 0.0, v)
    total = v.sum()
    pct = v / total if total > 0 else np.zeros_like(v)
    order = np.argsort(-v, kind="stable")
    return pd.DataFrame({
        "variable": [coef_names[i] for i in order],
        "relative_importance": v[order],
        "scaled_importance": v[order],
        "percentage": pct[order],
    }).reset_index(drop=True)


def network_varimp(net, schema) -> pd.DataFrame:
    """Gedeon importances of a trained network's expanded inputs (``schema.coef_names``): the first
    two weight matrices, a maxout layer's two channels averaged, never-seen NA slots set to 0."""
    lay = net.layout

    def absw(l):
        w = np.abs(net.weight(l).astype(np.float64))
        if lay.is_maxout(l):  # mean of the two channels' |w| (spec 8, Maxout FIX)
            w = w.reshape(-1, 2, w.shape[1]).mean(axis=1)
        return w

    W1 = absw(1)
    W2 = absw(2) if lay.n_layers >= 2 else None
    mask = None
    if schema.n_cat and not schema.hashing:
        mask = np.zeros(schema.n_in, dtype=bool)
        for j in range(schema.n_cat):
            if not schema.cat_na_seen[j]:
                mask[int(schema.cat_offsets[j + 1]) - 1] = True
    return gedeon_varimp(W1, W2, schema.coef_names, mask)
