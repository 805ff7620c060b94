"""Clients for the IPv6 prefix tests, run inside the test's network namespace.

banner HOST PORT SRC...         connect from each source address; print a JSON list of the first
                                line each got ('' when the server closed without one)
hold HOST PORT SRC...           connect from each, read the banner, print "ready", keep the
                                sockets until stdin closes
login HOST PORT SRC USER PASS   paramiko password login from SRC; prints "ok" or "failed: why"
"""
import json
import socket
import sys


def connect(host, port, src, timeout=3.0):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, port))
    return s


def first_line(s):
    data = b''
    try:
        while b'\n' not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionError):
        pass
    return data.split(b'\n')[0].decode('latin-1').strip()


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'banner':
        out = []
        for src in sys.argv[4:]:
            try:
                s = connect(host, port, src)
                out.append(first_line(s))
                s.close()
            except OSError as e:
                out.append('')
        print(json.dumps(out))
    elif mode == 'hold':
        socks = [connect(host, port, src) for src in sys.argv[4:]]
        for s in socks:
            first_line(s)
        print('ready', flush=True)
        sys.stdin.read()
    elif mode == 'login':
        import paramiko
        src, user, password = sys.argv[4], sys.argv[5], sys.argv[6]
        try:
            s = connect(host, port, src, timeout=20)
            t = paramiko.Transport(s)
            t.start_client(timeout=20)
            t.auth_password(user, password)
            print('ok' if t.is_authenticated() else 'failed: not authenticated')
            t.close()
        except Exception as e:  # noqa: BLE001 - the test reads the reason
            print('failed: %s' % type(e).__name__)


main()
