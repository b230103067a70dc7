"""Socket receive buffers sized beyond net.core.rmem_max where the process may do so.

SO_RCVBUF is silently capped at rmem_max (212 992 bytes by default: a few hundred small
datagrams), SO_RCVBUFFORCE is not, but needs CAP_NET_ADMIN.
"""

import socket

SO_RCVBUFFORCE = 33  # not in Python's socket module


def set_receive_buffer(sock: socket.socket, size: int) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
