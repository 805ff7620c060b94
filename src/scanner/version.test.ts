import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions } from './version.ts';

void test('compareVersions orders banner versions', () => {
  const lt = (a: string, b: string): void => assert.ok(compareVersions(a, b) < 0, `${a} < ${b}`);
  lt('1.3.2rc3', '1.3.2');
  lt('1.3.2', '1.3.2a');
  lt('1.3.3b', '1.3.3c');
  lt('1.3.2rc2', '1.3.2rc3');
  lt('1.3.3', '1.3.10');
  lt('8.4p1', '8.5p1');
  lt('9.7p1', '9.8p1');
  lt('9.8', '9.8p1');
  lt('2+deb12u2', '2+deb12u3');
  lt('2.3.4', '3.0.3');
  assert.equal(compareVersions('1.3.3c', '1.3.3C'), 0);
});
