"""Free TCP ports for the servers that tests, benchmarks and demos start on loopback."""

from __future__ import annotations

import random
import socket
import threading

# Below the kernel's ephemeral range (32768-60999 on Linux), which `bind(port 0)` draws from, above
# Ray's worker ports (10002-19999) and clear of Ray Serve's replica ports (30000+): a port picked
# here is not taken between the pick and the server's bind by a process that asks for any port.
PORT_RANGE = range(20000, 30000)

_handed_out: set[int] = set()
_lock = threading.Lock()
# Not the `random` module: code that seeds it (Ultralytics training seeds it with 0) would make every
# process pick the same ports in the same order.
_random = random.SystemRandom()


def free_port() -> int:
    """A TCP port free on every interface and not handed out before by this process."""
    with _lock:
        for port in _random.sample(PORT_RANGE, 500):
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free TCP port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
