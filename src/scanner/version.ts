// Version ordering for banner versions like "1.3.3c", "1.3.2rc3", "9.7p1", "2+deb12u3".

const PRE_RELEASE = ['dev', 'alpha', 'beta', 'pre', 'rc'];

type Token = { kind: number; num: number; word: string };

function tokens(v: string): Token[] {
  const out: Token[] = [];
  for (const m of v.toLowerCase().matchAll(/\d+|[a-z]+/g)) {
    const t = m[0];
    if (/^\d/.test(t)) out.push({ kind: 2, num: Number(t), word: '' });
    else if (PRE_RELEASE.includes(t)) out.push({ kind: 0, num: PRE_RELEASE.indexOf(t), word: t });
    else out.push({ kind: 3, num: 0, word: t });
  }
  return out;
}

const END: Token = { kind: 1, num: 0, word: '' };

/** Negative if a < b, 0 if equal, positive if a > b. Pre-release tags sort before the release. */
export function compareVersions(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  const n = Math.max(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i] ?? END;
    const y = tb[i] ?? END;
    if (x.kind !== y.kind) return x.kind - y.kind;
    if (x.num !== y.num) return x.num - y.num;
    if (x.word !== y.word) return x.word < y.word ? -1 : 1;
  }
  return 0;
}
