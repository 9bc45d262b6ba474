"""Lesson 22 beyond classification (labcore.beyond): mask and box scores against reference implementations, the
tiny U-Net and detector, their training, non-maximum suppression, and the decision helper's rules."""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from sklearn.metrics import f1_score, jaccard_score
from torchvision.ops import box_iou

from labcore import links
from labcore.beyond import figures, metrics, nms, suggest
from labcore.beyond.data import boxes_from_masks, make_split, train_test
from labcore.beyond.models import TinyDetector, TinyUNet
from labcore.beyond.train import BeyondConfig, fit
from labcore.i18n import has
from labcore.presets import BY_ID, PAGES


def _random_masks(seed: int, n: int = 12, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.random((n, size, size)) < rng.uniform(0.05, 0.5, (n, 1, 1))
    pred = np.where(rng.random((n, size, size)) < 0.3, ~true, true)
    return pred, true


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mask_iou_and_dice_match_sklearn_per_image(seed):
    pred, true = _random_masks(seed)
    iou, dc = metrics.mask_iou(pred, true), metrics.dice(pred, true)
    for i in range(len(pred)):
        assert iou[i] == pytest.approx(jaccard_score(true[i].ravel(), pred[i].ravel()))
        assert dc[i] == pytest.approx(f1_score(true[i].ravel(), pred[i].ravel()))
    assert np.allclose(dc, 2 * iou / (1 + iou))  # the identity the page states
    assert np.all(dc >= iou)


def test_empty_masks_score_one_and_disjoint_ones_zero():
    empty = np.zeros((1, 4, 4), bool)
    assert metrics.mask_iou(empty, empty)[0] == 1.0 and metrics.dice(empty, empty)[0] == 1.0
    a, b = empty.copy(), empty.copy()
    a[0, 0, 0], b[0, 3, 3] = True, True
    assert metrics.mask_iou(a, b)[0] == 0.0 and metrics.dice(a, b)[0] == 0.0
    with pytest.raises(ValueError):
        metrics.mask_iou(a, np.zeros((1, 4, 5), bool))


def test_box_ious_are_torchvisions_diagonal_and_boxes_are_the_masks_extent():
    split = make_split(20, seed=3)
    boxes = split.boxes
    masks = split.masks.numpy() > 0.5
    for m, (x0, y0, x1, y1) in zip(masks, boxes.numpy().astype(int), strict=True):
        ys, xs = np.nonzero(m)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    shifted = boxes + torch.tensor([1.0, 2.0, 1.0, 2.0])
    assert np.allclose(metrics.box_ious(shifted, boxes), box_iou(shifted, boxes).diagonal().numpy())
    assert np.allclose(metrics.box_ious(boxes, boxes), 1.0)
    one = np.zeros((1, 5, 5), bool)
    one[0, 2, 3] = True
    assert boxes_from_masks(one).tolist() == [[3, 2, 4, 3]]


def test_the_test_set_is_fixed_and_the_training_set_follows_the_seed():
    (a, ta), (b, tb) = train_test(16, 0), train_test(16, 1)
    assert torch.equal(ta.x, tb.x) and not torch.equal(a.x, b.x)
    assert not torch.equal(a.x[:8], ta.x[:8])  # training images are not test images


def test_models_give_a_logit_per_pixel_and_a_class_and_box():
    x = torch.rand(2, 3, 32, 32)
    for skips in (True, False):
        assert TinyUNet(8, 1, skips)(x).shape == (2, 1, 32, 32)
    n_with = sum(p.numel() for p in TinyUNet(8, 1, True).parameters())
    assert n_with > sum(p.numel() for p in TinyUNet(8, 1, False).parameters())  # the decoder also reads the skips
    with torch.no_grad():
        logits, box = TinyDetector(8, 4, 32)(x)
    assert logits.shape == (2, 4) and box.shape == (2, 4) and float(box.min()) >= 0 and float(box.max()) <= 1


def test_segmentation_trains_and_scores_the_test_set(one_thread):
    out = fit(BeyondConfig(task="segment", epochs=2, n_train=256))
    assert [h.epoch for h in out.history] == [0, 1, 2] and out.epochs == 2
    assert out.last.test_loss < 0.75 * out.history[0].test_loss
    assert out.pred_masks.shape == (200, 32, 32) and out.pred_masks.dtype == bool
    assert out.last.iou == pytest.approx(out.iou.mean()) and out.last.dice == pytest.approx(out.dice.mean())
    fig = figures.curves_figure(out.history, "segment", 2, lang="he")
    assert isinstance(fig, go.Figure) and len(fig.data) == 4  # train and test loss, IoU, Dice
    gallery = figures.gallery_figure(out, np.arange(8), ["a", "b", "c", "d"], lang="fa")
    assert len(gallery.layout.annotations) == 24  # a title per tile: 8 images, 8 true masks, 8 predictions


def test_detection_learns_boxes_and_splits_its_loss(one_thread):
    out = fit(BeyondConfig(task="detect", epochs=4, n_train=256))
    first, last = out.history[0], out.last
    assert first.iou < 0.05 and last.iou > 0.3  # the untrained box head outputs a box in the middle at size ~0
    assert last.test_loss == pytest.approx(last.cls_loss + last.box_loss, rel=1e-5)
    assert last.hits <= last.accuracy
    hits = (out.pred_labels == out.test.labels.numpy()) & (out.iou >= metrics.HIT_IOU)
    assert last.hits == pytest.approx(hits.mean())
    fig = figures.boxes_figure(out, np.arange(8), ["a", "b", "c", "d"], lang="he")
    assert len(fig.layout.shapes) == 16 and len(fig.layout.annotations) == 8  # true + predicted box per image


def test_nms_keeps_no_two_boxes_above_the_threshold_and_the_threshold_matters():
    for thr in nms.IOU_THRESHOLDS:
        r = nms.run_nms(thr, 0.3)
        kept = torch.from_numpy(r.boxes[r.kept])
        overlap = box_iou(kept, kept) - torch.eye(len(kept))
        assert float(overlap.max()) <= thr + 1e-6
        assert np.all(np.diff(r.scores[r.kept]) <= 0)  # best first
        assert np.all(r.scores[r.kept] >= 0.3)
    low, mid, high = nms.run_nms(0.1), nms.run_nms(0.5), nms.run_nms(0.9)
    assert not low.found.all()  # two overlapping objects: the weaker one is suppressed
    assert mid.found.all() and mid.duplicates == 0
    assert high.found.all() and high.duplicates > 0
    assert len(figures.nms_figure(mid, 0.0, lang="uk").layout.shapes) == len(mid.boxes) + len(mid.truth) + len(mid.kept)


ALL = list(itertools.product(suggest.DATA, suggest.ROWS, suggest.LABELS, suggest.TASKS))


def test_every_answer_gets_a_suggestion_with_a_valid_lab_link():
    for answers in ALL:
        s = suggest.suggest(*answers)
        assert s.rule in suggest.RULES and set(s.notes) <= set(suggest.NOTES), answers
        preset = BY_ID[s.preset]
        assert preset.page in PAGES
        values, ignored = links.read(preset.page, preset.query)
        assert not ignored, (answers, preset.id, ignored)
        assert has(f"beyond.rule.{s.rule}") and has(f"beyond.why.{s.rule}")
        assert all(has(f"beyond.note.{n}") for n in s.notes)
    assert {suggest.suggest(*a).rule for a in ALL} == set(suggest.RULES)  # no rule is dead


@pytest.mark.parametrize(("answers", "preset", "notes"), [
    (("table", "few", "labels", "classify"), "deep-vs-classic", ()),
    (("table", "many", "labels", "classify"), "deep-vs-classic", ("table_many",)),
    (("images", "some", "few_labels", "classify"), "transfer-strategies", ()),
    (("images", "many", "labels", "classify"), "shapes-cnn", ()),
    (("images", "some", "none", "classify"), "ae-latent", ()),
    (("series", "some", "labels", "regress"), "sequences-forecast", ()),
    (("images", "some", "labels", "locate"), "beyond-detect", ()),
    (("images", "few", "labels", "segment"), "beyond-segment", ("few_rows",)),
    (("tokens", "some", "few_labels", "classify"), "attention-heads", ("few_labels",)),
    (("table", "some", "none", "anomalies"), "ae-anomaly", ()),
])
def test_the_books_rules_of_thumb(answers, preset, notes):
    s = suggest.suggest(*answers)
    assert (s.preset, s.notes) == (preset, notes)
    with pytest.raises(ValueError):
        suggest.suggest("audio", "few", "labels", "classify")


def test_the_pages_link_and_presets():
    values, ignored = links.read("beyond", {"panel": "detect", "seg.epochs": "99", "nms.iou": "0.33", "which.data": "x"})
    assert values["panel"] == "detect" and values["seg.epochs"] == 12 and values["nms.iou"] == 0.3
    assert values["which.data"] == "images" and "which.data" in ignored
    for pid in ("beyond-segment", "beyond-skips", "beyond-detect", "beyond-which"):
        p = BY_ID[pid]
        assert p.page == "beyond" and p.lesson == "22" and not links.read("beyond", p.query)[1]
