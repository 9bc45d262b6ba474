"""Sidebar control groups: each `*_controls()` draws its widgets and returns a labcore config.

Widget keys carry the model/optimizer name, so every choice keeps its own settings when the user
switches back and forth (SGD keeps its lr while Adam keeps another).
"""

from __future__ import annotations

import streamlit as st
import torch

from app.state import tr
from labcore.config import AugmentConfig, DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import DATASETS, dataset_info
from labcore.models import ACTIVATIONS, INITS, MODELS, models_for
from labcore.train.optimizers import OPTIMIZERS
from labcore.train.schedules import SCHEDULES

LEARNING_RATES = [round(m * 10.0**e, 8) for e in range(-5, 2) for m in (1, 2, 5)] + [100.0]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]


def _fmt_lr(lr: float) -> str:
    return f"{lr:g}"


def data_controls() -> DataConfig:
    st.sidebar.subheader(tr("ui.data"))
    name = st.sidebar.selectbox(
        tr("ui.dataset"), DATASETS.names(), key="data.name",
        format_func=lambda n: tr(f"datasets.{n}"),
    )
    info = dataset_info(name)
    if info.online:
        st.sidebar.caption(tr("ui.needs_download"))
    noise, n_samples, size = -1.0, 0, 32
    if info.kind == "points":
        noise = st.sidebar.slider(tr("ui.noise"), 0.0, 0.5, 0.1, 0.01, key="data.noise")
        n_samples = st.sidebar.slider(tr("ui.samples"), 100, 2000, 600, 100, key="data.n")
    elif name == "shapes":
        size = st.sidebar.radio(tr("ui.image_size"), [32, 64], horizontal=True, key="data.size")
    return DataConfig(name=name, noise=noise, n_samples=n_samples, image_size=size)


def model_controls(data: DataConfig) -> ModelConfig:
    st.sidebar.subheader(tr("ui.model"))
    info = dataset_info(data.name, data)
    choices = models_for(info)
    name = st.sidebar.selectbox(tr("ui.architecture"), choices, key=f"model.name.{info.kind}",
                                index=choices.index("cnn") if "cnn" in choices else 0,
                                format_func=lambda n: tr(f"models.{n}"))
    spec = MODELS.get(name)
    base = ModelConfig(name=name, **spec.defaults)
    values = {}
    with st.sidebar.expander(tr("ui.architecture_options")):
        k = f"model.{name}."
        if "depth" in spec.options:
            values["depth"] = st.slider(tr(f"ui.depth_{name}"), 1, 6, base.depth, key=k + "depth")
        if "width" in spec.options:
            widths = [4, 8, 16, 32, 64, 128, 256]
            values["width"] = st.select_slider(tr(f"ui.width_{name}"), widths, base.width, key=k + "width")
        if "kernel_size" in spec.options:
            values["kernel_size"] = st.select_slider(tr("ui.kernel"), [1, 3, 5, 7], base.kernel_size, key=k + "kernel")
        if "pooling" in spec.options:
            values["pooling"] = st.selectbox(tr("ui.pooling"), ["max", "avg", "none"], key=k + "pooling",
                                             format_func=lambda p: tr(f"ui.pooling_{p}"))
        if "activation" in spec.options:
            values["activation"] = st.selectbox(tr("ui.activation"), list(ACTIVATIONS), key=k + "act")
        if "init" in spec.options:
            values["init"] = st.selectbox(tr("ui.init"), list(INITS), key=k + "init",
                                          format_func=lambda i: tr(f"ui.init_{i}"))
        if "batch_norm" in spec.options:
            values["batch_norm"] = st.toggle(tr("ui.batch_norm"), base.batch_norm, key=k + "bn")
        if "dropout" in spec.options:
            values["dropout"] = st.slider(tr("ui.dropout"), 0.0, 0.8, base.dropout, 0.05, key=k + "dropout")
    return ModelConfig(**{**base.__dict__, **values})


