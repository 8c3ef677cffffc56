// Real-browser end-to-end test of Tome's public site-key API.
//
// Starts `tome serve` on a free port with a fresh data dir, seeds a knowledge base through the
// management API, serves e2e/spa/ from two tiny static servers on other ports (other origins),
// allows only the first in the project's allowed_domains, and drives Debian's headless Chromium
// through playwright-core:
//   - from the allowed origin the SPA renders the tree, articles, FAQs and search results;
//   - from the disallowed origin (and with a wrong site key) it shows its error alert and no
//     content, without uncaught page errors.
//
// Env: TOME_BIN (default ../target/debug/tome from this folder), CHROMIUM_PATH (default
// /usr/bin/chromium). Screenshots go to e2e/screenshots/ (git-ignored).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SPA_DIR = path.join(HERE, 'spa');
const SCREENSHOTS = path.join(HERE, 'screenshots');
const TOME_BIN = path.resolve(HERE, process.env.TOME_BIN || '../target/debug/tome');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HOST = '127.0.0.1';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SLUG = 'acme-help';
const KB_TITLE = 'Acme Help Centre';
const XSS_BODY = '<img src="x" onerror="alert(\'xss\')"><script>alert("xss")</script>';

// Everything started here, so the `after` hook (and, as a last resort, process exit) can stop it.
const children = new Set();
const servers = [];
const tempDirs = [];
let browser; // a persistent BrowserContext
process.on('exit', () => {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// --- helpers -------------------------------------------------------------------------------------

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

async function stopChild(child) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  }
  children.delete(child);
}

