"""H2O's model plots with matplotlib (an optional dependency: ``pip install 'daskdl[plot]'``).

Every function returns the matplotlib ``Figure`` (shown inline in notebooks, never blocking a
script); ``save_plot_path`` also writes it to a file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_AUTO_METRICS = ("logloss", "deviance", "mse", "rmse")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover
        raise ImportError("plots need matplotlib: pip install 'daskdl[plot]'") from e
    return plt


def _finish(fig, save_plot_path):
    fig.tight_layout()
    if save_plot_path is not None:
        fig.savefig(save_plot_path)
    return fig


def _metric_name(history: pd.DataFrame, metric: str) -> str:
    available = [c[len("training_"):] for c in history.columns
                 if c.startswith("training_") and c != "training_speed"]
    if metric is None or str(metric).upper() == "AUTO":
        for m in _AUTO_METRICS:
            if m in available:
                return m
        return available[0]
    m = str(metric).lower()
    if m not in available:
        raise ValueError(f"metric must be 'AUTO' or one of {available} (the scoring history's metrics); "
                         f"got {metric!r}")
    return m


def scoring_history_plot(model, timestep="AUTO", metric="AUTO", save_plot_path=None, title=None):
    """H2O's ``model.plot()``: a metric of the scoring history, training and validation, against
    epochs (``timestep="epochs"``, the default), ``"samples"`` or ``"duration"``."""
    hist = model.scoring_history()
    ts = "epochs" if str(timestep).upper() == "AUTO" else str(timestep).lower()
    if ts not in ("epochs", "samples", "duration", "iterations"):
        raise ValueError(f"timestep must be 'AUTO', 'epochs', 'samples', 'iterations' or 'duration'; got {timestep!r}")
    m = _metric_name(hist, metric)
    x = hist[ts]
    if ts == "duration":
        x = pd.to_timedelta(x, errors="coerce").dt.total_seconds() if not np.issubdtype(x.dtype, np.number) else x
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, hist[f"training_{m}"], "o-", label="training", color="tab:blue")
    if f"validation_{m}" in hist.columns and hist[f"validation_{m}"].notna().any():
        ax.plot(x, hist[f"validation_{m}"], "o-", label="validation", color="tab:orange")
    ax.set_xlabel(ts + (" (s)" if ts == "duration" else ""))
    ax.set_ylabel(m)
    ax.set_title(title or f"Scoring History ({m})")
    ax.legend()
    ax.grid(alpha=0.3)
    return _finish(fig, save_plot_path)


def learning_curve_plot(model, metric="AUTO", cv_ribbon=None, cv_lines=None, figsize=(10, 6), colormap=None,
                        save_plot_path=None):
    """H2O's ``learning_curve_plot``: training, validation and (with cross-validation models)
    the fold models' holdout curves, as a mean with a +-1 sd ribbon (``cv_ribbon``) and/or one
    line per fold (``cv_lines``), against epochs."""
    hist = model.scoring_history()
    m = _metric_name(hist, metric)
    folds = model.cross_validation_models()
    if cv_ribbon is None:
        cv_ribbon = bool(folds)
    if cv_lines is None:
        cv_lines = bool(folds) and not cv_ribbon
    plt = _pyplot()
    cmap = plt.get_cmap(colormap or "tab10")
    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(hist["epochs"], hist[f"training_{m}"], "o-", color=cmap(0), label="Training")
    if f"validation_{m}" in hist.columns and hist[f"validation_{m}"].notna().any():
        ax.plot(hist["epochs"], hist[f"validation_{m}"], "o-", color=cmap(1), label="Validation")
    if folds:
        curves = []
        for f in folds:
            h = f.scoring_history()
            col = f"validation_{m}" if f"validation_{m}" in h.columns else f"training_{m}"
            curves.append((h["epochs"].to_numpy(float), h[col].to_numpy(float)))
            if cv_lines:
                ax.plot(curves[-1][0], curves[-1][1], "--", color=cmap(2), alpha=0.5, linewidth=1)
        if cv_ribbon:
            grid = np.unique(np.concatenate([c[0] for c in curves]))
            vals = np.array([np.interp(grid, e, v) for e, v in curves])
            mean, sd = np.nanmean(vals, axis=0), np.nanstd(vals, axis=0)
            ax.plot(grid, mean, "o-", color=cmap(2), label="Cross-validation")
            ax.fill_between(grid, mean - sd, mean + sd, color=cmap(2), alpha=0.2)
        elif cv_lines:
            ax.plot([], [], "--", color=cmap(2), label="Cross-validation folds")
    ax.set_xlabel("epochs")
    ax.set_ylabel(m)
    ax.set_title(f"Learning Curve for {model.model_id}")
    ax.legend()
    ax.grid(alpha=0.3)
    return _finish(fig, save_plot_path)


def varimp_plot(model, num_of_features=None, save_plot_path=None):
    """H2O's ``varimp_plot``: scaled variable importances, largest on top (10 by default)."""
    vi = model.varimp(use_pandas=True)
    if vi is None:
        raise ValueError(f"model {model.model_id} has no variable importances (variable_importances=False or an "
                         "autoencoder)")
    n = 10 if num_of_features is None else int(num_of_features)
    if n < 1:
        raise ValueError(f"num_of_features must be >= 1; got {num_of_features!r}")
    top = vi.head(n).iloc[::-1]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(top) + 1)))
    ax.barh(top["variable"].astype(str), top["scaled_importance"], color="tab:blue")
    ax.set_xlabel("scaled importance")
    ax.set_xlim(0, 1.05)
    ax.set_title(f"Variable Importance: Deep Learning ({model.model_id})")
    return _finish(fig, save_plot_path)


def metrics_plot(metrics, type="roc", save_plot_path=None):
    """H2O's ``model_performance().plot()``: the ROC curve (``type="roc"``) or the
    precision-recall curve (``type="pr"``) of binomial metrics."""
    if metrics.kind != "binomial":
        raise ValueError(f"plot() draws ROC / PR curves of binomial metrics; these are {metrics.kind}")
    kind = str(type).lower()
    if kind not in ("roc", "pr"):
        raise ValueError(f"type must be 'roc' or 'pr'; got {type!r}")
    t = metrics.thresholds_and_metric_scores()
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if kind == "roc":
        fpr = np.concatenate([[0.0], t["fpr"].to_numpy(), [1.0]])
        tpr = np.concatenate([[0.0], t["tpr"].to_numpy(), [1.0]])
        ax.plot(fpr, tpr, "-", color="tab:blue", label=f"AUC = {metrics.auc():.4f}")
        ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
        ax.set_xlabel("False Positive Rate")
        ax.set_ylabel("True Positive Rate")
        ax.set_title("ROC Curve")
    else:
        ax.plot(t["recall"], t["precision"], "-", color="tab:blue", label=f"AUCPR = {metrics.aucpr():.4f}")
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_title("Precision Recall Curve")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _finish(fig, save_plot_path)
