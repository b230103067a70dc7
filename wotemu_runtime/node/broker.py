"""The broker role: mosquitto for the MQTT nodes, plus this container's system metrics.

Exit codes: 0 when stopped by SIGTERM/SIGINT, 1 when mosquitto exits on its own.
"""

import logging
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from wotemu_runtime.metrics.system import start_system_metrics
from wotemu_runtime.metrics.writer import MetricsWriter

log = logging.getLogger(__name__)

MOSQUITTO_STOP_TIMEOUT_S = 10.0


def mosquitto_config(port: int) -> str:
    # Anonymous access: the broker is reachable only on the stack's private networks.
    # TCP_NODELAY: without it Nagle's algorithm holds the broker's second small packet until
    # the client's delayed ACK (about 40 ms), which would be counted as network latency.
    return f"listener {port}\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n"


def run_broker(config: dict) -> int:
    port = int(config.get("ports", {}).get("mqtt", 1883))
    writer = MetricsWriter(config)
    writer.write("lifecycle", event="start", detail=f"mosquitto on port {port}")
    sampler = start_system_metrics(writer, config, role="broker")
    conf_file = Path(tempfile.mkdtemp(prefix="wotemu-broker-")) / "mosquitto.conf"
    conf_file.write_text(mosquitto_config(port))
    stopping = threading.Event()
    process = subprocess.Popen(["mosquitto", "-c", str(conf_file)])

    def on_signal(_signum, _frame):
        stopping.set()
        process.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    writer.write("lifecycle", event="ready", detail=f"mosquitto pid {process.pid}")
    returncode = process.wait()
    if stopping.is_set():
        code = 0
    else:
        detail = f"mosquitto exited on its own with code {returncode}"
        log.error("%s", detail)
        writer.write("lifecycle", event="error", detail=detail)
        code = 1
    if sampler is not None:
        sampler.stop()
    writer.write("lifecycle", event="exit", detail=f"exit code {code}")
    writer.close()
    return code
