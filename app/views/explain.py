"""Explain page: what an image model looks at (attribution maps, localisation, feature maps), where it fails
(top losses, adversarial examples), what it "wants to see" (ideal class images), and SHAP values.

Everything is computed by labcore.explain; this page picks the model and image, caches results per
(model, image, settings), and draws them.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import streamlit as st
import torch

from app import links
from app.state import lang, lease, readable, registry, tr
from app.tasks import background
from labcore import explain as ex
from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.data.images import JPEG_SUFFIXES, PNG_SUFFIXES, UPLOAD_MB, accepted_names, uploader_types
from labcore.explain.features import float_test_images
from labcore.i18n import LabError
from labcore.links import EPSILONS, IDEAL_LRS, L2_WEIGHTS, TABULAR, TV_WEIGHTS
from labcore.train.job import Outcome, TrainingJob
from labcore.train.race import RaceJob
from labcore.train.trainer import Trainer
from labcore.viz import image_grid_figure
from labcore.viz.explain import (
    beeswarm_figure,
    feature_maps_figure,
    grid_height,
    importance_figure,
    localisation_figure,
    overlay,
    overlay_grid_figure,
    probability_bars_figure,
    probability_curve_figure,
    waterfall_figure,
)

DEFAULT = "default"
MAX_CHANNELS = 64  # feature maps per layer drawn; deeper layers have hundreds


# -- models and images (cached) ----------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _default_model():
    return ex.quick_model()


@st.cache_resource(show_spinner=False, max_entries=4)
def _tabular_model(name: str):
    cfg = RunConfig().with_(data={"name": name}, model={"name": "mlp", "width": 32, "depth": 2, "batch_norm": False},
                            train={"epochs": 20, "device": "cpu"})
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.fit()
    return trainer.model.eval(), data


def _session_jobs() -> dict[str, str]:
    """This tab's finished image models, newest first: {key: label}. A race offers each contender that
    did not diverge, keyed "job id:contender"."""
    jobs = sorted(registry().jobs(owner=lease().owner, of=TrainingJob), key=lambda j: -j.created)
    out: dict[str, str] = {}
    for j in jobs:
        if isinstance(j, RaceJob):
            if j.done and j.race is not None and j.race.data.info.kind == "image":
                for s in j.race.standings():
                    if s.status != "diverged" and s.epochs:
                        optim = j.config.contenders[s.index].optim
                        out[f"{j.id}:{s.index}"] = tr(
                            "explain.race_label", optimizer=tr(f"optimizers.{optim.name}"), lr=optim.lr,
                            model=readable(j.config.model.name, "models"),
                            data=readable(j.config.data.name, "datasets"),
                            acc=max(e["val_acc"] for e in s.epochs))
        elif isinstance(j.outcome, Outcome) and j.trainer is not None and j.trainer.data.info.kind == "image":
            out[j.id] = tr("explain.job_label", model=readable(j.config.model.name, "models", "transfer.backbone_"),
                           data=readable(j.config.data.name, "datasets", "transfer.target_"),
                           acc=j.outcome.test_accuracy)
    return out


def _model(key: str):
    if key == DEFAULT:
        return _default_model()
    job_id, _, contender = key.partition(":")
    job = registry().get(job_id)
    if contender:  # one race contender as an ordinary network, built once per tab
        cache = st.session_state.setdefault("ex_race_models", {})
        if key not in cache:
            cache[key] = job.race.contender_model(int(contender)).cpu().eval()
        return cache[key], job.race.data
    return job.trainer.model.eval(), job.trainer.data


@st.cache_data(show_spinner=False, max_entries=64)
def _attributions(model_key: str, image_key: str, target: int, layer: int | None, _model, _image) -> list[ex.Explanation]:
    return ex.explain_all(_model, _image, target, layer=layer)


def _localisation(model, data, progress=None) -> tuple[ex.LocalisationResult, ...]:
    """Trained vs re-randomised weights vs no model at all, over the whole test set (a background task)."""
    x, y, masks = float_test_images(data), data.y_test, data.extras["masks_test"]
    half = (lambda f: progress(f / 2)) if progress else None
    trained = ex.localisation(model, x, y, masks, progress=half)
    rnd = ex.localisation(ex.randomised_copy(model), x, y, masks,
                          progress=(lambda f: progress(0.5 + f / 2)) if progress else None)
    return trained, rnd, ex.model_free(x, masks)


@st.cache_data(show_spinner=False, max_entries=8)
def _top_losses(model_key: str, _model, _data):
    x = float_test_images(_data)
    top = ex.top_losses(_model, x, _data.y_test, k=12)
    cams = [ex.explain(_model, x[i], "gradcam", int(p)).attribution for i, p in zip(top.index, top.predicted, strict=True)]
    return top, cams


@st.cache_data(show_spinner=False, max_entries=32)
def _attack(model_key: str, image_key: str, method: str, eps: float, target: int | None, steps: int, _model, _image):
    return ex.attack(_model, _image, method, eps, target=target, steps=steps)


def _tabular_shap(name: str) -> ex.TabularShap:
    model, data = _tabular_model(name)
    return ex.tabular_shap(copy.deepcopy(model), data)


# -- page frame: model and image pickers -----------------------------------------------------------------------
# One torch thread for this script run (each rerun gets its own thread): these models are small, and on
# a shared 2-core machine extra OpenMP threads slow every explanation down several times.
torch.set_num_threads(1)
st.title(tr("explain.title"))
st.caption(tr("explain.intro"))

jobs = _session_jobs()
options = [DEFAULT, *jobs]
pick_cols = st.columns([2, 1, 1])
model_key = pick_cols[0].selectbox(tr("explain.model"), options, key="ex_model",
                                   format_func=lambda k: tr("explain.default_model") if k == DEFAULT else jobs[k])
if not jobs:
    pick_cols[0].caption(tr("explain.no_jobs"))
with st.spinner(tr("explain.training_default")):
    model, data = _model(model_key)
x_test = float_test_images(data)
names = data.class_names
# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py), checked
# against this model's test images and classes; the widgets take their starting values from there.
LINK_KEYS = {"source": "ex_source", "index": "ex_index", "target": "ex_target", "attack": "ex_attack",
             "goal": "ex_goal", "eps": "ex_eps", "attack_steps": "ex_steps", "ideal_class": "ex_ideal_class",
             "tv": "ex_tv", "l2": "ex_l2", "jitter": "ex_jitter", "ideal_steps": "ex_ideal_steps",
             "ideal_lr": "ex_ideal_lr", "shap_data": "ex_shap_data"}
links.setup(links.PageLink("explain", keys=LINK_KEYS, context={"n_test": len(x_test), "n_classes": len(names)}))

source = pick_cols[1].segmented_control(tr("explain.source"), ["test", "upload"], key="ex_source",
                                        format_func=lambda s: tr(f"explain.source_{s}")) or "test"
true_class: int | None = None
image, image_key = None, ""
if source == "upload":
    photo = PNG_SUFFIXES + JPEG_SUFFIXES  # every JPEG spelling (.jfif, .jpe, ...), one upload limit
    limit = tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=accepted_names(photo))
    upload = pick_cols[2].file_uploader(tr("explain.upload"), type=uploader_types(photo), key="ex_upload",
                                        max_upload_size=UPLOAD_MB, help=limit)
    if upload is not None:
        raw = upload.getvalue()
        try:
            image = ex.image_from_bytes(raw, data.input_shape)
            image_key = "upload:" + hashlib.sha1(raw).hexdigest()
        except LabError as e:
            st.warning(e.message(lang()), icon=":material/broken_image:")
    if image is None:
        st.info(tr("explain.upload_hint"))
if image is None:
    index = pick_cols[2].number_input(tr("explain.test_index", n=len(x_test) - 1), 0, len(x_test) - 1, key="ex_index")
    image, image_key, true_class = x_test[int(index)], f"test:{int(index)}", int(data.y_test[int(index)])

probs = ex.predict_proba(model, image.unsqueeze(0))[0]
predicted = int(probs.argmax())
target_options = ["predicted"] + (["true"] if true_class is not None else []) + [f"class:{i}" for i in range(len(names))]


def _target_label(opt: str) -> str:
    if opt == "predicted":
        return tr("explain.target_predicted", name=names[predicted])
    if opt == "true":
        return tr("explain.target_true", name=names[true_class])
    return names[int(opt.split(":")[1])]


def _target(opt: str) -> int:
    return predicted if opt == "predicted" else true_class if opt == "true" else int(opt.split(":")[1])


tabs = st.tabs([tr(f"explain.tab_{name}") for name in
                ("attributions", "localisation", "top_losses", "adversarial", "ideal", "shap", "features")])

# -- attributions ---------------------------------------------------------------------------------------------
with tabs[0]:
    left, right = st.columns([3, 2])
    if st.session_state["ex_target"] not in target_options:  # "true" has no meaning for an uploaded image
        st.session_state["ex_target"] = "predicted"
    target_opt = left.selectbox(tr("explain.target"), target_options, key="ex_target", format_func=_target_label)
    target = _target(target_opt)
    n_convs = len(ex.conv_layers(model))
    cam_layer = None  # the last convolution
    if n_convs > 1:
        picked = left.selectbox(tr("explain.gradcam_layer"), range(n_convs), index=n_convs - 1,
                                key=f"ex_cam_layer:{model_key}", help=tr("explain.gradcam_layer_help"),
                                format_func=lambda i: tr("explain.conv_n", i=i + 1, n=n_convs))
        cam_layer = None if picked is None or picked == n_convs - 1 else int(picked)
    found = _attributions(model_key, image_key, target, cam_layer, model, image)
    left.caption(tr("explain.methods_help"))
    right.plotly_chart(probability_bars_figure(probs, names, highlight=target, lang=lang()), key="ex_probs")
    titles = [tr("explain.original")] + [tr("explain.method_title", method=tr(f"explain.method_{e.method}"),
                                            seconds=e.seconds) for e in found]
    st.plotly_chart(overlay_grid_figure(image.numpy(), [e.attribution for e in found], titles, cols=6,
                                        lang=lang()), key="ex_attr")
    if len(found) < len(ex.METHODS):
        st.caption(tr("explain.no_conv"))

# -- localisation (shapes only: their masks say where the object is) ----------------------------------------------
with tabs[1]:
    scores = None
    if "masks_test" not in data.extras:
        st.info(tr("explain.localisation_needs_masks"))
    elif ex.last_conv_layer(model) is None:
        st.info(tr("explain.no_conv"))
    else:
        scores = background(("localisation+free", model_key), tr("explain.measuring"), _localisation, data,
                            model=model)
    if scores is not None:
        trained, rnd, free = scores
        c = st.columns(4)
        c[0].metric(tr("explain.mass_inside"), f"{trained.mass_inside:.0%}",
                    delta=tr("explain.vs_random", d=100 * (trained.mass_inside - rnd.mass_inside)))
        c[1].metric(tr("explain.pointing"), f"{trained.pointing:.0%}",
                    delta=tr("explain.vs_random", d=100 * (trained.pointing - rnd.pointing)))
        c[2].metric(tr("explain.mask_share"), f"{trained.mask_share:.0%}")
        c[3].metric(tr("explain.images_scored"), f"{trained.n}")
        left, right = st.columns([2, 3])
        left.plotly_chart(localisation_figure(vars(trained), vars(rnd), trained.mask_share, lang=lang(),
                                              model_free=vars(free)), key="ex_loc")
        with right:
            cam_rnd = ex.explain(ex.randomised_copy(model), image, "gradcam", target).attribution
            cam = ex.explain(model, image, "gradcam", target).attribution
            st.plotly_chart(overlay_grid_figure(image.numpy(), [cam, cam_rnd],
                                                [tr("explain.original"), tr("explain.trained"),
                                                 tr("explain.randomised")], cols=3, lang=lang()), key="ex_loc_cam")
            st.markdown(tr("explain.localisation_help"))

# -- top losses -----------------------------------------------------------------------------------------------
with tabs[2]:
    if ex.last_conv_layer(model) is None:
        st.info(tr("explain.no_conv"))
    else:
        top, cams = _top_losses(model_key, model, data)
        if len(top.index) == 0:
            st.success(tr("explain.no_mistakes"))
        else:
            st.caption(tr("explain.top_losses_help"))
            pairs = []  # each mistake as (image, Grad-CAM of the wrong class), both (H, W, 3)
            for i, cam in zip(top.index, cams, strict=True):
                tile = np.clip(x_test[i].numpy(), 0, 1)
                pairs += [np.repeat(tile, 3 // tile.shape[0], 0).transpose(1, 2, 0), overlay(tile, cam)]
            titles = [s for i, p, conf, loss in zip(top.index, top.predicted, top.confidence, top.loss, strict=True)
                      for s in (tr("explain.top_loss_title", true=names[int(data.y_test[i])], loss=loss),
                                tr("explain.top_loss_pred", pred=names[int(p)], conf=conf))]
            st.plotly_chart(image_grid_figure(np.stack(pairs), titles=titles, cols=8, lang=lang(),
                                              height=grid_height(len(pairs), 8, 150)), key="ex_top")

# -- adversarial examples ---------------------------------------------------------------------------------------
with tabs[3]:
    st.caption(tr("explain.adversarial_help"))
    c = st.columns([1, 1, 2, 1])
    method = c[0].segmented_control(tr("explain.attack"), ["fgsm", "pgd"], key="ex_attack",
                                    format_func=lambda m: tr(f"explain.attack_{m}")) or "pgd"
    goal = c[1].selectbox(tr("explain.goal"), ["untargeted", *range(len(names))], key="ex_goal",
                          format_func=lambda g: tr("explain.untargeted") if g == "untargeted"
                          else tr("explain.make_win", name=names[g]))
    eps = c[2].select_slider(tr("explain.eps"), EPSILONS, key="ex_eps", format_func=lambda v: f"{v:g}")
    steps = c[3].slider(tr("explain.pgd_steps"), 5, 100, key="ex_steps", disabled=method != "pgd")
    result = _attack(model_key, image_key, method, float(eps), None if goal == "untargeted" else int(goal),
                     int(steps), model, image)
    verdict = "success" if result.success else "failure"
    winner = int(result.probs_after.argmax())
    (st.success if result.success else st.info)(tr(f"explain.attack_{verdict}", name=names[winner],
                                                  conf=float(result.probs_after.max())))
    pert = result.perturbation.numpy()
    amplified = np.clip(0.5 + pert / (2 * max(float(eps), 1e-6)), 0, 1)  # +-eps spread over the full range
    cam_before = ex.explain(model, result.original, "gradcam", predicted).attribution if ex.last_conv_layer(model) else None
    cam_after = ex.explain(model, result.adversarial, "gradcam", winner).attribution if cam_before is not None else None
    tiles = [result.original.numpy(), amplified, result.adversarial.numpy()]
    tiles = [np.repeat(t, 3, 0) if t.shape[0] == 1 else t for t in tiles]
    titles = [tr("explain.original"), tr("explain.perturbation"), tr("explain.adversarial")]
    if cam_before is not None:
        tiles += [overlay(result.original.numpy(), cam_before).transpose(2, 0, 1),
                  overlay(result.adversarial.numpy(), cam_after).transpose(2, 0, 1)]
        titles += [tr("explain.cam_before", name=names[predicted]), tr("explain.cam_after", name=names[winner])]
    left, right = st.columns([3, 2])
    left.plotly_chart(image_grid_figure(np.stack(tiles), titles=titles, cols=3, lang=lang(),
                                        height=grid_height(len(tiles), 3, 190)), key="ex_adv")
    right.plotly_chart(probability_bars_figure(result.probs_before, names, after=result.probs_after, lang=lang()),
                       key="ex_adv_probs")

# -- ideal class image ------------------------------------------------------------------------------------------
with tabs[4]:
    st.caption(tr("explain.ideal_help"))
    c = st.columns(6)
    cls = c[0].selectbox(tr("explain.ideal_class"), range(len(names)), key="ex_ideal_class",
                         format_func=lambda i: names[i])
    tv = c[1].select_slider(tr("explain.tv"), TV_WEIGHTS, key="ex_tv", format_func=lambda v: f"{v:g}")
    l2 = c[2].select_slider(tr("explain.l2"), L2_WEIGHTS, key="ex_l2", format_func=lambda v: f"{v:g}")
    jitter = c[3].slider(tr("explain.jitter"), 0, 4, key="ex_jitter")
    n_steps = c[4].slider(tr("explain.steps"), 20, 400, step=10, key="ex_ideal_steps")
    ideal_lr = c[5].select_slider(tr("explain.lr"), IDEAL_LRS, key="ex_ideal_lr")
    args = (model_key, int(cls), int(n_steps), float(ideal_lr), float(tv), float(l2), int(jitter))
    if st.button(tr("explain.generate"), key="ex_ideal_go", icon=":material/auto_awesome:"):
        st.session_state["ex_ideal_args"] = args
    if st.session_state.get("ex_ideal_args") == args:
        res = background(("ideal", *args), tr("explain.generating"), ex.ideal_image, int(cls),
                         tuple(data.input_shape), steps=int(n_steps), lr=float(ideal_lr), tv_weight=float(tv),
                         l2_weight=float(l2), jitter=int(jitter), model=model)
    if st.session_state.get("ex_ideal_args") == args and res is not None:
        left, right = st.columns([3, 2])
        snap_titles = [tr("explain.after_steps", n=s) for s in res.snapshot_steps]
        left.plotly_chart(image_grid_figure(res.snapshots, titles=snap_titles, cols=3, lang=lang(),
                                            height=grid_height(len(snap_titles), 3, 150)), key="ex_ideal")
        right.plotly_chart(probability_curve_figure(res.probability, names[int(cls)], lang=lang()), key="ex_ideal_p")
        left.caption(tr("explain.ideal_tv", tv=float(ex.total_variation(torch.from_numpy(res.image)))))

# -- SHAP -------------------------------------------------------------------------------------------------------
with tabs[5]:
    st.markdown(tr("explain.shap_help"))
    st.subheader(tr("explain.shap_image"))
    if st.button(tr("explain.shap_image_go"), key="ex_shap_img_go", icon=":material/grid_on:"):
        st.session_state["ex_shap_img"] = (model_key, image_key)
    if st.session_state.get("ex_shap_img") == (model_key, image_key):
        rows = data.x_train[torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(0))[:32]]
        rows = rows.float() / 255 if data.x_train.dtype == torch.uint8 else rows.float()
        maps = background(("shap", model_key, image_key), tr("explain.computing"), ex.image_shap,
                          image, rows, model=model)
    if st.session_state.get("ex_shap_img") == (model_key, image_key) and maps is not None:
        titles = [tr("explain.original")] + [tr("explain.shap_class", name=n, p=float(p))
                                             for n, p in zip(names, probs, strict=True)]
        st.plotly_chart(overlay_grid_figure(image.numpy(), list(maps), titles, signed=True, cols=min(11, len(names) + 1),
                                            lang=lang()), key="ex_shap_img_fig")
        st.caption(tr("explain.shap_image_note"))
    st.subheader(tr("explain.shap_tabular"))
    c = st.columns([1, 1, 2])
    dataset = c[0].selectbox(tr("explain.dataset"), TABULAR, key="ex_shap_data")
    if c[1].button(tr("explain.shap_tabular_go"), key="ex_shap_tab_go", icon=":material/table_chart:"):
        st.session_state["ex_shap_tab"] = dataset
    if st.session_state.get("ex_shap_tab") == dataset:
        sv = background(("shap_tabular", dataset), tr("explain.computing"), _tabular_shap, dataset)
    if st.session_state.get("ex_shap_tab") == dataset and sv is not None:
        k = c[2].selectbox(tr("explain.shap_output"), range(len(sv.class_names)), key="ex_shap_class",
                           format_func=lambda i: tr("explain.logit_of", name=sv.class_names[i]))
        left, right = st.columns(2)
        left.plotly_chart(beeswarm_figure(sv.values[..., k], sv.x, sv.feature_names, lang=lang()), key="ex_bee")
        row = right.slider(tr("explain.row"), 0, len(sv.x) - 1, 0, key="ex_shap_row")
        right.plotly_chart(waterfall_figure(sv.values[row, :, k], float(sv.base[k]), sv.feature_names, sv.x[row],
                                            lang=lang()), key="ex_waterfall")
        gap = float(sv.values[row, :, k].sum() - (sv.outputs[row, k] - sv.base[k]))
        right.caption(tr("explain.additivity", total=float(sv.values[row, :, k].sum()),
                         diff=float(sv.outputs[row, k] - sv.base[k]), gap=abs(gap)))
        st.plotly_chart(importance_figure(sv.feature_names, sv.values[..., k], sv.perm_mean, sv.perm_std,
                                          lang=lang()), key="ex_importance")
        st.caption(tr("explain.importance_help"))

# -- feature maps ---------------------------------------------------------------------------------------------
with tabs[6]:
    layers = ex.feature_maps(model, image)
    if not layers:
        st.info(tr("explain.no_conv"))
    st.caption(tr("explain.features_help"))
    for i, (_name, maps) in enumerate(layers):
        # "Convolution 2 of 3", not the module path ("net.4") that means nothing to a class
        st.markdown(tr("explain.layer", name=tr("explain.conv_n", i=i + 1, n=len(layers)), c=maps.shape[0],
                       h=maps.shape[1], w=maps.shape[2]))
        st.plotly_chart(feature_maps_figure(maps[:MAX_CHANNELS], cols=16, lang=lang()), key=f"ex_fmap_{i}")