/** Starts `tome serve` on a free port; resolves to { url, adminKey, child, logs }. */
async function startTome(dataDir) {
  if (!fs.existsSync(TOME_BIN)) {
    throw new Error(`tome binary not found at ${TOME_BIN}: run \`cargo build -p tome\` or set TOME_BIN`);
  }
  // Keep the developer's TOME_* settings (a database URL, say) out of this server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOME_')));
  env.TOME_LOG = 'warn';

  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(TOME_BIN, ['serve', '--listen', `${HOST}:${port}`, '--data-dir', dataDir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const logs = { stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (d) => { logs.stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { logs.stderr += d; });
    const url = `http://${HOST}:${port}`;

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const key = /\btome_[0-9A-Za-z]{38}\b/.exec(logs.stdout);
      if (key) {
        try {
          const r = await fetch(`${url}/healthz`);
          if (r.ok) return { url, adminKey: key[0], child, logs };
        } catch { /* not listening yet */ }
      }
      await sleep(50);
    }
    lastError = new Error(
      `tome serve did not come up on ${url} (exit ${child.exitCode}):\n${logs.stdout}\n${logs.stderr}`,
    );
    await stopChild(child);
    // The port may have been taken between probing and binding: try another one. The data dir
    // already holds the project whose key was printed, so start over with an empty one.
    await fsp.rm(dataDir, { recursive: true, force: true });
    await fsp.mkdir(dataDir, { recursive: true });
  }
  throw lastError;
}

const CONTENT_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** A tiny static server for e2e/spa/ on a free port of HOST; resolves to its origin. */
async function startStatic() {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    const file = path.resolve(SPA_DIR, rel);
    if (!file.startsWith(SPA_DIR + path.sep) || !CONTENT_TYPES[path.extname(file)]) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await fsp.readFile(file);
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES[path.extname(file)], 'Cache-Control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  servers.push(server);
  return { origin: `http://${HOST}:${server.address().port}`, hostPort: `${HOST}:${server.address().port}` };
}

/** A management-API client. */
function adminClient(base, key) {
  return async function call(method, route, body) {
    const r = await fetch(`${base}${route}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${route} → ${r.status}: ${text}`);
    return JSON.parse(text).data;
  };
}

/** Seeds the knowledge base; returns its IDs, site key and the titles the tests look for. */
async function seed(call) {
  const kb = await call('POST', '/v1/kb/', {
    title: KB_TITLE,
    slug: SLUG,
    description: 'Answers for Acme customers.',
  });
  assert.match(kb.site_key, /^psk_/, 'POST /v1/kb/ returns the site key');
  const k = `/v1/kb/${kb.id}`;

  const start = await call('POST', `${k}/categories`, { name: 'Getting Started', sort_order: 1 });
  const billing = await call('POST', `${k}/categories`, { name: 'Billing', sort_order: 2 });
  const empty = await call('POST', `${k}/categories`, { name: 'Integrations', sort_order: 3 });
  const firstSteps = await call('POST', `${k}/sections`, { category_id: start.id, name: 'First steps' });

  const article = (fields) => call('POST', `${k}/articles`, { status: 'published', ...fields });
  const createAccount = await article({
    category_id: start.id,
    section_id: firstSteps.id,
    title: 'Create your account',
    excerpt: 'Sign up in two minutes.',
    body: `# Create your account\n\nOpen the sign-up page and choose a password.\n\n${XSS_BODY}\n`,
    tags: ['account', 'onboarding'],
    sort_order: 1,
  });
  const inviteTeam = await article({
    category_id: start.id,
    section_id: firstSteps.id,
    title: 'Invite your team',
    excerpt: 'Bring colleagues along.',
    body: 'Go to Settings → Team and send invitations.',
    sort_order: 2,
  });
  const draft = await article({
    category_id: start.id,
    section_id: firstSteps.id,
    title: 'Secret roadmap draft',
    excerpt: 'Not for customers yet.',
    body: 'The unreleased roadmap, password hints included.',
    status: 'draft',
    sort_order: 3,
  });
  const resetPassword = await article({
    category_id: start.id,
    title: 'Reset your password',
    excerpt: 'Locked out? Start here.',
    body: 'Click **Forgot password** on the sign-in page and follow the e-mail link.',
    tags: ['account', 'security'],
    related_articles: [createAccount.id, inviteTeam.id, draft.id],
  });
  const updateCard = await article({
    category_id: billing.id,
    title: 'Update your card',
    excerpt: 'Change the card we charge.',
    body: 'Billing → Payment method → Replace card.',
  });

  const faq = (fields) => call('POST', `${k}/faqs`, { status: 'published', ...fields });
  await faq({ category_id: start.id, question: 'Is there a free trial?', answer: 'Yes, 14 days.' });
  await faq({ category_id: start.id, question: 'Can I change my username?', answer: `Not yet. ${XSS_BODY}` });
  await faq({ category_id: start.id, question: 'Unpublished FAQ question?', answer: 'Draft.', status: 'draft' });
  await faq({ category_id: billing.id, question: 'Which cards do you accept?', answer: 'Visa and Mastercard.' });

  return {
    kb,
    siteKey: kb.site_key,
    categories: { start, billing, empty },
    section: firstSteps,
    articles: { createAccount, inviteTeam, draft, resetPassword, updateCard },
    publishedTitles: [createAccount.title, inviteTeam.title, resetPassword.title, updateCard.title],
  };
}

/** Opens a page that records uncaught page errors, dialogs and console errors. */
async function openPage() {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const watch = { pageErrors: [], dialogs: [], consoleErrors: [] };
  page.on('pageerror', (e) => watch.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('dialog', (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    if (m.type() === 'error') watch.consoleErrors.push(m.text());
  });
  return { page, watch };
}

function spaUrl(origin, apiBase, key) {
  const q = new URLSearchParams({ api: apiBase, slug: SLUG, key });
  return `${origin}/index.html?${q}`;
}

async function screenshot(page, name) {
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const texts = (locator) => locator.evaluateAll((els) => els.map((e) => e.textContent.trim()));

// --- setup and teardown --------------------------------------------------------------------------

let tome;
let data;
let allowed;
let disallowed;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  }
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-e2e-data-'));
  const profileDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-e2e-chromium-'));
  tempDirs.push(dataDir, profileDir);

  // Server, static origins and browser start in parallel; the browser is the slow one.
  // allSettled, so that whatever did start is known to `after` even when something else failed.
  const started = await Promise.allSettled([
    startTome(dataDir),
    startStatic(),
    startStatic(),
    chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 800 },
      timeout: 30_000,
    }),
  ]);
  const [t, a, d, b] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  tome = t;
  allowed = a;
  disallowed = d;
  browser = b;
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;

  const call = adminClient(tome.url, tome.adminKey);
  data = await seed(call);
  // Only the first static server's host:port may call the public API.
  const project = await call('PUT', '/v1/project', { allowed_domains: [allowed.hostPort] });
  assert.deepEqual(project.allowed_domains, [allowed.hostPort]);
  assert.notEqual(new URL(allowed.origin).port, new URL(tome.url).port, 'the SPA is on another origin');
}, { timeout: 60_000 });

after(async () => {
  const steps = [];
  if (browser) steps.push(browser.close().catch(() => {}));
  for (const s of servers) {
    steps.push(new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    }));
  }
  for (const c of children) steps.push(stopChild(c));
  await Promise.all(steps);
  for (const d of tempDirs) await fsp.rm(d, { recursive: true, force: true }).catch(() => {});
}, { timeout: 30_000 });

// --- the allowed origin ---------------------------------------------------------------------------

