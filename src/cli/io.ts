// Small CLI helpers: reading a secret from stdin, printing tables or JSON, failing cleanly.
import { PortcullisError } from '../errors/index.ts';

export async function readStdinSecret(what: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${what} (end with Ctrl-D): `);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text.length === 0) throw new PortcullisError('ERR_PASSWORD_INVALID', `no ${what} on standard input`);
  return text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write(`${line(headers)}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
