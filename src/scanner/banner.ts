// Product/version identification from FTP greetings and SSH identification strings.

export interface ProductInfo {
  product: string;
  version?: string;
  /** Distribution comment after the version, e.g. "Debian-2+deb12u3". */
  distro?: string;
}

const FTP_PATTERNS: { re: RegExp; product: string }[] = [
  { re: /vsFTPd\s+(\d[\w.]*)/i, product: 'vsftpd' },
  { re: /\(vsFTPd\)/i, product: 'vsftpd' },
  { re: /ProFTPD\s+(\d[\w.]*)/i, product: 'ProFTPD' },
  { re: /ProFTPD/i, product: 'ProFTPD' },
  { re: /Pure-FTPd(?:\s+(\d[\w.]*))?/i, product: 'Pure-FTPd' },
  { re: /Microsoft FTP Service(?:\s*\(Version\s+(\d[\w.]*)\))?/i, product: 'Microsoft FTP Service' },
  { re: /Serv-U FTP Server v\s*(\d[\w.]*)/i, product: 'Serv-U' },
  { re: /Serv-U/i, product: 'Serv-U' },
  { re: /CrushFTP(?:\s+(?:Server\s+)?v?(\d[\w.]*))?/i, product: 'CrushFTP' },
  { re: /Wing\s?FTP Server(?:\s+v?(\d[\w.]*))?/i, product: 'Wing FTP Server' },
  { re: /FileZilla Server(?:\s+(?:version\s+)?v?(\d[\w.]*))?/i, product: 'FileZilla Server' },
  { re: /Cerberus FTP Server(?:\s+(\d[\w.]*))?/i, product: 'Cerberus FTP Server' },
  { re: /FTP server \(Version (6\.00LS|[\w.]+)\) ready/i, product: 'FreeBSD ftpd' },
  { re: /wu-(\d[\w.]*)/i, product: 'wu-ftpd' },
];

export function identifyFtp(text: string): ProductInfo | undefined {
  for (const { re, product } of FTP_PATTERNS) {
    const m = re.exec(text);
    if (m) return m[1] ? { product, version: m[1].replace(/\.$/, '') } : { product };
  }
  return undefined;
}

export interface SshIdent {
  protoVersion: string;
  software: string;
  comment?: string;
}

/** Parse "SSH-protoversion-softwareversion SP comments" (RFC 4253 §4.2). */
export function parseSshIdent(line: string): SshIdent | undefined {
  const m = /^SSH-(\d+\.\d+)-(\S+)(?: (.*))?$/.exec(line);
  if (!m) return undefined;
  return { protoVersion: m[1]!, software: m[2]!, ...(m[3] ? { comment: m[3] } : {}) };
}

export function identifySsh(ident: SshIdent): ProductInfo | undefined {
  const m = /^(OpenSSH|dropbear|Serv-U|CrushFTPSSHD|WingFTPServer|libssh|Cisco|mod_sftp|paramiko|SFTPGo)[_-]?v?(\d[\w.]*)?/i.exec(ident.software);
  if (!m) {
    const g = /^([A-Za-z][\w.]*?)[_-]v?(\d[\w.]*)$/.exec(ident.software);
    return g ? { product: g[1]!, version: g[2]! } : undefined;
  }
  const product = m[1]!.toLowerCase() === 'openssh' ? 'OpenSSH' : m[1]!;
  return {
    product,
    ...(m[2] ? { version: m[2] } : {}),
    ...(ident.comment ? { distro: ident.comment } : {}),
  };
}

/** Does this text disclose a product version (digits after a product name)? */
export function disclosesVersion(info: ProductInfo | undefined): boolean {
  return info?.version !== undefined;
}