describe('SPA on an allowed origin', () => {
  let page;
  let watch;

  before(async () => {
    ({ page, watch } = await openPage());
  });
  after(async () => {
    await page?.close().catch(() => {});
  });

  test('renders the navigation tree of published content only', { timeout: 30_000 }, async () => {
    await page.goto(spaUrl(allowed.origin, tome.url, data.siteKey));
    await page.locator('body[data-state="ready"]').waitFor();

    assert.equal(await page.title(), KB_TITLE);
    assert.equal((await page.locator('#kb-title').textContent()).trim(), KB_TITLE);
    assert.equal(await page.locator('#error').isVisible(), false, 'no error on the allowed origin');

    assert.deepEqual(
      await texts(page.locator('#nav .category-name')),
      ['Getting Started 2 FAQs', 'Billing 1 FAQ', 'Integrations 0 FAQs'],
      'categories in sort order, with published FAQ counts',
    );
    const start = page.locator(`.category[data-category-id="${data.categories.start.id}"]`);
    assert.deepEqual(await texts(start.locator('.section-name')), ['First steps']);
    assert.deepEqual(
      await texts(start.locator('.section .article-link')),
      ['Create your account', 'Invite your team'],
      'section articles, draft left out',
    );
    assert.deepEqual(await texts(start.locator('.category-articles .article-link')), ['Reset your password']);
    const billing = page.locator(`.category[data-category-id="${data.categories.billing.id}"]`);
    assert.deepEqual(await texts(billing.locator('.article-link')), ['Update your card']);

    const body = await page.locator('body').innerText();
    for (const title of data.publishedTitles) assert.ok(body.includes(title), `${title} is listed`);
    assert.ok(!body.includes('Secret roadmap draft'), 'the draft article is not shown');
    await screenshot(page, 'allowed-structure');
  });

  test('clicking an article renders its title, body as text, tags and See also', { timeout: 30_000 }, async () => {
    const { resetPassword } = data.articles;
    await page.locator('#nav .article-link', { hasText: 'Reset your password' }).click();
    await page.locator(`#article[data-article-id="${resetPassword.id}"]`).waitFor();

    assert.ok(page.url().endsWith(`#/articles/${resetPassword.id}`));
    assert.equal(await page.locator('#article-title').textContent(), 'Reset your password');
    assert.equal(await page.locator('#article-body').textContent(), resetPassword.body);
    assert.equal(await page.locator('#article-breadcrumb').textContent(), 'Getting Started');
    assert.deepEqual(await texts(page.locator('#article-tags .tag')), ['account', 'security']);
    assert.ok(await page.locator('#related').isVisible());
    assert.deepEqual(
      await texts(page.locator('#related-list .article-link')),
      ['Create your account', 'Invite your team'],
      'related articles resolved, the draft one left out',
    );
    assert.deepEqual(
      await texts(page.locator('#related-list .excerpt')),
      ['Sign up in two minutes.', 'Bring colleagues along.'],
    );
    await screenshot(page, 'allowed-article');
  });

  test('"See also" opens the related article, whose HTML-looking body stays text', { timeout: 30_000 }, async () => {
    const { createAccount } = data.articles;
    await page.locator('#related-list .article-link', { hasText: 'Create your account' }).click();
    await page.locator(`#article[data-article-id="${createAccount.id}"]`).waitFor();

    assert.equal(await page.locator('#article-title').textContent(), 'Create your account');
    assert.equal(await page.locator('#article-breadcrumb').textContent(), 'Getting Started › First steps');
    assert.equal(await page.locator('#article-body').textContent(), createAccount.body);
    assert.equal(await page.locator('#article-body *').count(), 0, 'the body is not parsed as HTML');
    assert.equal(await page.locator('#article img, #article script').count(), 0);
    assert.deepEqual(await texts(page.locator('#article-tags .tag')), ['account', 'onboarding']);
    assert.equal(await page.locator('#related').isVisible(), false, 'no See also without related articles');
  });

  test('a category\'s FAQ button loads its published FAQs', { timeout: 30_000 }, async () => {
    const start = page.locator(`.category[data-category-id="${data.categories.start.id}"]`);
    await start.locator('.faq-toggle').click();
    await start.locator('.faq-list').waitFor();
    assert.deepEqual(
      await texts(start.locator('.faq-list dt')),
      ['Is there a free trial?', 'Can I change my username?'],
    );
    assert.deepEqual(await texts(start.locator('.faq-list dd')), ['Yes, 14 days.', `Not yet. ${XSS_BODY}`]);
    assert.equal(await start.locator('.faq-list img, .faq-list script').count(), 0);
    assert.equal(await start.locator('.faq-toggle').getAttribute('aria-expanded'), 'true');
  });

  test('search finds published articles and FAQs, never drafts', { timeout: 30_000 }, async () => {
    await page.locator('#search-input').fill('password');
    await page.locator('#search-button').click();
    await page.locator('#search-results[data-query="password"]').waitFor();
    const hits = await texts(page.locator('#search-article-results .article-link'));
    assert.ok(hits.includes('Reset your password'), `hits: ${hits}`);
    assert.ok(hits.includes('Create your account'), `hits: ${hits}`);
    assert.ok(!hits.includes('Secret roadmap draft'), 'the draft is not a hit');
    assert.equal(await page.locator('#article').isVisible(), false);
    await screenshot(page, 'allowed-search');

    await page.locator('#search-input').fill('trial');
    await page.locator('#search-button').click();
    await page.locator('#search-results[data-query="trial"]').waitFor();
    assert.deepEqual(await texts(page.locator('#search-faq-results strong')), ['Is there a free trial?']);
    assert.equal(await page.locator('#search-article-results li').count(), 0);

    await page.locator('#search-input').fill('roadmap');
    await page.locator('#search-button').click();
    await page.locator('#search-results[data-query="roadmap"]').waitFor();
    assert.ok(await page.locator('#search-empty').isVisible(), 'only a draft matches: no results');

    // A hit opens its article.
    await page.locator('#search-input').fill('card');
    await page.locator('#search-button').click();
    await page.locator('#search-results[data-query="card"]').waitFor();
    await page.locator('#search-article-results .article-link', { hasText: 'Update your card' }).click();
    await page.locator(`#article[data-article-id="${data.articles.updateCard.id}"]`).waitFor();
    assert.equal(await page.locator('#article-breadcrumb').textContent(), 'Billing');
    assert.equal(await page.locator('#search-results').isVisible(), false);
  });

  test('no uncaught page errors, dialogs or console errors', () => {
    assert.deepEqual(watch.pageErrors, []);
    assert.deepEqual(watch.dialogs, []);
    assert.deepEqual(watch.consoleErrors, []);
  });
});

