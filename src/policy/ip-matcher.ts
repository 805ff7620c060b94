// Address rules compiled once into node:net BlockLists (one per protocol plus one for all),
// and swapped whole when the rules change. IPv4-mapped IPv6 is normalised; an entry that does
// not parse is an error when the rules are compiled, never at match time.
import { BlockList, isIP } from 'node:net';
import type { Protocol } from '../audit/events.ts';
import { PortcullisError } from '../errors/index.ts';
import { normaliseAddress } from '../net/connection.ts';

export interface AddressRule {
  /** An address (`192.0.2.7`, `2001:db8::1`) or a CIDR (`10.0.0.0/8`, `2001:db8::/32`). */
  cidr: string;
  /** Protocols the rule applies to; empty or absent: all. */
  protocols?: readonly string[];
  /** Where the rule came from, for the audit trail (`config access.deny[2]`, `cli deny #4`). */
  source?: string;
}

export interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  /** Canonical text: `10.0.0.0/8`, `192.0.2.7/32`. */
  text: string;
}

export function parseCidr(input: string): ParsedCidr {
  const m = /^\s*([^/\s]+)(?:\/(\d{1,3}))?\s*$/.exec(input);
  const addr = m ? normaliseAddress(m[1]!) : '';
  const version = isIP(addr);
  if (!m || version === 0) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${input}": expected an IPv4/IPv6 address or CIDR such as 203.0.113.0/24`);
  const max = version === 4 ? 32 : 128;
  // An IPv4-mapped CIDR (::ffff:10.0.0.0/104) becomes its IPv4 form.
  let prefix = m[2] === undefined ? max : Number(m[2]);
  if (version === 4 && /^::ffff:/i.test(m[1]!) && m[2] !== undefined) prefix -= 96;
  if (prefix < 0 || prefix > max) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${input}": prefix must be 0-${max}`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  return { address: addr, prefix, family, text: `${addr}/${prefix}` };
}

export class IpMatcher {
  private readonly all = new BlockList();
  private readonly byProtocol = new Map<string, BlockList>();
  private readonly rules: { cidr: ParsedCidr; rule: AddressRule; list: BlockList }[] = [];

  constructor(rules: readonly AddressRule[]) {
    for (const rule of rules) {
      const cidr = parseCidr(rule.cidr);
      const lists = rule.protocols && rule.protocols.length > 0 ? rule.protocols.map((p) => this.listFor(p)) : [this.all];
      for (const list of lists) {
        list.addSubnet(cidr.address, cidr.prefix, cidr.family);
        this.rules.push({ cidr, rule, list });
      }
    }
  }

  private listFor(protocol: string): BlockList {
    let l = this.byProtocol.get(protocol);
    if (!l) this.byProtocol.set(protocol, (l = new BlockList()));
    return l;
  }

  get size(): number {
    return this.rules.length;
  }

  /** The first rule matching the (normalised) address for the protocol, or null. */
  match(address: string, protocol: Protocol): AddressRule | null {
    const addr = normaliseAddress(address);
    const version = isIP(addr);
    if (version === 0) return null;
    const family = version === 4 ? 'ipv4' : 'ipv6';
    const proto = this.byProtocol.get(protocol);
    if (!this.all.check(addr, family) && !proto?.check(addr, family)) return null;
    for (const r of this.rules) {
      if ((r.list === this.all || r.list === proto) && matchesOne(r.cidr, addr, family)) return r.rule;
    }
    return null;
  }
}

function matchesOne(cidr: ParsedCidr, addr: string, family: 'ipv4' | 'ipv6'): boolean {
  if (cidr.family !== family) return false;
  const one = new BlockList();
  one.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return one.check(addr, family);
}

/** Does the address fall in any of the CIDRs? (Per-user lists: small, checked at login.) */
export function addressInAny(address: string, cidrs: readonly string[]): string | null {
  if (cidrs.length === 0) return null;
  const m = new IpMatcher(cidrs.map((cidr) => ({ cidr })));
  return m.match(address, 'sftp')?.cidr ?? null;
}
