"""Apps that cannot run as configured: one clear message, a recorded error, exit code 2."""

import hashlib
import http.server
import signal
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import require_command

APPS = Path(__file__).resolve().parent / "apps"
APP_SOURCE = (APPS / "metric_writer.py").read_bytes()


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """A real HTTPS server on localhost serving tests/node/apps, with a self-signed certificate."""
    require_command("openssl")
    directory = tmp_path_factory.mktemp("https")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(APPS), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", cert
    server.shutdown()


CASES = {
    "missing_file": ({"path": "/nonexistent/app.py"}, "app file not found"),
    "no_app_function": ({"path": str(APPS / "no_app.py")}, "no `app` function"),
    "plain_http_url": ({"url": "http://127.0.0.1:9/app.py"}, "only fetched over https"),
    "sha256_mismatch": ({"url": "{base}/metric_writer.py", "sha256": "0" * 64}, "sha256 mismatch"),
    "unknown_builtin": (
        {"builtin": "teleporter"},
        "unknown built-in app 'teleporter'; built-ins are: caller, clock",
    ),
    "wrong_param_type": (
        {
            "builtin": "reader",
            "params": {"servient_host": "server.cell", "thing_id": "urn:x", "interval": "fast"},
        },
        "param 'interval' must be float, got str 'fast'",
    ),
    "missing_param": (
        {"builtin": "reader", "params": {"thing_id": "urn:x"}},
        "missing required param 'servient_host'",
    ),
    "unknown_param": (
        {"builtin": "clock", "params": {"intervl": 2}},
        "unknown param 'intervl' (the app takes: interval)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_app_is_refused_with_a_clear_message(case, nodes, https_server, monkeypatch):
    base, cert = https_server
    app, message = CASES[case]
    app = {key: value.format(base=base) if isinstance(value, str) else value for key, value in app.items()}
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the node trusts the test server's certificate
    process = nodes.start(nodes.config("bad", {**app, "protocols": []}))
    assert process.wait(30) == 2
    assert message in nodes.output(process)
    lifecycle = nodes.wait_for(lambda rs: any(r["event"] == "exit" for r in rs), "lifecycle")
    assert [r["event"] for r in lifecycle] == ["start", "error", "exit"]
    assert message in lifecycle[1]["detail"]


def test_https_app_with_matching_sha256_runs(nodes, https_server, monkeypatch, tmp_path):
    base, cert = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    app = {
        "url": f"{base}/metric_writer.py",
        "sha256": hashlib.sha256(APP_SOURCE).hexdigest(),
        "protocols": [],
        "params": {"count": 3, "rate": 50.0, "done_file": str(tmp_path / "done")},
    }
    process = nodes.start(nodes.config("fetched", app))
    nodes.wait_for(lambda rs: len(rs) == 3, "app")
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, nodes.output(process)
