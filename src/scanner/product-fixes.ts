// Fixes in the words of the product the scanner identified: the directive, option or console
// setting that removes the finding there. A product not listed for a check gets the generic fix
// (fixes.ts). Only what holds for the product: where nothing in it can remove a finding, the fix
// says so and names what does help.
import { FIXES } from './fixes.ts';
import type { ProductInfo } from './banner.ts';

type Fixes = Partial<Record<string, string>>;

const TLS_OPENSSL_POLICY = 'or raise the system OpenSSL policy (MinProtocol = TLSv1.2 in openssl.cnf)';

const VSFTPD: Fixes = {
  'ftp.cleartext-only': 'vsftpd.conf: ssl_enable=YES with rsa_cert_file= and rsa_private_key_file=, then force_local_logins_ssl=YES and force_local_data_ssl=YES; or move users to SFTP.',
  'ftp.tls-optional-login': 'vsftpd.conf: force_local_logins_ssl=YES (and force_anon_logins_ssl=YES if anonymous logins stay on).',
  'ftp.tls-optional-data': 'vsftpd.conf: force_local_data_ssl=YES (and force_anon_data_ssl=YES if anonymous logins stay on).',
  'ftp.anonymous-login': 'vsftpd.conf: anonymous_enable=NO.',
  'ftp.anonymous-read': 'vsftpd.conf: anonymous_enable=NO, or anon_root= pointing at a dedicated public directory that holds nothing private.',
  'ftp.anonymous-write': 'vsftpd.conf: anon_upload_enable=NO, anon_mkdir_write_enable=NO and anon_other_write_enable=NO (write_enable=NO would also stop your local users from uploading).',
  'ftp.bounce': 'vsftpd.conf: port_promiscuous=NO (the default), or port_enable=NO to refuse active mode altogether.',
  'ftp.pasv-address-leak': 'vsftpd.conf: pasv_address= the public address clients connect to (pasv_addr_resolve=YES to give a host name), with pasv_min_port/pasv_max_port opened in the firewall.',
  'ftp.user-enumeration': 'vsftpd refuses names in its user_list at USER, before the password, which tells names apart: set userlist_enable=NO and restrict logins through PAM (pam_listfile) instead.',
  'svc.version-disclosure': 'vsftpd.conf: ftpd_banner= a greeting without the product and version (vsftpd still prints its version in STAT after login; no setting removes that, and only logged-in users see it).',
  'tls.legacy-protocol': `vsftpd.conf: ssl_sslv2=NO, ssl_sslv3=NO, ssl_tlsv1=NO, and on builds that have them ssl_tlsv1_1=NO; ${TLS_OPENSSL_POLICY}.`,
  'tls.weak-cipher': 'vsftpd.conf: ssl_ciphers=ECDHE+AESGCM:ECDHE+CHACHA20 (an OpenSSL cipher string).',
  'tls.anon-cipher': 'vsftpd.conf: ssl_ciphers=ECDHE+AESGCM:ECDHE+CHACHA20 (an explicit list without aNULL suites).',
  'tls.no-forward-secrecy': 'vsftpd.conf: ssl_ciphers=ECDHE+AESGCM:ECDHE+CHACHA20 (no static-RSA suites).',
  'auth.no-bruteforce-protection': 'vsftpd.conf: max_login_fails=3 (disconnect after three failures) and delay_failed_login=3; add a fail2ban vsftpd jail to ban repeat sources.',
};

