"""A host-side client that keeps one TCP connection to the guest's echo
server (guests/linux/netecho.c, port 7) and pings the guest, while the guest
is moved; run as a program (inside the test's network namespace):

    python3 scripts/net-stream.py ADDRESS STATUS_FILE [RATE_BYTES_PER_S]

It streams a deterministic pseudo-random byte sequence, checks every byte
that comes back against it, and notes each pause of the echo longer than
20 ms (start, length); at its pace the echo otherwise comes every few ms. Every 50 ms it sends an ICMP echo request (a raw
socket: it runs as root) and counts the replies. Every 200 ms, and when it
ends (SIGTERM), it rewrites STATUS_FILE as JSON:

    {"sent": bytes, "verified": bytes, "mismatch_at": null | offset,
     "error": null | text, "gaps": [[start, seconds], ...],
     "pings": [[sequence, sent_at, answered], ...]}

Times are time.monotonic(), the same clock as the test's.
"""
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

PORT = 7
CHUNK = 8192
WINDOW = 256 * 1024  # bytes in flight at most
GAP = 0.02           # an echo pause worth noting, in seconds


def stream_bytes(seed):
    rng = random.Random(seed)
    while True:
        yield rng.randbytes(CHUNK)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff


class Pinger:
    def __init__(self, address):
        self.address = address
        self.ident = os.getpid() & 0xffff
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.pings = []  # [sequence, sent_at, answered]
        self.lock = threading.Lock()
        threading.Thread(target=self.receive, daemon=True).start()

    def send(self):
        with self.lock:
            sequence = len(self.pings)
            self.pings.append([sequence, time.monotonic(), False])
        header = struct.pack("!BBHHH", 8, 0, 0, self.ident, sequence & 0xffff)
        payload = b"godwit-ping"
        packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), self.ident, sequence & 0xffff) + payload
        try:
            self.sock.sendto(packet, (self.address, 0))
        except OSError:
            pass

    def receive(self):
        while True:
            data = self.sock.recv(2048)
            icmp = data[(data[0] & 0xf) * 4:]
            if len(icmp) < 8:
                continue
            kind, _, _, ident, sequence = struct.unpack("!BBHHH", icmp[:8])
            if kind == 0 and ident == self.ident:
                with self.lock:
                    for ping in self.pings[-65536:]:
                        if ping[0] & 0xffff == sequence:
                            ping[2] = True

    def snapshot(self):
        with self.lock:
            return [list(p) for p in self.pings]


def main():
    address, status_path = sys.argv[1], sys.argv[2]
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 2e6
    state = {"sent": 0, "verified": 0, "mismatch_at": None, "error": None, "gaps": []}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pinger = Pinger(address)

    def write_status():
        tmp = status_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(state, pings=pinger.snapshot()), f)
        os.replace(tmp, status_path)

    sock = socket.create_connection((address, PORT), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    outgoing = stream_bytes(1)
    expected = stream_bytes(1)
    pending = b""       # generated, not yet written
    check = b""         # expected, not yet received
    started = last_echo = last_status = last_ping = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if now - last_ping >= 0.05:
            pinger.send()
            last_ping = now
        if now - last_status >= 0.2:
            write_status()
            last_status = now
        want_write = state["sent"] - state["verified"] < WINDOW and state["sent"] < rate * (now - started)
        readable, writable, _ = select.select([sock], [sock] if want_write else [], [], 0.01)
        if writable:
            if not pending:
                pending = next(outgoing)
            try:
                n = sock.send(pending)
                pending = pending[n:]
                state["sent"] += n
            except BlockingIOError:
                pass
        if readable:
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError as error:
                state["error"] = f"receive: {error}"
                break
            if not data:
                state["error"] = "the guest closed the connection"
                break
            now = time.monotonic()
            if now - last_echo > GAP:
                state["gaps"].append([last_echo, now - last_echo])
            last_echo = now
            while len(check) < len(data):
                check += next(expected)
            if check[:len(data)] != data:
                offset = next(i for i in range(len(data)) if check[i] != data[i])
                state["mismatch_at"] = state["verified"] + offset
                break
            check = check[len(data):]
            state["verified"] += len(data)
    if time.monotonic() - last_echo > GAP and state["sent"] > state["verified"]:
        state["gaps"].append([last_echo, time.monotonic() - last_echo])
    time.sleep(0.3)  # the last pings' replies
    write_status()


if __name__ == "__main__":
    main()
