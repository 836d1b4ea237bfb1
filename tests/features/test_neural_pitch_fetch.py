"""Fetching neural f0 weights from pinned wheels (against a 127.0.0.1 index the test starts),
and reading PyTorch weight files without PyTorch."""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import sys
import threading
import types
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from features.pitch_crepe_weights import read_state_dict
from features.pitch_models import CREPE_TINY_PTH, NEURAL_WEIGHTS, fetch_all
from wheelfiles import (
    WheelFile,
    WheelFileIntegrityError,
    WheelFileUnavailable,
    cached_wheel_file,
    fetch_wheel_file,
)

WHEEL = "tinymodel-1.0-py3-none-any.whl"
MEMBER = "tinymodel/weights.bin"
PAYLOAD = bytes(range(256)) * 64


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel_bytes(member_data: bytes = PAYLOAD) -> bytes:
    files = {
        "tinymodel/__init__.py": b"",
        MEMBER: member_data,
        "tinymodel-1.0.dist-info/METADATA": b"Name: tinymodel\nVersion: 1.0\n",
        "tinymodel-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nTag: py3-none-any\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():  # fixed timestamps: the same bytes on every call
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


class Index:
    """A find-links page and one wheel served from 127.0.0.1; counts requests per path."""

    def __init__(self, wheel: bytes) -> None:
        self.wheel = wheel
        self.hits: dict[str, int] = collections.Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] += 1
                if self.path == "/wheels/":
                    body = f'<a href="{WHEEL}">{WHEEL}</a>'.encode()
                elif self.path == f"/wheels/{WHEEL}":
                    body = outer.wheel
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if self.path.endswith("/"):
                    self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/wheels/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def pip_args(self) -> tuple[str, ...]:
        return ("--no-index", "--find-links", self.url, "--no-cache-dir")

    @property
    def downloads(self) -> int:
        return self.hits[f"/wheels/{WHEEL}"]


@pytest.fixture
def index():
    served = Index(_wheel_bytes())
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


def _spec(wheel_sha: str | None = None, member_sha: str | None = None) -> WheelFile:
    return WheelFile(
        requirement="tinymodel==1.0",
        wheel=WHEEL,
        wheel_sha256=wheel_sha or _sha(_wheel_bytes()),
        member=MEMBER,
        sha256=member_sha or _sha(PAYLOAD),
    )


def test_fetch_extracts_the_verified_file_and_caches_it(tmp_path, index):
    path = fetch_wheel_file(_spec(), tmp_path, pip_args=index.pip_args)
    assert path == tmp_path / "tinymodel-1.0-py3-none-any" / MEMBER
    assert path.read_bytes() == PAYLOAD
    assert index.downloads == 1
    assert fetch_wheel_file(_spec(), tmp_path, pip_args=index.pip_args) == path
    assert index.downloads == 1  # served from the cache
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".whl", ".tmp")]
    assert leftovers == []


def test_corrupted_cache_is_fetched_again(tmp_path, index):
    path = fetch_wheel_file(_spec(), tmp_path, pip_args=index.pip_args)
    path.write_bytes(b"garbage")
    assert cached_wheel_file(_spec(), tmp_path) is None
    assert fetch_wheel_file(_spec(), tmp_path, pip_args=index.pip_args).read_bytes() == PAYLOAD
    assert index.downloads == 2


def test_wheel_with_the_wrong_digest_is_refused(tmp_path, index):
    with pytest.raises(WheelFileIntegrityError, match="does not match"):
        fetch_wheel_file(_spec(wheel_sha="0" * 64), tmp_path, pip_args=index.pip_args)
    assert not (tmp_path / "tinymodel-1.0-py3-none-any").exists()


def test_member_with_the_wrong_digest_is_never_cached(tmp_path, index):
    index.wheel = _wheel_bytes(b"tampered weights")
    spec = _spec(wheel_sha=_sha(index.wheel))
    with pytest.raises(WheelFileIntegrityError, match=MEMBER):
        fetch_wheel_file(spec, tmp_path, pip_args=index.pip_args)
    assert not spec.cache_path(tmp_path).exists()


