"""Lesson 16, TensorFlow/Keras vs PyTorch: the Train page's setup as a Keras 3 script, to read beside the plain
PyTorch script (labcore.serve.script) of the same run.

The same data loading and split, the same layers with the same sizes, the same optimizer and hyperparameters,
loss, batch size, epochs and seed. What Keras does its own way (channels-last images, batch norm's momentum
convention, default initialisation, decoupled weight decay) is said in a comment where it happens, and
`differences` lists it for the page. Keras 3 runs on PyTorch (KERAS_BACKEND=torch): no TensorFlow needed.
"""

from __future__ import annotations

import textwrap

from labcore.config import RunConfig
from labcore.data import dataset_info
from labcore.serve import script

# Keras's spelling of each optimizer the plain script knows: class and its arguments from the run's settings
KERAS_OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                    "adam": "Adam", "adamw": "AdamW"}
ACTIVATIONS = {"relu": '"relu"', "gelu": '"gelu"', "silu": '"silu"', "tanh": '"tanh"', "sigmoid": '"sigmoid"'}


def unsupported(cfg: RunConfig) -> str | None:
    """The same setups as the PyTorch script (a catalogue key under `serve.`), or None."""
    return script.unsupported(cfg)


def script_name(cfg: RunConfig) -> str:
    return f"train_{cfg.data.name}_{cfg.model.name}_keras.py"


# -- the model ------------------------------------------------------------------------------------------
def _activation(name: str) -> str:
    if name == "leaky_relu":  # Keras's default slope is 0.3; PyTorch's 0.01
        return "layers.LeakyReLU(negative_slope=0.01)"
    return f"layers.Activation({ACTIVATIONS[name]})"


def _init(cfg: RunConfig) -> str:
    """The kernel initialiser that draws what the lab's scheme draws (biases start at zero in both)."""
    scheme, act = cfg.model.init, cfg.model.activation
    gain2 = {"relu": 2.0, "leaky_relu": 2.0 / (1 + 0.01**2), "tanh": (5 / 3) ** 2, "sigmoid": 1.0}.get(act, 2.0)
    if scheme == "xavier":  # PyTorch: uniform with limit gain * sqrt(6 / (fan_in + fan_out))
        return f'keras.initializers.VarianceScaling({gain2!r}, mode="fan_avg", distribution="uniform")'
    if scheme == "kaiming":  # PyTorch: normal with std gain / sqrt(fan_in), not truncated
        k2 = 2.0 / (1 + 0.01**2) if act == "leaky_relu" else 2.0
        return f'keras.initializers.VarianceScaling({k2!r}, mode="fan_in", distribution="untruncated_normal")'
    if scheme == "normal":
        return "keras.initializers.RandomNormal(stddev=0.01)"
    if scheme == "zeros":
        return "keras.initializers.Zeros()"
    return ""


def _model_code(cfg: RunConfig, classes: int) -> list[str]:
    m = cfg.model
    init = _init(cfg)
    kernel = ", kernel_initializer=init()" if init else ""
    bn = "layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"  # PyTorch's momentum 0.1 is Keras's 0.9
    if m.layer_norm:  # in place of batch norm; the CNN's is GroupNorm(1, C): one group, every channel and position
        bn = "layers.LayerNormalization(epsilon=1e-5)" if m.name == "mlp" else "layers.GroupNormalization(1, epsilon=1e-5)"
    norm = m.batch_norm or m.layer_norm
    out: list[str] = []
    if m.name == "mlp":
        out.append("layers.Flatten()")
        for _ in range(m.depth):
            out.append(f"layers.Dense({m.width}{kernel})")
            if norm:
                out.append(bn)
            out.append(_activation(m.activation))
            if m.dropout:
                out.append(f"layers.Dropout({m.dropout!r})")
    else:
        size = dataset_info(cfg.data.name, cfg.data).input_shape[-1]
        for i in range(m.depth):
            width = m.width * 2**i
            bias = ", use_bias=False" if m.batch_norm and not m.layer_norm else ""
            out.append(f'layers.Conv2D({width}, {m.kernel_size}, padding="same"{bias}{kernel})')
            if norm:
                out.append(bn)
            out.append(_activation(m.activation))
            if size >= 2 and m.pooling != "none":  # as in the lab: stop halving once the map is 1x1
                out.append("layers.MaxPooling2D(2)" if m.pooling == "max" else "layers.AveragePooling2D(2)")
                size //= 2
        out.append("layers.GlobalAveragePooling2D()")
        if m.dropout:
            out.append(f"layers.Dropout({m.dropout!r})")
    out.append(f"layers.Dense({classes}{kernel})  # logits: no softmax here, the loss applies it")
    return out


