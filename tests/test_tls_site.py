"""A site behind an HTTPS front whose certificate comes from a private CA certifies when its site config
names the CA (`[tls] ca_bundle`), and fails as an infrastructure error (exit 3) naming the unknown CA
when it does not. Also: the [tls], [limits] and trust_env keys of the site config, checked with errors
that name the file and the key.

The front is a small TLS-terminating reverse proxy (standard library) in front of the reference platform;
the CA and the front's certificate are made with the openssl command line.
"""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tls_samples import make_private_ca, needs_openssl
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError
from harness.platform.config import PlatformConfig
from harness.platform.server import start_background
from harness.siteconfig import load_site

ROOT = Path(__file__).resolve().parents[1]
@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_private_ca(tmp_path_factory.mktemp("ca"), {"front": "IP:127.0.0.1"})


def _proxy_handler(upstream: tuple[str, int]) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            conn = http.client.HTTPConnection(*upstream, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        do_POST = do_GET = _forward

    return Front


@pytest.fixture(scope="module")
def tls_front(private_ca: Path) -> Iterator[str]:
    """The reference platform on loopback HTTP, and an HTTPS front (the private CA's certificate) before it."""
    with tempfile.TemporaryDirectory(prefix="hsa-cert-tls-") as tmp:
        platform = start_background(PlatformConfig(db_path=str(Path(tmp) / "platform.sqlite"), seed=20240101))
        host, port = platform.url.removeprefix("http://").rstrip("/").split(":")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler((host, int(port))))
        httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(private_ca / "front.pem", private_ca / "front.key")
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield f"https://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
            platform.stop()


def _site_file(folder: Path, base_url: str, tls: str = "") -> Path:
    """The embedded platform's site config, at the HTTPS front, with a [tls] table (paths relative to it)."""
    lines = []
    for line in (ROOT / "fixtures" / "sites" / "embedded.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("base_url"):
            line = f'base_url = "{base_url}"'
        lines.append(line)
    path = folder / "front.toml"
    path.write_text("\n".join(lines) + "\n" + tls, encoding="utf-8")
    return path


def _certify(site: Path, out: Path) -> tuple[int, str]:
    argv = ["certify", "--site", str(site), "-k", "settle.reverse", "--seed", "5", "--out", str(out),
            "--reports-dir", str(out.parent / "reports"), "--no-allure"]
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output


@needs_openssl
def test_a_site_behind_a_tls_front_with_a_private_ca_certifies(tls_front: str, private_ca: Path,
                                                               tmp_path: Path) -> None:
    shutil.copy(private_ca / "ca.pem", tmp_path / "province-ca.pem")
    site = _site_file(tmp_path, tls_front, '\n[tls]\nca_bundle = "province-ca.pem"\n')
    code, output = _certify(site, tmp_path / "run")
    assert code == 0, output
    exchanges = [json.loads(line) for line in (tmp_path / "run" / "exchanges.jsonl").read_text("utf-8").splitlines()]
    assert exchanges and all(e["url"].startswith("https://") and e["error"] is None for e in exchanges)


@needs_openssl
def test_without_the_ca_every_exchange_is_an_infrastructure_error_naming_the_unknown_ca(
        tls_front: str, tmp_path: Path) -> None:
    site = _site_file(tmp_path, tls_front)
    code, output = _certify(site, tmp_path / "run")
    assert code == 3, output
    exchanges = [json.loads(line) for line in (tmp_path / "run" / "exchanges.jsonl").read_text("utf-8").splitlines()]
    assert exchanges
    for exchange in exchanges:
        error = exchange["error"]
        assert error.startswith("TLS: ") and "CA" in error and "ca_bundle" in error, error
    assert "Traceback" not in output


# --- the keys ------------------------------------------------------------------------------------------------


def _config(tmp_path: Path, extra: str) -> Path:
    return _site_file(tmp_path, "https://127.0.0.1:8443", extra)


def test_tls_paths_are_relative_to_the_site_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / "certs" / name).write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    site = load_site(_config(tmp_path, '[tls]\nca_bundle = "certs/ca.pem"\nclient_cert = "certs/client.pem"\n'
                                      'client_key = "certs/client.key"\n'))
    assert site.tls.verify_option() == str((tmp_path / "certs" / "ca.pem").resolve())
    assert site.tls.cert_option() == (str((tmp_path / "certs" / "client.pem").resolve()),
                                      str((tmp_path / "certs" / "client.key").resolve()))
    assert load_site(_config(tmp_path, "[tls]\nverify = false\n")).tls.verify_option() is False
    assert load_site(_config(tmp_path, "")).tls.verify_option() is True


@pytest.mark.parametrize(("extra", "key"), [
    ('[tls]\nca_bundle = "missing.pem"\n', "tls.ca_bundle"),
    ("[tls]\nverify = \"no\"\n", "tls.verify"),
    ("[tls]\nca_file = \"x.pem\"\n", "tls.ca_file"),
    ('[tls]\nclient_key = "front.toml"\n', "tls.client_key"),
    ("[limits]\ndeadline_s = 0\n", "limits.deadline_s"),
    ("[limits]\nmax_answer_bytes = 1.5\n", "limits.max_answer_bytes"),
])
def test_bad_tls_and_limit_keys_name_the_file_and_the_key(tmp_path: Path, extra: str, key: str) -> None:
    path = _config(tmp_path, "" if extra.startswith("[limits]") else extra)
    if extra.startswith("[limits]"):  # into the file's own [limits] table
        path.write_text(path.read_text(encoding="utf-8").replace("[limits]\n", extra, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert str(path) in (caught.value.location or "") and key in (caught.value.location or "")


def test_limits_and_trust_env_reach_the_site_config(tmp_path: Path) -> None:
    path = _config(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace("[site]\n", "[site]\ntrust_env = true\n", 1)
    path.write_text(text.replace("[limits]\n", "[limits]\ndeadline_s = 7\nmax_answer_bytes = 1000\n", 1),
                    encoding="utf-8")
    site = load_site(path)
    assert site.trust_env is True
    assert (site.limits.deadline_s, site.limits.max_answer_bytes) == (7.0, 1000)


def test_the_example_documents_every_tls_and_limits_key() -> None:
    text = (ROOT / "fixtures" / "sites" / "example-province.toml").read_text(encoding="utf-8")
    for key in ("ca_bundle", "client_cert", "client_key", "verify", "deadline_s", "max_answer_bytes", "trust_env"):
        assert f"{key} =" in text, key
    load_site(ROOT / "fixtures" / "sites" / "example-province.toml")
