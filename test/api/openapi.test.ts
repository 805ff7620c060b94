// The OpenAPI document: docs/openapi.json is exactly what the code generates (regenerate with
// `node --import tsx scripts/openapi.ts`), it is well-formed (every schema compiles as JSON Schema
// 2020-12, every $ref resolves, path parameters are declared), and it matches the running
// server: every route documented, every documented route served, /openapi.json identical.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiText } from '../../scripts/openapi.ts';
import { startApi } from './helpers.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown>; responses: Record<string, unknown> } };

const committed = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');

void test('docs/openapi.json is what the code generates', () => {
  assert.equal(committed, openApiText(), 'docs/openapi.json is stale: run node --import tsx scripts/openapi.ts');
});

void test('the document is well-formed OpenAPI 3.1 with valid JSON Schemas and resolvable references', () => {
  const doc = JSON.parse(committed) as Doc;
  assert.equal(doc.openapi, '3.1.0');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  const refs = new Set<string>();
  JSON.stringify(doc, (k, v: unknown) => {
    if (k === '$ref' && typeof v === 'string') refs.add(v);
    return v;
  });
  for (const ref of refs) {
    const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], doc);
    assert.ok(target !== undefined, `unresolved ${ref}`);
  }
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as object;
    assert.doesNotThrow(() => ajv.compile(rewritten), name);
  }
  const ids = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      const declared = op.parameters.filter((x) => x.in === 'path').map((x) => x.name).sort();
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
      assert.deepEqual(declared, inPath, `${method} ${p}: path parameters`);
      for (const body of Object.values(op.requestBody?.content ?? {})) assert.doesNotThrow(() => ajv.compile(JSON.parse(JSON.stringify(body.schema).replaceAll('"#/components/', '"doc#/components/')) as object), `${method} ${p} body`);
    }
  }
});

void test('every route names a scope; only health and the description take any valid token; writes need a write scope', async () => {
  const { ROUTES } = await import('../../src/api/routes.ts');
  const { SCOPES } = await import('../../src/admin/token-service.ts');
  for (const r of ROUTES) {
    if (r.scope === null) {
      assert.deepEqual([r.method, r.path], ['GET', '/v1/health']);
      continue;
    }
    assert.ok((SCOPES as readonly string[]).includes(r.scope), `${r.method} ${r.path}`);
    const writes = r.method !== 'GET' && r.path !== '/v1/audit/verify';
    assert.equal(r.scope.endsWith(':write'), writes, `${r.method} ${r.path} needs a ${writes ? 'write' : 'read'} scope`);
  }
});

void test('contract: every served route is documented and every documented route is served', async (t) => {
  const f = await startApi(t);
  const served = new Set(f.srv.server.api!.routes.map((r) => `${r.method} ${r.path}`));
  const doc = JSON.parse(committed) as Doc;
  const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
  assert.deepEqual([...served].filter((r) => !documented.has(r)), [], 'served but not documented');
  assert.deepEqual([...documented].filter((r) => !served.has(r)), [], 'documented but not served');
  // /openapi.json needs a token and serves the same document
  assert.equal((await f.call('GET', '/openapi.json')).status, 401);
  const token = await f.token('reader', 'users:read');
  const live = await f.call('GET', '/openapi.json', { token });
  assert.deepEqual(live.body, doc);
});
