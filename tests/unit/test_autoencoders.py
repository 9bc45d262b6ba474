"""Autoencoders: shapes of every registered model, the KL term, training that reconstructs better and better,
decoding latent points, the PCA baseline, anomaly scores, the background job and the figures."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from labcore.autoencoders import AUTOENCODERS, AEConfig, AutoencoderJob, build_autoencoder, kl_divergence
from labcore.autoencoders.anomaly import AnomalyScores, auc
from labcore.autoencoders.latent import encode, interpolate, latent_view, reconstruct, sample_grid
from labcore.autoencoders.models import conv_plan, reparameterise
from labcore.autoencoders.pca import fit_pca
from labcore.autoencoders.train import corrupt, display_set, train_autoencoder
from labcore.config import DataConfig, TrainConfig
from labcore.data import load_dataset
from labcore.engine import Engine
from labcore.i18n import LabError
from labcore.viz.autoencoders import (
    ae_curves_figure,
    anomaly_histogram_figure,
    anomaly_roc_figure,
    latent_scatter_figure,
    reconstruction_grid_figure,
)

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


def _cfg(**changes) -> AEConfig:
    return AEConfig(train=TrainConfig(epochs=changes.pop("epochs", 4), num_threads=1)).with_(**changes)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", AUTOENCODERS.names())
def test_every_model_keeps_the_input_shape_and_has_k_codes(name, shape):
    model = build_autoencoder(name, shape, latent_dim=3, width=32, seed=0)
    x = torch.rand(5, *shape)
    out = model(x)
    assert out.recon.shape == x.shape
    assert out.z.shape == (5, 3) and model.encode(x).shape == (5, 3)
    assert model.decode(torch.zeros(2, 3)).shape == (2, *shape)
    assert 0 <= out.recon.min() and out.recon.max() <= 1  # sigmoid pixels, like the inputs
    if model.variational:
        assert out.mu.shape == out.logvar.shape == (5, 3)
    else:
        assert out.mu is None and out.logvar is None


def test_the_dense_model_is_the_books_784_128_64_2_network():
    model = build_autoencoder("dense", (1, 28, 28), latent_dim=2, width=128)
    assert sum(p.numel() for p in model.parameters()) == 218_514  # the book's count for its MNIST autoencoder


def test_conv_plan_halves_down_to_a_small_even_map():
    assert conv_plan((1, 8, 8), 128) == ([16, 32], 4)
    assert conv_plan((1, 28, 28), 128) == ([16, 32, 64], 7)
    assert conv_plan((3, 32, 32), 128) == ([16, 32, 64, 64], 4)


def test_kl_is_non_negative_zero_at_the_prior_and_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(64, 4) * 2, torch.randn(64, 4)
    kl = kl_divergence(mu, logvar)
    assert kl.shape == (64,) and (kl >= 0).all()
    oracle = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(kl, oracle, rtol=1e-5, atol=1e-5)
    assert kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).abs().max() < 1e-7


def test_reparameterisation_is_seeded_and_has_the_posteriors_spread():
    mu, logvar = torch.full((20000, 1), 3.0), torch.full((20000, 1), np.log(0.25))
    a = reparameterise(mu, logvar, torch.Generator().manual_seed(1))
    b = reparameterise(mu, logvar, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert abs(a.mean().item() - 3.0) < 0.02 and abs(a.std().item() - 0.5) < 0.02


@pytest.mark.parametrize("name", ["dense", "conv", "vae"])
def test_reconstruction_error_falls_during_training(name, digits):
    trainer = train_autoencoder(_cfg(model=name, epochs=6), digits)
    rows = trainer.log.epochs
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    assert rows[-1]["val_recon"] < 0.8 * rows[0]["val_recon"]
    assert rows[-1]["recon"] < rows[0]["recon"]
    assert all(r["kl"] >= 0 and r["val_kl"] >= 0 for r in rows)
    assert all((r["kl"] > 0) == (name == "vae") for r in rows)  # only a VAE pays for its codes


def test_training_is_seeded(digits):
    a = train_autoencoder(_cfg(model="vae", epochs=2, noise=0.2), digits).log.epochs
    b = train_autoencoder(_cfg(model="vae", epochs=2, noise=0.2), digits).log.epochs
    assert [r["val_loss"] for r in a] == [r["val_loss"] for r in b]


def test_a_trained_autoencoder_beats_pca_with_the_same_k(digits):
    trainer = train_autoencoder(_cfg(epochs=30), digits)
    pca = fit_pca(trainer.train_x, 2)
    ae_error = float(((reconstruct(trainer.model, trainer.val_x) - trainer.val_x.numpy()) ** 2).mean())
    assert ae_error < pca.errors(trainer.val_x).mean()


def test_pca_with_every_component_reconstructs_exactly(digits):
    x = digits.x_train[:200]
    assert fit_pca(x, 64).errors(x).max() < 1e-9
    two = fit_pca(x, 2)
    assert two.encode(x).shape == (200, 2) and two.reconstruct(x).shape == x.shape and 0 < two.explained_variance < 1


def test_denoising_noise_is_clipped_and_repeatable():
    x = torch.rand(10, 1, 8, 8)
    noisy = corrupt(x, 0.5, seed=3)
    assert torch.equal(noisy, corrupt(x, 0.5, seed=3)) and not torch.equal(noisy, x)
    assert 0 <= noisy.min() and noisy.max() <= 1
    assert corrupt(x, 0.0) is x


@pytest.mark.parametrize("k", [2, 5])
def test_decoding_a_latent_point_gives_an_image_of_the_input_shape(k, digits):
    model = build_autoencoder("dense", (1, 8, 8), latent_dim=k, width=32, seed=0)
    x, y = display_set(digits, 100)
    view = latent_view(model, x, y, epoch=0)
    assert view.points.shape == (100, 2) and view.codes.shape == (100, k)
    assert (view.projection is None) == (k == 2)
    image = view.decode_xy([0.1, -0.2])
    assert image.shape == (1, 1, 8, 8) and np.isfinite(image).all()
    if k > 2:  # the scatter's plane maps back onto the codes: a dot decodes close to its own image
        back = view.to_latent(view.points[:5])
        assert back.shape == (5, k)
        # the plane keeps the two main directions, so mapping back is at least as close as the mean code
        assert np.linalg.norm(back - view.codes[:5]) <= np.linalg.norm(view.codes[:5] - view.codes.mean(0)) + 1e-6


def test_the_latent_view_is_a_frozen_copy(digits):
    model = build_autoencoder("dense", (1, 8, 8), latent_dim=2, width=32, seed=0)
    x, y = display_set(digits, 20)
    view = latent_view(model, x, y, epoch=1)
    before = view.decode_xy([0.0, 0.0])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert np.array_equal(before, view.decode_xy([0.0, 0.0]))


def test_interpolation_starts_and_ends_at_the_two_reconstructions(digits):
    model = build_autoencoder("conv", (1, 8, 8), latent_dim=2, width=32, seed=0)
    a, b = digits.x_test[0], digits.x_test[1]
    latent, blend = interpolate(model, a, b, steps=7)
    assert latent.shape == blend.shape == (7, 1, 8, 8)
    np.testing.assert_allclose(latent[0], reconstruct(model, a[None])[0], atol=1e-5)
    np.testing.assert_allclose(latent[-1], reconstruct(model, b[None])[0], atol=1e-5)
    np.testing.assert_allclose(blend[-1], b.numpy(), atol=1e-6)


@pytest.mark.parametrize(("name", "k"), [("vae", 2), ("vae", 4), ("dense", 2), ("dense", 3)])
def test_sample_grids(name, k, digits):
    model = build_autoencoder(name, (1, 8, 8), latent_dim=k, width=32, seed=0)
    codes = encode(model, digits.x_val)
    images = sample_grid(model, 4, codes=codes, seed=0)
    assert images.shape == (16, 1, 8, 8)
    assert np.array_equal(images, sample_grid(model, 4, codes=codes, seed=0))


def test_anomaly_scores_count_and_agree_with_sklearn():
    errors = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.25])
    is_anomaly = np.array([False, False, False, True, True, True])
    scores = AnomalyScores(errors, is_anomaly, normal_errors=np.array([0.1, 0.2, 0.3]))
    at = scores.at(0.5)
    assert (at["flagged"], at["tp"], at["fp"], at["recall"], at["false_alarm_rate"], at["precision"]) == \
        (2, 2, 0, 2 / 3, 0.0, 1.0)
    _, _, _, value = scores.roc()
    assert value == pytest.approx(roc_auc_score(is_anomaly, errors))
    assert 0.2 < scores.default_threshold() <= 0.3
    assert np.isnan(auc(errors, np.zeros(6, bool)))


def test_held_out_classes_are_not_trained_on(digits):
    cfg = _cfg(epochs=25, holdout=(0,))
    trainer = train_autoencoder(cfg, digits)
    assert len(trainer.train_x) == int((digits.y_train != 0).sum())
    with pytest.raises(LabError, match="nothing is left"):
        train_autoencoder(_cfg(holdout=tuple(range(10))), digits)


def _wait(job, until, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline and not until(job):
        time.sleep(0.05)
    assert until(job), f"job status {job.status}"


def test_the_background_job_streams_snapshots_and_scores_anomalies():
    registry = Engine()
    job = registry.submit(_cfg(epochs=20, holdout=(1,)), job_class=AutoencoderJob)
    assert job.join(60) and job.status == "finished", job.error
    view = job.latest()
    assert view.epoch == 20 and view.points.shape == (len(job.display[1]), 2)
    assert 1 in view.labels  # the scatter shows the held-out class too
    _, epochs = job.snapshot()
    assert len(epochs) == 20 and job.pca_val_recon > 0
    out = job.outcome
    assert out.scores.has_both and out.test_recon < out.pca_test_recon
    assert out.scores.roc()[3] > 0.6  # a class it never saw rebuilds worse than the ones it did
    assert job.progress()["epoch"] == 20


def test_the_job_pauses_and_stops_between_batches():
    registry = Engine()
    job = registry.submit(_cfg(epochs=300).with_(train={"step_delay": 0.005, "num_threads": 1}),
                          job_class=AutoencoderJob)
    _wait(job, lambda j: j.latest() is not None and j.status == "running")
    job.pause()
    assert job.status == "paused"
    job.resume()
    job.stop()
    assert job.join(5) and job.status == "stopped"
    assert job.outcome is not None  # a stopped model is still scored


def test_a_tabular_dataset_fails_with_a_sentence():
    job = Engine().submit(_cfg(data={"name": "wine"}), job_class=AutoencoderJob)
    assert job.join(30) and job.status == "failed"
    assert "not an image dataset" in job.error.message()


def test_config_with_sorts_holdout_and_updates_groups():
    cfg = AEConfig().with_(holdout=[3, 1, 3], data={"name": "shapes"}, train={"epochs": 2})
    assert cfg.holdout == (1, 3) and cfg.data == DataConfig(name="shapes") and cfg.train.epochs == 2


# -- figures -------------------------------------------------------------------------------------------------
def test_latent_scatter_has_one_trace_per_class_plus_the_click_grid_and_the_star():
    points, labels = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 3
    fig = latent_scatter_figure(points, labels, ["a", "b", "c"], held_out=(2,), bounds=(-2, 2, -2, 2),
                                picked=(0.5, 0.5))
    names = [tr.name for tr in fig.data]
    assert names[1:4] == ["a", "b", "c (held out)"]
    assert len(fig.data[0].x) == 31 * 31 and fig.data[0].marker.opacity == 0
    assert list(fig.data[1].customdata) == [i for i in range(30) if i % 3 == 0]
    assert fig.data[-1].marker.symbol == "star"
    empty = latent_scatter_figure(np.zeros((0, 2)), np.zeros(0), [])
    assert len(empty.data) == 0 and empty.layout.annotations


def test_curves_anomaly_and_gallery_figures_build():
    rows = [{"epoch": e, "recon": 0.1 / e, "val_recon": 0.11 / e, "kl": 2.0, "val_kl": 2.1} for e in (1, 2, 3)]
    fig = ae_curves_figure(rows, pca_recon=0.05, variational=True)
    assert len(fig.data) == 5 and fig.layout.yaxis2.title.text.startswith("KL")
    assert fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]
    assert len(ae_curves_figure(rows).data) == 2 and ae_curves_figure([]).layout.annotations
    errors, is_anomaly = np.linspace(0, 1, 50), np.arange(50) > 40
    hist = anomaly_histogram_figure(errors, is_anomaly, 0.5)
    assert len(hist.data) == 2 and hist.layout.shapes[0].x0 == 0.5
    roc = anomaly_roc_figure([0, 0.5, 1], [0, 0.8, 1], 0.8, point=(0.1, 0.5), pca_roc=([0, 1], [0, 1], 0.5))
    assert len(roc.data) == 4 and "0.800" in roc.data[1].name
    x = np.random.default_rng(0).random((4, 1, 8, 8))
    grid = reconstruction_grid_figure(x, x, noisy=x, pca=x, class_names=list("abcd"), labels=[0, 1, 2, 3])
    texts = [a.text for a in grid.layout.annotations]
    assert texts[:4] == list("abcd") and texts[-1] == "PCA 0.000" and len(texts) == 16
