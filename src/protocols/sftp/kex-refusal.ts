// Why an SSH client was turned away during key exchange, and what would admit it.
//
// ssh2 reports only "Handshake failed: no matching C->S MAC". To tell the operator what the
// client offered, the first bytes of the connection are read alongside ssh2 (a tee on the raw
// socket, before NEWKEYS everything is plaintext): the identification line, then the client's
// KEXINIT packet. The tee stops at the KEXINIT or after LIMITS.sshKexInitMaxBytes.
import type { Socket } from 'node:net';
import { LIMITS } from '../../config/limits.ts';
import { LEGACY_ALGORITHMS, type LegacyAlgorithm } from './algorithms.ts';
import type { Algorithms } from 'ssh2';

/** What a client offers in its KEXINIT (client-to-server lists, which decide the match). */
export interface KexOffer {
  kex: string[];
  serverHostKey: string[];
  cipher: string[];
  mac: string[];
  compress: string[];
}

export type KexCategory = keyof KexOffer;

const SSH_MSG_KEXINIT = 20;

/** Parses the client's first bytes: identification line(s), then the KEXINIT. Returns
 * undefined while more bytes are needed, null when the bytes are not an SSH KEXINIT. */
export function parseClientKexInit(buf: Buffer): { ident: string; offer: KexOffer } | undefined | null {
  let pos = 0;
  let ident: string | undefined;
  // RFC 4253 4.2: lines before the one starting "SSH-" may come first (servers only, but cheap).
  while (ident === undefined) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) return undefined;
    const line = buf.subarray(pos, nl).toString('latin1').replace(/\r$/, '');
    pos = nl + 1;
    if (line.startsWith('SSH-')) ident = line;
  }
  if (buf.length < pos + 5) return undefined;
  const packetLength = buf.readUInt32BE(pos);
  const padding = buf[pos + 4]!;
  if (packetLength > LIMITS.sshKexInitMaxBytes || padding + 1 > packetLength) return null;
  if (buf.length < pos + 4 + packetLength) return undefined;
  const payload = buf.subarray(pos + 5, pos + 4 + packetLength - padding);
  if (payload[0] !== SSH_MSG_KEXINIT) return null;
  let p = 17; // message byte + 16-byte cookie
  const lists: string[][] = [];
  for (let i = 0; i < 8; i++) {
    if (payload.length < p + 4) return null;
    const len = payload.readUInt32BE(p);
    if (payload.length < p + 4 + len) return null;
    const s = payload.subarray(p + 4, p + 4 + len).toString('latin1');
    lists.push(s === '' ? [] : s.split(','));
    p += 4 + len;
  }
  const [kex, serverHostKey, cipher, , mac, , compress] = lists as [string[], string[], string[], string[], string[], string[], string[]];
  return { ident, offer: { kex, serverHostKey, cipher, mac, compress } };
}

/** Reads the client's KEXINIT beside ssh2, without consuming anything. */
export function watchClientKexInit(socket: Socket): () => { ident?: string; offer?: KexOffer } {
  const seen: { ident?: string; offer?: KexOffer } = {};
  let chunks: Buffer[] = [];
  let total = 0;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    const buf = Buffer.concat(chunks);
    chunks = [buf];
    const parsed = parseClientKexInit(buf);
    if (parsed === undefined && total < LIMITS.sshKexInitMaxBytes) return;
    if (parsed) Object.assign(seen, parsed);
    chunks = [];
    socket.off('data', onData);
  };
  socket.on('data', onData);
  return () => seen;
}

/** Each legacy algorithm an operator may enable: what it is for and what it weakens. */
export const LEGACY_NOTES: Record<LegacyAlgorithm, { category: KexCategory | 'userKey'; weakens: string }> = {
  'ecdh-sha2-nistp256': { category: 'kex', weakens: 'key exchange on a NIST P-256 curve (ssh-audit: weak elliptic curves); still no known practical attack' },
  'ecdh-sha2-nistp384': { category: 'kex', weakens: 'key exchange on a NIST P-384 curve (ssh-audit: weak elliptic curves); still no known practical attack' },
  'ecdh-sha2-nistp521': { category: 'kex', weakens: 'key exchange on a NIST P-521 curve (ssh-audit: weak elliptic curves); still no known practical attack' },
  'hmac-sha2-256': { category: 'mac', weakens: 'encrypt-and-MAC mode for clients that choose it (ssh-audit warns); the MAC itself is sound, clients that offer an -etm MAC keep using it' },
  'hmac-sha2-512': { category: 'mac', weakens: 'encrypt-and-MAC mode for clients that choose it (ssh-audit warns); the MAC itself is sound, clients that offer an -etm MAC keep using it' },
  'ssh-rsa': { category: 'userKey', weakens: 'accepts SHA-1 RSA signatures on user keys (SHA-1 chosen-prefix collisions)' },
};

const AEAD = new Set(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-gcm', 'aes256-gcm']);
/** Names in the client's kex list that announce extensions, not algorithms. */
const PSEUDO_KEX = /^(ext-info-c|kex-strict-c-v00@openssh\.com|kex-strict-s-v00@openssh\.com)$/;

export interface KexRefusal {
  /** The first list with nothing in common, as ssh2 checks them. */
  category: KexCategory;
  /** The setting that would admit the client, or null when no legacy algorithm helps. */
  fix: string;
  /** What enabling the fix weakens ("nothing" never: each legacy algorithm has a note). */
  weakens: string;
  ours: KexOffer;
}

function oursFrom(a: Algorithms): KexOffer {
  // selectAlgorithms always gives plain arrays.
  const list = (l: unknown): string[] => (Array.isArray(l) ? [...(l as string[])] : []);
  return { kex: list(a.kex), serverHostKey: list(a.serverHostKey), cipher: list(a.cipher), mac: list(a.hmac), compress: list(a.compress) };
}

/** Decides which list failed and which legacy algorithm (if any) would make it match. */
export function explainKexRefusal(offer: KexOffer, offered: Algorithms, enabled: readonly LegacyAlgorithm[]): KexRefusal {
  const ours = oursFrom(offered);
  const shares = (c: KexCategory) => offer[c].some((a) => ours[c].includes(a));
  const cipher = offer.cipher.find((a) => ours.cipher.includes(a));
  const order: KexCategory[] = ['kex', 'serverHostKey', 'cipher', ...(cipher && AEAD.has(cipher) ? [] : (['mac'] as const)), 'compress'];
  const category = order.find((c) => !shares(c)) ?? 'kex';
  const candidates = LEGACY_ALGORITHMS.filter((a) => LEGACY_NOTES[a].category === category && !enabled.includes(a) && offer[category].includes(a));
  // The client's own preference order decides which one to name first.
  candidates.sort((x, y) => offer[category].indexOf(x) - offer[category].indexOf(y));
  const pick = candidates[0];
  if (pick) {
    return { category, fix: `sftp.legacyAlgorithms: [${[...enabled, pick].join(', ')}]`, weakens: LEGACY_NOTES[pick].weakens, ours };
  }
  return {
    category,
    fix: `none on this server: the client offers no ${category} we support even as a legacy option (${offer[category].filter((a) => !PSEUDO_KEX.test(a)).join(', ') || 'nothing'}); upgrade the client or its SSH library`,
    weakens: 'nothing (no setting to change)',
    ours,
  };
}
