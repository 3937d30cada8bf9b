"""Loaded into gateway processes under test (PYTHONPATH): names listed in the JSON file
$FAKE_DNS_FILE resolve to the addresses listed there, read on every lookup, so a test can add
and remove a "replica" the way a headless Service's records change. Other names resolve as usual."""

import json
import os
import socket

_real = socket.getaddrinfo


def _fake(host, port, family=0, type=0, proto=0, flags=0):
    path = os.environ.get("FAKE_DNS_FILE")
    if path and isinstance(host, str):
        with open(path) as file:
            table = json.load(file)
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0))) for ip in table[host]]
    return _real(host, port, family, type, proto, flags)


socket.getaddrinfo = _fake
