// Node built-ins whose ESM import costs memory podflow never uses, taken with
// process.getBuiltinModule (the CommonJS exports object) instead of
// `import ... from 'node:x'`. An ESM import builds the module's namespace by
// reading every export, lazy getters included: node:http's `WebSocket` getter
// loads Node's bundled undici, ~13 MiB of RSS in every thread that imports
// node:http (nodejs/node#59686); node:crypto's namespace costs ~4 MiB the same
// way. node:https (TLS, ~8 MiB) is taken where a TLS endpoint is configured,
// not at import. Types still come from `import type ... from 'node:x'`.

export const { createServer, request, Agent } = process.getBuiltinModule('node:http');

/** node:https, loaded on first use: only a TLS endpoint needs it. */
export function https(): typeof import('node:https') {
  return process.getBuiltinModule('node:https');
}

export const { createHash } = process.getBuiltinModule('node:crypto');
