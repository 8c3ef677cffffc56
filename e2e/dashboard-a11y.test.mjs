// Accessibility of the dashboard, in Chromium against a real `tome serve` (SQLite, and PostgreSQL
// when TOME_TEST_DATABASE_URL is set):
//   - axe-core (`@axe-core/playwright`) on every page — signed out and in, with content, a failed
//     docs update and an assistant conversation to show — in light and dark colour schemes and at
//     360 px wide: no serious or critical violation (each one printed when it fails);
//   - a keyboard-only journey (Tab, Enter and typing; no clicks) creates and publishes an article;
//   - screenshots of each page, light and dark, in e2e/screenshots/dashboard-<page>-<mode>.png.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import {
  BACKENDS, launchBrowser, screenshot, signIn, sleep, startDashboard, watch,
} from './dashboard-support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

/** Seeds what the pages show; resolves to [name, path] for every page. */
async function seed(tome) {
  const { call } = tome;
  const project = await call('GET', '/v1/project');
  await call('PUT', '/v1/project', { allowed_domains: ['app.acme.example'] });
  const kb = await call('POST', '/v1/kb', {
    title: 'Acme Help', slug: 'acme-help', description: 'Answers for Acme users.', is_public: true,
  });
  const category = await call('POST', `/v1/kb/${kb.id}/categories`, { name: 'Getting started', description: 'First steps.' });
  await call('POST', `/v1/kb/${kb.id}/categories`, { name: 'Billing' });
  const section = await call('POST', `/v1/kb/${kb.id}/sections`, { category_id: category.id, name: 'Basics' });
  const article = await call('POST', `/v1/kb/${kb.id}/articles`, {
    category_id: category.id, section_id: section.id, title: 'Install Acme', excerpt: 'How to install Acme.',
    body: '## Download\n\nGet the **installer** from the website.\n\n## Run it\n\n1. Open it\n2. Follow the steps\n',
    tags: ['install', 'setup'], status: 'published',
  });
  await call('POST', `/v1/kb/${kb.id}/articles`, {
    category_id: category.id, title: 'Uninstall Acme', body: 'Drag it to the bin.', status: 'draft',
  });
  const faq = await call('POST', `/v1/kb/${kb.id}/faqs`, {
    category_id: category.id, question: 'Is there a free plan?', answer: 'Yes, for up to **3** users.', status: 'published',
  });
  // A KB managed as docs-as-code whose update failed (the repository does not exist).
  const docs = await call('POST', '/v1/kb', { title: 'Developer docs', slug: 'dev-docs' });
  await call('PUT', `/v1/kb/${docs.id}/source`, { url: 'git://127.0.0.1:9/missing.git', format: 'auto' });
  const trigger = await fetch(`${tome.url}/v1/project/update/${project.id}?kb_id=${docs.id}`, {
    method: 'POST', headers: { Authorization: `Bearer ${tome.key}` },
  });
  assert.equal(trigger.status, 202, await trigger.clone().text());
  const updateId = (await trigger.json()).statusId;
  for (let i = 0; i < 300; i++) {
    const s = await call('GET', `/v1/project/update-status/${updateId}`).catch(() => null);
    if (s && (s.status === 'failure' || s.status === 'success')) break;
    await sleep(100);
  }
  // An assistant conversation, asked on the hosted help centre (no JavaScript path).
  const ask = await fetch(`${tome.url}/hc/acme-help/ask?${new URLSearchParams({ q: 'How do I install Acme?' })}`);
  assert.equal(ask.status, 200);
  const conversations = await fetch(`${tome.url}/v1/analytics/${project.id}/assistant`, {
    headers: { Authorization: `Bearer ${tome.key}` },
  }).then((r) => r.json());
  const threadId = conversations.conversations?.[0]?.threadId;
  assert.ok(threadId, `a conversation: ${JSON.stringify(conversations)}`);
  const k = `/dashboard/kb/${kb.id}`;
  return [
    ['overview', '/dashboard'],
    ['kbs', '/dashboard/kbs'],
    ['kb-new', '/dashboard/kbs/new'],
    ['settings', `${k}/settings`],
    ['kb-delete', `${k}/delete`],
    ['site-key', `${k}/site-key`],
    ['content', k],
    ['category', `${k}/categories/${category.id}`],
    ['section', `${k}/sections/${section.id}`],
    ['article-new', `${k}/articles/new?category_id=${category.id}&section_id=${section.id}`],
    ['editor', `${k}/articles/${article.id}`],
    ['faqs', `${k}/faqs`],
    ['faq', `${k}/faqs/${faq.id}`],
    ['search', `${k}/search?q=install`],
    ['keys', '/dashboard/keys'],
    ['project', '/dashboard/project'],
    ['source', `/dashboard/kb/${docs.id}/source`],
    ['update', `/dashboard/kb/${docs.id}/updates/${updateId}`],
    ['assistant', '/dashboard/assistant'],
    ['transcript', `/dashboard/assistant/${threadId}`],
  ];
}

