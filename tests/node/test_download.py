"""`url:` apps: fetched over https only, redirects included, and never more than MAX_APP_BYTES."""

import http.server
import ssl
import subprocess
import threading

import pytest

from wotemu_runtime.node.loader import MAX_APP_BYTES, AppError, resolve_source

APP = b"async def app(wot, conf, loop):\n    pass\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        routes = {
            "/redirect-http": (302, {"Location": f"http://localhost:{port}/app.py"}, b""),
            "/redirect-https": (302, {"Location": f"https://localhost:{port}/app.py"}, b""),
            "/app.py": (200, {"Content-Length": str(len(APP))}, APP),
            "/big.py": (200, {}, b"#" * (MAX_APP_BYTES + 1)),  # no Content-Length: read until closed
        }
        code, headers, body = routes[self.path]
        self.send_response(code)
        for name, value in {"Connection": "close", **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """A local https server whose self-signed certificate the default context trusts (SSL_CERT_FILE)."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://localhost:{server.server_address[1]}", cert
    server.shutdown()


@pytest.fixture
def base(https_server, monkeypatch):
    url, cert = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return url


def test_an_https_app_is_fetched(base):
    assert resolve_source({"url": f"{base}/app.py"}).read_bytes() == APP


def test_a_redirect_to_https_is_followed(base):
    assert resolve_source({"url": f"{base}/redirect-https"}).read_bytes() == APP


def test_a_redirect_to_http_is_refused(base):
    with pytest.raises(AppError, match=r"redirected to http://localhost:\d+/app.py, which is not https"):
        resolve_source({"url": f"{base}/redirect-http"})


def test_an_app_over_the_size_bound_is_refused(base):
    with pytest.raises(AppError, match=f"larger than {MAX_APP_BYTES:,} bytes"):
        resolve_source({"url": f"{base}/big.py"})
