"""Small clients for the machine monitors: QMP (JSON over a unix or tcp socket)
and HMP (the human monitor behind `-monitor unix:...`). Standard library only.

QMP replies and events arrive on one stream; a background reader thread splits
them: replies go to a queue that execute() waits on, events to a list that
get_event() and events() read."""
import json
import os
import queue
import select
import socket
import threading
import time


class QMPError(Exception):
    pass


class Disconnected(QMPError):
    pass


def _connect(address, timeout, alive=None, retry_interval=0.05):
    """Connects to a unix path (str or Path) or a (host, port) tuple, retrying
    until the server listens or `timeout` seconds pass; gives up at once when
    `alive()` says the server's process is gone."""
    deadline = time.monotonic() + timeout
    while True:
        if isinstance(address, tuple):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = str(address)
        try:
            sock.connect(address)
            return sock
        except OSError as error:
            sock.close()
            if alive is not None and not alive():
                raise QMPError(f"the monitor's process exited before {address} accepted") from error
            if time.monotonic() > deadline:
                raise QMPError(f"no monitor listening at {address} after {timeout} s: {error}") from error
            time.sleep(retry_interval)


class QMPClient:
    def __init__(self, address, timeout=10, negotiate=True, strict_greeting=True, alive=None, retry_interval=0.05):
        """`retry_interval`: seconds between connection attempts while the
        server does not listen yet."""
        self.address = address
        self.timeout = timeout
        self.sock = _connect(address, timeout, alive, retry_interval)
        self._replies = queue.Queue()
        self._events = []
        self._events_cond = threading.Condition()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        # QEMU may still be answering input from the previous client when the
        # next one connects, and those replies reach the new client, even
        # before its greeting. A lenient client keeps them in `stale`.
        self.stale = []
        while True:
            self.greeting = self._next_message(timeout)
            if "QMP" in self.greeting:
                break
            if strict_greeting:
                raise QMPError(f"expected a greeting, got {self.greeting!r}")
            self.stale.append(self.greeting)
        if negotiate:
            reply = self.execute("qmp_capabilities")
            if "return" not in reply:
                raise QMPError(f"qmp_capabilities refused: {reply!r}")

    # -- reading --------------------------------------------------------------

    def _read_loop(self):
        decoder = json.JSONDecoder()
        buffer = ""
        raw = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    continue  # a multibyte character split across reads
                raw = b""
                buffer += text
                while True:
                    stripped = buffer.lstrip()
                    if not stripped:
                        buffer = ""
                        break
                    try:
                        message, end = decoder.raw_decode(stripped)
                    except json.JSONDecodeError:
                        buffer = stripped
                        break
                    buffer = stripped[end:]
                    self._dispatch(message)
        except OSError:
            pass
        finally:
            self._closed.set()
            self._replies.put(None)
            with self._events_cond:
                self._events_cond.notify_all()

    def _dispatch(self, message):
        if isinstance(message, dict) and "event" in message:
            with self._events_cond:
                self._events.append(message)
                self._events_cond.notify_all()
        else:
            self._replies.put(message)

    def _next_message(self, timeout):
        try:
            message = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise QMPError(f"no reply from the monitor within {timeout} s") from None
        if message is None:
            self._replies.put(None)  # later readers see the disconnect too
            raise Disconnected("the monitor closed the connection")
        return message

    # -- commands -------------------------------------------------------------

    def send_raw(self, data, timeout=None):
        """Sends bytes (or str) as they are, for malformed-input tests. Raises
        QMPError when the server stops reading for `timeout` seconds."""
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QMPError(f"the monitor stopped reading; {len(view)} of {len(data)} bytes unsent")
            _, writable, _ = select.select([], [self.sock], [], remaining)
            if writable:
                sent = self.sock.send(view, socket.MSG_DONTWAIT)
                view = view[sent:]

    def send(self, message):
        self.send_raw(json.dumps(message))

    def execute(self, name, args=None, id=None, timeout=None):
        """Runs one command; returns the whole reply dict ({"return": ...} or
        {"error": {...}}, with "id" when one was given)."""
        message = {"execute": name}
        if args is not None:
            message["arguments"] = args
        if id is not None:
            message["id"] = id
        self.send(message)
        return self.reply(timeout)

    def reply(self, timeout=None):
        """The next non-event message."""
        return self._next_message(self.timeout if timeout is None else timeout)

    def command(self, name, **args):
        """Runs one command and returns its "return" value; raises on an error reply."""
        reply = self.execute(name, args or None)
        if "return" not in reply:
            raise QMPError(f"{name} failed: {reply!r}")
        return reply["return"]

    def send_fds(self, message, fds):
        """Sends a command with file descriptors attached (SCM_RIGHTS), as
        getfd and add-fd expect; returns the reply."""
        data = json.dumps(message).encode()
        socket.send_fds(self.sock, [data], list(fds))
        return self.reply()

    # -- events ---------------------------------------------------------------

    def events(self):
        """All events received so far (and clears them)."""
        with self._events_cond:
            taken, self._events = self._events, []
        return taken

    def get_event(self, name, timeout=None):
        """Waits for the first event called `name`, removes and returns it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._events_cond:
            while True:
                for index, event in enumerate(self._events):
                    if event["event"] == name:
                        return self._events.pop(index)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [event["event"] for event in self._events]
                    raise QMPError(f"no {name} event within the timeout (events seen: {seen})")
                if self._closed.is_set():
                    raise Disconnected(f"the monitor closed the connection before a {name} event")
                self._events_cond.wait(remaining)

    def wait_closed(self, timeout=10):
        """True when the server closed the connection within `timeout` s."""
        return self._closed.wait(timeout)

    @property
    def closed(self):
        return self._closed.is_set()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HMPClient:
    """The human monitor over a socket. QEMU's readline echoes the line as it
    is typed, redrawing it with terminal escapes; command() strips that echo
    and the trailing prompt."""

    PROMPT = b"(qemu) "

    def __init__(self, address, timeout=10, alive=None):
        self.timeout = timeout
        self.sock = _connect(address, timeout, alive)
        self.buffer = b""
        self.banner = self._read_until_prompt().decode(errors="replace")

    def _read_until_prompt(self, timeout=None):
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        while self.PROMPT not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QMPError(f"no (qemu) prompt within the timeout; got {self.buffer[-500:]!r}") from None
            if not chunk:
                raise Disconnected(f"the monitor closed the connection; got {self.buffer[-500:]!r}")
            self.buffer += chunk
        text, _, self.buffer = self.buffer.partition(self.PROMPT)
        return text

    def command(self, line, timeout=None):
        """Sends one line; returns the output up to the next prompt as text,
        without the echoed command or the prompt, line ends normalised to \\n."""
        self.sock.sendall(line.encode() + b"\n")
        text = self._read_until_prompt(timeout).decode(errors="replace")
        text = _strip_terminal_codes(text).replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        # QEMU's readline redraws the line after each character, so what is
        # left of the echo once escapes are gone ends with the command.
        if lines and line.strip() and lines[0].rstrip().endswith(line.strip()):
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def send_line(self, line):
        """Sends a line without waiting for a prompt (for commands that end the process)."""
        self.sock.sendall(line.encode() + b"\n")

    def read_rest(self, timeout=5):
        """Reads until the server closes the connection; returns what came."""
        self.sock.settimeout(timeout)
        data = self.buffer
        self.buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, OSError):
            pass
        return data.decode(errors="replace")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _strip_terminal_codes(text):
    """Removes ANSI escape sequences (readline redraws) from monitor output."""
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\x1b":
            i += 1
            if i < len(text) and text[i] == "[":
                i += 1
                while i < len(text) and not ("@" <= text[i] <= "~"):
                    i += 1
            i += 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def fd_count(pid):
    """Open file descriptors of a process (Linux /proc)."""
    return len(os.listdir(f"/proc/{pid}/fd"))
