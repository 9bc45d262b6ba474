"""Dataset registry: every dataset loads into a `DataBundle` of train/val/test tensors.

Built-ins need no download (scikit-learn's bundled sets, generated toys and shapes); the online
torchvision sets download once into the data directory and fail offline with a clear message.
"""

from __future__ import annotations

from labcore.data import builtin, online, sequences, shapes, toys  # noqa: F401  (registers the datasets)
from labcore.data.bundle import DATASETS, DataBundle, DatasetInfo, dataset_info, load_dataset, split_arrays, stratified_subset

__all__ = ["DATASETS", "DataBundle", "DatasetInfo", "dataset_info", "load_dataset", "split_arrays",
           "stratified_subset"]
