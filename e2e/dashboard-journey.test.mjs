// A new user's journey through the dashboard, in Chromium against a real `tome serve` (SQLite,
// and PostgreSQL when TOME_TEST_DATABASE_URL is set): sign in with the key the server printed →
// create a KB → category → section → write an article with the preview → publish → see it on the
// hosted page and in the public API (site key + allowed origin) → reorder → archive → rotate the
// site key (the old one stops working) → create and revoke an API key → sign out (the back button
// shows nothing private). Every form is also sent once with a value the server refuses, and its
// message must appear next to the field (the element the control's aria-describedby names).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BACKENDS, fieldError, fill, flash, launchBrowser, publicApi, signIn, startDashboard, submit, watch,
} from './dashboard-support.mjs';

// One character over the server's limits (tome-core's validate.rs): KB and article titles and FAQ
// questions 500, category and section names 200. `fill` lifts the inputs' maxlength, which would
// stop a person earlier, so the server's own check is what shows.
const over = (max) => 'x'.repeat(max + 1);
const LENGTH_ERROR = /at most \d+ characters/;
const ORIGIN = 'https://app.acme.example';

/** The form holding control `name` on `page`. */
const formOf = (page, name) => page.locator('form', { has: page.locator(`[name="${name}"]`) }).first();

/** Submits the form holding control `name` with its (first, or `label`led) submit button. */
async function send(page, name, label) {
  const form = formOf(page, name);
  const button = label
    ? form.getByRole('button', { name: label }).first()
    : form.locator('button[type=submit], button:not([type])').first();
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/** Clicks the one-button action form posting to a URL ending in `suffix`. */
async function act(page, suffix) {
  const button = page.locator(`form[action$="${suffix}"] button`).first();
  assert.ok(await button.count(), `no action form for …${suffix} on ${page.url()}`);
  await Promise.all([page.waitForNavigation(), button.click()]);
}

for (const backend of BACKENDS) {
  describe(`dashboard journey (${backend})`, () => {
    let tome;
    let browser;
    before(async () => {
      tome = await startDashboard(backend);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await tome?.stop();
    });

    test('a new user signs in, builds a help centre, publishes, rotates, and signs out', { timeout: 180_000 }, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const seen = watch(page, { acceptConfirms: true });
      const api = publicApi(tome, ORIGIN);
      const base = tome.url;

      // Sign in with the key `tome serve` printed; the overview's empty state leads on.
      await signIn(page, tome);
      assert.match(await flash(page), /signed in/i);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole('link', { name: /create your first knowledge base/i }).click(),
      ]);
      assert.equal(new URL(page.url()).pathname, '/dashboard/kbs/new');

      // A knowledge base: refused once (title too long, kept in the field), then made.
      await fill(page, { title: over(500), slug: 'acme-help' });
      await send(page, 'slug');
      assert.match(await fieldError(page, 'title'), LENGTH_ERROR);
      assert.equal(await page.locator('[name=title]').inputValue(), over(500), 'the input is kept');
      assert.equal((await tome.call('GET', '/v1/kb')).length, 0, 'nothing made');
      await fill(page, { title: 'Acme Help', slug: 'acme-help', is_public: true });
      await send(page, 'slug');
      assert.match(await flash(page), /created/i);
      // The new KB's site key is shown this once.
      const oldKey = (await page.locator('#new-site-key').innerText()).trim();
      assert.match(oldKey, /^psk_/);
      const kb = (await tome.call('GET', '/v1/kb')).find((k) => k.slug === 'acme-help');
      assert.ok(kb, 'the KB exists');
      assert.equal(kb.title, 'Acme Help');
      assert.equal(kb.is_public, true);
      const kbPath = `/dashboard/kb/${kb.id}`;

      // Settings: a too-long title is refused next to its field.
      await page.goto(`${base}${kbPath}/settings`);
      await fill(page, { title: over(500) });
      await send(page, 'title');
      assert.match(await fieldError(page, 'title'), LENGTH_ERROR);
      assert.equal((await tome.call('GET', `/v1/kb/${kb.id}`)).title, 'Acme Help', 'nothing saved');

      // Two categories (the second is moved up later).
      const categories = [];
      for (const name of ['Getting started', 'Billing']) {
        await page.goto(`${base}${kbPath}/categories/new`);
        if (!categories.length) {
          await fill(page, { name: over(200) });
          await send(page, 'name');
          assert.match(await fieldError(page, 'name'), LENGTH_ERROR);
        }
        await fill(page, { name });
        await send(page, 'name');
        assert.match(await flash(page), /created|saved/i);
        const list = await tome.call('GET', `/v1/kb/${kb.id}/categories`);
        const made = list.find((c) => c.name === name);
        assert.ok(made, `category ${name}`);
        categories.push(made);
      }
      const [start, billing] = categories;

      // A section in the first category.
      await page.goto(`${base}${kbPath}/sections/new?category_id=${start.id}`);
      await fill(page, { name: over(200) });
      await send(page, 'name');
      assert.match(await fieldError(page, 'name'), LENGTH_ERROR);
      await fill(page, { name: 'Basics' });
      await send(page, 'name');
      const sections = await tome.call('GET', `/v1/kb/${kb.id}/sections?category_id=${start.id}`);
      const section = sections.find((s) => s.name === 'Basics');
      assert.ok(section, 'the section exists');
      assert.equal(section.category_id, start.id);

      // An article, written with the preview: Markdown rendered by Tome's renderer.
      await page.goto(`${base}${kbPath}/articles/new?category_id=${start.id}&section_id=${section.id}`);
      const body = '## Install the app\n\nRun the **installer** and follow the steps.\n\n- first\n- second\n';
      await fill(page, { title: over(500), body });
      await send(page, 'title', /save draft/i);
      assert.match(await fieldError(page, 'title'), LENGTH_ERROR);
      assert.equal(await page.locator('[name=body]').inputValue(), body, 'the body is kept');
      await fill(page, { title: 'Install Acme', excerpt: 'How to install Acme.', body });
      const preview = page.getByRole('button', { name: /preview/i }).first();
      await preview.click();
      // With JavaScript the preview arrives by fetch; without, the editor comes back with it.
      const strong = page.locator('strong', { hasText: 'installer' }).first();
      await strong.waitFor({ state: 'visible', timeout: 10_000 });
      const heading = page.locator('h2', { hasText: 'Install the app' }).first();
      assert.ok(await heading.isVisible(), 'the preview shows the heading rendered');
      assert.equal(await page.locator('li', { hasText: 'second' }).count() > 0, true, 'and the list');
      assert.equal(await page.locator('[name=title]').inputValue(), 'Install Acme', 'the title survives the preview');
      await send(page, 'title', /save draft/i);
      assert.match(await flash(page), /created as a draft/i);
      let articles = await tome.call('GET', `/v1/kb/${kb.id}/articles?category_id=${start.id}`);
      const article = articles.find((a) => a.title === 'Install Acme');
      assert.ok(article, 'the article exists');
      assert.equal(article.status, 'draft');
      assert.equal(article.section_id, section.id);
      const stored = await tome.call('GET', `/v1/kb/${kb.id}/articles/${article.id}`);
      assert.equal(stored.body, body, 'the body as typed, with LF line breaks');
      assert.equal(stored.excerpt, 'How to install Acme.');
      const editor = `${kbPath}/articles/${article.id}`;
      assert.equal(new URL(page.url()).pathname, editor, 'saving lands in the editor');

      // Publish, then the hosted page and the public API show it.
      await send(page, 'title', /^publish$/i);
      assert.match(await flash(page), /published/i);
      assert.equal((await tome.call('GET', `/v1/kb/${kb.id}/articles/${article.id}`)).status, 'published');
      const hosted = await context.newPage();
      await hosted.goto(`${base}/hc/acme-help/articles/${article.id}`);
      assert.match(await hosted.locator('h1').first().innerText(), /Install Acme/);
      assert.ok(await hosted.locator('strong', { hasText: 'installer' }).first().isVisible());
      await hosted.close();

      // The site key (read from its page) and the allowed origin (set on the project page).
      await page.goto(`${base}/dashboard/project`);
      await fill(page, { allowed_domains: 'https://bad.example/path' });
      await send(page, 'allowed_domains');
      assert.match(await fieldError(page, 'allowed_domains'), /bare host name/);
      await fill(page, { allowed_domains: new URL(ORIGIN).host });
      await send(page, 'allowed_domains');
      assert.deepEqual((await tome.call('GET', '/v1/project')).allowed_domains, [new URL(ORIGIN).host]);
      await page.goto(`${base}${kbPath}/site-key`);
      assert.ok(!(await page.content()).includes(oldKey), 'the site key is not shown again');
      assert.ok((await page.locator('main').innerText()).includes(`${oldKey.slice(0, 8)}`), 'its prefix is');
      let r = await api(`/acme-help/articles/${article.id}`, oldKey);
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal((await r.json()).data.title, 'Install Acme');

      // Site-key rate limit: a refused value is shown next to its field.
      await fill(page, { rate_limit: '-5' });
      await send(page, 'rate_limit');
      assert.ok((await fieldError(page, 'rate_limit')).length > 0);

      // Reorder: Billing moves above Getting started on the content tree.
      await page.goto(`${base}${kbPath}`);
      const tree = await page.locator('main').innerText();
      assert.ok(tree.indexOf('Getting started') < tree.indexOf('Billing'), 'created order first');
      await act(page, `/categories/${billing.id}/move`);
      const order = (await tome.call('GET', `/v1/kb/${kb.id}/categories`))
        .sort((a, b) => a.sort_order - b.sort_order).map((c) => c.name);
      assert.deepEqual(order, ['Billing', 'Getting started']);
      const reordered = await page.locator('main').innerText();
      assert.ok(reordered.indexOf('Billing') < reordered.indexOf('Getting started'), 'the tree shows the new order');

      // Archive: gone from the public API.
      await page.goto(`${base}${editor}`);
      await send(page, 'title', /^archive$/i);
      assert.match(await flash(page), /archived/i);
      articles = await tome.call('GET', `/v1/kb/${kb.id}/articles?category_id=${start.id}`);
      assert.equal(articles.find((a) => a.id === article.id).status, 'archived');
      r = await api(`/acme-help/articles/${article.id}`, oldKey);
      assert.equal(r.status, 404);

      // Rotate the site key: the old one stops working, the new one works.
      await page.goto(`${base}${kbPath}/site-key`);
      await act(page, '/site-key/rotate');
      assert.match(await flash(page), /old site key was revoked/i);
      const newKey = (await page.locator('#new-site-key').innerText()).trim();
      assert.ok(newKey.startsWith('psk_') && newKey !== oldKey, 'a new key is shown');
      assert.ok([401, 403].includes((await api('/acme-help/structure', oldKey)).status), 'the old key is refused');
      assert.equal((await api('/acme-help/structure', newKey)).status, 200, 'the new key works');

      // An API key: made (shown once), works, revoked, stops working.
      await page.goto(`${base}/dashboard/keys`);
      await fill(page, { kind: 'admin' });
      await send(page, 'kind');
      const shown = (await page.locator('#new-api-key').innerText()).trim();
      assert.match(shown, /^tome_[0-9A-Za-z]{38}$/, 'the new key is shown once');
      assert.notEqual(shown, tome.key);
      const withKey = (key) => fetch(`${base}/v1/project`, { headers: { Authorization: `Bearer ${key}` } });
      assert.equal((await withKey(shown)).status, 200);
      await page.goto(`${base}/dashboard/keys`);
      assert.ok(!(await page.content()).includes(shown), 'never shown again');
      // Its row: the one whose prefix the new key starts with.
      const prefixes = await page.locator('tbody tr td:first-child code').allInnerTexts();
      const prefix = prefixes.map((p) => p.replace(/…$/, '')).find((p) => shown.startsWith(p));
      assert.ok(prefix, `a row for the new key among ${prefixes}`);
      const row = page.locator('tr', { has: page.locator('code', { hasText: prefix }) }).first();
      const revoke = row.locator('form[action$="/revoke"] button').first();
      assert.ok(await revoke.count(), 'the new key has a Revoke button');
      await Promise.all([page.waitForNavigation(), revoke.click()]);
      assert.match(await flash(page), /revoked/i);
      assert.equal((await withKey(shown)).status, 401);

      // Sign out; the back button shows nothing private.
      await page.goto(`${base}${kbPath}`);
      await submit(page, 'Sign out');
      assert.equal(new URL(page.url()).pathname, '/dashboard/sign-in');
      await page.goBack();
      await page.waitForLoadState();
      const after = await page.locator('body').innerText();
      for (const secret of ['Acme Help', 'Getting started', 'Install Acme', kb.id]) {
        assert.ok(!after.includes(secret), `"${secret}" is shown after sign-out and Back (${page.url()})`);
      }
      assert.equal(new URL(page.url()).pathname, '/dashboard/sign-in', 'Back asks to sign in again');
      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.errors, []);
      await context.close();
    });

    test('without JavaScript: the editor preview, the source form and the typed KB deletion', { timeout: 60_000 }, async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      const seen = watch(page);
      await signIn(page, tome);
      const kb = await tome.call('POST', '/v1/kb', { title: 'No script', slug: 'no-script' });
      const category = await tome.call('POST', `/v1/kb/${kb.id}/categories`, { name: 'General' });
      const kbPath = `/dashboard/kb/${kb.id}`;

      // The Preview button posts the form and the editor comes back with the rendered body.
      await page.goto(`${tome.url}${kbPath}/articles/new?category_id=${category.id}`);
      await fill(page, { title: 'Plain HTML', body: '# Title\n\nA *plain* [link](https://example.com).' });
      await send(page, 'title', /^preview$/i);
      const preview = page.locator('#preview-body');
      assert.equal(await preview.locator('em', { hasText: 'plain' }).count(), 1, 'rendered emphasis');
      assert.equal(await preview.locator('a[href="https://example.com"]').count(), 1, 'rendered link');
      assert.equal(await page.locator('[name=title]').inputValue(), 'Plain HTML', 'the form is kept');
      assert.equal((await tome.call('GET', `/v1/kb/${kb.id}/articles`)).length, 0, 'a preview saves nothing');

      // The source form: a refused URL is shown next to its field.
      await page.goto(`${tome.url}${kbPath}/source`);
      await fill(page, { url: 'ftp://example.com/docs.git' });
      await send(page, 'url');
      assert.ok((await fieldError(page, 'url')).length > 0, 'the URL is refused next to its field');

      // Deleting the KB needs its slug typed; the server checks it (no script to disable the button).
      await page.goto(`${tome.url}${kbPath}/delete`);
      await fill(page, { confirm_slug: 'not-the-slug' });
      await send(page, 'confirm_slug');
      assert.match(await fieldError(page, 'confirm_slug'), /.+/);
      assert.equal((await tome.call('GET', `/v1/kb/${kb.id}`)).slug, 'no-script', 'still there');
      await fill(page, { confirm_slug: 'no-script' });
      await send(page, 'confirm_slug');
      assert.match(await flash(page), /deleted/i);
      const gone = await fetch(`${tome.url}/v1/kb/${kb.id}`, { headers: { Authorization: `Bearer ${tome.key}` } });
      assert.equal(gone.status, 404);
      assert.deepEqual(seen.dialogs, []);
      await context.close();
    });

    test('FAQ and search forms show the server\'s refusals next to their fields', { timeout: 60_000 }, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const seen = watch(page);
      await signIn(page, tome);
      const kb = await tome.call('POST', '/v1/kb', { title: 'FAQ KB', slug: 'faq-kb' });
      const category = await tome.call('POST', `/v1/kb/${kb.id}/categories`, { name: 'General' });
      await page.goto(`${tome.url}/dashboard/kb/${kb.id}/faqs/new?category_id=${category.id}`);
      await fill(page, { question: over(500), answer: 'Yes.' });
      await send(page, 'question');
      assert.match(await fieldError(page, 'question'), LENGTH_ERROR);
      await fill(page, { question: 'Can I export?', answer: 'Yes, as **Markdown**.' });
      await send(page, 'question');
      const faqs = await tome.call('GET', `/v1/kb/${kb.id}/faqs?category_id=${category.id}`);
      assert.ok(faqs.some((f) => f.question === 'Can I export?'), 'the FAQ exists');
      // The search tester finds the FAQ's category content by a query it accepts.
      await page.goto(`${tome.url}/dashboard/kb/${kb.id}/search?${new URLSearchParams({ q: over(1000) })}`);
      assert.match(await fieldError(page, 'q'), /at most \d+ characters/);
      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.errors, []);
      await context.close();
    });
  });
}
