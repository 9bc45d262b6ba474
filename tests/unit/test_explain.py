"""labcore.explain: attribution shapes, Grad-CAM localisation vs random weights, PGD vs FGSM, the TV
regulariser, SHAP additivity, feature maps, top losses, hostile uploads, and the figure builders."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from labcore import explain as ex
from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.explain.features import QUICK_CONFIG, float_test_images, single_thread
from labcore.i18n import LabError
from labcore.models import build_model, default_config
from labcore.train.trainer import Trainer
from labcore.viz import (
    beeswarm_figure,
    feature_maps_figure,
    importance_figure,
    localisation_figure,
    overlay_grid_figure,
    probability_bars_figure,
    probability_curve_figure,
    waterfall_figure,
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with single_thread():  # tiny models; extra threads only fight other tests for the 2 cores
        yield


@pytest.fixture(scope="module")
def cnn():
    """The page's quick default: a small CNN on 32x32 shapes (~99 % test accuracy)."""
    return ex.quick_model(QUICK_CONFIG)


@pytest.fixture(scope="module")
def images(cnn):
    _, data = cnn
    return float_test_images(data), data.y_test


def test_every_method_gives_a_normalised_map_of_the_image_size(cnn, images):
    model, _ = cnn
    x, y = images
    found = ex.explain_all(model, x[0], int(y[0]))
    assert [e.method for e in found] == list(ex.METHODS)
    for e in found:
        assert e.attribution.shape == (32, 32)
        assert e.attribution.min() >= 0 and e.attribution.max() == pytest.approx(1.0)
        assert e.target == int(y[0])
        assert e.seconds < 2.0, f"{e.method} took {e.seconds:.2f} s"


def test_models_without_convolutions_skip_grad_cam():
    data = load_dataset("digits")
    mlp = build_model(default_config("mlp"), data, seed=0).eval()
    found = ex.explain_all(mlp, data.x_test[0].float(), 0)
    assert {e.method for e in found} == {"integrated_gradients", "saliency", "occlusion"}
    assert found[0].attribution.shape == (8, 8)
    with pytest.raises(LabError):
        ex.explain(mlp, data.x_test[0].float(), "gradcam", 0)


def test_grad_cam_localises_the_shape_and_random_weights_do_not(cnn, images):
    model, data = cnn
    x, y = images
    masks = data.extras["masks_test"]
    trained = ex.localisation(model, x, y, masks)
    randomised = ex.localisation(ex.randomised_copy(model, seed=0), x, y, masks)
    assert trained.n == len(y)
    # The model-randomisation sanity check: the trained network's maps sit on the object far more often.
    assert trained.mass_inside > randomised.mass_inside + 0.1, (trained, randomised)
    assert trained.pointing > randomised.pointing + 0.2, (trained, randomised)
    assert trained.mass_inside > 2 * trained.mask_share  # and far above an even spread


def test_randomised_copy_leaves_the_original_alone(cnn, images):
    model, _ = cnn
    x, _ = images
    before = ex.predict_proba(model, x[:5])
    clone = ex.randomised_copy(model)
    assert not np.allclose(ex.predict_proba(clone, x[:5]), before)
    assert np.allclose(ex.predict_proba(model, x[:5]), before)


def test_pgd_flips_predictions_that_fgsm_with_the_same_eps_does_not(cnn, images):
    model, _ = cnn
    x, _ = images
    x = x[:100]
    pred = model(x).argmax(1)
    eps = 0.03
    fgsm_adv, pgd_adv = ex.fgsm(model, x, pred, eps), ex.pgd(model, x, pred, eps, steps=20)
    for adv in (fgsm_adv, pgd_adv):  # both stay valid images within the budget
        assert (adv - x).abs().max() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    fgsm_flipped = model(fgsm_adv).argmax(1) != pred
    pgd_flipped = model(pgd_adv).argmax(1) != pred
    assert pgd_flipped.float().mean() > fgsm_flipped.float().mean()
    assert (pgd_flipped & ~fgsm_flipped).any()


def test_targeted_pgd_makes_the_chosen_class_win(cnn, images):
    model, _ = cnn
    x, _ = images
    pred = int(ex.predict_proba(model, x[:1]).argmax())
    target = (pred + 1) % 4
    result = ex.attack(model, x[0], "pgd", eps=0.05, target=target, steps=40)
    assert result.success and int(result.probs_after.argmax()) == target
    assert result.perturbation.abs().max() <= 0.05 + 1e-6
    untargeted = ex.attack(model, x[0], "fgsm", eps=0.002)
    assert untargeted.label == pred and not untargeted.targeted


