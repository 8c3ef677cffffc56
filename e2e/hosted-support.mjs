// Shared helpers of the hosted help-centre browser tests: a real `tome serve`, the management API,
// the Mintlify corpus import (`tome import --format mintlify`) and Debian's headless Chromium.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const SCREENSHOTS = path.join(HERE, 'screenshots', 'hosted');
const TOME_BIN = path.resolve(HERE, process.env.TOME_BIN || '../target/debug/tome');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CORPUS = path.resolve(ROOT, process.env.MINTLIFY_DIR || '../shared/corpora/mintlify-docs');
const HOST = '127.0.0.1';

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A database for one server: a temp SQLite data dir. */
async function tempDataDir() {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-e2e-'));
  return { args: ['--data-dir', dataDir], dataDir, drop: async () => {} };
}

/**
 * Starts `tome serve` on a free port with `extraArgs`; resolves to { url, key (the admin key it
 * prints), dataDir, dbArgs (the database arguments, for `tome` commands on the same database),
 * env, stop, logs }. `database()` makes each attempt's database — { args, dataDir, drop() } — a
 * temp SQLite data dir unless given (the dashboard tests' PostgreSQL schemas).
 */
export async function startTome(extraArgs = [], database = tempDataDir) {
  if (!fs.existsSync(TOME_BIN)) {
    throw new Error(`tome binary not found at ${TOME_BIN}: run \`cargo build -p tome\` or set TOME_BIN`);
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOME_')));
  env.TOME_LOG = 'warn';
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const db = await database();
    const port = await freePort();
    const child = spawn(TOME_BIN, [
      'serve', '--listen', `${HOST}:${port}`, ...db.args,
      '--admin-rate-limit', '100000', '--hosted-rate-limit', '100000', ...extraArgs,
    ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    const url = `http://${HOST}:${port}`;
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 5000);
          child.once('exit', () => { clearTimeout(t); r(); });
        });
      }
      children.delete(child);
      await db.drop();
      await fsp.rm(db.dataDir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const key = /\btome_[0-9A-Za-z]{38}\b/.exec(out);
      if (key) {
        try {
          if ((await fetch(`${url}/healthz`)).ok) {
            return { url, key: key[0], dataDir: db.dataDir, dbArgs: db.args, env, stop, logs: () => err };
          }
        } catch { /* not listening yet */ }
      }
      await sleep(50);
    }
    lastError = new Error(`tome serve did not start on ${url}:\n${out}\n${err}`);
    await stop();
  }
  throw lastError;
}

/** A management-API client: call(method, route, body) → data. */
export function adminClient(base, key) {
  return async function call(method, route, body) {
    const r = await fetch(`${base}${route}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${route} → ${r.status}: ${text}`);
    return text ? JSON.parse(text).data : null;
  };
}

/**
 * Imports the Mintlify corpus into the project of `tome` (from startTome) as a public KB with
 * `theme`, through `tome import --format mintlify` on the server's data dir; resolves to its id.
 */
export async function importCorpus(tome, slug, theme) {
  const call = adminClient(tome.url, tome.key);
  const project = await call('GET', '/v1/project');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOME_')));
  env.TOME_LOG = 'warn';
  const args = ['import', '--project', project.id, '--from', CORPUS, '--format', 'mintlify',
    '--slug', slug, '--title', 'Mintlify Documentation', '--json', '--data-dir', tome.dataDir];
  const stdout = await new Promise((resolve, reject) => {
    execFile(TOME_BIN, args, { env, maxBuffer: 16 << 20 }, (e, out, stderr) => {
      if (e) reject(new Error(`import failed: ${e.message}\n${stderr}`));
      else resolve(out);
    });
  });
  const kb = JSON.parse(stdout).knowledge_base.id;
  await call('PUT', `/v1/kb/${kb}`, { is_public: true, theme });
  return kb;
}

/** Whether the corpus is there (it lives beside the repository, in ../shared). */
export function corpusAvailable() {
  return fs.existsSync(path.join(CORPUS, 'docs.json'));
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export { sleep };
