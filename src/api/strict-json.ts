// JSON for request bodies, stricter than JSON.parse: a key repeated in one object is an error
// (JSON.parse keeps the last one, so a validator and a later reader could see different
// values), nesting is bounded, and `__proto__` is an ordinary key, never the prototype.
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// One JSON string token: the quotes, escapes and no raw control characters.
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

export function parseStrictJson(text: string, maxDepth: number = LIMITS.apiMaxJsonDepth): unknown {
  let i = 0;
  const fail = (why: string): never => {
    throw new PortcullisError('ERR_API_MALFORMED_JSON', `${why} at offset ${i}`);
  };
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const token = (re: RegExp): string | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  const value = (depth: number): unknown => {
    skip();
    const c = text[i];
    if (c === '{') {
      if (depth >= maxDepth) fail('nested too deeply');
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Set<string>();
      skip();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        skip();
        const raw = token(STRING);
        if (raw === null) return fail('expected a key');
        const key = JSON.parse(raw) as string;
        // SECURITY: {"a":1,"a":2} is refused, not resolved to one of the two.
        if (seen.has(key)) fail(`duplicate key "${key.slice(0, 40)}"`);
        seen.add(key);
        skip();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        // SECURITY: defineProperty keeps "__proto__" an own data property.
        Object.defineProperty(obj, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        return fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) fail('nested too deeply');
      i++;
      const arr: unknown[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        return fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const raw = token(STRING);
      return raw === null ? fail('bad string') : (JSON.parse(raw) as string);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const num = token(NUMBER);
    if (num === null) return fail('unexpected character');
    const n = Number(num);
    if (!Number.isFinite(n)) fail('number out of range');
    return n;
  };
  const result = value(0);
  skip();
  if (i !== text.length) fail('trailing characters');
  return result;
}
