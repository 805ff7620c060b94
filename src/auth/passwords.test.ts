import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPortcullisError } from '../errors/index.ts';
import { hashPassword, verifyPassword, warmPasswordVerifier } from './passwords.ts';

test('argon2id at the OWASP parameters', async () => {
  const h = await hashPassword('s3cret!');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPassword(h, 's3cret!'), true);
  assert.equal(await verifyPassword(h, 's3cret'), false);
  assert.equal(await verifyPassword('not a hash', 'x'), false);
});

test('unacceptable passwords are refused with a reason', async () => {
  for (const bad of ['', 'a\nb', 'nul\0', 'x'.repeat(2000)]) {
    await assert.rejects(hashPassword(bad), (e) => isPortcullisError(e, 'ERR_PASSWORD_INVALID'));
  }
});

test('unknown user, wrong password and over-long input take comparable time', async () => {
  // Not a benchmark: a guard that every path runs one argon2 verification. Without the dummy
  // hash the unknown-user path is ~1000x faster, far outside these generous bounds.
  const stored = await hashPassword('the right one');
  await warmPasswordVerifier();
  const time = async (fn: () => Promise<boolean>) => {
    const t0 = process.hrtime.bigint();
    assert.equal(await fn(), false);
    return Number(process.hrtime.bigint() - t0);
  };
  const wrong: number[] = [];
  const unknown: number[] = [];
  const long: number[] = [];
  for (let i = 0; i < 9; i++) {
    wrong.push(await time(() => verifyPassword(stored, 'wrong')));
    unknown.push(await time(() => verifyPassword(null, 'wrong')));
    long.push(await time(() => verifyPassword(stored, 'x'.repeat(5000))));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(unknown) / median(wrong);
  const ratioLong = median(long) / median(wrong);
  assert.ok(ratio > 0.33 && ratio < 3, `unknown/wrong time ratio ${ratio.toFixed(2)}`);
  assert.ok(ratioLong > 0.33 && ratioLong < 3, `overlong/wrong time ratio ${ratioLong.toFixed(2)}`);
});
