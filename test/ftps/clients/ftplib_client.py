"""Python ftplib against Portcullis FTPS.

usage: ftplib_client.py scenario PORT USER PASSWORD CAFILE WORKDIR TLSVERSION [stock|stock-scenario]

`ReusingFTP_TLS` resumes the control connection's TLS session on data connections (what the
server requires by default). With `stock`, the unmodified FTP_TLS is used for one listing: by
default it must get a clear 522 refusal. With `stock-scenario`, the unmodified FTP_TLS runs the
whole scenario (a server with the `ftps.dataTlsSessionReuse: optional` opt-in). Prints one JSON
object with the results.
"""
import ftplib
import hashlib
import io
import json
import os
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def context(cafile, version):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = v
    ctx.maximum_version = v
    return ctx


def connect(cls, port, user, password, cafile, version):
    ftp = cls(context=context(cafile, version), timeout=60)
    ftp.connect("127.0.0.1", port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


def sha(data):
    return hashlib.sha256(data).hexdigest()


def main():
    _, _, port, user, password, cafile, work, version, *rest = sys.argv
    port = int(port)
    out = {}
    if rest and rest[0] == "stock":
        ftp = connect(ftplib.FTP_TLS, port, user, password, cafile, version)
        try:
            ftp.nlst()
            out["stock"] = "accepted"
        except ftplib.all_errors as e:
            out["stock"] = str(e)
        print(json.dumps(out))
        return

    cls = ftplib.FTP_TLS if rest and rest[0] == "stock-scenario" else ReusingFTP_TLS
    ftp = connect(cls, port, user, password, cafile, version)
    out["tls"] = ftp.sock.version()
    out["mkd"] = ftp.mkd("py")
    ftp.cwd("py")
    for name in ("small.bin", "big.bin"):
        with open(os.path.join(work, name), "rb") as f:
            ftp.storbinary("STOR " + name, f)
    out["nlst"] = sorted(ftp.nlst())
    lines = []
    ftp.retrlines("LIST", lines.append)
    out["list"] = lines
    out["mlsd"] = {name: facts for name, facts in ftp.mlsd()}
    out["size"] = ftp.size("big.bin")
    out["mdtm"] = ftp.voidcmd("MDTM small.bin")
    buf = io.BytesIO()
    ftp.retrbinary("RETR big.bin", buf.write)
    out["download_sha256"] = sha(buf.getvalue())
    part = io.BytesIO()
    ftp.retrbinary("RETR small.bin", part.write, rest=4096)
    out["resumed_download_sha256"] = sha(part.getvalue())
    with open(os.path.join(work, "small.bin"), "rb") as f:
        data = f.read()
    ftp.storbinary("STOR partial.bin", io.BytesIO(data[:300000]))
    ftp.storbinary("STOR partial.bin", io.BytesIO(data[300000:]), rest=300000)
    out["resumed_upload_size"] = ftp.size("partial.bin")
    out["rename"] = ftp.rename("small.bin", "renamed.bin")
    out["delete"] = [ftp.delete(n) for n in ("renamed.bin", "big.bin", "partial.bin")]
    ftp.cwd("/")
    out["rmd"] = ftp.rmd("py")
    ftp.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
