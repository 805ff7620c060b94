// The unit that scores, bans, rate limits and per-address caps count: an IPv4 address, or the
// IPv6 prefix (default /64) that contains the address. One IPv6 client controls at least a /64
// (2^64 addresses), so counting exact IPv6 addresses would let it evade every per-address line.
import ipaddr from 'ipaddr.js';
import { normaliseAddress } from '../net/connection.ts';

/**
 * The counting key of an address: IPv4 as is (IPv4-mapped IPv6 first becomes IPv4), IPv6 as
 * the canonical network of its `ipv6Prefix` (`2001:db8:1:2::/64`). A /128 prefix keeps exact
 * IPv6 addresses. Anything that does not parse is returned as is (it never matches a key).
 */
export function addressKey(address: string, ipv6Prefix: number): string {
  const addr = normaliseAddress(address);
  if (!ipaddr.IPv6.isValid(addr) || ipaddr.IPv4.isValid(addr)) return addr;
  if (ipv6Prefix >= 128) return ipaddr.IPv6.parse(addr).toString();
  // SECURITY: every address of the prefix maps to one key, so a client cannot rotate through
  // its /64 to escape a ban, a score, a rate limit or a cap.
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${ipv6Prefix}`).toString()}/${ipv6Prefix}`;
}

/** A key as a CIDR (`192.0.2.7/32`, `2001:db8::/64`) for firewalls and exports. */
export function keyAsCidr(key: string): string {
  if (key.includes('/')) return key;
  return ipaddr.IPv4.isValid(key) ? `${key}/32` : `${key}/128`;
}

/** Is the key an IPv6 one (address or prefix)? */
export function isIpv6Key(key: string): boolean {
  return ipaddr.IPv6.isValid(key.split('/')[0]!) && !ipaddr.IPv4.isValid(key.split('/')[0]!);
}

/** Counts keyed by address key: the one place per-address limits get their key from. */
export type AddressKeyFn = (address: string) => string;

export function addressKeyer(ipv6Prefix: number): AddressKeyFn {
  return (address) => addressKey(address, ipv6Prefix);
}
