// The hosted help centre's "Ask" box in a real browser (Debian's headless Chromium) against a
// real `tome serve`, answering offline (the extractive answerer):
//   - JavaScript off: the box is a form; submitting it navigates to the server-rendered answer
//     page with the answer and its source links, which lead to the article;
//   - JavaScript on: ask.js streams the answer into the page without navigating (text, then
//     source links to the hosted article URLs), in every theme; a follow-up continues the thread;
//   - the page's Content-Security-Policy lets ask.js run and still blocks inline script: no
//     violation is reported while asking, and an injected inline script is refused;
//   - keyboard only: Tab reaches the box, Enter asks, Tab reaches the answer's links.
// Env as in hosted.test.mjs (TOME_BIN, CHROMIUM_PATH).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, launchBrowser, sleep, startTome } from './hosted-support.mjs';

const THEMES = ['minimal', 'developer', 'brand', 'docs', 'bare'];
const SLUG = 'ask-e2e';
const QUESTION = 'How can I reset a forgotten password?';
const ANSWER = 'Open Settings → Security and choose Reset password.';

describe('hosted Ask box', () => {
  let tome;
  let browser;
  let call;
  let kbId;
  let articleId;

  before(async () => {
    tome = await startTome(['--assistant-client-rate-limit', '1000']);
    call = adminClient(tome.url, tome.key);
    const kb = await call('POST', '/v1/kb', { title: 'Acme Help', slug: SLUG, is_public: true });
    kbId = kb.id;
    const cat = await call('POST', `/v1/kb/${kbId}/categories`, { name: 'Account' });
    const article = await call('POST', `/v1/kb/${kbId}/articles`, {
      category_id: cat.id,
      title: 'Reset your password',
      status: 'published',
      body: '## Reset a forgotten password\n\nOpen **Settings → Security** and choose *Reset password*. '
        + 'We email you a reset link that works for one hour.\n\n## Change your password\n\n'
        + 'Signed in, open your profile and pick a new password.',
    });
    articleId = article.id;
    await call('POST', `/v1/kb/${kbId}/articles`, {
      category_id: cat.id,
      title: 'Invite your team',
      status: 'published',
      body: 'Open **Settings → Team** and send invitations by email to your colleagues.',
    });
    // The search index follows writes a moment later: wait until the article is findable.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const html = await (await fetch(`${tome.url}/hc/${SLUG}/search?q=password`)).text();
      if (html.includes(articleId)) break;
      if (Date.now() > deadline) throw new Error('the article never became searchable');
      await sleep(100);
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tome?.stop();
  });

  /**
   * A page that records every problem: page errors, dialogs, failed responses, console errors
   * and Content-Security-Policy violations (as the page itself sees them).
   */
  async function open(options = {}) {
    const context = await browser.newContext(options);
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    return { context, page, problems };
  }

  const articleUrl = () => `${tome.url}/hc/${SLUG}/articles/${articleId}`;

  async function cspViolations(page) {
    return page.evaluate(() => window.__csp);
  }

  test('JavaScript off: the form navigates to the answer page, whose sources lead to the article', async () => {
    for (const theme of ['minimal', 'docs']) {
      await call('PUT', `/v1/kb/${kbId}`, { theme });
      const { context, page, problems } = await open({ javaScriptEnabled: false });
      await page.goto(articleUrl());
      const box = page.getByLabel('Your question');
      assert.equal(await box.count(), 1, 'one labelled question box');
      await box.fill(QUESTION);
      await box.press('Enter');
      await page.waitForURL(/\/ask\?q=How\+can\+I\+reset/);
      assert.equal(await page.locator('main h1').innerText(), 'Ask a question');
      assert.equal(await page.locator('.ask-question').innerText(), QUESTION);
      assert.match(await page.locator('.ask-answer').innerText(), /Open Settings → Security and choose Reset password\./);
      const sources = page.locator('ol.ask-sources a');
      assert.equal(await sources.count(), 1);
      const href = await sources.first().getAttribute('href');
      assert.ok(href.startsWith(`${tome.url}/hc/${SLUG}/articles/${articleId}`), href);
      assert.equal(await sources.first().innerText(), 'Reset your password');
      // The `[1]` in the text links to the same page.
      assert.equal(await page.locator('.ask-answer a', { hasText: '[1]' }).getAttribute('href'), href);
      // The question stays in the box, and the answer page has no script running.
      assert.equal(await page.getByLabel('Your question').inputValue(), QUESTION);
      await sources.first().click();
      await page.waitForURL(/\/articles\/kba_/);
      assert.equal(await page.locator('main h1').innerText(), 'Reset your password');
      assert.deepEqual(problems, [], theme);
      await context.close();
    }
  });

  test('JavaScript off: a question the docs do not cover says so', async () => {
    const { context, page, problems } = await open({ javaScriptEnabled: false });
    await page.goto(`${tome.url}/hc/${SLUG}`);
    await page.getByLabel('Your question').fill('what is the capital of France');
    await page.getByRole('button', { name: 'Ask' }).click();
    await page.waitForURL(/\/ask\?q=/);
    assert.equal(await page.locator('.ask-uncovered').innerText(), 'The documentation doesn’t cover this question.');
    assert.equal(await page.locator('ol.ask-sources a').count(), 0, 'nothing made up');
    assert.deepEqual(problems, []);
    await context.close();
  });

  for (const theme of THEMES) {
    test(`${theme}, JavaScript on: the answer streams into the page without navigating`, async () => {
      await call('PUT', `/v1/kb/${kbId}`, { theme });
      const { context, page, problems } = await open();
      await page.goto(articleUrl());
      const start = page.url();
      let navigations = 0;
      page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
      const streamed = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/hc/${SLUG}/ask`));
      await page.getByLabel('Your question').fill(QUESTION);
      await page.getByRole('button', { name: 'Ask' }).click();
      const resp = await streamed;
      assert.equal(resp.status(), 200);
      assert.equal(resp.headers()['content-type'], 'text/event-stream');
      assert.equal(resp.request().headers().accept, 'text/event-stream');
      const output = page.locator('[data-ask-output]');
      await output.locator('.ask-answer', { hasText: ANSWER }).waitFor();
      await page.locator('[data-ask-output][aria-busy="false"]').waitFor();
      assert.equal(await output.getAttribute('aria-live'), 'polite');
      assert.equal(await output.locator('.ask-question').innerText(), QUESTION);
      assert.equal(page.url(), start, 'no navigation');
      assert.equal(navigations, 0, 'no navigation');
      const links = output.locator('ol.ask-sources a');
      assert.equal(await links.count(), 1);
      const href = await links.first().getAttribute('href');
      assert.ok(href.startsWith(`${tome.url}/hc/${SLUG}/articles/${articleId}`), href);
      assert.equal(await links.first().innerText(), 'Reset your password');
      // The final answer is the server's sanitised rendering: its citation is a link too.
      assert.equal(await output.locator('.ask-answer a', { hasText: '[1]' }).getAttribute('href'), href);
      assert.equal(await output.locator('.ask-answer script').count(), 0);
      assert.deepEqual(await cspViolations(page), [], 'no CSP violation');
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  test('JavaScript on: a follow-up continues the conversation in one thread', async () => {
    await call('PUT', `/v1/kb/${kbId}`, { theme: 'minimal' });
    const { context, page, problems } = await open();
    await page.goto(`${tome.url}/hc/${SLUG}`);
    const box = page.getByLabel('Your question');
    const output = page.locator('[data-ask-output]');
    await box.fill(QUESTION);
    await box.press('Enter');
    await output.locator('.ask-answer', { hasText: ANSWER }).waitFor();
    await page.locator('[data-ask-output][aria-busy="false"]').waitFor();
    const follow = 'and how do I change my password?';
    await box.fill(follow);
    await box.press('Enter');
    await output.locator('.ask-question', { hasText: follow }).waitFor();
    await page.locator('[data-ask-output][aria-busy="false"]').waitFor();
    assert.match(await output.locator('.ask-answer').innerText(), /pick a new password/);
    assert.deepEqual(problems, []);
    await context.close();
    const project = await call('GET', '/v1/project');
    const r = await fetch(`${tome.url}/v1/analytics/${project.id}/assistant?limit=100`, {
      headers: { Authorization: `Bearer ${tome.key}` },
    });
    const { conversations } = await r.json();
    const mine = conversations.filter((c) => c.query === follow);
    assert.equal(mine.length, 1);
    const thread = conversations.filter((c) => c.threadId === mine[0].threadId);
    assert.deepEqual(thread.map((c) => c.query).sort(), [QUESTION, follow].sort());
  });

  test('the page policy runs ask.js and refuses inline script', async () => {
    const { context, page, problems } = await open();
    const resp = await page.goto(`${tome.url}/hc/${SLUG}`);
    const csp = resp.headers()['content-security-policy'];
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe/);
    const scripts = await page.locator('script').evaluateAll((all) => all.map((s) => ({ src: s.getAttribute('src'), text: s.textContent })));
    assert.equal(scripts.length, 1);
    assert.match(scripts[0].src, /^\/hc\/_assets\/ask\.[0-9a-f]{12}\.js$/);
    assert.equal(scripts[0].text, '');
    // The detector works, and the policy holds: an inline script added to the page is refused.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1;';
      document.body.appendChild(s);
    });
    await page.waitForFunction(() => window.__csp.length > 0);
    assert.equal(await page.evaluate(() => window.__inline), undefined);
    assert.match((await cspViolations(page))[0], /^script-src/);
    // The console error Chromium prints for that refusal is the only problem.
    assert.ok(problems.length <= 1 && problems.every((p) => p.includes('Content Security Policy')), problems.join('\n'));
    await context.close();
  });

  test('keyboard only: Tab reaches the box, Enter asks, Tab reaches the sources', async () => {
    const { context, page, problems } = await open({ viewport: { width: 390, height: 844 } });
    await page.goto(articleUrl());
    let reached = false;
    for (let i = 0; i < 200 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'tome-ask-q');
    }
    assert.ok(reached, 'the question box is in the tab order');
    await page.keyboard.type(QUESTION);
    await page.keyboard.press('Enter');
    const output = page.locator('[data-ask-output]');
    await output.locator('.ask-answer', { hasText: ANSWER }).waitFor();
    await page.locator('[data-ask-output][aria-busy="false"]').waitFor();
    // Focus stays in the box, ready for a follow-up; then the Ask button, then the answer's links.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tome-ask-q');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Ask');
    const hrefs = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      hrefs.push(await page.evaluate(() => document.activeElement?.getAttribute('href')));
    }
    const article = `${tome.url}/hc/${SLUG}/articles/${articleId}`;
    assert.ok(hrefs.some((h) => h && h.startsWith(article)), hrefs.join('\n'));
    // Following a source with Enter opens the article.
    const at = hrefs.findIndex((h) => h && h.startsWith(article));
    for (let i = hrefs.length - 1; i > at; i--) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/articles\/kba_/);
    assert.equal(await page.locator('main h1').innerText(), 'Reset your password');
    // The box fits a phone's width.
    const box = await page.locator('#tome-ask-q').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
