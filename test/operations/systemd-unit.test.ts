// The systemd unit in contrib/ (docs/operations.md): systemd's own offline security analysis
// rates it, and the sandboxing that must be there is there. No service is started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

const UNIT = new URL('../../contrib/portcullis.service', import.meta.url).pathname;

test('contrib/portcullis.service: systemd-analyze security rates it OK (exposure at most 2.0) and it keeps its key directives', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], (err, stdout, stderr) => {
      // It exits non-zero when ExecStart's binary is missing on this machine; the rating is still printed.
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error('systemd-analyze is required (apt-get install systemd)'));
      else resolve(stdout + stderr);
    }),
  );
  const m = /Overall exposure level for portcullis\.service: ([\d.]+)/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}:\n${out}`);
  const unit = await readFile(UNIT, 'utf8');
  for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'User=portcullis', 'UMask=0077']) {
    assert.ok(unit.split('\n').includes(line), `missing ${line}`);
  }
});