const PROFTPD: Fixes = {
  'ftp.cleartext-only': 'proftpd.conf (mod_tls): TLSEngine on, TLSRSACertificateFile/TLSRSACertificateKeyFile (or TLSECCertificateFile), TLSRequired on; or move users to SFTP.',
  'ftp.tls-optional-login': 'proftpd.conf (mod_tls): TLSRequired auth (or TLSRequired on to cover data too).',
  'ftp.tls-optional-data': 'proftpd.conf (mod_tls): TLSRequired on (or auth+data).',
  'ftp.anonymous-login': 'proftpd.conf: remove the <Anonymous> section (or put <Limit LOGIN> DenyAll </Limit> inside it).',
  'ftp.anonymous-read': 'proftpd.conf: remove the <Anonymous> section, or point it at a dedicated public directory and deny the rest with <Limit READ> DenyAll </Limit> on private paths.',
  'ftp.anonymous-write': 'proftpd.conf: inside <Anonymous>, add <Limit WRITE> DenyAll </Limit> (covers STOR, MKD, RNFR/RNTO, DELE and SITE CHMOD).',
  'ftp.bounce': 'proftpd.conf: AllowForeignAddress off (the default).',
  'ftp.pasv-address-leak': 'proftpd.conf: MasqueradeAddress the public address clients connect to, with PassivePorts opened in the firewall.',
  'ftp.syst-disclosure': 'proftpd.conf: ServerIdent off, and keep ServerType details out of the greeting (SYST answers "UNIX Type: L8" by default).',
  'svc.version-disclosure': 'proftpd.conf: ServerIdent off (or ServerIdent on "FTP server ready").',
  'tls.legacy-protocol': 'proftpd.conf (mod_tls): TLSProtocol TLSv1.2 TLSv1.3.',
  'tls.weak-cipher': 'proftpd.conf (mod_tls): TLSCipherSuite ECDHE+AESGCM:ECDHE+CHACHA20.',
  'tls.anon-cipher': 'proftpd.conf (mod_tls): TLSCipherSuite ECDHE+AESGCM:ECDHE+CHACHA20 (no aNULL suites).',
  'tls.no-forward-secrecy': 'proftpd.conf (mod_tls): TLSCipherSuite ECDHE+AESGCM:ECDHE+CHACHA20 (no static-RSA suites).',
  'tls.client-renegotiation': 'proftpd.conf (mod_tls): TLSRenegotiate none.',
  'auth.no-bruteforce-protection': 'proftpd.conf: MaxLoginAttempts 3, and mod_ban (BanEngine on; BanOnEvent MaxLoginAttempts 2/00:10:00 01:00:00) to ban repeat sources.',
};

/** ProFTPD's SSH/SFTP module, identified as "SSH-2.0-mod_sftp". */
const MOD_SFTP: Fixes = {
  'ssh.weak-kex': 'proftpd.conf (mod_sftp): SFTPKeyExchanges curve25519-sha256 ecdh-sha2-nistp256 ecdh-sha2-nistp384 diffie-hellman-group16-sha512 diffie-hellman-group18-sha512.',
  'ssh.weak-cipher': 'proftpd.conf (mod_sftp): SFTPCiphers aes256-gcm@openssh.com aes128-gcm@openssh.com aes256-ctr aes192-ctr aes128-ctr.',
  'ssh.weak-mac': 'proftpd.conf (mod_sftp): SFTPDigests hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com hmac-sha2-256 hmac-sha2-512.',
  'ssh.weak-hostkey-algorithm': 'proftpd.conf (mod_sftp): list only Ed25519/ECDSA and RSA (3072-bit) keys in SFTPHostKey, drop any DSA key, and upgrade to ProFTPD 1.3.8 or later for rsa-sha2-256/512 signatures.',
  'ssh.small-hostkey': 'Generate new host keys (ssh-keygen -t ed25519, ssh-keygen -t rsa -b 3072), point SFTPHostKey at them and remove the small or DSA keys.',
  'ssh.password-auth': 'proftpd.conf (mod_sftp): SFTPAuthMethods publickey (or publickey+password to require both).',
  'ssh.terrapin': 'Upgrade ProFTPD to 1.3.8b or later (mod_sftp strict key exchange), or drop chacha20-poly1305 from SFTPCiphers and the -etm digests from SFTPDigests.',
  'svc.version-disclosure': 'proftpd.conf: ServerIdent off (mod_sftp then leaves the version out of its identification).',
  'auth.no-bruteforce-protection': 'proftpd.conf: MaxLoginAttempts 3, and mod_ban (BanEngine on; BanOnEvent MaxLoginAttempts 2/00:10:00 01:00:00).',
};