def test_missing_member_and_missing_wheel_are_reported(tmp_path, index):
    spec = WheelFile("tinymodel==1.0", WHEEL, _sha(_wheel_bytes()), "tinymodel/other.bin", "0" * 64)
    with pytest.raises(WheelFileUnavailable, match=r"has no tinymodel/other\.bin"):
        fetch_wheel_file(spec, tmp_path, pip_args=index.pip_args)
    missing = WheelFile("tinymodel==2.0", "tinymodel-2.0-py3-none-any.whl", "0" * 64, MEMBER,
                        "0" * 64)  # fmt: skip
    with pytest.raises(WheelFileUnavailable, match=r"pip download tinymodel==2\.0 failed"):
        fetch_wheel_file(missing, tmp_path, pip_args=index.pip_args, retries=2, backoff_s=0.0)


def test_specs_must_pin_a_version_and_stay_inside_the_cache():
    with pytest.raises(ValueError, match="pin"):
        WheelFile("tinymodel", WHEEL, "0" * 64, MEMBER, "0" * 64)
    with pytest.raises(ValueError, match="bad wheel file spec"):
        WheelFile("tinymodel==1.0", WHEEL, "0" * 64, "../escape.bin", "0" * 64)


def test_real_weights_match_their_pinned_digests():
    """The real weight files in the model cache verify (fetch_all finds them cached)."""
    paths = fetch_all()
    assert set(paths) == set(NEURAL_WEIGHTS) == {"swiftf0", "crepe_tiny"}
    for method, path in paths.items():
        assert cached_wheel_file(NEURAL_WEIGHTS[method]) == path


def test_crepe_tiny_weights_have_the_tiny_architecture():
    weights = read_state_dict(fetch_wheel_file(CREPE_TINY_PTH))
    assert weights["conv1.weight"].shape == (128, 1, 512, 1)
    assert weights["conv6.weight"].shape == (64, 32, 64, 1)
    assert weights["classifier.weight"].shape == (360, 256)
    assert all(w.dtype == np.float32 for k, w in weights.items() if "num_batches" not in k)


# -- reading torch.save files without torch ------------------------------------------------


class _Storage:
    def __init__(self, key: str, data: np.ndarray) -> None:
        self.key, self.data = key, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


def _torch_save(tensors: dict[str, _Tensor], storages: list[_Storage], extra=None) -> bytes:
    """Bytes in torch.save's zip layout, pickled through stand-in ``torch`` modules."""
    pkl = io.BytesIO()
    pickler = pickle.Pickler(pkl, protocol=2)
    float_storage = sys.modules["torch"].FloatStorage
    pickler.persistent_id = lambda obj: (
        ("storage", float_storage, obj.key, "cpu", obj.data.size)
        if isinstance(obj, _Storage)
        else None
    )
    pickler.dump(collections.OrderedDict(tensors) if extra is None else extra)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", pkl.getvalue())
        for storage in storages:
            zf.writestr(f"archive/data/{storage.key}", storage.data.astype("<f4").tobytes())
    return buffer.getvalue()


@pytest.fixture
def fake_torch(monkeypatch):
    """Stand-in ``torch`` and ``torch._utils`` modules, only to write test files."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)


def test_state_dict_tensors_are_rebuilt_with_offsets_and_strides(tmp_path, fake_torch):
    data = np.arange(24, dtype=np.float32)
    shared = _Storage("0", data)
    tensors = {
        "w": _Tensor(shared, 0, (2, 3, 4), (12, 4, 1)),
        "w_t": _Tensor(shared, 0, (4, 6), (1, 4)),  # a transposed view
        "b": _Tensor(shared, 5, (3,), (1,)),
    }
    path = tmp_path / "model.pth"
    path.write_bytes(_torch_save(tensors, [shared]))
    weights = read_state_dict(path)
    np.testing.assert_array_equal(weights["w"], data.reshape(2, 3, 4))
    np.testing.assert_array_equal(weights["w_t"], data.reshape(6, 4).T)
    np.testing.assert_array_equal(weights["b"], [5.0, 6.0, 7.0])


def test_weight_files_naming_other_code_are_refused(tmp_path, fake_torch):
    path = tmp_path / "evil.pth"
    path.write_bytes(_torch_save({}, [], extra=collections.OrderedDict(x=print)))
    with pytest.raises(ValueError, match=r"refusing to load (__builtin__|builtins)\.print"):
        read_state_dict(path)
    short = _Storage("0", np.zeros(2, np.float32))
    path.write_bytes(_torch_save({"w": _Tensor(short, 0, (3,), (1,))}, [short]))
    with pytest.raises(ValueError, match="overruns"):
        read_state_dict(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable PyTorch state dict"):
        read_state_dict(path)
