// XSS corpus against the hosted help centre: more than a hundred payloads (Markdown, raw HTML,
// links, images, FAQ answers, search queries, and custom_css break-outs) rendered into articles
// in every theme, loaded in headless Chromium twice — once with the page's CSP and once with CSP
// bypassed, so the sanitiser alone is shown to hold — with zero script executions and zero
// dialogs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, launchBrowser, startTome } from './hosted-support.mjs';
import { CSS_PAYLOADS, MARKDOWN_PAYLOADS } from './xss-payloads.mjs';

const THEMES = ['minimal', 'developer', 'brand', 'docs', 'bare'];

describe('hosted XSS corpus', () => {
  let tome;
  let browser;
  let call;
  let kb;
  const articleIds = [];

  before(async () => {
    assert.ok(MARKDOWN_PAYLOADS.length + CSS_PAYLOADS.length >= 100, 'at least 100 payloads');
    tome = await startTome();
    call = adminClient(tome.url, tome.key);
    kb = await call('POST', '/v1/kb', {
      title: 'XSS corpus', slug: 'xss', is_public: true,
      theme_settings: { primary_color: '#4f46e5', custom_css: CSS_PAYLOADS.join('\n') },
    });
    const cat = await call('POST', `/v1/kb/${kb.id}/categories`, { name: 'Payloads' });
    // One article per payload (titled with its number), plus each payload in an FAQ answer.
    for (let start = 0; start < MARKDOWN_PAYLOADS.length; start += 20) {
      const batch = MARKDOWN_PAYLOADS.slice(start, start + 20).map((p, i) => ({
        category_id: cat.id,
        title: `Payload ${start + i}`,
        excerpt: p.slice(0, 500),
        body: `# Payload ${start + i}\n\n${p}\n\nText after.\n`,
        status: 'published',
        tags: ['xss'],
      }));
      const created = await call('POST', `/v1/kb/${kb.id}/articles/bulk`, { articles: batch });
      articleIds.push(...created.map((a) => a.id));
    }
    for (const p of MARKDOWN_PAYLOADS.slice(0, 40)) {
      await call('POST', `/v1/kb/${kb.id}/faqs`, {
        category_id: cat.id, question: `Q ${p.slice(0, 400)}`, answer: p, status: 'published',
      });
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tome?.stop();
  });

  /** Loads each URL in a fresh page; returns executions seen (dialogs + hooked calls). */
  async function load(urls, bypassCSP) {
    const context = await browser.newContext({ bypassCSP });
    // Any script that runs and calls these is counted, whether or not it shows a dialog.
    await context.addInitScript(() => {
      window.__xss = 0;
      for (const f of ['alert', 'confirm', 'prompt', 'print']) {
        window[f] = () => { window.__xss += 1; };
      }
    });
    const seen = [];
    const page = await context.newPage();
    let current = '';
    page.on('dialog', async (d) => { seen.push(`${current}: dialog ${d.message()}`); await d.dismiss(); });
    // The detector itself must work: a handler that does run is counted.
    await page.setContent('<img src=x onerror="alert(1)">');
    await page.waitForFunction(() => window.__xss === 1);
    for (const url of urls) {
      current = url;
      const resp = await page.goto(url, { waitUntil: 'load' });
      assert.equal(resp.status(), 200, url);
      // Give timers, onload/onerror and autofocus handlers a moment.
      await page.waitForTimeout(20);
      const count = await page.evaluate(() => window.__xss);
      if (count) seen.push(`${url}: ${count} script call(s)`);
      // The one script a page may have is the Ask box's own first-party asset.
      const scripts = await page.locator('script:not([src^="/hc/_assets/ask."])').count();
      if (scripts) seen.push(`${url}: ${scripts} <script> element(s)`);
    }
    await context.close();
    return seen;
  }

  for (const bypassCSP of [false, true]) {
    const label = bypassCSP ? 'sanitiser alone (CSP bypassed)' : 'with the page CSP';
    test(`no payload runs, ${label}`, async () => {
      const urls = [];
      articleIds.forEach((id, i) => {
        const theme = THEMES[i % THEMES.length];
        urls.push({ theme, url: `${tome.url}/hc/xss/articles/${id}` });
      });
      const seen = [];
      for (const theme of THEMES) {
        await call('PUT', `/v1/kb/${kb.id}`, { theme });
        const mine = urls.filter((u) => u.theme === theme).map((u) => u.url);
        // Every theme also renders the lists, FAQs (answers are Markdown) and search with
        // payload-laden queries.
        mine.push(`${tome.url}/hc/xss`, `${tome.url}/hc/xss/faq`,
          `${tome.url}/hc/xss/categories/${(await call('GET', `/v1/kb/${kb.id}/categories`))[0].id}`,
          `${tome.url}/hc/xss/search?q=${encodeURIComponent('"><script>alert(1)</script>')}`,
          `${tome.url}/hc/xss/search?q=${encodeURIComponent('<img src=x onerror=alert(1)>')}`,
          `${tome.url}/hc/xss/search?q=payload`);
        seen.push(...await load(mine, bypassCSP));
      }
      assert.deepEqual(seen, []);
    });
  }
});