const PURE_FTPD: Fixes = {
  'ftp.cleartext-only': 'Pure-FTPd: start it with -Y 2 (--tls=2: cleartext sessions refused) or -Y 3 (--tls=3: data channels encrypted too), with the certificate in /etc/ssl/private/pure-ftpd.pem; Debian: echo 3 > /etc/pure-ftpd/conf/TLS.',
  'ftp.tls-optional-login': 'Pure-FTPd: -Y 2 (--tls=2) refuses sessions that do not use TLS; Debian: echo 2 > /etc/pure-ftpd/conf/TLS.',
  'ftp.tls-optional-data': 'Pure-FTPd: -Y 3 (--tls=3) refuses cleartext data channels as well; Debian: echo 3 > /etc/pure-ftpd/conf/TLS.',
  'ftp.anonymous-login': 'Pure-FTPd: -E (--noanonymous); Debian: echo yes > /etc/pure-ftpd/conf/NoAnonymous.',
  'ftp.anonymous-read': 'Pure-FTPd: -E (--noanonymous), or keep only public files under the ftp user\'s home.',
  'ftp.anonymous-write': 'Pure-FTPd: -i (--anonymouscantupload) and drop -M (--anonymouscancreatedirs); Debian: echo yes > /etc/pure-ftpd/conf/AnonymousCantUpload.',
  'ftp.pasv-address-leak': 'Pure-FTPd: -P (--forcepassiveip) the public address, with -p (--passiveportrange) opened in the firewall.',
  'tls.weak-cipher': 'Pure-FTPd: -J (--tlsciphersuite) ECDHE+AESGCM:ECDHE+CHACHA20.',
  'tls.anon-cipher': 'Pure-FTPd: -J (--tlsciphersuite) ECDHE+AESGCM:ECDHE+CHACHA20 (no aNULL suites).',
  'tls.no-forward-secrecy': 'Pure-FTPd: -J (--tlsciphersuite) ECDHE+AESGCM:ECDHE+CHACHA20 (no static-RSA suites).',
  'tls.legacy-protocol': `Pure-FTPd takes its protocol versions from OpenSSL: upgrade to a current release ${TLS_OPENSSL_POLICY}.`,
};

const IIS: Fixes = {
  'ftp.cleartext-only': 'IIS Manager > FTP site > FTP SSL Settings: pick a certificate and choose "Require SSL connections" (controlChannelPolicy and dataChannelPolicy = SslRequire); or move users to SFTP.',
  'ftp.tls-optional-login': 'IIS Manager > FTP SSL Settings: "Require SSL connections", or Custom with the control channel set to "Require" (controlChannelPolicy = SslRequire).',
  'ftp.tls-optional-data': 'IIS Manager > FTP SSL Settings > Advanced: data channel "Require" (dataChannelPolicy = SslRequire).',
  'ftp.ccc-allowed': 'IIS Manager > FTP SSL Settings > Advanced: control channel "Require" (controlChannelPolicy = SslRequire) so the session cannot return to cleartext.',
  'ftp.anonymous-login': 'IIS Manager > FTP Authentication: disable Anonymous Authentication.',
  'ftp.anonymous-read': 'IIS Manager > FTP Authorization Rules: remove the rule that allows "All anonymous users" (or all users) to Read.',
  'ftp.anonymous-write': 'IIS Manager > FTP Authorization Rules: remove Write from every rule that covers anonymous users.',
  'ftp.pasv-address-leak': 'IIS Manager > FTP Firewall Support: set "External IP Address of Firewall" and the data channel port range, and open that range in the firewall.',
  'ftp.syst-disclosure': 'IIS always answers SYST with "Windows_NT" and no setting changes it: limit who can reach the service (FTP IP Address and Domain Restrictions, firewall) or replace IIS FTP.',
  'svc.version-disclosure': 'IIS Manager > FTP Messages: tick "Suppress default banner" and write a neutral banner.',
  'auth.no-bruteforce-protection': 'IIS Manager (IIS 8+) > FTP Logon Attempt Restrictions: enable, e.g. 4 failures in 30 seconds, "Deny IP address based on the number of failed login requests".',
  'tls.legacy-protocol': 'Windows Schannel: disable SSL 3.0, TLS 1.0 and TLS 1.1 for servers (HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\<version>\\Server: Enabled=0), then reboot.',
  'tls.weak-cipher': 'Windows: set the TLS cipher suite order by Group Policy (Computer Configuration > Administrative Templates > Network > SSL Configuration Settings > SSL Cipher Suite Order) to ECDHE with AES-GCM suites only, then reboot.',
  'tls.no-forward-secrecy': 'Windows: remove the TLS_RSA_* suites from the SSL Cipher Suite Order policy (or with Disable-TlsCipherSuite), then reboot.',
};

