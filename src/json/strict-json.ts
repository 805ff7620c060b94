// The one strict JSON parser, for audit trail lines (`audit verify`) and REST API request bodies.
// `JSON.parse` keeps the last of two equal keys (`{"user":"mallory","user":"alice"}` reads as
// alice while grep or a validator sees mallory): input must mean one thing to every reader, so a
// duplicate key is an error here, and so is anything outside RFC 8259 (no trailing text, no
// comments, no number that overflows), and nesting is bounded. A `__proto__` key is an own data
// property, never the prototype. Values equal what `JSON.parse` returns otherwise.

export class StrictJsonError extends Error {
  constructor(
    readonly kind: 'duplicate-key' | 'syntax' | 'too-deep',
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Default nesting bound (an audit record is a few levels deep; the API passes its own). */
const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;

export function parseStrictJson(text: string, maxDepth: number = MAX_DEPTH): unknown {
  let i = 0;
  const fail = (message: string, kind: StrictJsonError['kind'] = 'syntax'): never => {
    throw new StrictJsonError(kind, `${message} at offset ${i}`, i);
  };
  const ws = (): void => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const str = (): string => {
    const start = i;
    let escaped = false;
    i++; // the opening quote
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) escaped = true;
      i += c === 0x5c ? 2 : 1;
    }
    i++;
    if (!escaped) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('bad escape in string');
    }
  };
  const value = (depth: number): unknown => {
    ws();
    const c = text[i];
    if ((c === '{' || c === '[') && depth >= maxDepth) fail('nested too deeply', 'too-deep');
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const keyAt = i;
        const key = str();
        if (Object.hasOwn(obj, key)) {
          i = keyAt;
          fail(`duplicate key ${JSON.stringify(key)}`, 'duplicate-key');
        }
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        // SECURITY: defineProperty keeps "__proto__" an own data property.
        Object.defineProperty(obj, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return obj;
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0].length === 0) return fail('unexpected character');
    i += m[0].length;
    const n = Number(m[0]);
    return Number.isFinite(n) ? n : fail('number out of range');
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('text after the value');
  return result;
}

const LITERALS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
];
