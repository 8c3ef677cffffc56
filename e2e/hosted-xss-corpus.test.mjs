// The public XSS corpus (../shared/corpora/xss/corpus.json) in every field that reaches a hosted
// page, in headless Chromium with the page's CSP bypassed, so the sanitiser and the templates'
// escaping alone are shown to hold: a deterministic sample of corpus payloads, each put in a KB
// title and description, a category's and a section's name and description, an article's title,
// excerpt, body and tags, an FAQ's question and answer, the KB's custom_css and a search query.
// Nothing may run: alert/confirm/prompt/print are hooked, any dialog is counted, a navigation
// away from Tome or to javascript: is counted, a request to another origin that could run or
// carry script (anything but an image, media, font or stylesheet load) is counted and aborted,
// and every page's DOM is read for script-capable elements, on* attributes and URLs whose scheme
// is not http(s), mailto or tel.
//
// Also: custom_css written with CR LF line endings applies under the page's real CSP (the
// server hashes the same text the browser hashes).
//
// Env: XSS_SAMPLE (default 200) payloads, XSS_SEED (default 21).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { adminClient, launchBrowser, ROOT, startTome } from './hosted-support.mjs';
import { CSS_PAYLOADS, MARKDOWN_PAYLOADS } from './xss-payloads.mjs';

const CORPUS = path.resolve(ROOT, process.env.XSS_CORPUS || '../shared/corpora/xss/corpus.json');
const SAMPLE = Number(process.env.XSS_SAMPLE || 200);
const SEED = Number(process.env.XSS_SEED || 21);
const THEMES = ['minimal', 'developer', 'brand', 'docs', 'bare'];
const PER_KB = 10;
const TABS = Number(process.env.XSS_TABS || 3);

/** Run in the page: what there is on it that could run script. */
function inspect() {
  const bad = [];
  if (window.__xss) bad.push(`${window.__xss} hooked call(s)`);
  const urlAttributes = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster',
    'background', 'cite', 'srcset', 'ping', 'longdesc', 'manifest', 'codebase'];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on')) bad.push(`<${el.localName} ${a.name}>`);
      if (urlAttributes.includes(name)) {
        let protocol = '';
        try { protocol = new URL(a.value, document.baseURI).protocol; } catch { continue; }
        if (!['http:', 'https:', 'mailto:', 'tel:'].includes(protocol)) {
          bad.push(`<${el.localName} ${a.name}="${a.value.slice(0, 80)}">`);
        }
      }
    }
  }
  // The templates' own: the search form, and the Ask box's form and first-party script.
  const dangerous = 'script:not([src^="/hc/_assets/ask."]), iframe, frame, frameset, object, '
    + 'embed, applet, base, svg, math, '
    + 'meta[http-equiv], link:not([rel=stylesheet]):not([rel=icon]):not([rel=canonical])'
    + ':not([rel=alternate]), template, portal, form:not(.search):not(.ask-form)';
  for (const el of document.querySelectorAll(dangerous)) bad.push(`<${el.localName}> element`);
  const style = document.querySelectorAll('style');
  if (style.length > 1) bad.push(`${style.length} style elements`);
  if (document.baseURI !== location.href) bad.push(`base URI ${document.baseURI}`);
  return bad;
}

/** A small seeded PRNG (mulberry32): the sample is the same on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `SAMPLE` distinct corpus payloads, chosen by the seed, plus the Markdown-shaped ones. */
function sample() {
  const corpus = JSON.parse(fs.readFileSync(CORPUS, 'utf8')).map((item) => item.payload);
  const random = prng(SEED);
  const chosen = new Set();
  while (chosen.size < Math.min(SAMPLE, corpus.length)) chosen.add(Math.floor(random() * corpus.length));
  const payloads = [...chosen].sort((a, b) => a - b).map((i) => corpus[i]);
  // Markdown-shaped vectors (javascript: links and images, autolinks, references, code).
  payloads.push(...MARKDOWN_PAYLOADS.filter((_, i) => i % 3 === 0));
  // Stored text may not hold U+0000 and must not be blank.
  return payloads.map((p) => p.replaceAll('\0', '')).filter((p) => p.trim() !== '');
}