const OPENSSH: Fixes = {
  'ssh.protocol-v1': 'OpenSSH before 7.4: Protocol 2 in sshd_config; better, upgrade (7.4 and later have no SSH-1 at all).',
  'ssh.weak-kex': 'sshd_config: KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512 (then sshd -t and reload).',
  'ssh.weak-cipher': 'sshd_config: Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr.',
  'ssh.weak-mac': 'sshd_config: MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com.',
  'ssh.weak-hostkey-algorithm': 'sshd_config: HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256 and remove any HostKey line for a DSA key (OpenSSH 8.8 and later leave ssh-rsa out by default).',
  'ssh.small-hostkey': 'Regenerate: ssh-keygen -t rsa -b 3072 -f /etc/ssh/ssh_host_rsa_key (after moving the old key away), keep HostKey /etc/ssh/ssh_host_ed25519_key, delete the DSA key and its HostKey line, and tell users the new fingerprints.',
  'ssh.password-auth': 'sshd_config: PasswordAuthentication no and KbdInteractiveAuthentication no (ChallengeResponseAuthentication no before 8.7); or AuthenticationMethods publickey,keyboard-interactive with a PAM one-time-code module.',
  'ssh.terrapin': 'Upgrade to OpenSSH 9.6 or a distribution package with strict key exchange; until then sshd_config: Ciphers -chacha20-poly1305@openssh.com and MACs -*etm@openssh.com.',
  'svc.version-disclosure': 'OpenSSH always sends its version in the identification string (clients rely on it) and no setting removes it; DebianBanner no (Debian, Ubuntu) drops only the distribution part. Keep the package patched and limit who can reach the port.',
  'auth.no-bruteforce-protection': 'sshd_config: MaxAuthTries 3 and MaxStartups 10:30:60 (and PerSourcePenalties on OpenSSH 9.8+); add a fail2ban sshd jail.',
  'auth.default-credentials': 'Set a unique password (passwd NAME) or lock the account (usermod -L NAME), PermitRootLogin no, and require public keys (PasswordAuthentication no).',
};

const SERV_U: Fixes = {
  'ftp.cleartext-only': 'Serv-U: in the domain\'s Listeners, replace "FTP and Explicit SSL/TLS" listeners that admit cleartext by "Implicit FTPS (SSL/TLS)" or "SFTP using SSH" listeners; or move users to SFTP.',
  'svc.vulnerable-version': 'Install the latest Serv-U release and hotfix from the SolarWinds customer portal; the banner cannot show the hotfix level, so confirm it in the management console.',
};

/** Keyed by the lower-cased product name the banner identification gives. */
const BY_PRODUCT: Record<string, Fixes> = {
  vsftpd: VSFTPD,
  proftpd: PROFTPD,
  mod_sftp: MOD_SFTP,
  'pure-ftpd': PURE_FTPD,
  'microsoft ftp service': IIS,
  openssh: OPENSSH,
  'serv-u': SERV_U,
};

export interface Fix {
  fix: string;
  /** The product the fix is written for; absent for the generic fix. */
  product?: string;
}

/** The fix for `id` on the identified product, else the generic one. */
export function fixFor(id: string, product: ProductInfo | undefined): Fix {
  const specific = product ? BY_PRODUCT[product.product.toLowerCase()]?.[id] : undefined;
  if (specific) return { fix: specific, product: product!.product };
  const generic = FIXES[id];
  if (!generic) throw new Error(`no fix text for check ${id}`);
  return { fix: generic };
}

/** Every product-specific entry (for the catalogue test). */
export function productFixEntries(): [product: string, id: string][] {
  return Object.entries(BY_PRODUCT).flatMap(([p, f]) => Object.keys(f).map((id) => [p, id] as [string, string]));
}
