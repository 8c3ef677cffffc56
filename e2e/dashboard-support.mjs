// Shared helpers of the dashboard's browser tests: a real `tome serve` on a temp SQLite data dir,
// or on a fresh schema of the PostgreSQL database named by TOME_TEST_DATABASE_URL (the variable
// CI exports for the Rust suites; e2e runs once in CI, so each dashboard test runs on both
// backends there), the admin key it prints, signing in, and reading forms the way a user sees
// them (a field's error is the element its aria-describedby names).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adminClient, HERE, launchBrowser, sleep, startTome } from './hosted-support.mjs';

export { adminClient, launchBrowser, sleep };
export const SCREENSHOTS = path.join(HERE, 'screenshots');
const TOME_BIN = path.resolve(HERE, process.env.TOME_BIN || '../target/debug/tome');
const PG_BASE = (process.env.TOME_TEST_DATABASE_URL || '').trim();

/** The backends every dashboard test runs on: SQLite always, PostgreSQL when configured. */
export const BACKENDS = PG_BASE ? ['sqlite', 'postgres'] : ['sqlite'];

function run(bin, args, env) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${e.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let schemas = 0;

/**
 * A fresh database: a temp data dir (SQLite) or, for `postgres`, also a new schema reached
 * through `search_path` (the data dir then holds only the node's search index).
 */
async function freshDatabase(backend) {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-dash-e2e-'));
  if (backend !== 'postgres') {
    return { args: ['--data-dir', dataDir], dataDir, drop: async () => {} };
  }
  assert.ok(PG_BASE, 'the postgres backend needs TOME_TEST_DATABASE_URL');
  const schema = `tome_e2e_dash_${Date.now()}_${process.pid}_${schemas++}`;
  await run('psql', [PG_BASE, '-v', 'ON_ERROR_STOP=1', '-Atqc', `CREATE SCHEMA ${schema}`], process.env);
  const sep = PG_BASE.includes('?') ? '&' : '?';
  // Commits need not wait for the disk: these tests check behaviour, not durability.
  const url = `${PG_BASE}${sep}options[search_path]=${schema}&options[synchronous_commit]=off`;
  return {
    args: ['--database-url', url, '--data-dir', dataDir],
    dataDir,
    drop: async () => {
      await run('psql', [PG_BASE, '-Atqc',
        `SET client_min_messages = warning; DROP SCHEMA IF EXISTS ${schema} CASCADE`], process.env)
        .catch((e) => console.error(`could not drop schema ${schema}: ${e.message}`));
    },
  };
}

/**
 * Starts `tome serve` on a free port with a fresh database of `backend`; resolves to
 * { url, key, backend, call (the management API with the printed admin key), cli(args),
 *   stop, logs }. `extraArgs` go to `tome serve` (e.g. `--public-url https://…`).
 */
export async function startDashboard(backend = 'sqlite', extraArgs = []) {
  const tome = await startTome(extraArgs, () => freshDatabase(backend));
  return {
    ...tome,
    backend,
    call: adminClient(tome.url, tome.key),
    /** Runs a `tome` command on this server's database. */
    cli: (args) => run(TOME_BIN, [...args, ...tome.dbArgs], tome.env),
  };
}

/** Signs `page` in through the sign-in form; resolves once the overview is shown. */
export async function signIn(page, tome, key = tome.key) {
  await page.goto(`${tome.url}/dashboard/sign-in`);
  await page.fill('#key', key);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/dashboard'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/**
 * Records what a page must never do: dialogs (dismissed, so a stray one cannot hang a test),
 * uncaught errors. `acceptConfirms` accepts the dashboard's own `data-confirm` prompts instead.
 */
export function watch(page, { acceptConfirms = false } = {}) {
  const seen = { dialogs: [], errors: [], confirms: [] };
  page.on('dialog', (d) => {
    if (acceptConfirms && d.type() === 'confirm') {
      seen.confirms.push(d.message());
      d.accept().catch(() => {});
      return;
    }
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  return seen;
}

/**
 * Fills the controls named by `fields` ({ name: value }) inside `scope` (a page or a form
 * locator): text inputs and textareas are typed into, selects chosen, checkboxes set from a
 * boolean.
 */
export async function fill(scope, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const control = scope.locator(`[name="${name}"]:not([type=hidden])`).first();
    // A person could not type past maxlength; the tests lift it to reach the server's own check.
    const tag = await control.evaluate((el) => {
      el.removeAttribute('maxlength');
      return `${el.tagName.toLowerCase()}:${el.type || ''}`;
    });
    if (tag.startsWith('select')) await control.selectOption(String(value));
    else if (tag === 'input:checkbox') await control.setChecked(Boolean(value));
    else await control.fill(String(value));
  }
}

/** Clicks the submit button named `label` and waits for the navigation it starts. */
export async function submit(page, label, scope = page) {
  const button = scope.getByRole('button', { name: label, exact: true }).first();
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/**
 * The error shown for control `name`: the element among its aria-describedby whose id ends in
 * `-error`. Asserts the control is marked invalid and the error is visible; resolves to its text.
 */
export async function fieldError(page, name) {
  const control = page.locator(`[name="${name}"]:not([type=hidden])`).first();
  const describedBy = (await control.getAttribute('aria-describedby')) || '';
  const errorId = describedBy.split(/\s+/).find((id) => id.endsWith('-error'));
  assert.ok(errorId, `${name}: aria-describedby "${describedBy}" names no error element`);
  assert.equal(await control.getAttribute('aria-invalid'), 'true', `${name} is not aria-invalid`);
  const error = page.locator(`[id="${errorId}"]`);
  assert.ok(await error.isVisible(), `${name}: the error #${errorId} is not visible`);
  return (await error.innerText()).trim();
}

/** The flash message of the page, or '' when none is shown. */
export async function flash(page) {
  const f = page.locator('.flash').first();
  return (await f.count()) ? (await f.innerText()).trim() : '';
}

/** The CSRF token of the signed-in page (every signed-in page carries the sign-out form). */
export async function csrfOf(page) {
  return page.locator('input[name=_csrf]').first().inputValue();
}

/** The public API on behalf of a site: site key and Origin as a browser on `origin` sends them. */
export function publicApi(tome, origin) {
  return (route, siteKey) => fetch(`${tome.url}/v1/kb/public${route}`, {
    headers: { 'X-Minolith-Site-Key': siteKey, Origin: origin },
  });
}

/** `page.screenshot` into e2e/screenshots/, making the folder if needed. */
export async function screenshot(page, name) {
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
