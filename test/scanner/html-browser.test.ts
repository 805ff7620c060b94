// The HTML report in real Chromium: self-contained (no request leaves the file, the CSP holds, no
// script runs), what was not checked is visible without unfolding, and the screenshot in
// docs/scanner.md comes from here.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadAdvisories } from '../../src/scanner/advisories.ts';
import { render } from '../../src/scanner/cli.ts';
import { buildReport } from '../../src/scanner/scan.ts';
import { screenshotPath, startBrowser } from '../helpers/browser.ts';
import { tempDir } from './helpers/certs.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';
import { scan } from './helpers/scan.ts';

void describe('HTML report in Chromium', () => {
  void test('renders self-contained, hostile banner text inert, not-checked list visible; screenshot', async (t) => {
    const srv = await startFakeFtp(t, {
      greeting: '220 Microsoft FTP Service <img src=x onerror="document.title=\'pwned\'">',
      syst: '215 Windows_NT',
      anonymous: true,
      listing: '-rw-r--r-- 1 ftp ftp 12 Jan 01 00:00 readme.txt\r\n',
    });
    const r = await scan(srv.url);
    const options = { allow: new Set<never>(), ca: [], timeoutMs: 5000, targetTimeoutMs: 60_000, concurrency: 1, advisories: loadAdvisories() };
    const file = path.join(tempDir(t, 'pcscan-html-'), 'report.html');
    writeFileSync(file, render(buildReport([r.report], options), 'html', false));

    const browser = await startBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    const console: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    page.on('console', (m) => console.push(m.text()));
    await page.goto(pathToFileURL(file).href);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'nothing but the report itself is loaded');
    assert.equal(await page.title(), 'Portcullis scan report', 'the banner markup did not run');
    assert.equal(await page.locator('img').count(), 0, 'banner text is text, not markup');
    assert.ok(await page.getByRole('heading', { name: 'Access restriction' }).isVisible());
    assert.ok(await page.getByRole('heading', { name: /^Not checked \(\d+\)$/ }).isVisible(), 'not-checked list shown without unfolding');
    assert.ok(await page.locator('table.summary').isVisible());
    assert.deepEqual(console, [], 'no console output: nothing was refused or run');

    const shot = screenshotPath('scanner-report.png');
    await page.screenshot({ path: shot, fullPage: false });
    assert.ok(statSync(shot).size > 10_000, 'a real screenshot');
  });
});
