// Docs-as-code in a real browser: the Mintlify corpus (../shared/corpora/mintlify-docs) committed
// to a git repository, served by `git daemon` on 127.0.0.1, set as the source of a public KB
// (format `auto`) and updated through the trigger/status endpoints; then every article's hosted
// page is loaded in Chromium and checked for MDX residue:
//   - no `<Component` text (`<[A-Z][A-Za-z]+` at a line start or after a space or bracket) and no line starting with `import ` / `export `
//     in the rendered text outside <pre>/<code>; no `tome:page/` link left;
//   - callouts render: every navigation page with a top-level <Note>/<Info> shows a note alert;
//   - links between pages point at hosted articles, and each of them loads (200).
// Env as in hosted.test.mjs; MINTLIFY_DIR overrides ../shared/corpora/mintlify-docs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launchBrowser, startTome } from './hosted-support.mjs';
import { listArticles, repoFromFolder, request, startGitDaemon, updateAndWait } from './git-support.mjs';

const CORPUS = path.resolve(ROOT, process.env.MINTLIFY_DIR || '../shared/corpora/mintlify-docs');
const SLUG = 'mint-sync';

/** The page paths of docs.json's navigation (`pages` entries and group `root`s). */
function navigationPages(docsJson) {
  const pages = [];
  const walk = (x) => {
    if (Array.isArray(x)) { x.forEach(walk); return; }
    if (!x || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x)) {
      if (k === 'pages' && Array.isArray(v)) {
        for (const p of v) (typeof p === 'string' ? pages.push(p) : walk(p));
      } else if (k === 'root' && typeof v === 'string') {
        pages.push(v);
      } else {
        walk(v);
      }
    }
  };
  walk(docsJson.navigation);
  return [...new Set(pages)];
}

/** The page's source file, its front-matter title, and whether a <Note>/<Info> opens a line
 *  outside fenced code. */
function readPage(page) {
  const file = ['.mdx', '.md'].map((ext) => path.join(CORPUS, page + ext)).find((f) => fs.existsSync(f));
  const text = fs.readFileSync(file, 'utf8');
  const title = /^---\n[\s\S]*?^title:\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(.*?))\s*$/m.exec(text);
  let fenced = false;
  let note = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced && /^\s*<(Note|Info)>/.test(line)) note = true;
  }
  const quoted = title?.[1]?.replace(/\\(.)/g, '$1');
  return { page, title: title && (quoted ?? title[2] ?? title[3]), note };
}

