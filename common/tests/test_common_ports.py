"""Ports for local servers: free to bind, never handed out twice, never from the kernel's own pool."""

import socket
from pathlib import Path

from agrorisk_common.ports import free_port


def ephemeral_range() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_ports_are_distinct_bindable_and_outside_the_kernels_pool():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert not set(ports) & set(ephemeral_range())
    for port in ports[:5]:
        with socket.socket() as server:
            server.bind(("0.0.0.0", port))
            server.listen()