def optim_controls(epochs: int) -> OptimConfig:
    st.sidebar.subheader(tr("ui.optimizer"))
    name = st.sidebar.selectbox(tr("ui.optimizer"), OPTIMIZERS.names(), index=OPTIMIZERS.names().index("adam"),
                                key="optim.name", format_func=lambda n: tr(f"optimizers.{n}"),
                                label_visibility="collapsed")
    spec = OPTIMIZERS.get(name)
    base = OptimConfig(name=name, **spec.defaults)
    k = f"optim.{name}."
    lr = st.sidebar.select_slider(tr("ui.lr"), LEARNING_RATES, _nearest(LEARNING_RATES, base.lr), key=k + "lr",
                                  format_func=_fmt_lr, help=tr("ui.lr_help"))
    values: dict[str, object] = {"lr": lr}
    with st.sidebar.expander(tr("ui.optimizer_options")):
        if "momentum" in spec.options:
            values["momentum"] = st.slider(tr("ui.momentum"), 0.0, 0.99, base.momentum, 0.01, key=k + "momentum")
        if "beta1" in spec.options:
            values["beta1"] = st.slider("β₁", 0.0, 0.999, base.beta1, 0.001, key=k + "beta1")
            values["beta2"] = st.slider("β₂", 0.9, 0.9999, base.beta2, 0.0001, format="%.4f", key=k + "beta2")
        if "alpha" in spec.options:
            values["alpha"] = st.slider(tr("ui.alpha"), 0.5, 0.999, base.alpha, 0.001, key=k + "alpha")
        values["weight_decay"] = st.select_slider(tr("ui.weight_decay"), [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1],
                                                  base.weight_decay, key=k + "wd", format_func=_fmt_lr)
        values["clip_norm"] = st.select_slider(tr("ui.clip_norm"), [0.0, 0.1, 0.5, 1.0, 5.0], 0.0, key="optim.clip",
                                               format_func=lambda v: tr("ui.off") if v == 0 else f"{v:g}")
    schedule = st.sidebar.selectbox(tr("ui.schedule"), SCHEDULES.names(), key="optim.schedule",
                                    format_func=lambda s: tr(f"schedules.{s}"))
    values["schedule"] = schedule
    if schedule != "constant":
        with st.sidebar.expander(tr("ui.schedule_options")):
            if schedule != "one_cycle":
                values["warmup_epochs"] = st.slider(tr("ui.warmup"), 0.0, float(max(1, epochs // 2)), 0.0, 0.5,
                                                    key="optim.warmup")
            if schedule == "step":
                values["step_epochs"] = st.slider(tr("ui.step_epochs"), 1, max(1, epochs), min(5, epochs),
                                                  key="optim.step_epochs")
                values["gamma"] = st.slider(tr("ui.gamma"), 0.1, 0.9, 0.5, 0.05, key="optim.gamma_step")
            if schedule == "exponential":
                values["gamma"] = st.slider(tr("ui.gamma_epoch"), 0.8, 0.999, 0.98, 0.001, format="%.3f",
                                            key="optim.gamma_exp")
    return OptimConfig(**{**base.__dict__, **values})


def augment_controls(data: DataConfig) -> AugmentConfig:
    info = dataset_info(data.name, data)
    with st.sidebar.expander(tr("ui.augmentations")):
        if info.kind != "image":
            st.caption(tr("ui.augment_only_noise"))
            return AugmentConfig(noise_std=st.slider(tr("ui.aug_noise"), 0.0, 0.5, 0.0, 0.01, key="aug.noise"))
        return AugmentConfig(
            hflip=st.toggle(tr("ui.aug_hflip"), key="aug.hflip"),
            rotation=st.slider(tr("ui.aug_rotation"), 0, 45, 0, 5, key="aug.rotation"),
            crop_scale=st.slider(tr("ui.aug_crop"), 0.5, 1.0, 1.0, 0.05, key="aug.crop",
                                 help=tr("ui.aug_crop_help")),
            color_jitter=st.slider(tr("ui.aug_jitter"), 0.0, 0.5, 0.0, 0.05, key="aug.jitter"),
            noise_std=st.slider(tr("ui.aug_noise"), 0.0, 0.3, 0.0, 0.01, key="aug.noise"),
        )


def train_controls() -> TrainConfig:
    st.sidebar.subheader(tr("ui.training"))
    batch = st.sidebar.select_slider(tr("ui.batch_size"), BATCH_SIZES, 64, key="train.batch")
    epochs = st.sidebar.slider(tr("ui.epochs"), 1, 100, 20, key="train.epochs")
    with st.sidebar.expander(tr("ui.advanced")):
        seed = st.number_input(tr("ui.seed"), 0, 10_000, 0, key="train.seed")
        patience = st.slider(tr("ui.patience"), 0, 20, 0, key="train.patience", help=tr("ui.patience_help"))
        cuda = torch.cuda.is_available()
        amp = st.toggle(tr("ui.amp"), False, key="train.amp", disabled=not cuda,
                        help=tr("ui.amp_help") if cuda else tr("ui.amp_no_gpu"))
    return TrainConfig(epochs=epochs, batch_size=batch, seed=int(seed), patience=patience, amp=amp)


def run_controls() -> RunConfig:
    """The whole sidebar, in the order a student thinks: data, model, optimizer, training, augmentation."""
    data = data_controls()
    model = model_controls(data)
    train = train_controls()
    optim = optim_controls(train.epochs)
    augment = augment_controls(data)
    return RunConfig(data=data, model=model, optim=optim, augment=augment, train=train)


def _nearest(options: list[float], value: float) -> float:
    return min(options, key=lambda o: abs(o - value) / max(o, value))
