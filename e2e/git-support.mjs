// Git helpers of the docs-as-code browser tests: a repository made from a folder with the `git`
// program, served by `git daemon` (git://) on 127.0.0.1, and the update endpoints of a running
// `tome serve` (which must run with --sync-allow-private to fetch from loopback).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import net from 'node:net';

import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const GIT_ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Docs Writer',
  GIT_AUTHOR_EMAIL: 'docs@example.com',
  GIT_COMMITTER_NAME: 'Docs Writer',
  GIT_COMMITTER_EMAIL: 'docs@example.com',
};

/** Runs `git args…` in `cwd`; resolves to its stdout. */
export async function git(cwd, ...args) {
  const { stdout } = await run('git', ['-c', 'init.defaultBranch=main', ...args],
    { cwd, env: GIT_ENV, maxBuffer: 64 << 20 });
  return stdout;
}

/** Copies `from` to `dir` and commits it all on `main`; resolves to the commit id. */
export async function repoFromFolder(from, dir, message = 'Import the docs') {
  await fsp.cp(from, dir, { recursive: true });
  await git(dir, 'init', '-q');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
  return (await git(dir, 'rev-parse', 'HEAD')).trim();
}

async function freePort() {
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

/**
 * `git daemon` exporting every repository below `base`; resolves to
 * { url(name) → git://127.0.0.1:PORT/name, stop }.
 */
export async function startGitDaemon(base) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('git', ['daemon', '--export-all', '--reuseaddr', '--informative-errors',
      `--base-path=${base}`, `--listen=${HOST}`, `--port=${port}`, base],
    { env: GIT_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { const t = setTimeout(r, 5000); child.once('exit', () => { clearTimeout(t); r(); }); });
      }
    };
    process.on('exit', () => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const up = await new Promise((resolve) => {
        const s = net.connect(port, HOST, () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (up) return { url: (name) => `git://${HOST}:${port}/${name}`, stop };
      await sleep(50);
    }
    await stop();
    if (attempt === 2) throw new Error(`git daemon did not start: ${err}`);
  }
  throw new Error('unreachable');
}

/** A JSON request with the admin key; resolves to { status, body }. */
export async function request(base, key, method, route, body) {
  const r = await fetch(`${base}${route}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/**
 * Triggers an update of `kbId` (POST /v1/project/update/{projectId}?kb_id=) and polls its status
 * until it ends; resolves to the final status object. Fails on a non-202 trigger or a timeout.
 */
export async function updateAndWait(base, key, projectId, kbId, timeoutMs = 120_000) {
  const trigger = await request(base, key, 'POST',
    `/v1/project/update/${projectId}?kb_id=${encodeURIComponent(kbId)}`);
  assert.equal(trigger.status, 202, `trigger: ${JSON.stringify(trigger.body)}`);
  const id = trigger.body.statusId;
  assert.match(id, /^upd_/);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await request(base, key, 'GET', `/v1/project/update-status/${id}`);
    assert.equal(s.status, 200, `status: ${JSON.stringify(s.body)}`);
    if (s.body.status === 'success' || s.body.status === 'failure') return s.body;
    if (Date.now() > deadline) throw new Error(`update ${id} still ${s.body.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Every article of a KB through the management API (cursor pagination). */
export async function listArticles(base, key, kbId) {
  const out = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ limit: '100' });
    if (cursor) q.set('cursor', cursor);
    const r = await request(base, key, 'GET', `/v1/kb/${kbId}/articles?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.data);
    cursor = r.body.pagination.has_more ? r.body.pagination.next_cursor : null;
  } while (cursor);
  return out;
}

