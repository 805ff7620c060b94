#!/usr/bin/env node
// Entry point for `npx portcullis` and `npm start`: runs the TypeScript sources through tsx,
// so a checkout works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
