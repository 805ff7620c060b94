// Stored data rendered in the web admin, in Chromium: markup in scan evidence, a finding's title,
// a scan target, and audit fields (a method, a reason, a path) stays text. The page shows each
// payload literally and none of them runs (each would set a global or load an image).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TargetReport } from '../../src/scanner/types.ts';
import { startBrowser } from '../helpers/browser.ts';
import { ADMIN_PASSWORD, auditHas, codeAt, startWebServer } from './helpers.ts';

const P = (n: number) => `<img src=/x${n} onerror="window.__xss=${n}"><script>window.__xss=${n}</script>`;

test('XSS payloads in scan evidence and audit fields are shown as text and never run', { timeout: 120_000 }, async (t) => {
  const f = await startWebServer(t);
  const core = f.srv.server.core;
  const secret = await f.createAdmin('root');
  const now = new Date().toISOString();
  const report: TargetReport = {
    target: { url: `sftp://${P(1)}:22`, scheme: 'sftp', host: P(1), port: 22 },
    startedAt: now,
    durationMs: 1,
    reachable: true,
    banner: P(2),
    results: [{ n: 1, id: 'ssh-weak-kex', title: P(3), status: 'fail', severity: 'high', layer: 'encryption', modes: ['passive'], evidence: [P(4)], fix: P(5) } as TargetReport['results'][number]],
  };
  const runId = await core.store.scans.addRun({ kind: 'scan', trigger: 'manual', node: 'n1', startedAt: now, finishedAt: now, summary: {}, results: [{ report, failures: [{ id: 'ssh-weak-kex', severity: 'high', title: P(3) }] }] });
  core.audit.emit({ type: 'auth.failed', protocol: 'sftp', method: P(6), code: 'ERR_AUTH_FAILED', reason: 'bad-credentials', remoteAddress: '127.0.0.1', user: P(7) });
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => r.user === P(7)), 'the hostile record is stored');

  const browser = await startBrowser(t);
  const page = await (await browser.newContext()).newPage();
  const loaded: string[] = [];
  page.on('request', (r) => loaded.push(r.url()));
  await page.goto(`${f.adminUrl}/ui/login`);
  await page.getByLabel('Admin name').fill('root');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/6-digit code/).fill(codeAt(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${f.adminUrl}/ui/`);

  await page.goto(`${f.adminUrl}/ui/scans/${runId}`);
  await page.locator('details summary').first().click();
  const scanText = (await page.locator('main').textContent())!;
  for (const n of [1, 3]) assert.ok(scanText.includes(P(n)), `payload ${n} shown as text on the scan page`);
  for (const n of [2, 4, 5]) assert.ok(scanText.includes(JSON.stringify(P(n)).slice(1, -1)), `payload ${n} shown as text in the report`);
  await page.goto(`${f.adminUrl}/ui/audit?event=auth.failed`);
  const auditText = (await page.locator('main').textContent())!;
  assert.ok(auditText.includes(P(7)), 'the user field is text');
  assert.ok(auditText.includes(JSON.stringify(P(6)).slice(1, -1)), 'the method field is text');
  await page.goto(`${f.adminUrl}/ui/`);

  assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined, 'no payload ran');
  assert.deepEqual(loaded.filter((u) => /\/x\d$/.test(u)), [], 'no payload image was requested');
  assert.equal(await page.locator('main script, main img[onerror]').count(), 0, 'no element was made from the data');
});