/** At most `n` characters (code points, as the API counts them). */
const cut = (s, n) => Array.from(s).slice(0, n).join('');
/** Non-blank after cutting: a payload made of spaces past the cut gets a visible prefix. */
const field = (s, n) => (cut(s, n).trim() ? cut(s, n) : cut(`x ${s}`, n));

/** Tome's own CSS vectors, plus custom_css written with CR LF line endings. */
const CSS_EXTRA = [
  'body { background: url(javascript:alert(1)) }',
  'a { width: expression(alert(document.cookie)) }',
  "@import 'javascript:alert(1)';",
  '</style\r\n><script>alert(1)</script>',
];

describe('hosted pages with the XSS corpus in every field, CSP bypassed', () => {
  let tome;
  let browser;
  let call;
  const pages = [];
  const payloads = sample();

  before(async () => {
    tome = await startTome();
    call = adminClient(tome.url, tome.key);
    browser = await launchBrowser();
    for (let start = 0, k = 0; start < payloads.length; start += PER_KB, k++) {
      const chunk = payloads.slice(start, start + PER_KB);
      const slug = `xss-${k}`;
      const css = chunk.join('\n') + (k === 0 ? `\n${CSS_PAYLOADS.concat(CSS_EXTRA).join('\n')}` : '');
      const kb = await call('POST', '/v1/kb', {
        title: field(chunk[0], 500), slug, is_public: true, theme: THEMES[k % THEMES.length],
        description: cut(chunk.join('\n\n'), 10_000),
        theme_settings: { primary_color: '#4f46e5', custom_css: cut(css, 50_000) },
      });
      const articles = [];
      for (const p of chunk) {
        const category = await call('POST', `/v1/kb/${kb.id}/categories`, {
          name: field(p, 200), description: cut(p, 10_000),
        });
        const section = await call('POST', `/v1/kb/${kb.id}/sections`, {
          category_id: category.id, name: field(p, 200), description: cut(p, 10_000),
        });
        await call('POST', `/v1/kb/${kb.id}/faqs`, {
          category_id: category.id, section_id: section.id, question: field(p, 500),
          answer: cut(p, 10_000), status: 'published',
        });
        articles.push({
          category_id: category.id, section_id: section.id, title: field(p, 500),
          excerpt: cut(p, 500), status: 'published', tags: [field(p, 100), 'xss'],
          // The payload alone, inline, in a list and in a table: raw HTML reads differently in
          // each Markdown context.
          body: `${p}\n\nText ${p} after.\n\n- ${p.replaceAll('\n', ' ')}\n\n| a |\n|---|\n| ${p.replaceAll('\n', ' ').replaceAll('|', '\\|')} |\n`,
        });
      }
      const created = await call('POST', `/v1/kb/${kb.id}/articles/bulk`, { articles });
      const base = `${tome.url}/hc/${slug}`;
      const tab = k % TABS;
      pages.push({ url: base, tab }, { url: `${base}/faq`, tab });
      created.forEach((a, i) => {
        const p = chunk[i];
        // The KB title reaches every page: it is set to this payload before its article loads.
        pages.push(
          { url: `${base}/articles/${a.id}`, kb: kb.id, title: field(p, 500), tab },
          // Category, section and FAQ names and descriptions, article titles and excerpts.
          { url: `${base}/categories/${a.category_id}`, tab },
        );
        // Search results show highlighted snippets of the bodies.
        if (i % 5 === 0) pages.push({ url: `${base}/search?q=${encodeURIComponent(cut(p, 200))}`, tab });
        if (i % 5 === 1) pages.push({ url: `${base}/sections/${a.section_id}`, tab });
      });
    }
  });

  after(async () => {
    await browser?.close();
    await tome?.stop();
  });

  test(`${payloads.length} payloads in every field: none runs`, async () => {
    assert.ok(payloads.length >= Math.min(SAMPLE, 200), `${payloads.length} payloads`);
    const origin = new URL(tome.url).origin;
    const context = await browser.newContext({ bypassCSP: true });
    await context.addInitScript(() => {
      window.__xss = 0;
      for (const f of ['alert', 'confirm', 'prompt', 'print']) {
        window[f] = () => { window.__xss += 1; };
      }
    });
    const seen = [];
    // The URL each browser tab is on, to say where a request or dialog came from.
    const current = new Map();
    const where = (request) => {
      try { return current.get(request.frame().page()) ?? '?'; } catch { return '?'; }
    };
    await context.route('**/*', async (route) => {
      const request = route.request();
      if (new URL(request.url()).origin === origin) return route.continue();
      // Images, media and fonts from HTTPS are allowed content, and stylesheets can come only
      // from the operator's custom_css (the sanitiser drops <link> and <style>); none of them
      // can run script. Anything else is counted. Nothing leaves the machine.
      if (!['image', 'media', 'font', 'stylesheet'].includes(request.resourceType())) {
        seen.push(`${where(request)}: ${request.resourceType()} request to ${request.url()}`);
      }
      return route.abort();
    });

    async function newTab() {
      const page = await context.newPage();
      current.set(page, '');
      page.on('dialog', async (d) => {
        seen.push(`${current.get(page)}: dialog ${d.message()}`);
        await d.dismiss();
      });
      page.on('framenavigated', (frame) => {
        const url = frame.url();
        if (frame !== page.mainFrame()) seen.push(`${current.get(page)}: a frame loaded ${url}`);
        else if (url !== 'about:blank' && !url.startsWith(origin)) seen.push(`${current.get(page)}: navigated to ${url}`);
      });
      // The detector itself works: a handler that runs is counted.
      await page.setContent('<img src=x onerror="alert(1)">');
      await page.waitForFunction(() => window.__xss === 1);
      return page;
    }

    /** Loads `mine` one after the other in one tab. */
    async function run(mine) {
      const page = await newTab();
      for (const p of mine) {
        current.set(page, p.url);
        if (p.kb) await call('PUT', `/v1/kb/${p.kb}`, { title: p.title });
        const resp = await page.goto(p.url, { waitUntil: 'load' });
        assert.equal(resp.status(), 200, p.url);
        // Timers, onload/onerror and autofocus handlers get a moment.
        await page.waitForTimeout(10);
        const found = await page.evaluate(inspect);
        for (const f of found) seen.push(`${p.url}: ${f}`);
      }
      return mine.length;
    }

    // A few tabs at once, each with its own KBs (the KB title changes before each article).
    const tabs = Array.from({ length: TABS }, (_, t) => pages.filter((p) => p.tab === t));
    const loaded = (await Promise.all(tabs.map(run))).reduce((a, b) => a + b, 0);
    await context.close();
    assert.ok(loaded >= payloads.length * 2, `${loaded} pages loaded`);
    assert.deepEqual(seen, []);
  });

  test('custom_css with CR LF line endings applies under the page CSP', async () => {
    const css = '.kb-probe { color: red; }\r\nbody {\r\n  --crlf-probe: applied;\r\n}\r\n'
      + 'html {\r  --cr-probe: applied;\r}\r';
    await call('POST', '/v1/kb', {
      title: 'CRLF', slug: 'crlf', is_public: true, theme_settings: { custom_css: css },
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    const resp = await page.goto(`${tome.url}/hc/crlf`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-security-policy'], /style-src 'self' 'sha256-/);
    const probes = await page.evaluate(() => [
      getComputedStyle(document.body).getPropertyValue('--crlf-probe').trim(),
      getComputedStyle(document.documentElement).getPropertyValue('--cr-probe').trim(),
    ]);
    await context.close();
    assert.deepEqual(violations, []);
    assert.deepEqual(probes, ['applied', 'applied']);
  });
});