// --- refusals -------------------------------------------------------------------------------------

describe('SPA refused by the API', () => {
  async function expectCleanFailure(url, shot) {
    const { page, watch } = await openPage();
    try {
      await page.goto(url);
      await page.locator('body[data-state="error"]').waitFor();
      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      assert.match(await alert.textContent(), /^Could not load the help centre\./);

      assert.equal(await page.locator('#nav .article-link').count(), 0, 'no article links');
      assert.equal(await page.locator('#nav .category').count(), 0, 'no categories');
      const body = await page.locator('body').innerText();
      for (const title of [...data.publishedTitles, 'Secret roadmap draft', 'Getting Started']) {
        assert.ok(!body.includes(title), `${title} is not shown`);
      }
      assert.equal(await page.locator('#kb-title').textContent(), 'Help centre', 'the KB title is not leaked');
      assert.ok(await page.locator('#search-input').isDisabled(), 'search is disabled');
      await screenshot(page, shot);

      // Fails cleanly: the SPA caught the failure rather than throwing.
      assert.deepEqual(watch.pageErrors, [], 'no uncaught page errors');
      assert.deepEqual(watch.dialogs, [], 'no dialogs');
      return { watch };
    } finally {
      await page.close().catch(() => {});
    }
  }

  test('the same page from an origin not in allowed_domains shows the error and no content', { timeout: 30_000 }, async () => {
    assert.notEqual(disallowed.hostPort, allowed.hostPort);
    const { watch } = await expectCleanFailure(
      spaUrl(disallowed.origin, tome.url, data.siteKey),
      'disallowed-origin',
    );
    // The browser itself blocked the response (the preflight got the generic 403).
    assert.ok(
      watch.consoleErrors.some((m) => /CORS|Access-Control|blocked/i.test(m)),
      `expected a CORS console error, got: ${JSON.stringify(watch.consoleErrors)}`,
    );
  });

  test('the allowed origin with a wrong site key shows the error and no content', { timeout: 30_000 }, async () => {
    const wrongKey = `psk_${'x'.repeat(data.siteKey.length - 4)}`;
    await expectCleanFailure(spaUrl(allowed.origin, tome.url, wrongKey), 'wrong-site-key');
  });

  test('the API answers the disallowed origin\'s preflight with the generic 403', async () => {
    const preflight = (origin) => fetch(`${tome.url}/v1/kb/public/${SLUG}/structure`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-minolith-site-key',
      },
    });
    const ok = await preflight(allowed.origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), allowed.origin);
    const refused = await preflight(disallowed.origin);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    assert.deepEqual((await refused.json()).error, { code: 'forbidden', message: 'Access denied', details: null });
  });
});
