// The hosted help centre in a real browser: the Mintlify corpus imported once per theme, then
//   - home → category → article → search by clicking, in every theme, with JavaScript on;
//   - the same journey, the FAQ accordion and search with JavaScript off;
//   - keyboard use (skip link, FAQ by Enter) and landmarks;
//   - screenshots of every theme's pages at phone and desktop widths, in e2e/screenshots/hosted/
//     (git-ignored), for a reviewer to look at.
// Env as in public-spa.test.mjs; MINTLIFY_DIR overrides ../shared/corpora/mintlify-docs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SCREENSHOTS, adminClient, importCorpus, launchBrowser, startTome } from './hosted-support.mjs';

const THEMES = ['minimal', 'developer', 'brand', 'docs', 'bare'];
const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1440, height: 900 } };

describe('hosted help centre', () => {
  let tome;
  let browser;
  let call;
  const kbs = {};

  before(async () => {
    tome = await startTome();
    call = adminClient(tome.url, tome.key);
    for (const theme of THEMES) {
      kbs[theme] = await importCorpus(tome, `mint-${theme}`, theme);
    }
    await call('PUT', `/v1/kb/${kbs.brand}`, { theme_settings: { primary_color: '#0e7c66' } });
    kbs['brand-dark'] = await importCorpus(tome, 'mint-brand-dark', 'brand');
    await call('PUT', `/v1/kb/${kbs['brand-dark']}`, {
      theme_settings: { primary_color: '#7c3aed', dark_mode: true },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tome?.stop();
  });

  /** A page that fails the test on any page error or dialog. */
  async function open(options = {}) {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    return { context, page, problems };
  }

  async function journey(theme, javaScriptEnabled) {
    const { context, page, problems } = await open({ javaScriptEnabled, viewport: VIEWPORTS.desktop });
    const slug = `mint-${theme}`;
    await page.goto(`${tome.url}/hc/${slug}`);
    assert.equal(await page.locator('h1').first().innerText(), 'Mintlify Documentation');
    assert.equal(await page.locator('main#main').count(), 1, 'one main landmark');
    // Home → a category (its card).
    await page.locator('.cards a', { hasText: 'Get started' }).first().click();
    await page.waitForURL(/\/categories\/kbc_/);
    assert.equal(await page.locator('main h1').innerText(), 'Get started');
    // Category → an article.
    await page.locator('main .article-list a', { hasText: 'Quickstart' }).first().click();
    await page.waitForURL(/\/articles\/kba_/);
    assert.equal(await page.locator('main h1').innerText(), 'Quickstart');
    const crumbs = await page.locator('nav.crumbs').innerText();
    assert.match(crumbs, /Mintlify Documentation[\s\S]*Get started[\s\S]*Quickstart/);
    assert.ok(await page.locator('.prose pre code').count() > 0, 'code blocks render');
    assert.ok(await page.locator('.see-also a').count() > 0, 'see also');
    // Article → search, submitted with the keyboard.
    const box = page.locator('input[type=search]').first();
    await box.fill('analytics');
    await box.press('Enter');
    await page.waitForURL(/\/search\?q=analytics/);
    assert.match(await page.locator('main h1').innerText(), /Results for “analytics”/);
    assert.ok(await page.locator('main .article-list a').count() > 0, 'search finds articles');
    assert.deepEqual(problems, []);
    await context.close();
  }

  for (const theme of THEMES) {
    test(`${theme}: home → category → article → search`, () => journey(theme, true));
  }

  test('the journey works with JavaScript disabled (docs and minimal)', async () => {
    await journey('docs', false);
    await journey('minimal', false);
  });

  test('FAQ accordion opens by click and by keyboard, with or without JavaScript', async () => {
    for (const javaScriptEnabled of [true, false]) {
      const { context, page, problems } = await open({ javaScriptEnabled });
      await page.goto(`${tome.url}/hc/mint-minimal/faq`);
      const faq = page.locator('details.faq').first();
      assert.equal(await faq.getAttribute('open'), null);
      assert.equal(await faq.locator('.faq-answer').isVisible(), false);
      await faq.locator('summary').click();
      assert.equal(await faq.getAttribute('open'), '');
      assert.ok(await faq.locator('.faq-answer').isVisible());
      const second = page.locator('details.faq').nth(1);
      await second.locator('summary').focus();
      await page.keyboard.press('Enter');
      assert.equal(await second.getAttribute('open'), '');
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  test('keyboard: the skip link is first and moves focus to the content', async () => {
    const { context, page, problems } = await open();
    await page.goto(`${tome.url}/hc/mint-docs`);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(focused, 'Skip to content');
    assert.ok(await page.locator('.skip-link').isVisible(), 'visible when focused');
    await page.keyboard.press('Enter');
    assert.match(page.url(), /#main$/);
    // Landmarks: banner, navigation, main, contentinfo.
    for (const role of ['banner', 'main', 'contentinfo', 'search']) {
      assert.ok(await page.getByRole(role).count() > 0, `has a ${role} landmark`);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('docs: sidebar tree and on-page table of contents', async () => {
    const { context, page } = await open({ viewport: VIEWPORTS.desktop });
    await page.goto(`${tome.url}/hc/mint-docs`);
    await page.locator('nav.sidebar a', { hasText: 'Quickstart' }).first().click();
    await page.waitForURL(/\/articles\//);
    assert.ok(await page.locator('aside.toc a').count() > 2, 'table of contents');
    const current = page.locator('nav.sidebar a[aria-current=page]');
    assert.equal(await current.innerText(), 'Quickstart');
    const target = await page.locator('aside.toc a').first().getAttribute('href');
    await page.locator('aside.toc a').first().click();
    assert.ok(page.url().endsWith(target), 'TOC links to the heading');
    await context.close();
    // Phone: the sidebar is folded away behind a link that works without JavaScript (:target).
    const phone = await open({ viewport: VIEWPORTS.phone, javaScriptEnabled: false });
    await phone.page.goto(`${tome.url}/hc/mint-docs`);
    assert.equal(await phone.page.locator('nav.sidebar').isVisible(), false);
    await phone.page.locator('a.nav-open').click();
    assert.ok(await phone.page.locator('nav.sidebar').isVisible(), 'opened');
    await phone.page.locator('nav.sidebar a', { hasText: 'Quickstart' }).first().click();
    await phone.page.waitForURL(/\/articles\//);
    assert.equal(await phone.page.locator('main h1').innerText(), 'Quickstart');
    assert.deepEqual(phone.problems, []);
    await phone.context.close();
  });

  test('screenshots of every theme at phone and desktop widths', async () => {
    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    for (const [name, kbId] of Object.entries(kbs)) {
      const slug = name === 'brand-dark' ? 'mint-brand-dark' : `mint-${name}`;
      const cats = await call('GET', `/v1/kb/${kbId}/categories?limit=100`);
      const start = cats.find((c) => c.name === 'Get started');
      const articles = await call('GET', `/v1/kb/${kbId}/articles?limit=100&category_id=${start.id}`);
      const quick = articles.find((a) => a.title === 'Quickstart');
      const pages = {
        home: '',
        category: `/categories/${start.id}`,
        article: `/articles/${quick.id}`,
        search: '/search?q=custom+domain',
        faq: '/faq',
      };
      for (const [vpName, viewport] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext({ viewport, javaScriptEnabled: false });
        const page = await context.newPage();
        for (const [pageName, rest] of Object.entries(pages)) {
          const resp = await page.goto(`${tome.url}/hc/${slug}${rest}`);
          assert.equal(resp.status(), 200, `${slug}${rest}`);
          await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${pageName}-${vpName}.png`) });
        }
        await context.close();
      }
    }
  });
});
