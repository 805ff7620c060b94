// Per-user access windows: "mon-fri 08:00-18:00; sat 09:00-12:00" in the server's local time.
// An empty string means any time. Parsed when set (the CLI rejects a bad one) and at login.
import { PortcullisError } from '../errors/index.ts';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Window {
  days: Set<number>;
  from: number; // minutes since midnight
  to: number; // exclusive; to <= from spans midnight
}

function parseTime(t: string, whole: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(t);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${whole}": times are HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function parseDays(spec: string, whole: string): Set<number> {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-');
    const i = DAYS.indexOf(a ?? '');
    const j = b === undefined ? i : DAYS.indexOf(b);
    if (i < 0 || j < 0) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${whole}": days are sun..sat, e.g. mon-fri`);
    for (let d = i; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === j) break;
    }
  }
  return out;
}

export function parseAccessHours(spec: string): Window[] {
  const windows: Window[] = [];
  for (const raw of spec.split(';').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const parts = raw.split(/\s+/);
    const range = parts.length === 2 ? parts[1]! : parts[0]!;
    const days = parts.length === 2 ? parseDays(parts[0]!, raw) : new Set([0, 1, 2, 3, 4, 5, 6]);
    if (parts.length > 2) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${raw}": expected "[days] HH:MM-HH:MM"`);
    const [from, to] = range.split('-');
    if (from === undefined || to === undefined) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `"${raw}": expected "[days] HH:MM-HH:MM"`);
    windows.push({ days, from: parseTime(from, raw), to: parseTime(to, raw) });
  }
  return windows;
}

export function withinAccessHours(spec: string, at: Date): boolean {
  const windows = parseAccessHours(spec);
  if (windows.length === 0) return true;
  const day = at.getDay();
  const minute = at.getHours() * 60 + at.getMinutes();
  return windows.some((w) => {
    if (w.from < w.to) return w.days.has(day) && minute >= w.from && minute < w.to;
    // Spans midnight: the evening part belongs to the listed day, the morning part to the next.
    return (w.days.has(day) && minute >= w.from) || (w.days.has((day + 6) % 7) && minute < w.to);
  });
}