# -- the optimizer --------------------------------------------------------------------------------------
def _optimizer_code(cfg: RunConfig) -> list[str]:
    """The optimizer call's lines (a comment line first where Keras computes something differently)."""
    o = cfg.optim
    args = ["learning_rate=LR"]
    notes = []
    if o.name in ("momentum", "nesterov"):
        args.append(f"momentum={o.momentum!r}")
    if o.name == "nesterov":
        args.append("nesterov=True")
    if o.name == "adagrad":  # PyTorch starts the sum of squares at 0 and adds eps outside the square root
        args += ["initial_accumulator_value=0.0", f"epsilon={o.eps!r}"]
    if o.name == "rmsprop":
        args += [f"rho={o.alpha!r}", f"epsilon={o.eps!r}"]
        notes.append("# Keras adds epsilon inside the square root, PyTorch outside: a tiny difference")
    if o.name in ("adam", "adamw"):
        args += [f"beta_1={o.beta1!r}", f"beta_2={o.beta2!r}", f"epsilon={o.eps!r}"]
        notes.append("# Keras's epsilon is the paper's \"epsilon hat\" (after the bias correction): a tiny difference")
    if o.name == "adamw" or o.weight_decay:
        args.append(f"weight_decay={o.weight_decay!r}")
        if o.name not in ("sgd", "adamw") and o.weight_decay:
            notes += ["# Keras decays the weights directly (decoupled, as AdamW does); PyTorch's "
                      f"{o.name} adds", "# weight_decay * w to the gradient (L2): the two agree only for plain SGD"]
    if o.clip_norm > 0:
        notes.append("# global_clipnorm: as torch.nn.utils.clip_grad_norm_ over all the weights")
        args.append(f"global_clipnorm={o.clip_norm!r}")
    cls = KERAS_OPTIMIZERS.get(o.name)
    if cls is None:  # the plain script refuses these already; say it in the code should that change
        return [f"# Keras has no {o.name!r} optimizer: Adam stands in for it here",
                "optimizer = keras.optimizers.Adam(learning_rate=LR)"]
    head = f"optimizer = keras.optimizers.{cls}("
    body = [f"    {a}," for a in args]
    return [*notes, head, *body, ")"]


# -- the whole script -----------------------------------------------------------------------------------
_MAIN = '''
def split(x, y):
    """Seeded, stratified train/validation/test split, as in the lab (and the PyTorch script)."""
    idx = np.arange(len(y))
    holdout = VAL_FRACTION + TEST_FRACTION
    idx_train, idx_rest = train_test_split(idx, test_size=holdout, stratify=y, random_state=DATA_SEED)
    idx_val, idx_test = train_test_split(idx_rest, test_size=TEST_FRACTION / holdout, stratify=y[idx_rest],
                                         random_state=DATA_SEED)
    return [(x[i], y[i]) for i in (idx_train, idx_val, idx_test)]


def build_model(mean, variance):
    """The lab's __NAME__, layer by layer: first the input standardisation, as in the PyTorch script."""
    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE),
        layers.Normalization(axis=-1, mean=mean, variance=variance),  # (x - mean) / std inside the model
__LAYERS__
    ])


__SCHEDULE__
def main():
    keras.utils.set_random_seed(SEED)  # Python, NumPy and the backend: starting weights, dropout, batch order
    x, y = load_data()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(x, y)
__PREPARE__
    axes = tuple(range(x_train.ndim - 1))  # per channel for images, per feature for tables
    mean = x_train.mean(axis=axes)
    std = np.maximum(x_train.std(axis=axes, ddof=1), 1e-6)  # ddof=1: torch.std's estimate
    model = build_model(mean, std**2)
__OPTIMIZER__
    # F.cross_entropy in PyTorch; here the loss takes logits too (from_logits=True) and applies the softmax
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()
    batch_size = max(1, min(BATCH_SIZE, len(y_train)))
    callbacks = []
__CALLBACKS__
    # model.fit is the whole loop of the PyTorch script: shuffle, batches, forward, loss, backward, step,
    # then the validation pass at the end of every epoch
    model.fit(x_train, y_train, batch_size=batch_size, epochs=EPOCHS, shuffle=True,
              validation_data=(x_val, y_val), callbacks=callbacks, verbose=2)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"test loss {test_loss:.4f}")
    print(f"test accuracy {test_acc:.4f}")
    model.save("model.keras")


if __name__ == "__main__":
    main()
'''

_SCHEDULER = '''
class Schedule(keras.callbacks.Callback):
    """The learning rate of every step: the base rate times lr_multiplier (PyTorch: LambdaLR)."""

    def __init__(self, steps_per_epoch, total_steps):
        super().__init__()
        self.steps_per_epoch, self.total_steps, self.step = steps_per_epoch, total_steps, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = LR * lr_multiplier(self.step, self.steps_per_epoch, self.total_steps)
        self.step += 1
'''


