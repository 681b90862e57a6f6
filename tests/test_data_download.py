"""Downloading: progress, resume, restart, atomic rename and MD5 check, on a local HTTP server."""

import hashlib
import http.server
import threading

import numpy as np
import pytest

from gradwise.data import cifar10_format
from gradwise.data.cifar10 import ARCHIVE_NAME, CLASSES, load_cifar10
from gradwise.data.download import download
from gradwise.errors import DataError

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Server:
    """A local HTTP server for one payload; can ignore Range or cut the connection short."""

    def __init__(self, payload):
        self.payload = payload
        self.requests = []  # the Range header of every request (None if absent)
        self.honour_range = True
        self.cut_after = None  # send only this many bytes of the body, then close
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requested = self.headers.get("Range")
                server.requests.append(requested)
                start = 0
                if requested and server.honour_range:
                    start = int(requested.removeprefix("bytes=").split("-")[0])
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/*")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body = body[: server.cut_after]
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{ARCHIVE_NAME}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server(PAYLOAD)
    yield s
    s.close()


def test_download_writes_the_verified_file(server, tmp_path):
    target = tmp_path / "sub" / "file.bin"
    assert download(server.url, target, md5=PAYLOAD_MD5, progress=False) == target
    assert target.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "file.bin.part").exists()
    assert server.requests == [None]


def test_existing_verified_file_is_not_fetched_again(server, tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(PAYLOAD)
    download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert server.requests == []


def test_partial_file_is_resumed_with_a_range_request(server, tmp_path):
    target = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(PAYLOAD[:123_456])
    download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert server.requests == ["bytes=123456-"]
    assert target.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.honour_range = False
    target = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(b"garbage that is not the start of the file")
    download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert target.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_only_the_part_file_then_resumes(server, tmp_path):
    target = tmp_path / "file.bin"
    server.cut_after = 100_000
    with pytest.raises(DataError, match="run it again to resume"):
        download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert not target.exists()
    assert (tmp_path / "file.bin.part").stat().st_size == 100_000
    server.cut_after = None
    download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert server.requests == [None, "bytes=100000-"]
    assert target.read_bytes() == PAYLOAD


def test_complete_part_file_is_accepted_after_416(server, tmp_path):
    target = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(PAYLOAD)
    download(server.url, target, md5=PAYLOAD_MD5, progress=False)
    assert target.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_download(server, tmp_path):
    target = tmp_path / "file.bin"
    with pytest.raises(DataError, match="MD5"):
        download(server.url, target, md5="0" * 32, progress=False)
    assert not target.exists()
    assert not (tmp_path / "file.bin.part").exists()


def test_overlong_part_file_is_discarded_and_the_next_call_starts_afresh(server, tmp_path):
    (tmp_path / "file.bin.part").write_bytes(PAYLOAD + b"extra")  # the server answers 416
    with pytest.raises(DataError, match="MD5"):
        download(server.url, tmp_path / "file.bin", md5=PAYLOAD_MD5, progress=False)
    assert not (tmp_path / "file.bin.part").exists()
    download(server.url, tmp_path / "file.bin", md5=PAYLOAD_MD5, progress=False)
    assert (tmp_path / "file.bin").read_bytes() == PAYLOAD


def test_unreachable_server_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="failed"):
        download("http://127.0.0.1:9/none", tmp_path / "x", progress=False, timeout=5)
    assert not (tmp_path / "x").exists()


def test_injected_opener_receives_the_request(tmp_path):
    seen = []

    class Response:
        status = 200
        headers = {"Content-Length": "3"}

        def __init__(self):
            self.chunks = [b"abc", b""]

        def read(self, size):
            return self.chunks.pop(0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def opener(request, timeout):
        seen.append((request.full_url, timeout))
        return Response()

    download("https://example.invalid/f", tmp_path / "f", opener=opener, progress=False, timeout=7)
    assert (tmp_path / "f").read_bytes() == b"abc"
    assert seen == [("https://example.invalid/f", 7)]


def test_cifar10_download_then_load(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GRADWISE_HOME", str(home))
    rng = np.random.default_rng(1)
    batches = [
        (rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 2))
        for _ in range(6)
    ]
    archive = tmp_path / "served.tar.gz"
    cifar10_format.write_official_archive(archive, batches[:5], batches[5], CLASSES)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    X_train = np.concatenate([X for X, _ in batches[:5]])
    served = Server(archive.read_bytes())
    try:
        ds = load_cifar10(download=True, url=served.url, md5=md5, progress=False)
    finally:
        served.close()
    assert (home / "datasets" / ARCHIVE_NAME).read_bytes() == archive.read_bytes()
    np.testing.assert_array_equal(ds.X_train, X_train)


def test_cifar10_failed_download_still_says_where_to_put_the_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GRADWISE_HOME", str(home))
    with pytest.raises(DataError) as info:
        load_cifar10(download=True, url="http://127.0.0.1:9/none", progress=False)
    assert str(home / "datasets" / ARCHIVE_NAME) in str(info.value)
