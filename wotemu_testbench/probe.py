"""Measurement probes for the network plane: UDP round trips and TCP goodput.

Small, dependency-free tools meant to run at both ends of a shaped path (one process per end,
each in its node's network namespace): `python -m wotemu_testbench.probe echo|rtt|sink|source`.
`rtt` and `sink` print one JSON object. The statistics used to judge them are here too.
"""

import argparse
import contextlib
import json
import math
import select
import socket
import statistics
import struct
import sys
import time

from wotemu_runtime.net.sockets import set_receive_buffer

# Echoes a prober may have to hold while it catches up with its pace (a stalled CPU): thousands
# of small datagrams. rmem_max caps SO_RCVBUF (UML's kernel: ~400 datagrams) unless we are root.
PROBE_BUFFER = 16 << 20
_PROBE = struct.Struct("!Id")  # sequence number, send time (monotonic)


def echo(port: int) -> None:
    """Send every datagram back to where it came from, forever."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    set_receive_buffer(sock, PROBE_BUFFER)  # a busy CPU must not drop probes here
    sock.bind(("0.0.0.0", port))
    while True:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)


def rtt(host: str, port: int, count: int, interval_s: float, size: int, tail_s: float) -> dict:
    """Send `count` probes at a fixed pace, collect echoes until `tail_s` after the last one.

    Returns the round-trip times (ms, first echo of each probe), how many probes came back and
    the sequence numbers of those that did not,
    extra copies (duplicates), echoes that arrived after a later probe's (reordered), and the
    measured seconds from the first probe sent to the last sent, and from the first echo received
    to the last.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    set_receive_buffer(sock, PROBE_BUFFER)
    sock.connect((host, port))
    padding = b"\0" * max(0, size - _PROBE.size)
    rtts: dict[int, float] = {}
    sent_s: dict[int, float] = {}  # when each answered probe left, since started_t
    duplicates = reordered = highest = 0
    started_t = time.time()
    start = time.monotonic()
    last_sent = start
    first_echo = last_echo = None
    sent = 0
    # The tail runs from the last probe really sent: a prober that fell behind its pace (a busy
    # single-CPU UML) must not count the echoes of its late probes as lost. Between two probes it
    # reads every echo there is, even when it is behind, so that echoes never pile up unread.
    while sent < count or time.monotonic() < last_sent + tail_s:
        now = time.monotonic()
        if sent < count and now >= start + sent * interval_s:
            sock.send(_PROBE.pack(sent, now) + padding)
            sent += 1
            last_sent = now
        wake = start + sent * interval_s if sent < count else last_sent + tail_s
        while select.select([sock], [], [], max(0.0, wake - time.monotonic()))[0]:
            try:
                data = sock.recv(65535)
            except ConnectionRefusedError:  # an ICMP error from a probe before the echo server was up
                continue
            seq, sent_at = _PROBE.unpack_from(data)
            last_echo = time.monotonic()
            first_echo = first_echo or last_echo
            if seq in rtts:
                duplicates += 1
                continue
            rtts[seq] = (last_echo - sent_at) * 1000
            sent_s[seq] = sent_at - start
            if seq < highest:
                reordered += 1
            highest = max(highest, seq)
    return {
        "sent": count,
        "received": len(rtts),
        "duplicates": duplicates,
        "reordered": reordered,
        "send_s": last_sent - start,
        "echo_s": last_echo - first_echo if first_echo else 0.0,
        "rtt_ms": [rtts[seq] for seq in sorted(rtts)],
        "sent_s": [sent_s[seq] for seq in sorted(rtts)],  # when each left, in s after started_t
        "started_t": started_t,
        "lost_seqs": [seq for seq in range(count) if seq not in rtts],
    }


# struct tcp_info (linux/tcp.h): tcpi_segs_out and tcpi_segs_in, two u32 at byte 136 (Linux >= 4.2).
_TCP_INFO_SEGS = struct.Struct("=II")
_TCP_INFO_SEGS_OFFSET = 136


def tcp_segments(conn: socket.socket) -> tuple[int, int]:
    """(segments sent, segments received) on this one connection: the sink's ACKs and the data it
    got, counted on the shaped path only (a namespace-wide count would add unshaped Redis traffic)."""
    info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SEGS_OFFSET + _TCP_INFO_SEGS.size)
    return _TCP_INFO_SEGS.unpack_from(info, _TCP_INFO_SEGS_OFFSET)