def test_total_variation_weight_smooths_the_ideal_image(cnn):
    model, _ = cnn
    kwargs = {"steps": 60, "lr": 0.05, "l2_weight": 0.0, "jitter": 1, "seed": 0}
    noisy = ex.ideal_image(model, 2, (3, 32, 32), tv_weight=0.0, **kwargs)
    smooth = ex.ideal_image(model, 2, (3, 32, 32), tv_weight=0.01, **kwargs)
    tv = lambda r: float(ex.total_variation(torch.from_numpy(r.image)))  # noqa: E731
    assert tv(smooth) < 0.9 * tv(noisy)
    assert noisy.probability[-1] > max(0.9, noisy.probability[0])  # the class probability rises
    assert noisy.snapshots.shape == (6, 3, 32, 32) and noisy.snapshot_steps[-1] == 60
    assert noisy.image.min() >= 0 and noisy.image.max() <= 1


@pytest.fixture(scope="module", params=["breast_cancer", "wine"])
def tabular(request):
    cfg = RunConfig().with_(data={"name": request.param},
                            model={"name": "mlp", "width": 16, "depth": 2, "batch_norm": False},
                            train={"epochs": 10, "device": "cpu"})
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.fit()
    return trainer.model.eval(), data


def test_shap_values_add_up_to_the_output_minus_its_average(tabular):
    model, data = tabular
    sv = ex.tabular_shap(model, data, rows=20, background=50)
    assert sv.values.shape == (20, data.input_shape[0], data.num_classes)
    # Additivity (local accuracy): sum_i phi_i(x) = f(x) - E[f(X)] for every row and every class.
    np.testing.assert_allclose(sv.values.sum(1), sv.outputs - sv.base, atol=1e-4)
    with torch.no_grad():
        mean_out = model(data.x_train.float()).mean(0).numpy()
    assert sv.base.shape == (data.num_classes,) and np.all(np.isfinite(mean_out))
    assert sv.perm_mean.shape == (data.input_shape[0],) and sv.perm_mean.max() > 0
    assert len(sv.feature_names) == data.input_shape[0]


def test_image_shap_gives_one_map_per_class(cnn, images):
    model, _ = cnn
    x, _ = images
    maps = ex.image_shap(model, x[0], x[100:116], samples=16)
    assert maps.shape == (4, 32, 32) and np.isfinite(maps).all()


def test_feature_maps_cover_every_conv_layer(cnn, images):
    model, _ = cnn
    x, _ = images
    layers = ex.feature_maps(model, x[0])
    assert [m.shape for _, m in layers] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_top_losses_are_wrong_and_sorted(cnn, images):
    model, _ = cnn
    x, y = images
    top = ex.top_losses(model, x, y, k=5)
    assert len(top.index) <= 5
    assert np.all(np.diff(top.loss) <= 0)
    assert np.all(top.predicted != y.numpy()[top.index])


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_uploads_are_resized_to_the_model_input():
    rgb = Image.new("RGB", (100, 60), (255, 0, 0))
    x = ex.image_from_bytes(_encode(rgb, "PNG"), (3, 32, 32))
    assert x.shape == (3, 32, 32) and x[0].mean() == pytest.approx(1.0) and x[1].max() == 0
    grey = ex.image_from_bytes(_encode(rgb, "JPEG"), (1, 8, 8))
    assert grey.shape == (1, 8, 8) and 0 < float(grey.mean()) < 1


@pytest.mark.parametrize("raw", [
    b"",
    b"not an image at all",
    _encode(Image.new("RGB", (8, 8)), "PNG")[:40],  # truncated
    _encode(Image.new("RGB", (8, 8)), "GIF"),  # readable, but not PNG/JPEG
    _encode(Image.new("1", (8000, 8000)), "PNG"),  # tiny file, 64 megapixels
])
def test_hostile_uploads_raise_a_readable_error(raw):
    with pytest.raises(LabError) as err:
        ex.image_from_bytes(raw, (3, 32, 32))
    assert "PNG or JPEG" in err.value.message()


