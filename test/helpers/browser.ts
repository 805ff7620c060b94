// Real Chromium (Debian package "chromium") driven by playwright-core, for tests that look at what
// a person sees. Closed when the test ends. Screenshots for docs/ are written when
// UPDATE_DOCS_SCREENSHOTS=1 (`npm run docs:screenshots`), else into a temporary file.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function startBrowser(t: TestContext): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package "chromium" (apt-get install -y chromium)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No network of its own: background services would dial out and be refused.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  return browser;
}

/** Where a screenshot goes: `docs/images/NAME` when updating the docs, else a temporary file. */
export function screenshotPath(name: string): string {
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') return path.join(ROOT, 'docs', 'images', name);
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'portcullis-shot-')), name);
}
