"""xottls.py - the TLS side shared by the test tools (stdlib only): XoT
client contexts and connections (TLS 1.3, ALPN "dot"), a framed DNS reader
on such a connection, the script steps every client has (wait for a file,
expect the peer's close), and the server half of the fake primaries (server
context, listener with its status file, the table of open sessions).

Clients: xotabuse.py, xotpolicy.py, idprobe.py. Servers: fakexot.py, rvxot.py.
"""
import os
import socket
import ssl
import struct
import threading
import time


class Failed(Exception):
    """A step did not go as the script says."""


class Closed(Exception):
    """The peer closed the session; the text says how."""


# ------------------------------------------------------------------ client

def client_context(ca=None, cert=None, key=None):
    """TLS 1.3 + ALPN dot; verifies the server with CA (none: no check at
    all); CERT/KEY: a client certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["dot"])
    if ca:
        ctx.load_verify_locations(ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect_tls(host, port, timeout, ca=None, hostname="xot.test", cert=None, key=None,
                rcvbuf=0, source=None):
    """A TLS socket to HOST#PORT with ALPN dot selected, TCP_NODELAY on.
    RCVBUF is set before connect (the window scale is fixed then), and
    with it a small MSS (TCP_MAXSEG 1024): a client that stops reading must
    stall the proxy's writes, and on loopback (MSS 65483) the proxy's send
    buffer autotunes to 2 x cwnd x MSS, megabytes, enough to take a whole
    2.8 MB test zone while this client reads nothing. SOURCE is the local
    address. Raises Failed when ALPN dot is not selected, and
    ssl.SSLError / OSError as the connect or handshake fails."""
    ctx = client_context(ca, cert, key)
    raw = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    if source:
        raw.bind((source, 0))
    raw.settimeout(timeout)
    raw.connect((host, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname=hostname, suppress_ragged_eofs=False)
    if s.selected_alpn_protocol() != "dot":
        raise Failed("ALPN dot not selected")
    return s


class Conn:
    """One XoT session read in DNS frames: recv() appends what arrives,
    frames() yields the complete messages (without their length)."""

    def __init__(self, a):
        self.s = connect_tls(a.host, a.port, a.timeout, a.ca, a.hostname, getattr(a, "cert", None),
                             getattr(a, "key", None), getattr(a, "rcvbuf", 0), getattr(a, "source", None))
        self.timeout = a.timeout
        self.buf = b""
        self.received = 0
        self.local = self.s.getsockname()

    def recv(self, timeout):
        """Appends what arrives within timeout to buf; False on timeout.
        Raises Closed(how) when the peer closes."""
        self.s.settimeout(max(timeout, 0.001))
        try:
            c = self.s.recv(65536)
        except socket.timeout:
            return False
        except ssl.SSLEOFError:
            raise Closed("abrupt")
        except ssl.SSLError as e:
            raise Closed("tls-error(%s)" % (e.reason or e))
        except ConnectionError as e:
            raise Closed("reset(%s)" % type(e).__name__)
        if not c:
            raise Closed("close_notify")
        self.buf += c
        self.received += len(c)
        return True

    def frames(self):
        while len(self.buf) >= 2:
            n = struct.unpack("!H", self.buf[:2])[0]
            if len(self.buf) < 2 + n:
                return
            m, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
            yield m

    def send(self, data):
        """All of DATA, within the connection's timeout."""
        self.s.settimeout(self.timeout)
        self.s.sendall(data)

    def expect_eof(self, secs, show_octets=False):
        """The eof step: the peer must close within SECS without sending DNS
        data first. Returns by raising Closed; raises Failed otherwise."""
        t0 = time.monotonic()
        while True:
            left = t0 + secs - time.monotonic()
            if left <= 0:
                raise Failed("connection still open after %.1f s" % secs)
            if self.recv(left) and self.buf:
                raise Failed("%d octets before the close%s" % (
                    len(self.buf), ": " + self.buf[:32].hex() if show_octets else ""))


def wait_for_file(path, secs):
    """Polls (50 ms) until PATH exists; the seconds waited. Raises Failed
    after SECS."""
    t0 = time.monotonic()
    while not os.path.exists(path):
        if time.monotonic() - t0 > secs:
            raise Failed("%s did not appear within %.0f s" % (path, secs))
        time.sleep(0.05)
    return time.monotonic() - t0


# ------------------------------------------------------------------ server

def server_context(cert, key, client_ca=None):
    """TLS 1.3 + ALPN dot with CERT/KEY; CLIENT_CA: a client certificate
    signed by it is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["dot"])
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def listen(host, port, status=None, banner=None, say=None):
    """A TCP listener on HOST#PORT; says BANNER, then writes STATUS
    (atomically) once it listens."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(256)
    if banner and say:
        say(banner)
    if status:
        with open(status + ".tmp", "w") as f:
            f.write("listening\n")
        os.rename(status + ".tmp", status)
    return ls


def serve_threads(ls, session, *args):
    """Accepts forever; each connection runs session(*args, sock) in its
    own daemon thread."""
    while True:
        sock, _ = ls.accept()
        threading.Thread(target=session, args=args + (sock,), daemon=True).start()


def read_exactly(t, n):
    buf = b""
    while len(buf) < n:
        part = t.recv(n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


TCP_ESTABLISHED = 1


def peer_open(t):
    """The proxy has not closed this connection (no FIN received): the
    kernel's TCP state, ESTABLISHED and not CLOSE_WAIT."""
    try:
        info = t.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    except OSError:
        return False
    return info[0] == TCP_ESTABLISHED


class Sessions:
    """The sessions of a fake primary, one thread each: ids from 1, how many
    the proxy holds open now and the most at once, and one lock that also
    keeps output lines whole."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = self.open = self.max = 0
        self.conns = {}             # conn id -> TLS socket, while its thread runs

    def say(self, line):
        with self.lock:
            print(line, flush=True)

    def _count_open(self):
        return sum(1 for t in self.conns.values() if peer_open(t))

    def opened(self, t):
        """Registers T; says "conn N open (open=K max=M)"; returns N."""
        with self.lock:
            self.n += 1
            cid = self.n
            self.conns[cid] = t
            self.open = self._count_open()
            self.max = max(self.max, self.open)
            now, most = self.open, self.max
        self.say("conn %d open (open=%d max=%d)" % (cid, now, most))
        return cid

    def closed(self, cid):
        """Forgets session CID; says "conn N closed (open=K)"."""
        with self.lock:
            del self.conns[cid]
            self.open = self._count_open()
            now = self.open
        self.say("conn %d closed (open=%d)" % (cid, now))