def test_figure_builders(cnn, images):
    model, _ = cnn
    x, y = images
    found = ex.explain_all(model, x[0], int(y[0]))
    titles = ["image"] + [e.method for e in found]
    assert overlay_grid_figure(x[0].numpy(), [e.attribution for e in found], titles).data
    assert overlay_grid_figure(x[0].numpy(), [np.random.randn(32, 32)] * 4, titles[:5], signed=True).data
    names = ["a", "b", "c", "d"]
    assert len(probability_bars_figure(np.full(4, 0.25), names).data) == 1
    assert len(probability_bars_figure(np.full(4, 0.25), names, after=np.eye(4)[0]).data) == 2
    assert probability_curve_figure(np.linspace(0, 1, 10), "a").data
    rng = np.random.default_rng(0)
    values, feats = rng.normal(size=(20, 15)), rng.normal(size=(20, 15))
    fnames = [f"f{i}" for i in range(15)]
    bee = beeswarm_figure(values, feats, fnames, top=5)
    assert len(bee.data[0].x) == 20 * 5
    water = waterfall_figure(values[0], 0.3, fnames, feats[0], top=4)
    assert sum(water.data[0].x) == pytest.approx(values[0].sum())  # the lumped rest keeps the sum exact
    assert len(importance_figure(fnames, values, np.ones(15), np.zeros(15)).data) == 2
    assert feature_maps_figure(rng.normal(size=(8, 6, 6))).data
    scores = {"mass_inside": 0.4, "pointing": 0.8}
    assert len(localisation_figure(scores, scores, 0.12).data) == 3


def test_probability_bars_label_every_digit_class_including_the_winner():
    """Issue 19: class names "0".."9" made a numeric axis that labelled every other digit only."""
    digits = [str(d) for d in range(10)]
    probs = np.full(10, 0.02)
    probs[7] = 0.82  # the winner is an odd digit: the one a numeric axis left unlabelled
    for after in (None, np.eye(10)[3]):
        axis = probability_bars_figure(probs, digits, highlight=7, after=after).layout.yaxis
        assert axis.type == "category"
        assert sorted(axis.tickvals) == sorted(digits) and list(axis.ticktext) == list(axis.tickvals)


def test_grad_cam_reads_the_chosen_conv_layer_and_defaults_to_the_last(cnn, images):
    """Issue 18 item 15: the Explain page lets the user pick Grad-CAM's layer ("Convolution 2 of 3")."""
    from captum.attr import LayerAttribution, LayerGradCam

    model, _ = cnn
    x, y = images
    convs = ex.conv_layers(model)
    assert len(convs) == 3 and convs[-1] is ex.last_conv_layer(model)
    image, target = x[0], int(y[0])
    maps = [ex.explain(model, image, "gradcam", target, layer=i).attribution for i in range(len(convs))]
    for conv, got in zip(convs, maps, strict=True):  # each one is captum's LayerGradCam on that very layer
        cam = LayerGradCam(model, conv).attribute(image.unsqueeze(0).requires_grad_(True), target=target,
                                                  relu_attributions=False)
        cam = LayerAttribution.interpolate(cam, (32, 32), interpolate_mode="bilinear")[0, 0].detach().clamp_min(0)
        np.testing.assert_allclose(got, (cam / cam.max().clamp_min(1e-12)).numpy(), atol=1e-5)
    # no layer given: the last convolution, exactly as before the choice existed
    np.testing.assert_array_equal(ex.explain(model, image, "gradcam", target).attribution, maps[-1])
    assert np.abs(maps[0] - maps[-1]).max() > 0.2 and np.abs(maps[1] - maps[-1]).max() > 0.2
    guided = [ex.explain(model, image, "guided_gradcam", target, layer=i).attribution for i in (0, None)]
    assert np.abs(guided[0] - guided[1]).max() > 0.2
    with pytest.raises(ValueError):
        ex.explain(model, image, "gradcam", target, layer=len(convs))


def test_a_map_without_a_model_is_scored_like_grad_cam():
    """Issue 18: the chance level was too easy; each pixel's colour distance from the image's median, scored by the
    same rules, is the bar a model's map must clear on pictures where the object is the odd-coloured region."""
    import torch

    from labcore.explain.localisation import colour_distance_maps, model_free

    x = torch.zeros(1, 3, 4, 4)
    x[0, 0, 1:3, 1:3] = 1.0  # a red 2x2 square on black; two dimmer red pixels outside it
    x[0, 0, 0, 3] = 0.5
    x[0, 0, 3, 0] = 0.5
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, 1:3, 1:3] = True
    maps = colour_distance_maps(x)
    assert torch.allclose(maps, x[:, 0])  # median colour black: the distance is the red value
    result = model_free(x, mask)
    assert result.mass_inside == pytest.approx(4 / 5) and result.pointing == 1.0  # 4 of 4 + 0.5 + 0.5; peak inside
    assert result.mask_share == pytest.approx(4 / 16) and result.n == 1
