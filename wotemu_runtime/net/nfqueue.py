"""NFQUEUE without a compiled extension: nfnetlink_queue's messages over a netlink socket.

The userspace shaper needs little of it: bind one queue in packet-copy mode, read what the kernel
queued, give each packet its verdict. Written against `linux/netfilter/nfnetlink_queue.h`, so the
runtime image needs no C toolchain and builds the same on every architecture (a Raspberry Pi
included): NetfilterQueue, the binding used before, publishes no wheel and had to be compiled for
each. pyroute2, the project's netlink library, has no nfqueue family, and its generic message
classes cost far more per packet than the two fixed headers parsed here.
"""

import errno
import os
import socket
import struct

from wotemu_runtime.net.sockets import set_receive_buffer

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_UNBIND = 1, 2
NFQNL_COPY_PACKET = 2
NF_DROP, NF_ACCEPT = 0, 1
NLA_TYPE_MASK = 0x3FFF  # without the nested and byte-order flags

_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id (host order)
_NFGEN = struct.Struct("!BBH")  # nfgenmsg: family, version, queue number (big-endian)
_NLA = struct.Struct("=HH")  # nlattr: length, type
_PACKET_ID = struct.Struct("!I")  # the first field of nfqnl_msg_packet_hdr
_ERROR = struct.Struct("=i")
_HEADERS = _NLMSG.size + _NFGEN.size
SOCKET_BUFFER = 8 << 20  # queued packets wait in the kernel; bursts must not overflow our socket
RECV_SIZE = 0x10000 + 4096  # a whole IP packet and its headers


def _attr(kind: int, payload: bytes) -> bytes:
    length = _NLA.size + len(payload)
    return _NLA.pack(length, kind) + payload + b"\0" * (-length % 4)


class Packet:
    """One queued packet: its IP datagram, and one verdict to give."""

    __slots__ = ("_id", "_payload", "_queue")

    def __init__(self, queue: "NfQueue", packet_id: int, payload: bytes):
        self._queue, self._id, self._payload = queue, packet_id, payload

    def get_payload(self) -> bytes:
        return self._payload

    def get_payload_len(self) -> int:
        return len(self._payload)

    def accept(self) -> None:
        self._queue.verdict(self._id, NF_ACCEPT)

    def drop(self) -> None:
        self._queue.verdict(self._id, NF_DROP)


class NfQueue:
    """A netfilter queue of this network namespace, bound to a callback that receives Packets."""

    def __init__(self):
        self._sock = None
        self._num = None
        self._callback = None
        self._seq = 0
        self._early: list[bytes] = []  # packet messages read while waiting for an acknowledgement
        self._verdict_head = b""

    def bind(self, num: int, callback, max_len: int = 1024) -> None:
        """Take queue `num` (OSError: no CAP_NET_ADMIN, no nfnetlink_queue, or the queue is taken)."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            sock.bind((0, 0))
            set_receive_buffer(sock, SOCKET_BUFFER)  # the gateway has CAP_NET_ADMIN: beyond rmem_max
            # A full socket buffer costs the packets the kernel could not queue, not an error on read.
            sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
            self._sock, self._num, self._callback = sock, num, callback
            self._config(_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)))
            self._config(_attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0xFFFF, NFQNL_COPY_PACKET)))
            self._config(_attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", max_len)))
        except BaseException:
            sock.close()
            self._sock = None
            raise
        length = _HEADERS + _NLA.size + 8
        kind = NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_VERDICT
        self._verdict_head = (
            _NLMSG.pack(length, kind, NLM_F_REQUEST, 0, 0)
            + _NFGEN.pack(socket.AF_UNSPEC, 0, num)
            + _NLA.pack(_NLA.size + 8, NFQA_VERDICT_HDR)
        )

    def get_fd(self) -> int:
        return self._sock.fileno()

    def run(self, block: bool = True) -> None:
        """Hand every pending packet to the callback; with `block`, wait for the first one."""
        early, self._early = self._early, []
        for message in early:
            self._dispatch(message)
        flags = 0 if block else socket.MSG_DONTWAIT
        while True:
            try:
                data = self._sock.recv(RECV_SIZE, flags)
            except BlockingIOError:
                return
            flags = socket.MSG_DONTWAIT
            for kind, message in self._messages(data):
                if kind == NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET:
                    self._dispatch(message)

    def verdict(self, packet_id: int, verdict: int) -> None:
        self._sock.send(self._verdict_head + struct.pack("!II", verdict, packet_id))

    def unbind(self) -> None:
        if self._sock is None:
            return
        try:
            self._config(_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_UNBIND, socket.AF_INET)))
        finally:
            self._sock.close()
            self._sock = None

    def _config(self, attribute: bytes) -> None:
        """Send one config message and wait for its acknowledgement (an errno is raised as OSError)."""
        self._seq += 1
        length = _HEADERS + len(attribute)
        kind = NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_CONFIG
        header = _NLMSG.pack(length, kind, NLM_F_REQUEST | NLM_F_ACK, self._seq, 0)
        self._sock.send(header + _NFGEN.pack(socket.AF_UNSPEC, 0, self._num) + attribute)
        while True:
            for kind, message in self._messages(self._sock.recv(RECV_SIZE)):
                if kind == NLMSG_ERROR and _NLMSG.unpack_from(message, _NLMSG.size + 4)[3] == self._seq:
                    (code,) = _ERROR.unpack_from(message, _NLMSG.size)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                if kind == NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET:
                    self._early.append(message)

    @staticmethod
    def _messages(data: bytes):
        """(type, the whole message) of each netlink message in one datagram."""
        offset = 0
        while offset + _NLMSG.size <= len(data):
            length, kind = _NLMSG.unpack_from(data, offset)[:2]
            if length < _NLMSG.size:
                raise OSError(errno.EPROTO, f"a netlink message of {length} bytes")
            yield kind, data[offset : offset + length]
            offset += (length + 3) & ~3

    def _dispatch(self, message: bytes) -> None:
        packet_id = payload = None
        offset = _HEADERS
        while offset + _NLA.size <= len(message):
            length, kind = _NLA.unpack_from(message, offset)
            if length < _NLA.size:
                break
            kind &= NLA_TYPE_MASK
            if kind == NFQA_PACKET_HDR:
                (packet_id,) = _PACKET_ID.unpack_from(message, offset + _NLA.size)
            elif kind == NFQA_PAYLOAD:
                payload = message[offset + _NLA.size : offset + length]
            offset += (length + 3) & ~3
        if packet_id is not None:
            self._callback(Packet(self, packet_id, payload or b""))
