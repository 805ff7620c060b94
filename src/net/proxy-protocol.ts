// The PROXY protocol (HAProxy's, versions 1 and 2: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt):
// a balancer in front of the listeners says, before the client's first byte, which client it
// carries. Read only from `proxy.trustedAddresses` (src/net/listener.ts), strictly and within a
// bound: a header that is not exactly one of the two forms is refused, never guessed at. Written
// here rather than taken from npm: it is sixty lines, and the parser in front of admission must be
// one whose every branch we test.
import { isIP } from 'node:net';
import { normaliseAddress } from './connection.ts';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** v1's longest line, CRLF included (the specification's 107). */
const V1_MAX = 107;
/** v2 headers we accept at most (16 fixed bytes, addresses, TLVs such as HAProxy's unique id). */
export const V2_MAX = 16 + 1024;

export type ProxyHeader =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /** `source` null: a LOCAL (v2) or UNKNOWN (v1) header, the balancer's own health check. */
  | { kind: 'header'; version: 1 | 2; length: number; source: { address: string; port: number } | null };

function port(s: string): number | null {
  return /^(0|[1-9]\d{0,4})$/.test(s) && Number(s) <= 65535 ? Number(s) : null;
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { kind: 'invalid', reason: `v1 header without CRLF in ${V1_MAX} bytes` } : { kind: 'incomplete' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: `v1 header longer than ${V1_MAX} bytes` };
  const line = buf.subarray(0, end).toString('latin1');
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'header', version: 1, length: end + 2, source: null };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { kind: 'invalid', reason: `v1 header not "PROXY TCP4|TCP6 src dst sport dport": ${JSON.stringify(line.slice(0, 60))}` };
  const family = parts[1] === 'TCP4' ? 4 : 6;
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (isIP(src) !== family || isIP(dst) !== family) return { kind: 'invalid', reason: `v1 header addresses are not ${parts[1]}` };
  const sp = port(sport);
  if (sp === null || port(dport) === null) return { kind: 'invalid', reason: 'v1 header ports out of range' };
  return { kind: 'header', version: 1, length: end + 2, source: { address: normaliseAddress(src), port: sp } };
}

function parseV2(buf: Buffer): ProxyHeader {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  const family = buf[13]!;
  const len = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `v2 header version ${verCmd >> 4}` };
  if (16 + len > V2_MAX) return { kind: 'invalid', reason: `v2 header of ${16 + len} bytes (at most ${V2_MAX})` };
  if (buf.length < 16 + len) return { kind: 'incomplete' };
  const command = verCmd & 0x0f;
  if (command === 0x0) return { kind: 'header', version: 2, length: 16 + len, source: null }; // LOCAL
  if (command !== 0x1) return { kind: 'invalid', reason: `v2 command ${command}` };
  const body = buf.subarray(16, 16 + len);
  if (family === 0x11) {
    if (len < 12) return { kind: 'invalid', reason: 'v2 TCP4 addresses truncated' };
    const address = [...body.subarray(0, 4)].join('.');
    return { kind: 'header', version: 2, length: 16 + len, source: { address, port: body.readUInt16BE(8) } };
  }
  if (family === 0x21) {
    if (len < 36) return { kind: 'invalid', reason: 'v2 TCP6 addresses truncated' };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { kind: 'header', version: 2, length: 16 + len, source: { address: normaliseAddress(canonicalV6(groups)), port: body.readUInt16BE(32) } };
  }
  if (family === 0x00) return { kind: 'header', version: 2, length: 16 + len, source: null }; // UNSPEC
  return { kind: 'invalid', reason: `v2 address family 0x${family.toString(16)} (only TCP over IPv4 or IPv6)` };
}

/** Eight hex groups → the compressed form Node reports for sockets. */
function canonicalV6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  // ::ffff:a.b.c.d as Node writes it, so that normaliseAddress makes it plain IPv4.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return text;
}

/** What the bytes received so far hold: a whole header, not yet one, or something else. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  const sig = buf.subarray(0, Math.min(12, buf.length));
  if (V2_SIGNATURE.subarray(0, sig.length).equals(sig) && sig.length > 0 && buf[0] === 0x0d) return buf.length < 12 ? { kind: 'incomplete' } : parseV2(buf);
  const v1 = Buffer.from('PROXY ');
  const head = buf.subarray(0, Math.min(6, buf.length));
  if (v1.subarray(0, head.length).equals(head) && head.length > 0) return buf.length < 6 ? { kind: 'incomplete' } : parseV1(buf);
  return { kind: 'invalid', reason: 'no PROXY protocol header (a balancer in proxy.trustedAddresses must send one: HAProxy send-proxy or send-proxy-v2)' };
}
