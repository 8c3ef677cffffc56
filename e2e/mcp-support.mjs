// Shared helpers of the MCP end-to-end tests (mcp-clients, mcp-conformance): the content they
// seed, a recording (and header-adding) HTTP proxy, and runners for the npm command-line tools
// (the MCP Inspector CLI, the conformance suite) installed in e2e/node_modules.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HERE } from './hosted-support.mjs';

export const TOME_BIN = path.resolve(HERE, process.env.TOME_BIN || '../target/debug/tome');

/** The two protocol revisions Tome speaks, each chosen per request. */
export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';

/**
 * Every management operation of the REST API as a tool, in `tools/list` order (issue 24: "one per
 * management operation … names in one consistent scheme").
 */
export const ADMIN_TOOLS = [
  'list_knowledge_bases', 'get_knowledge_base', 'create_knowledge_base', 'update_knowledge_base',
  'delete_knowledge_base',
  'list_categories', 'get_category', 'create_category', 'update_category', 'delete_category',
  'list_sections', 'get_section', 'create_section', 'update_section', 'delete_section',
  'list_articles', 'get_article', 'create_article', 'bulk_create_articles', 'update_article',
  'move_article', 'bulk_update_articles', 'publish_article', 'archive_article', 'delete_article',
  'list_faqs', 'get_faq', 'create_faq', 'update_faq', 'publish_faq', 'delete_faq',
  'search_articles',
  'get_site_key', 'update_site_key', 'revoke_site_key',
  'get_project', 'update_project', 'get_usage',
  'get_source', 'set_source', 'delete_source', 'trigger_update', 'get_update_status', 'list_updates',
  'list_assistant_conversations', 'get_assistant_thread',
  'search_docs', 'get_page',
];

/** What an assistant key (tome_dsc_…) may list and call. */
export const ASSISTANT_TOOLS = ['search_docs', 'get_page'];

/** The public help centre's tools (`/hc/{slug}/mcp`). */
export const PUBLIC_TOOLS = ['search', 'get_page'];

export const INSTALL_TITLE = 'Install the Acme CLI';
export const INSTALL_BODY = `The Acme CLI manages widgets from a terminal.

## On macOS

Install the Acme CLI with Homebrew: run \`brew install acme-cli\`. Check it with \`acme --version\`.
`;

/**
 * A public knowledge base `slug` with a category, a published article (INSTALL_TITLE) and a
 * draft, through the management API; resolves to { kbId, categoryId, article, draft }.
 */
export async function seedPublicKb(admin, slug) {
  const kb = await admin('POST', '/v1/kb', { title: 'Acme Help', slug, is_public: true });
  const category = await admin('POST', `/v1/kb/${kb.id}/categories`, { name: 'Getting started' });
  const article = await admin('POST', `/v1/kb/${kb.id}/articles`, {
    title: INSTALL_TITLE, category_id: category.id, body: INSTALL_BODY, status: 'published',
  });
  const draft = await admin('POST', `/v1/kb/${kb.id}/articles`, {
    title: 'Install the Acme CLI nightly with Homebrew', category_id: category.id, status: 'draft',
    body: 'Install the nightly Acme CLI with Homebrew: run `brew install acme-cli-nightly`.',
  });
  return { kbId: kb.id, categoryId: category.id, article, draft };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` (settable later: the proxy's URL can be given to
 * the server it fronts), adding `headers` to every request and recording each exchange as
 * { method, path, headers, body (parsed JSON or null), status, responseHeaders }.
 */
export async function startProxy({ target = null, headers = {} } = {}) {
  const proxy = { target, headers, exchanges: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const exchange = { method: req.method, path: req.url, headers: req.headers, body: null };
      try { exchange.body = body.length ? JSON.parse(body.toString('utf8')) : null; } catch { /* not JSON */ }
      proxy.exchanges.push(exchange);
      const to = new URL(proxy.target);
      const up = http.request({
        host: to.hostname, port: to.port, method: req.method, path: req.url,
        headers: { ...withoutChunked(req.headers), ...proxy.headers, 'content-length': String(body.length) },
      }, (r) => {
        exchange.status = r.statusCode;
        exchange.responseHeaders = r.headers;
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      up.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return proxy;
}

/** Runs a command; resolves to { code, stdout, stderr } whatever its exit code. */
export function run(cmd, args, { env = process.env, cwd = HERE, timeout = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

/** The environment for a `tome` child: none of this process's TOME_* settings, quiet logs. */
export function tomeEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOME_')));
  env.TOME_LOG = 'warn';
  return env;
}

/** `tome ARGS --json` on the command line; resolves to its JSON output. */
export function tomeCli(args) {
  return new Promise((resolve, reject) => {
    execFile(TOME_BIN, [...args, '--json'], { env: tomeEnv(), maxBuffer: 16 << 20 }, (e, out, stderr) => {
      if (e) reject(new Error(`tome ${args.join(' ')} failed: ${e.message}\n${stderr}`));
      else resolve(JSON.parse(out));
    });
  });
}

/** The version of an installed npm package of e2e/node_modules. */
export function installedVersion(pkg) {
  return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

const INSPECTOR = path.join(HERE, 'node_modules', '.bin', 'mcp-inspector');

/**
 * `mcp-inspector --cli --format json ARGS` (the MCP Inspector's CLI mode, as `npx
 * @modelcontextprotocol/inspector --cli` runs it) with HOME in `home` (the Inspector keeps a
 * catalog and client settings under ~/.mcp-inspector). Resolves to { code, json, stdout, stderr }.
 */
export async function inspector(args, home) {
  const env = { ...tomeEnv(), HOME: home, NO_COLOR: '1' };
  // Options go before a stdio target's `--`: everything after it is the server's command line.
  const out = await run(INSPECTOR, ['--cli', '--format', 'json', ...args], { env });
  let json = null;
  try { json = JSON.parse(out.stdout); } catch { /* reported by the caller */ }
  return { ...out, json };
}

const CONFORMANCE = path.join(HERE, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist',
  'index.js');

/** `conformance ARGS` (the official suite) under this Node, made loadable on Node 20. */
export function conformance(args, options = {}) {
  return run(process.execPath, ['--import', './conformance-node20.mjs', CONFORMANCE, ...args], options);
}

/**
 * The results of a conformance run written to `dir` (`-o dir`): Map scenario → its checks
 * ({ id, status, errorMessage, details }), from each `server-<scenario>-<timestamp>/checks.json`.
 */
export function readConformanceResults(dir) {
  const results = new Map();
  for (const entry of fs.readdirSync(dir)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry);
    assert.ok(m, `unexpected entry ${entry} in the conformance results`);
    const checks = JSON.parse(fs.readFileSync(path.join(dir, entry, 'checks.json'), 'utf8'));
    assert.ok(!results.has(m[1]), `scenario ${m[1]} ran twice`);
    results.set(m[1], checks);
  }
  return results;
}

/** A request's headers for a body re-sent whole, with a Content-Length. */
function withoutChunked(headers) {
  const out = { ...headers };
  delete out['transfer-encoding'];
  return out;
}
