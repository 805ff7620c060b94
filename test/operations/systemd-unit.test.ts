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

test('contrib/portcullis-*.socket: systemd-analyze verify accepts them, each names the listener it carries', async () => {
  for (const name of ['sftp', 'ftps', 'ftps-implicit']) {
    const socket = new URL(`../../contrib/portcullis-${name}.socket`, import.meta.url).pathname;
    const out = await new Promise<string>((resolve) =>
      execFile('systemd-analyze', ['verify', socket, UNIT], { cwd: new URL('../../contrib/', import.meta.url).pathname }, (_err, stdout, stderr) => resolve(stdout + stderr)),
    );
    // The only complaint allowed: the unit's ExecStart binary is not installed on this machine.
    const complaints = out.split('\n').filter((l) => l.trim() && !/is not executable: No such file or directory/.test(l));
    assert.deepEqual(complaints, [], out);
    const text = await readFile(socket, 'utf8');
    assert.ok(text.split('\n').includes(`FileDescriptorName=${name}`), `${name}: FileDescriptorName`);
    assert.ok(text.split('\n').includes('Service=portcullis.service'), `${name}: Service=`);
  }
});
