import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPortcullisError } from '../errors/index.ts';
import { addressInAny, IpMatcher, parseCidr } from './ip-matcher.ts';

test('addresses and CIDRs parse to a canonical form; bad ones fail at compile time', () => {
  assert.equal(parseCidr('10.1.2.3').text, '10.1.2.3/32');
  assert.equal(parseCidr(' 10.0.0.0/8 ').text, '10.0.0.0/8');
  assert.equal(parseCidr('2001:DB8::/32').text, '2001:db8::/32');
  assert.equal(parseCidr('::ffff:10.0.0.0/104').text, '10.0.0.0/8');
  assert.equal(parseCidr('::1').text, '::1/128');
  for (const bad of ['', 'example.com', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '1.2.3', '10.0.0.0/8/9', '300.1.1.1']) {
    assert.throws(() => parseCidr(bad), (e) => isPortcullisError(e, 'ERR_POLICY_INVALID_RULE'), bad);
  }
});

test('matching: IPv4, IPv6, IPv4-mapped IPv6, per-protocol entries', () => {
  const m = new IpMatcher([{ cidr: '192.0.2.0/24', source: 'a' }, { cidr: '2001:db8::/32', source: 'b' }, { cidr: '198.51.100.7', protocols: ['ftps'], source: 'c' }, { cidr: '::1', source: 'd' }]);
  assert.equal(m.match('192.0.2.200', 'sftp')?.source, 'a');
  assert.equal(m.match('::ffff:192.0.2.9', 'ftps')?.source, 'a', 'IPv4-mapped form matches the IPv4 rule');
  assert.equal(m.match('192.0.3.1', 'sftp'), null);
  assert.equal(m.match('2001:db8:1::5', 'sftp')?.source, 'b');
  assert.equal(m.match('2001:db9::5', 'sftp'), null);
  assert.equal(m.match('198.51.100.7', 'ftps')?.source, 'c');
  assert.equal(m.match('198.51.100.7', 'sftp'), null, 'a ftps-only rule does not apply to sftp');
  assert.equal(m.match('::1', 'sftp')?.source, 'd');
  assert.equal(m.match('not-an-ip', 'sftp'), null);
  assert.equal(addressInAny('10.9.8.7', ['10.0.0.0/8']), '10.0.0.0/8');
  assert.equal(addressInAny('10.9.8.7', []), null);
});
