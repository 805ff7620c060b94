// Seeded randomness and byte-level mutations for the fuzzer (scripts/fuzz.ts).

/** xorshift128+: fast, seeded, reproducible (the seed and the input index name a case). */
export class Rng {
  private a: bigint;
  private b: bigint;
  constructor(seed: number) {
    this.a = BigInt(seed >>> 0) * 0x9e3779b97f4a7c15n + 1n;
    this.b = BigInt((seed * 7919) >>> 0) ^ 0x632be59bd9b4e019n;
    for (let i = 0; i < 8; i++) this.next();
  }
  private next(): bigint {
    let s1 = this.a;
    const s0 = this.b;
    this.a = s0;
    s1 ^= (s1 << 23n) & 0xffffffffffffffffn;
    this.b = s1 ^ s0 ^ (s1 >> 17n) ^ (s0 >> 26n);
    return (this.b + s0) & 0xffffffffffffffffn;
  }
  /** 0 ≤ n < max. */
  int(max: number): number {
    return Number(this.next() % BigInt(Math.max(1, max)));
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x1b, 0x07, 0x20, 0x2f, 0x2e, 0x25];
const INTERESTING_U32 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One random byte-level change: flip, set, insert, delete, overwrite a u32, duplicate, splice. */
export function mutateBytes(input: Buffer, rng: Rng, donor?: Buffer): Buffer {
  const b = Buffer.from(input);
  const at = () => rng.int(b.length + 1);
  switch (rng.int(9)) {
    case 0:
      if (b.length) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    case 1:
      if (b.length) b[rng.int(b.length)] = rng.pick(INTERESTING_U8);
      return b;
    case 2: {
      const i = at();
      const n = 1 + rng.int(rng.chance(0.1) ? 256 : 8);
      const ins = Buffer.alloc(n);
      for (let k = 0; k < n; k++) ins[k] = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.int(256);
      return Buffer.concat([b.subarray(0, i), ins, b.subarray(i)]);
    }
    case 3: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + rng.int(8)))]);
    }
    case 4:
      if (b.length >= 4) b.writeUInt32BE(rng.pick(INTERESTING_U32), rng.int(b.length - 3));
      return b;
    case 5:
      if (b.length >= 4) {
        const i = rng.int(b.length - 3);
        b.writeUInt32BE((b.readUInt32BE(i) + rng.pick([-1, 1, -4, 4, 0x10000])) >>> 0, i);
      }
      return b;
    case 6: {
      const i = at();
      const j = Math.min(b.length, i + 1 + rng.int(16));
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
    case 7:
      if (donor && donor.length) {
        const i = at();
        const s = rng.int(donor.length);
        return Buffer.concat([b.subarray(0, i), donor.subarray(s, s + 1 + rng.int(32))]);
      }
      return b;
    default:
      return b.subarray(0, at());
  }
}
