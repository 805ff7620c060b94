// A concrete fix in plain words for every catalogue id, for any product. A unit test keeps this in
// sync with checks.json. The directives of a product the scanner identified are in product-fixes.ts.

export const FIXES: Record<string, string> = {
  'ftp.cleartext-only':
    'Enable FTPS (AUTH TLS) with a valid certificate, or better, move users to SFTP; then require TLS for every login and data transfer.',
  'ftp.tls-optional-login':
    'Require TLS before login: refuse USER/PASS on an unencrypted control connection with 530/534.',
  'ftp.tls-optional-data':
    'Require protected data channels: answer PROT C with 534 and refuse LIST/RETR/STOR until PROT P.',
  'ftp.ccc-allowed':
    'Disable the CCC (Clear Command Channel) command so an authenticated session can never fall back to cleartext.',
  'ftp.anonymous-login':
    'Disable anonymous FTP unless it is a deliberate public read-only archive on an isolated host.',
  'ftp.anonymous-read':
    'Remove anonymous read access or limit it to a dedicated, non-sensitive public directory; move private files out of the anonymous root.',
  'ftp.anonymous-write':
    'Remove anonymous write access (uploads, new directories, renames, deletes) at once; anonymous upload areas are used for malware and warez drops.',
  'ftp.bounce':
    'Refuse PORT/EPRT addresses other than the control connection\'s client address.',
  'ftp.pasv-address-leak':
    'Configure the passive-mode public address so PASV replies carry the address clients connect to, not an internal one; prefer EPSV.',
  'ftp.syst-disclosure':
    'Reduce SYST/STAT output to the generic "UNIX Type: L8" and hide product and OS details from unauthenticated users.',
  'ftp.user-enumeration':
    'Answer USER with 331 for every name and reject bad logins with the same 530 text and timing whether or not the account exists.',
  'ftp.iis-exposed':
    'Do not expose Microsoft FTP Service to untrusted networks: replace it with an SFTP/FTPS gateway, or restrict it by firewall/VPN to known client addresses.',
  'ftp.iis-known-cves':
    'Confirm the IIS/Windows patch level (MS09-053, MS10-065/MS11-004, MS12-073 must be installed); upgrade off IIS 5/6 FTP, which is out of support.',
  'ftp.vsftpd-backdoor':
    'Treat the host as compromised: take it offline, rebuild it, and install vsftpd from a trusted distribution package (2.3.4 from the trojaned tarball opens a root shell on port 6200).',
  'ftp.proftpd-backdoor':
    'Treat the host as compromised: rebuild it and install ProFTPD from a verified source (the 1.3.3c tarball was trojaned with a root backdoor triggered by HELP ACIDBITCHEZ).',
  'ftp.proftpd-modcopy-unauth':
    'Upgrade ProFTPD to 1.3.5a or later, or unload mod_copy (remove "LoadModule mod_copy.c") so SITE CPFR/CPTO are unavailable before login.',
  'ftp.proftpd-telnet-iac':
    'Upgrade ProFTPD to 1.3.3c-clean or later (ideally a current 1.3.8+ release) to remove the Telnet IAC stack overflow (CVE-2010-4221).',
  'ftp.libopie':
    'Apply FreeBSD-SA-10:05.opie (or upgrade FreeBSD) and disable OPIE in ftpd if unused.',
  'tls.legacy-protocol':
    'Disable SSLv2, SSLv3, TLS 1.0 and TLS 1.1; allow only TLS 1.2 and TLS 1.3.',
  'tls.weak-cipher':
    'Remove NULL, EXPORT, RC4, DES, 3DES and IDEA suites; use only AEAD suites (AES-GCM, ChaCha20-Poly1305) with ECDHE.',
  'tls.anon-cipher':
    'Remove anonymous (aNULL: ADH/AECDH) cipher suites; add "!aNULL" to the cipher list.',
  'tls.no-forward-secrecy':
    'Prefer and require ECDHE/DHE key exchange; remove static-RSA (kRSA) suites from the cipher list.',
  'tls.weak-dh':
    'Use ECDHE, or configure DHE with a group of at least 2048 bits (RFC 7919 ffdhe2048 or larger).',
  'tls.cert-expired':
    'Renew the certificate and install it; automate renewal (e.g. ACME) and monitor expiry.',
  'tls.cert-untrusted':
    'Install a certificate issued by a CA your clients trust (public or your internal CA) with the full intermediate chain; self-signed certificates train users to accept MitM warnings.',
  'tls.cert-hostname-mismatch':
    'Reissue the certificate with the host name (or IP) clients connect to in its subjectAltName.',
  'tls.cert-weak-key':
    'Reissue the certificate with an RSA key of at least 2048 bits (3072 recommended) or an EC P-256/Ed25519 key.',
  'tls.cert-weak-signature':
    'Reissue the certificate signed with SHA-256 or stronger (no SHA-1 or MD5).',
  'tls.known-vulns':
    'Upgrade the TLS library (OpenSSL/Schannel) to a supported, patched release and disable SSLv2/SSLv3 and insecure renegotiation.',
  'tls.client-renegotiation':
    'Disable client-initiated renegotiation in the TLS stack (or use TLS 1.3 only, which has no renegotiation).',
  'tls.alpaca':
    'Make the FTPS server enforce ALPN ("ftp") and SNI: abort handshakes offering a foreign ALPN (e.g. http/1.1) or an unknown server name (CVE-2021-3618).',
  'ssh.protocol-v1':
    'Disable SSH protocol 1 entirely (it is broken); upgrade the SSH server if it still offers it.',
  'ssh.weak-kex':
    'Remove SHA-1 and 1024-bit key exchanges; allow sntrup761x25519-sha512, curve25519-sha256 (both names), ecdh-sha2-nistp256+ and diffie-hellman-group16/18-sha512.',
  'ssh.weak-cipher':
    'Remove CBC, arcfour, blowfish, cast128, 3des and none ciphers; keep chacha20-poly1305, aes*-gcm and aes*-ctr.',
  'ssh.weak-mac':
    'Remove MD5, SHA-1-96, umac-64, ripemd160 and non-EtM SHA-1 MACs; keep hmac-sha2-256/512(-etm) and umac-128-etm.',
  'ssh.weak-hostkey-algorithm':
    'Stop offering ssh-dss and SHA-1 ssh-rsa signatures; offer ssh-ed25519, ecdsa-sha2-nistp256 and rsa-sha2-256/512.',
  'ssh.small-hostkey':
    'Replace RSA host keys below 3072 bits (2048 minimum) and remove DSA host keys; add an Ed25519 host key.',
  'ssh.password-auth':
    'Disable password and keyboard-interactive-only logins; require public keys, or a password plus a second factor.',
  'ssh.terrapin':
    'Upgrade the SSH server to a release with strict key exchange (kex-strict), or disable chacha20-poly1305@openssh.com and CBC ciphers combined with -etm MACs.',
  'svc.version-disclosure':
    'Hide the product and version in the greeting or identification string shown before login.',
  'svc.vulnerable-version':
    'Upgrade the product to a fixed release, or confirm that the installed distribution package carries the backported fix.',
  'auth.default-credentials':
    'Remove or change default/vendor accounts and passwords; require unique strong credentials plus a second factor.',
  'auth.no-bruteforce-protection':
    'Limit failed logins per connection and per source (disconnect after 3, growing delays, temporary bans via a defender or fail2ban).',
  'svc.exposed-service':
    'Expose file-transfer and login services only to the networks that need them (firewall allow-list or VPN), and monitor them.',
};
