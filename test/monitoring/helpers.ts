// Shared helpers for the monitoring suites: Prometheus text parsing, waiting for a condition.
import type { RunningServer } from '../../src/server.ts';

/** `name{a="x",b="y"} 3` lines → Map of `name{a="x",b="y"}` (labels sorted) → value. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = m[2] ? [...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort() : [];
    out.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return out;
}

export async function scrape(server: RunningServer): Promise<{ text: string; values: Map<string, number>; contentType: string | null }> {
  const res = await fetch(`http://127.0.0.1:${server.health!.port}/metrics`);
  const text = await res.text();
  return { text, values: parsePrometheus(text), contentType: res.headers.get('content-type') };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
