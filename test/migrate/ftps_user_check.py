"""Logs in over explicit FTPS as an imported user and checks what IIS allowed them.

usage: ftps_user_check.py PORT USER PASSWORD CAFILE

Downloads hello.txt, then tries to upload up.txt. Prints one JSON object:
{"login": reply, "download": text, "upload": reply or error}.
"""
import ftplib
import io
import json
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """Resumes the control connection's TLS session on data connections (Portcullis requires it)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def main():
    port, user, password, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # session reuse is simplest to show on 1.2
    ftp = ReusingFTP_TLS(context=ctx, timeout=30)
    ftp.connect("127.0.0.1", port)
    out = {"login": ftp.login(user, password)}
    ftp.prot_p()
    buf = io.BytesIO()
    ftp.retrbinary("RETR hello.txt", buf.write)
    out["download"] = buf.getvalue().decode()
    try:
        out["upload"] = ftp.storbinary("STOR up.txt", io.BytesIO(b"should not land"))
    except ftplib.error_perm as e:
        out["upload"] = str(e)
    ftp.quit()
    print(json.dumps(out))


main()
