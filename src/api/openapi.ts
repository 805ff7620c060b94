// The OpenAPI 3.1 description, generated from the route table and its zod schemas (the same
// objects that validate requests). docs/openapi.json is this document; a test fails when they differ.
import { z } from 'zod';
import { SCOPES } from '../admin/token-service.ts';
import { ERROR_CATALOGUE } from '../errors/index.ts';
import { HTTP_STATUS_TEXT } from './errors.ts';
import { ROUTES, type Route } from './routes.ts';

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 for one zod schema; named sub-schemas go to `components`. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const raw = z.toJSONSchema(schema, { io, unrepresentable: 'throw' }) as Json;
  const text = JSON.stringify(raw).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $schema: _s, $defs, ...rest } = JSON.parse(text) as Json & { $defs?: Json };
  for (const [name, def] of Object.entries($defs ?? {})) components[name] = def;
  return rest;
}

function parametersOf(route: Route, components: Json): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const js = schemaOf(schema, 'input', components) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, p] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = p as Json & { description?: string };
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: rest, ...(description !== undefined && { description }) });
    }
  }
  return out;
}

const COMMON_ERRORS = [400, 401, 403];

export function buildOpenApi(): Json {
  const components: Json = {};
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    const responses: Json = {};
    responses[String(route.status)] =
      route.produces === 'text/plain'
        ? { description: HTTP_STATUS_TEXT[route.status], content: { 'text/plain': { schema: { type: 'string' } } } }
        : route.status === 204 || !route.response
          ? { description: HTTP_STATUS_TEXT[route.status] ?? 'No content' }
          : { description: HTTP_STATUS_TEXT[route.status], content: { 'application/json': { schema: schemaOf(route.response, 'output', components) } } };
    for (const status of [...COMMON_ERRORS, ...(route.errors ?? [])].sort()) {
      responses[String(status)] = { $ref: `#/components/responses/E${status}` };
    }
    const op: Json = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      'x-scope': route.scope,
      description: route.scope ? `Needs a token with the scope \`${route.scope}\`.` : 'Needs any valid token.',
      parameters: parametersOf(route, components),
      ...(route.body && { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input', components) } } } }),
      responses,
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = op;
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'getOpenApi',
      summary: 'This document (any valid token)',
      tags: ['meta'],
      'x-scope': null,
      description: 'Needs any valid token.',
      parameters: [],
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } }, '401': { $ref: '#/components/responses/E401' } },
    },
  };
  const errorSchema = schemaOf(z.strictObject({ error: z.strictObject({ code: z.enum(Object.keys(ERROR_CATALOGUE) as [string, ...string[]]), message: z.string() }) }), 'output', components);
  const responses: Json = {};
  for (const status of [400, 401, 403, 404, 409, 413, 415]) responses[`E${status}`] = { description: HTTP_STATUS_TEXT[status], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Portcullis admin API',
      version: '1',
      description: `Users, keys, certificate pins, MFA state, global rules, bans, live sessions, scans, the audit trail, posture and configuration of a Portcullis server. Every request carries \`Authorization: Bearer <token>\` (created with \`portcullis admin token create\`). Scopes: ${SCOPES.join(', ')}. Errors are \`{"error": {"code", "message"}}\` with a code from docs/errors.md.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ token: [] }],
    paths,
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'an API token: pct_<id>_<secret>' } },
      schemas: { ...Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))), Error: errorSchema },
      responses,
    },
  };
}