/** axe's serious and critical violations of the page, one readable line each. */
async function violations(page) {
  const { violations: all } = await new AxeBuilder({ page }).analyze();
  return all
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', ')}`
      + ` (${v.nodes[0]?.failureSummary?.replace(/\s+/g, ' ') ?? ''})`);
}

/** What has the keyboard focus: tag, name, type, accessible text. */
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { tag: 'body', text: '' };
  const label = el.labels?.[0]?.innerText ?? '';
  return {
    tag: el.tagName.toLowerCase(),
    name: el.getAttribute('name') || '',
    type: el.getAttribute('type') || '',
    href: el.getAttribute('href') || '',
    text: `${el.getAttribute('aria-label') || ''} ${el.innerText || ''} ${el.value || ''} ${label}`.trim(),
  };
});

/** Presses Tab until the focus satisfies `want` (at most `max` times); fails otherwise. */
async function tabTo(page, want, what, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (want(f)) return f;
  }
  assert.fail(`Tab never reached ${what} on ${page.url()}`);
}

/** Enter on the focused link or button, waiting for the page it loads. */
async function enter(page) {
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

for (const backend of BACKENDS) {
  describe(`dashboard accessibility (${backend})`, () => {
    let tome;
    let browser;
    let pages;
    before(async () => {
      tome = await startDashboard(backend, ['--sync-allow-private']);
      browser = await launchBrowser();
      pages = await seed(tome);
    });
    after(async () => {
      await browser?.close();
      await tome?.stop();
    });

    test('every page has no serious or critical axe violation, light and dark, wide and at 360 px', { timeout: 600_000 }, async () => {
      const failures = [];
      for (const colorScheme of ['light', 'dark']) {
        const context = await browser.newContext({ colorScheme, viewport: DESKTOP });
        const page = await context.newPage();
        const seen = watch(page);
        // Signed out first: the sign-in page.
        await page.goto(`${tome.url}/dashboard/sign-in`);
        for (const viewport of [DESKTOP, PHONE]) {
          await page.setViewportSize(viewport);
          for (const v of await violations(page)) failures.push(`sign-in (${colorScheme}, ${viewport.width} px): ${v}`);
        }
        await page.setViewportSize(DESKTOP);
        if (backend === BACKENDS[0]) await screenshot(page, `dashboard-sign-in-${colorScheme}`);
        await signIn(page, tome);
        for (const [name, route] of pages) {
          const response = await page.goto(`${tome.url}${route}`);
          if (response.status() !== 200) {
            failures.push(`${name} (${route}): HTTP ${response.status()}`);
            continue;
          }
          for (const viewport of [DESKTOP, PHONE]) {
            await page.setViewportSize(viewport);
            for (const v of await violations(page)) failures.push(`${name} (${colorScheme}, ${viewport.width} px): ${v}`);
            // Works at 360 px: nothing makes the page itself scroll sideways.
            if (viewport === PHONE) {
              const wide = await page.evaluate(() => document.documentElement.scrollWidth);
              if (wide > PHONE.width + 1) failures.push(`${name} (${colorScheme}, 360 px): page is ${wide} px wide`);
            }
          }
          await page.setViewportSize(DESKTOP);
          if (backend === BACKENDS[0]) await screenshot(page, `dashboard-${name}-${colorScheme}`);
        }
        assert.deepEqual(seen.errors, [], `page errors (${colorScheme})`);
        await context.close();
      }
      if (failures.length) console.error(failures.join('\n'));
      assert.deepEqual(failures, []);
    });

    test('keyboard only: sign in, open the KB, write an article and publish it', { timeout: 120_000 }, async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      const seen = watch(page, { acceptConfirms: true });
      await page.goto(`${tome.url}/dashboard/sign-in`);
      await tabTo(page, (f) => f.name === 'key', 'the key field');
      await page.keyboard.type(tome.key);
      await enter(page);
      assert.equal(new URL(page.url()).pathname, '/dashboard');

      // The skip link is the first stop and lands on the main content.
      await page.keyboard.press('Tab');
      assert.match((await focused(page)).text, /skip to content/i);

      await tabTo(page, (f) => f.tag === 'a' && f.text === 'Acme Help', 'the KB link');
      await enter(page);
      const kb = (await tome.call('GET', '/v1/kb')).find((k) => k.slug === 'acme-help');
      assert.equal(new URL(page.url()).pathname, `/dashboard/kb/${kb.id}`);
      await tabTo(page, (f) => f.tag === 'a' && /articles\/new/.test(f.href), 'a "New article" link');
      await enter(page);
      assert.match(new URL(page.url()).pathname, /\/articles\/new$/);

      await tabTo(page, (f) => f.name === 'title', 'the title field');
      await page.keyboard.type('Reset your password');
      await tabTo(page, (f) => f.name === 'body', 'the body field');
      await page.keyboard.type('## Steps\n\nOpen **Settings**, then choose Reset.');
      await tabTo(page, (f) => f.tag === 'button' && /save|create/i.test(f.text), 'the save button');
      await enter(page);
      const made = (await tome.call('GET', `/v1/kb/${kb.id}/articles`)).find((a) => a.title === 'Reset your password');
      assert.ok(made, 'the article was saved');
      const saved = await tome.call('GET', `/v1/kb/${kb.id}/articles/${made.id}`);
      assert.equal(saved.body.trim(), '## Steps\n\nOpen **Settings**, then choose Reset.');
      assert.equal(saved.status, 'draft');

      await tabTo(page, (f) => f.tag === 'button' && /^publish/i.test(f.text), 'the Publish button');
      await enter(page);
      assert.equal((await tome.call('GET', `/v1/kb/${kb.id}/articles/${made.id}`)).status, 'published');
      assert.match(await page.locator('.flash').first().innerText(), /published/i);
      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.errors, []);
      await context.close();
    });
  });
}
