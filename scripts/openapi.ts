// Writes docs/openapi.json from the REST API's route table and schemas (src/api/openapi.ts).
// Run after changing a route: node --import tsx scripts/openapi.ts
import { writeFileSync } from 'node:fs';
import { buildOpenApi } from '../src/api/openapi.ts';

export function openApiText(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/openapi.json', import.meta.url), openApiText());
  process.stdout.write('docs/openapi.json written\n');
}