def keras_script(cfg: RunConfig) -> str:
    """The run as a standalone Keras 3 script: `python train_..._keras.py` trains and prints `test accuracy 0.9xxx`."""
    reason = unsupported(cfg)
    if reason is not None:
        raise ValueError(f"no Keras script for this setup ({reason})")
    info = dataset_info(cfg.data.name, cfg.data)
    shape = tuple(info.input_shape)
    image = len(shape) == 3
    o, t = cfg.optim, cfg.train
    tabular = cfg.data.name in script.SKLEARN and cfg.data.name != "digits"
    scale = ("    scaler = StandardScaler().fit(x_train)  # training rows only: fitting on all rows leaks the test set\n"
             "    x_train, x_val, x_test = (scaler.transform(a).astype(np.float32) for a in (x_train, x_val, x_test))"
             if tabular else "")
    channels = ("    # Keras wants images channels-last, (N, H, W, C); PyTorch channels-first, (N, C, H, W)\n"
                "    x_train, x_val, x_test = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in (x_train, x_val, x_test))"
                if image else "")
    keras_shape = (*shape[1:], shape[0]) if image else shape
    callbacks: list[str] = []
    schedule = script._schedule_code(cfg)
    if schedule:
        callbacks += ["    steps_per_epoch = math.ceil(len(y_train) / batch_size)",
                      "    callbacks.append(Schedule(steps_per_epoch, steps_per_epoch * EPOCHS))"]
    if t.patience or t.restore_best:
        patience = t.patience or "EPOCHS"  # restore only: patience that never runs out
        what = (f"early stopping after {t.patience} epochs without a better val loss" if t.patience
                else "no early stopping (patience never runs out)")
        callbacks.append(f"    # {what}; at the end, back to the weights\n    # of the epoch with the lowest val loss")
        callbacks.append(f'    callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience={patience}, '
                         "restore_best_weights=True))")
    init = _init(cfg)
    if cfg.model.init == "default":
        init_line = ("# Initialisation: Keras starts from its own defaults (Glorot-uniform weights, zero biases),\n"
                     "# PyTorch from its own (Kaiming-uniform weights with a = sqrt(5), small random biases)\n")
    else:
        init_line = (f'\n\ndef init():\n    """The lab\'s "{cfg.model.init}" initialisation (biases start at zero).\n\n'
                     "    A new initialiser per layer: one shared instance would give every layer of a shape the same draw.\n"
                     f'    """\n    return {init}\n')
    layer_lines = "\n".join(f"        {line}," if "  #" not in line else "        {},  #{}".format(*line.split("  #", 1))
                            for line in _model_code(cfg, len(info.class_names)))
    parts = {
        "__NAME__": cfg.model.name.upper(), "__LAYERS__": layer_lines,
        "__PREPARE__": "\n".join(p for p in (scale, channels) if p),
        "__SCHEDULE__": (schedule + "\n" + _SCHEDULER + "\n\n") if schedule else "",
        "__OPTIMIZER__": textwrap.indent("\n".join(_optimizer_code(cfg)), "    "),
        "__CALLBACKS__": "\n".join(callbacks),
    }
    body = _MAIN
    for mark, code in parts.items():
        body = body.replace(mark, code)
    data = script._data_code(cfg)
    imports = ["from sklearn import datasets"] if cfg.data.name in script.SKLEARN else (
        ["from sklearn import datasets as skd"] if "skd." in data else [])
    imports.append("from sklearn.model_selection import train_test_split")
    if tabular:
        imports.append("from sklearn.preprocessing import StandardScaler")
    header = textwrap.dedent(f'''\
        """Train the lab's {cfg.model.name.upper()} on {cfg.data.name!r} in Keras 3 (Deep Learning Visual Lab, lesson 16).

        The same run as the lab's plain PyTorch script, written the Keras way: compile + fit instead of the loop.
        Needs keras>=3, numpy, scikit-learn and one backend (torch here: no TensorFlow needed).
        Run: python {script_name(cfg)}
        """

        {{math}}import os

        os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported; "tensorflow" or "jax" work too

        import keras
        import numpy as np
        from keras import layers
        {{sklearn_imports}}

        SEED = {t.seed}  # starting weights, dropout and batch order
        DATA_SEED = {cfg.data.seed}  # the split
        EPOCHS = {t.epochs}
        BATCH_SIZE = {t.batch_size}
        LR = {o.lr!r}
        VAL_FRACTION, TEST_FRACTION = {cfg.data.val_fraction!r}, {cfg.data.test_fraction!r}
        INPUT_SHAPE = {tuple(keras_shape)!r}  # {"height, width, channels: channels-last" if image else "features"}
        CLASSES = {list(info.class_names)!r}
        ''')
    header = header.replace("{sklearn_imports}", "\n".join(imports)).replace("{math}", "import math\n" if schedule else "")
    header += init_line + "\n\n"
    return script._tidy(header + data + "\n" + body)


# -- what the page says differs -------------------------------------------------------------------------
def differences(cfg: RunConfig) -> list[str]:
    """Catalogue keys (under `serve.keras.diff_`) of what the two scripts do differently for this setup."""
    image = len(dataset_info(cfg.data.name, cfg.data).input_shape) == 3
    out = ["fit", "softmax"]
    if image:
        out.append("channels")
    if cfg.model.batch_norm and not cfg.model.layer_norm:
        out.append("batchnorm")
    if cfg.model.init == "default":
        out.append("init")
    if cfg.optim.weight_decay and cfg.optim.name not in ("sgd", "adamw"):
        out.append("weight_decay")
    out.append("seed")
    return out
