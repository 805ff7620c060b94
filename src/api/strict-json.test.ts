import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStrictJson } from './strict-json.ts';

void test('parses what JSON.parse parses', () => {
  for (const t of ['{}', '[]', '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"]}', ' {"a" : {"b":{}} } ', '"s"', '0', '[{"a":1},{"a":1}]']) {
    assert.deepEqual(parseStrictJson(t), JSON.parse(t), t);
  }
});

void test('refuses duplicate keys, bad syntax, deep nesting; keeps __proto__ an own key', () => {
  for (const t of ['{"a":1,"a":2}', '{"a":{"b":1,"b":1}}', '{"a\\u0062":1,"ab":2}', '{a:1}', "{'a':1}", '{"a":1,}', '[1,]', '01', 'NaN', '{"a":1} x', '"\u0001"', '', '1e999']) {
    assert.throws(() => parseStrictJson(t), { code: 'ERR_API_MALFORMED_JSON' }, t);
  }
  assert.throws(() => parseStrictJson('['.repeat(17) + ']'.repeat(17)), { code: 'ERR_API_MALFORMED_JSON' });
  assert.doesNotThrow(() => parseStrictJson('['.repeat(16) + ']'.repeat(16)));
  const o = parseStrictJson('{"__proto__":{"admin":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.deepEqual(Object.keys(o), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});
