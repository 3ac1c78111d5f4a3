"""Sparse autoencoder (spec 4.5): sparsity_beta / average_activation end to end."""
import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl import DeepLearningEstimator

NUM = ["AGE", "PSA", "VOL", "GLEASON"]


def _frame(prostate):
    df = prostate()
    df["GLEASON"] = df["GLEASON"].astype(float)
    return df[NUM]


def _mean_hidden(m, df):
    return float(m.deepfeatures(df, 0).to_numpy().mean())


@pytest.mark.parametrize("act,target", [("Tanh", -0.6), ("Rectifier", 0.05)])
def test_sparsity_pulls_mean_activation_to_target(prostate, act, target):
    df = _frame(prostate)
    kw = dict(autoencoder=True, activation=act, hidden=[12], epochs=30, seed=1, reproducible=True)
    dense = DeepLearningEstimator(**kw)
    dense.train(x=NUM, training_frame=df)
    sparse = DeepLearningEstimator(sparsity_beta=0.5, average_activation=target, **kw)
    sparse.train(x=NUM, training_frame=df)
    gap_dense = abs(_mean_hidden(dense, df) - target)
    gap_sparse = abs(_mean_hidden(sparse, df) - target)
    assert gap_sparse < 0.5 * gap_dense, (gap_sparse, gap_dense)
    # reconstruction errors stay finite (a strong pull trades reconstruction for sparsity)
    assert np.isfinite(sparse.anomaly(df)["Reconstruction.MSE"].to_numpy()).all()
    # running activations are state of the model, tracked for the hidden units only
    ra = sparse.fit_state.net.Ra
    units = sparse.fit_state.net.layout.units
    assert ra.shape == (int(units.sum()),)
    assert np.abs(ra[units[0]:units[0] + 12]).max() > 0
    assert not ra[:units[0]].any()


def test_sparse_state_survives_save_load_and_checkpoint(prostate, tmp_path):
    df = _frame(prostate)
    m = DeepLearningEstimator(autoencoder=True, activation="Tanh", hidden=[6], epochs=3, seed=2, reproducible=True,
                              sparsity_beta=0.5, average_activation=-0.3)
    m.train(x=NUM, training_frame=df)
    path = daskdl.save_model(m, str(tmp_path))
    back = daskdl.load_model(path)
    np.testing.assert_array_equal(back.fit_state.net.Ra, m.fit_state.net.Ra)
    pd.testing.assert_frame_equal(back.anomaly(df), m.anomaly(df))
    cont = DeepLearningEstimator(autoencoder=True, activation="Tanh", hidden=[6], epochs=6, seed=2,
                                 reproducible=True, sparsity_beta=0.5, average_activation=-0.3, checkpoint=path)
    cont.train(x=NUM, training_frame=df)
    assert cont.fit_state.epochs >= 6
    assert not np.array_equal(cont.fit_state.net.Ra, m.fit_state.net.Ra)


def test_sparse_autoencoder_on_two_workers(prostate, client):
    import dask.dataframe as dd

    df = dd.from_pandas(_frame(prostate), npartitions=4)
    m = DeepLearningEstimator(autoencoder=True, activation="Rectifier", hidden=[8], epochs=4, seed=3,
                              sparsity_beta=1.0, average_activation=0.1, mini_batch_size=4)
    m.train(x=NUM, training_frame=df)
    ra = m.fit_state.net.Ra
    assert np.isfinite(ra).all() and np.abs(ra).max() > 0
    assert np.isfinite(m.anomaly(df).compute()["Reconstruction.MSE"]).all()


@pytest.mark.parametrize("kw,needle", [
    (dict(activation="Rectifier", sparsity_beta=0.5, average_activation=0.0), "average_activation must be > 0"),
    (dict(activation="Tanh", sparsity_beta=0.5, average_activation=1.5), "average_activation must be in (-1, 1)"),
])
def test_sparse_autoencoder_target_is_checked(prostate, kw, needle):
    m = DeepLearningEstimator(autoencoder=True, hidden=[4], epochs=1, **kw)
    with pytest.raises(ValueError) as ei:
        m.train(x=NUM, training_frame=_frame(prostate))
    assert needle in str(ei.value)