describe('hosted pages of a Mintlify repository synced from git', () => {
  let tmp;
  let daemon;
  let tome;
  let browser;
  let kbId;
  let status;
  let articles;
  const pages = [];

  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-sync-e2e-'));
    await repoFromFolder(CORPUS, path.join(tmp, 'repos', 'docs'));
    daemon = await startGitDaemon(path.join(tmp, 'repos'));
    tome = await startTome(['--sync-allow-private']);
    const req = (method, route, body) => request(tome.url, tome.key, method, route, body);

    const project = await req('GET', '/v1/project');
    assert.equal(project.status, 200, JSON.stringify(project.body));
    const kb = await req('POST', '/v1/kb', { title: 'Mintlify docs', slug: SLUG, is_public: true });
    assert.equal(kb.status, 201, JSON.stringify(kb.body));
    kbId = kb.body.data.id;
    const source = await req('PUT', `/v1/kb/${kbId}/source`, {
      type: 'git', url: daemon.url('docs'), format: 'auto',
    });
    assert.equal(source.status, 201, JSON.stringify(source.body));
    status = await updateAndWait(tome.url, tome.key, project.body.data.id, kbId);
    articles = await listArticles(tome.url, tome.key, kbId);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tome?.stop();
    await daemon?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  test('the update succeeds and every navigation page is an article', () => {
    assert.equal(status.status, 'success', status.logs?.join('\n'));
    assert.equal(status.subdomain, SLUG);
    assert.match(status.commit.sha, /^[0-9a-f]{40}$/);
    assert.ok(status.commit.filesChanged.added.includes('docs.json'), 'first update adds every file');
    const nav = navigationPages(JSON.parse(fs.readFileSync(path.join(CORPUS, 'docs.json'), 'utf8')));
    // Every page is one article; a page over the body limit (the changelog) is several.
    assert.ok(articles.length >= nav.length, `${articles.length} articles for ${nav.length} pages`);
    assert.ok(articles.length <= nav.length + 10, `${articles.length} articles for ${nav.length} pages`);
    const titles = new Set(articles.map((a) => a.title));
    const missing = nav.map(readPage).filter((p) => p.title && !titles.has(p.title)).map((p) => p.page);
    assert.deepEqual(missing, [], 'pages whose title is no article title');
    assert.ok(articles.every((a) => a.status === 'published'), 'synced content is published');
  });

  test('no hosted page shows MDX residue, and links between pages load', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const links = new Map(); // hosted article link → the page that had it
    for (const a of articles) {
      const url = `${tome.url}/hc/${SLUG}/articles/${a.id}`;
      const res = await page.goto(url, { waitUntil: 'domcontentloaded' });
      assert.equal(res.status(), 200, `${url} (${a.title})`);
      const found = await page.evaluate((slug) => {
        const prefix = `/hc/${slug}/articles/`;
        const hrefs = [...document.querySelectorAll('main a[href]')].map((el) => el.getAttribute('href'));
        const pageLinks = hrefs.filter((h) => h.startsWith(prefix) || h.startsWith(location.origin + prefix));
        const leftover = hrefs.filter((h) => h.startsWith('tome:'));
        const alerts = document.querySelectorAll('main [class^="markdown-alert-"]').length;
        const notes = document.querySelectorAll('main .markdown-alert-note').length;
        // The rendered text without code: remove <pre> and <code>, then read what a person sees.
        for (const el of document.querySelectorAll('pre, code')) el.remove();
        const text = document.body.innerText;
        // A component tag opens a line or follows a space or bracket; `ReactElement<StepProps>`
        // (a type shown by a <ResponseField>) is text.
        const tags = [...new Set((text.match(/(?:^|[\s(\[{>])<[A-Z][A-Za-z]+/gm) || []).map((t) => t.trim()))];
        const esm = text.split('\n').filter((l) => /^\s*(import|export) /.test(l));
        return { pageLinks, leftover, alerts, notes, tags, esm };
      }, SLUG);
      a.notes = found.notes;
      if (found.tags.length) problems.push(`${a.title} (${a.id}): component text ${found.tags.join(' ')}`);
      if (found.esm.length) problems.push(`${a.title} (${a.id}): ${found.esm.slice(0, 3).join(' | ')}`);
      if (found.leftover.length) problems.push(`${a.title} (${a.id}): unresolved ${found.leftover.join(' ')}`);
      for (const h of found.pageLinks) if (!links.has(h)) links.set(h, a.title);
    }
    await context.close();
    assert.deepEqual(problems, []);

    // Links between pages were rewritten to hosted articles, and every one of them loads.
    assert.ok(links.size >= 50, `only ${links.size} links between pages`);
    const ids = new Set(articles.map((a) => a.id));
    const broken = [];
    for (const [href, from] of links) {
      const u = new URL(href, tome.url);
      const id = /\/articles\/(kba_[0-9A-Za-z]+)/.exec(u.pathname)?.[1];
      if (!id || !ids.has(id)) { broken.push(`${href} (on ${from}): not an article of the KB`); continue; }
      const r = await fetch(u, { redirect: 'follow' });
      if (r.status !== 200) broken.push(`${href} (on ${from}): ${r.status}`);
      await r.arrayBuffer();
    }
    assert.deepEqual(broken, []);

    // Callouts render: each navigation page with a top-level <Note>/<Info> shows a note alert.
    const nav = navigationPages(JSON.parse(fs.readFileSync(path.join(CORPUS, 'docs.json'), 'utf8')));
    const byTitle = new Map();
    for (const a of articles) byTitle.set(a.title, byTitle.has(a.title) ? null : a);
    const withNotes = nav.map(readPage).filter((p) => p.note && byTitle.get(p.title));
    assert.ok(withNotes.length >= 5, `only ${withNotes.length} pages with a <Note> to check`);
    const noAlert = withNotes.filter((p) => !(byTitle.get(p.title).notes > 0)).map((p) => p.page);
    assert.deepEqual(noAlert, [], 'pages with <Note> but no note alert');
  });

  test('a relative link in Quickstart leads to the hosted article it names', async () => {
    const quickstart = articles.find((a) => a.title === 'Quickstart');
    assert.ok(quickstart, 'a Quickstart article');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${tome.url}/hc/${SLUG}/articles/${quickstart.id}`);
    // quickstart.mdx links to /cli/install ("Install the CLI" page).
    const link = page.locator(`main .prose a[href*="/hc/${SLUG}/articles/"]`).first();
    await assert.doesNotReject(link.waitFor());
    const [res] = await Promise.all([page.waitForNavigation(), link.click()]);
    assert.equal(res.status(), 200);
    assert.match(page.url(), new RegExp(`/hc/${SLUG}/articles/kba_`));
    assert.notEqual(await page.locator('main h1').innerText(), 'Quickstart');
    await context.close();
  });
});
