// Units of the web plane: escaping, CSV neutralisation, redirect targets, form parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvCell, toCsv } from './csv.ts';
import { html, raw } from './html.ts';
import { parseForm, safeNext } from './web-plane.ts';

test('html escapes every interpolated value; only our own templates nest as markup', () => {
  const name = `<img src=x onerror="alert(1)">'&\``;
  assert.equal(html`<td>${name}</td>`.value, '<td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;</td>');
  assert.equal(html`<p>${html`<b>${'<i>'}</b>`}</p>`.value, '<p><b>&lt;i&gt;</b></p>');
  assert.equal(html`${['<a>', raw('<br>')]}${null}${undefined}${false}${0}`.value, '&lt;a&gt;<br>0');
  // a string that looks like markup is still text, whatever it contains
  assert.equal(html`${'<script>'}`.value, '&lt;script&gt;');
});

test('CSV cells that a spreadsheet would evaluate are neutralised, and quoting follows RFC 4180', () => {
  for (const v of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.match(csvCell(v), /^"'/, v);
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(toCsv(['h'], [['=x']]), `h\r\n"'=x"\r\n`);
});

test('redirect targets stay on the plane', () => {
  for (const bad of ['//evil.example', 'https://evil.example', '/\\evil.example', '/ui/../x', '/ui//evil', 'javascript:alert(1)', '/other', '', 42, '/ui/' + 'a'.repeat(300)]) {
    assert.equal(safeNext(bad, '/ui/'), '/ui/', String(bad));
  }
  assert.equal(safeNext('/ui/users?q=bob', '/ui/'), '/ui/users?q=bob');
});

test('forms: a repeated field or an overlong value is an error, not a silent choice', () => {
  assert.deepEqual({ ...parseForm('a=1&b=%3Cx%3E') }, { a: '1', b: '<x>' });
  assert.throws(() => parseForm('a=1&a=2'), /appears twice/);
  assert.throws(() => parseForm(`a=${'x'.repeat(20_000)}`), /too long/);
  assert.equal(Object.getPrototypeOf(parseForm('__proto__=1')), null, 'no prototype to pollute');
});