def sink(port: int, seconds: float, warmup_s: float) -> dict:
    """Receive one TCP stream for `seconds`: goodput after `warmup_s`, and what L2 accounting needs.

    The sink ends the transfer (closing resets the sender): at low rates the sender's socket
    buffer alone would take minutes to drain.
    """
    server = socket.create_server(("0.0.0.0", port))
    conn, _ = server.accept()
    arrivals = [(time.monotonic(), 0)]  # (time, cumulative bytes)
    total = 0
    conn.settimeout(1)
    while arrivals[-1][0] - arrivals[0][0] < seconds:
        try:
            data = conn.recv(1 << 16)
        except TimeoutError:
            continue
        if not data:
            break
        total += len(data)
        arrivals.append((time.monotonic(), total))
    mss = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    acks, segments = tcp_segments(conn)
    conn.close()
    start = next((t, n) for t, n in arrivals if t >= arrivals[1][0] + warmup_s)
    end = arrivals[-1]
    return {
        "bytes": end[1] - start[1],
        "total_bytes": total,
        "mss": mss,
        "acks": acks,
        "segments": segments,
        "seconds": end[0] - start[0],
        "goodput_bps": (end[1] - start[1]) * 8 / (end[0] - start[0]),
    }


def source(host: str, port: int, seconds: float) -> None:
    """Send zeros to a sink as fast as the path takes them, until it hangs up (or `seconds`)."""
    deadline = time.monotonic() + 30
    while True:  # the sink may still be starting
        try:
            sock = socket.create_connection((host, port), timeout=30)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    chunk = b"\0" * (1 << 16)
    deadline = time.monotonic() + seconds
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
        while time.monotonic() < deadline:
            sock.send(chunk)
    sock.close()


IP_TCP_HEADERS = 52  # IPv4 20 + TCP 20 + the timestamp option 12, as Linux sends them
ETHERNET_HEADER = 14


def l2_efficiency(acks: int, segments: int, mtu: int = 1500) -> float:
    """Share of the shaped link's bytes that is payload, from the frame sizes alone.

    Qdiscs (and the userspace shaper) charge each packet its IP length plus the 14-byte Ethernet
    header. A full data segment is an `mtu`-byte IP packet carrying mtu - 52 payload bytes; the
    sink's ACKs (bare headers: 52 bytes) cross the same gateway interface and share its rate, as
    many per data segment as that connection sent (`acks` over `segments`, both from its tcp_info).
    """
    wire_per_segment = (mtu + ETHERNET_HEADER) + acks / segments * (IP_TCP_HEADERS + ETHERNET_HEADER)
    return (mtu - IP_TCP_HEADERS) / wire_per_segment


def binomial_interval(n: int, p: float, level: float = 0.99) -> tuple[int, int]:
    """The central `level` interval of Binomial(n, p): (lo, hi) with P(X<lo), P(X>hi) <= (1-level)/2."""
    tail = (1 - level) / 2
    log_pmf = [
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + (k * math.log(p) if p > 0 else (0 if k == 0 else -math.inf))
        + ((n - k) * math.log1p(-p) if p < 1 else (0 if k == n else -math.inf))
        for k in range(n + 1)
    ]
    cdf, lo, hi = 0.0, None, n
    for k, value in enumerate(log_pmf):
        cdf += math.exp(value)
        if lo is None and cdf > tail:
            lo = k
        if cdf >= 1 - tail:
            hi = k
            break
    return lo, hi


def summary(rtt_ms: list[float]) -> dict:
    """Median, p99, and a deviation robust to the rare sample a busy host delays (IQR / 1.349: the
    standard deviation of a normal distribution with that interquartile range)."""
    ordered = sorted(rtt_ms)

    def quantile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"median": statistics.median(ordered), "p99": quantile(0.99),
            "sigma": (quantile(0.75) - quantile(0.25)) / 1.349}  # fmt: skip


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m wotemu_testbench.probe")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("echo").add_argument("--port", type=int, required=True)
    p = commands.add_parser("rtt")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--tail", type=float, default=1.0)
    p = commands.add_parser("sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p = commands.add_parser("source")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "echo":
        echo(args.port)
    elif args.command == "rtt":
        print(json.dumps(rtt(args.host, args.port, args.count, args.interval, args.size, args.tail)))
    elif args.command == "sink":
        print(json.dumps(sink(args.port, args.seconds, args.warmup)), flush=True)
    else:
        source(args.host, args.port, args.seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
