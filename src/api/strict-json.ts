// Request bodies: the strict JSON parser (src/json/strict-json.ts: duplicate keys refused,
// nesting bounded, `__proto__` an own key) with the API's depth bound and error code.
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { parseStrictJson as parseJson, StrictJsonError } from '../json/strict-json.ts';

export function parseStrictJson(text: string, maxDepth: number = LIMITS.apiMaxJsonDepth): unknown {
  try {
    return parseJson(text, maxDepth);
  } catch (err) {
    if (err instanceof StrictJsonError) throw new PortcullisError('ERR_API_MALFORMED_JSON', err.message);
    throw err;
  }
}
