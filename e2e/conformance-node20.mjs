// Lets the MCP conformance suite (`@modelcontextprotocol/conformance`) load on Node 20.
//
// Its bundle (`dist/index.js`, built with `--target node20`) imports `globSync` from `fs`, which
// Node has only from 22 on; on Node 20 the whole module then fails to link ("The requested module
// 'fs' does not provide an export named 'globSync'") before any command runs. `globSync` is used by
// its `tier-check` command alone (to find `checks.json` files), never by `server`, which is what
// these tests run. Loaded with `node --import ./conformance-node20.mjs …` on a Node without
// `fs.globSync`, this module registers itself as a resolve hook that gives the suite's files (and
// nothing else) an `fs` with every export of Node's own plus a `globSync` that throws if called.
// On Node 22 and later it does nothing.

import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const SUITE = '/node_modules/@modelcontextprotocol/conformance/';

const SHIM = `data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs';
export * from 'node:fs';
export default fs;
export function globSync() {
  throw new Error('fs.globSync needs Node 22 (only the conformance suite\\'s tier-check uses it)');
}
`)}`;

// The hooks run in a worker thread of their own, which loads this module again: register once.
if (isMainThread && typeof fs.globSync !== 'function') {
  register(import.meta.url);
}

export async function resolve(specifier, context, next) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes(SUITE)) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
