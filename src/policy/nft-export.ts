// Current bans as an nftables script for the OS firewall: a table with one IPv4 and one IPv6
// set whose elements time out when the ban does, and input rules that drop them. IPv6 bans are
// per prefix (access.ipv6Prefix), so the sets hold intervals.
// Load with `nft -f FILE` (check with `nft -c -f FILE`).
import type { Ban } from '../store/policy-repository.ts';
import { isIpv6Key } from './address-key.ts';

export function formatNftBans(bans: readonly Ban[], now = Date.now(), table = 'portcullis'): string {
  const elements = (family: 4 | 6) =>
    bans
      .filter((b) => isIpv6Key(b.address) === (family === 6))
      .map((b) => ({ address: b.address, seconds: Math.max(1, Math.ceil((Date.parse(b.expiresAt) - now) / 1000)) }))
      .filter((e) => e.seconds > 0)
      .map((e) => `${e.address} timeout ${e.seconds}s`);
  const set = (name: string, type: string, els: string[]) =>
    [`\tset ${name} {`, `\t\ttype ${type}`, '\t\tflags interval, timeout', ...(els.length ? [`\t\telements = { ${els.join(', ')} }`] : []), '\t}'].join('\n');
  return [
    `# Portcullis bans, exported ${new Date(now).toISOString()}: load with nft -f`,
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    set('banned_v4', 'ipv4_addr', elements(4)),
    set('banned_v6', 'ipv6_addr', elements(6)),
    '\tchain input {',
    '\t\ttype filter hook input priority filter - 5; policy accept;',
    '\t\tip saddr @banned_v4 drop',
    '\t\tip6 saddr @banned_v6 drop',
    '\t}',
    '}',
    '',
  ].join('\n');
}
