import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

const kindOf = (text: string): string => {
  try {
    parseStrictJson(text);
    return 'ok';
  } catch (err) {
    return err instanceof StrictJsonError ? err.kind : 'other';
  }
};

test('reads what JSON.parse reads', () => {
  for (const text of ['{}', '[]', '0', '-1.5e+3', '"a\\u0062\\n\\""', '{"a":[1,{"b":null,"c":true,"d":false}],"e":"\u00e9\u{1f600}"}', ' {"a" : 1 } ']) {
    assert.deepEqual(JSON.parse(JSON.stringify(parseStrictJson(text))), JSON.parse(text), text);
  }
});

test('refuses duplicate keys at any depth, including ones spelled differently', () => {
  assert.equal(kindOf('{"user":"mallory","seq":1,"user":"alice"}'), 'duplicate-key');
  assert.equal(kindOf('{"a":{"b":1,"b":1}}'), 'duplicate-key');
  assert.equal(kindOf('{"user":1,"\\u0075ser":2}'), 'duplicate-key');
});

test('refuses what is not RFC 8259 JSON', () => {
  for (const text of ['', '{', '{"a":1,}', '[1,]', '01', '1.', '.5', 'NaN', "{'a':1}", '{"a":1} x', '"\t"', '"\\x41"', '{"a":1}{"b":2}', 'tru']) {
    assert.equal(kindOf(text), 'syntax', JSON.stringify(text));
  }
  assert.equal(kindOf('['.repeat(100) + ']'.repeat(100)), 'too-deep');
  assert.equal(kindOf('1e999'), 'syntax');
  assert.throws(() => parseStrictJson('['.repeat(17) + ']'.repeat(17), 16), StrictJsonError);
  assert.doesNotThrow(() => parseStrictJson('['.repeat(16) + ']'.repeat(16), 16));
});

test('a __proto__ key is only a key', () => {
  const v = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
