// Why a TLS handshake on FTPS failed, and what would fix it: one table from OpenSSL's reason
// (Node's `err.code`) to a reason, a fix and what that fix costs. The versions and suites are
// fixed by design (TLS 1.2+, ECDHE with AEAD only: tls-binding.ts), so for an old client the
// fix is on the client's side, never a setting that weakens every connection.

export interface TlsRefusal {
  reason: string;
  fix: string;
  weakens: string;
}

const NOTHING = 'nothing (no setting to change)';

/** OpenSSL reason codes (as Node names them) → explanation. First match wins. */
const TABLE: { match: RegExp; explain: (alpn: readonly string[] | undefined) => TlsRefusal }[] = [
  {
    match: /UNSUPPORTED_PROTOCOL|TLSV1_ALERT_PROTOCOL_VERSION|VERSION_TOO_LOW|NO_PROTOCOLS_AVAILABLE/,
    explain: () => ({ reason: 'protocol version too old: the client offers only TLS 1.1 or older; this server requires TLS 1.2 or 1.3', fix: 'client too old: upgrade the client or its TLS library, or enable TLS 1.2 in it (no server setting: TLS 1.0/1.1 are deprecated by RFC 8996)', weakens: NOTHING }),
  },
  {
    match: /NO_SHARED_CIPHER|NO_CIPHERS_AVAILABLE|NO_SUITABLE_SIGNATURE/,
    explain: () => ({ reason: 'no shared cipher suite: the client offers no ECDHE key exchange with an AEAD cipher (AES-GCM or ChaCha20-Poly1305)', fix: 'configure the client to offer an ECDHE-RSA-AES128-GCM-SHA256 class suite or TLS 1.3 (no server setting: CBC, RSA key exchange and SHA-1 suites are not offered by design)', weakens: NOTHING }),
  },
  {
    match: /NO_APPLICATION_PROTOCOL|ALPN/,
    explain: (alpn) => ({ reason: `ALPN mismatch: the client asked for ${alpn?.length ? alpn.join(', ') : 'an application protocol'}, this server speaks only "ftp" (ALPACA protection, CVE-2021-3618)`, fix: 'use an FTP client (it sends no ALPN or "ftp"); a browser or HTTPS client pointed at the FTPS port is refused on purpose', weakens: NOTHING }),
  },
  {
    match: /WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL/,
    explain: () => ({ reason: 'the client did not start TLS: it spoke plaintext (FTP or HTTP) where a TLS ClientHello was due', fix: 'on the implicit port use ftps:// (TLS from the first byte); on the explicit port send AUTH TLS first (curl: ftp:// with --ssl-reqd)', weakens: NOTHING }),
  },
  {
    match: /ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN|ALERT_DECRYPT_ERROR/,
    explain: () => ({ reason: "the client rejected the server's certificate", fix: "make the client trust the certificate (its fingerprint: portcullis posture), or set tls.certFile/tls.keyFile to a certificate from a CA the client trusts", weakens: NOTHING }),
  },
];

/** Explains a failed handshake from the error and the ALPN list the client sent, if any. */
export function explainTlsFailure(err: unknown, alpn: readonly string[] | undefined): TlsRefusal {
  const e = err as { code?: string; message?: string } | undefined;
  const key = `${e?.code ?? ''} ${e?.message ?? ''}`.toUpperCase().replace(/ /g, '_');
  // SECURITY: ALPACA: a named protocol other than ftp is the refusal whatever OpenSSL calls it.
  if (alpn?.length && !alpn.includes('ftp')) return TABLE[2]!.explain(alpn);
  const row = TABLE.find((r) => r.match.test(key));
  if (row) return row.explain(alpn);
  if (/TIMEOUT/.test(key)) return { reason: 'the client did not complete the TLS handshake in time', fix: 'none on the server: check the client (a plaintext client waiting for a banner on the implicit port?)', weakens: NOTHING };
  return { reason: `TLS handshake failed: ${e?.code ?? e?.message ?? 'connection closed'}`, fix: 'none known: run the client with verbose TLS output (openssl s_client -connect ...) to see its alert', weakens: NOTHING };
}
