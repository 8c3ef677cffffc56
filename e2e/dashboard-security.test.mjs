// The dashboard's defences, in Chromium against a real `tome serve` (SQLite, and PostgreSQL when
// TOME_TEST_DATABASE_URL is set):
//   - forms posted from another origin — an attacker's page on another port of 127.0.0.1 (same
//     site, so the SameSite=Lax cookie rides along) and on `localhost` (cross-site) — with a
//     stolen token and without one → 403 and nothing changed; the same form posted from the
//     dashboard's own page works (the positive control);
//   - the session cookie's flags (HttpOnly, SameSite=Lax; `__Host-` and Secure behind
//     `--public-url https://…`);
//   - revoking the key (`tome key revoke`) ends its session: the next page is the sign-in page;
//   - the XSS corpus of the hosted-page tests (xss-payloads.mjs) in every user field renders
//     inert in every dashboard page: no dialog, no hooked alert/confirm/prompt call, no request
//     to a beacon host, no handler attribute or foreign script in the DOM — with the page's CSP
//     and with CSP bypassed (so escaping alone is tested);
//   - sign-in attempts are throttled per client address (429).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { CSS_PAYLOADS, MARKDOWN_PAYLOADS } from './xss-payloads.mjs';
import {
  BACKENDS, csrfOf, fill, launchBrowser, signIn, startDashboard, submit, watch,
} from './dashboard-support.mjs';
import { freePort } from './hosted-support.mjs';

const BEACON = 'beacon.example';

/** An attacker's site: every path serves a page whose form auto-submits to `action`. */
async function startAttacker() {
  const port = await freePort();
  let page = '';
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    /** The next page served: a form posting `fields` to `action`, submitted on load. */
    arm(action, fields) {
      const inputs = Object.entries(fields)
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${String(v).replace(/"/g, '&quot;')}">`)
        .join('');
      page = `<!doctype html><title>Win a prize</title><form id="f" method="post" action="${action}">${inputs}</form>`
        + '<script>document.getElementById("f").submit()</script>';
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

for (const backend of BACKENDS) {
  describe(`dashboard security (${backend})`, () => {
    let tome;
    let browser;
    let attacker;

    before(async () => {
      tome = await startDashboard(backend);
      browser = await launchBrowser();
      attacker = await startAttacker();
    });

    after(async () => {
      await browser?.close();
      await attacker?.close();
      await tome?.stop();
    });

    test('forms posted from another origin are refused with 403 and change nothing', { timeout: 90_000 }, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, tome);
      const token = await csrfOf(page);
      const kbsBefore = await tome.call('GET', '/v1/kb');
      const kb = await tome.call('POST', '/v1/kb', { title: 'Victim KB', slug: 'victim' });
      const siteKey = async () => (await tome.call('GET', `/v1/kb/${kb.id}/site-key`)).id;
      const keyBefore = await siteKey();

      const attempts = [
        ['create a knowledge base', '/dashboard/kbs/new', { title: 'Pwned', slug: 'pwned' }],
        ['delete a knowledge base', `/dashboard/kb/${kb.id}/delete`, { confirm_slug: 'victim' }],
        ['rotate the site key', `/dashboard/kb/${kb.id}/site-key/rotate`, {}],
        ['sign out', '/dashboard/sign-out', {}],
      ];
      for (const host of ['127.0.0.1', 'localhost']) {
        for (const [what, action, fields] of attempts) {
          for (const stolen of [true, false]) {
            attacker.arm(`${tome.url}${action}`, stolen ? { ...fields, _csrf: token } : fields);
            const evil = await context.newPage();
            const response = evil.waitForResponse((r) => r.url() === `${tome.url}${action}`);
            await evil.goto(`http://${host}:${attacker.port}/`);
            const r = await response;
            assert.equal(r.status(), 403,
              `${what} from http://${host}:${attacker.port} ${stolen ? 'with a stolen token' : 'without a token'}`);
            await evil.close();
          }
        }
      }
      // Nothing changed: the KB list, the site key, and the session (the overview still opens).
      const kbsAfter = await tome.call('GET', '/v1/kb');
      assert.equal(kbsAfter.length, kbsBefore.length + 1, 'no KB made or deleted');
      assert.equal(await siteKey(), keyBefore, 'site key unchanged');
      await page.goto(`${tome.url}/dashboard`);
      assert.equal(new URL(page.url()).pathname, '/dashboard', 'still signed in');

      // The positive control: the same kind of form, posted by the dashboard's own page with its
      // token, works — so the 403s above are the origin and token checks, not a broken form.
      await page.goto(`${tome.url}/dashboard/kb/${kb.id}/site-key`);
      const rotated = page.waitForResponse((r) => r.url().endsWith('/site-key/rotate'));
      page.on('dialog', (d) => d.accept().catch(() => {}));
      await page.evaluate(({ action, token: t }) => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = action;
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = '_csrf';
        i.value = t;
        f.append(i);
        document.body.append(f);
        f.submit();
      }, { action: `/dashboard/kb/${kb.id}/site-key/rotate`, token });
      assert.equal((await rotated).status(), 200, 'the page with the new key');
      await page.waitForLoadState();
      assert.notEqual(await siteKey(), keyBefore, 'rotated by the real page');
      await context.close();
    });

    test('the session cookie is HttpOnly and SameSite=Lax, and its ID changes at each sign-in', { timeout: 30_000 }, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      // A cookie planted before sign-in is never adopted (no session fixation).
      const planted = 'A'.repeat(43);
      await context.addCookies([{ name: 'tome_session', value: planted, url: tome.url }]);
      await signIn(page, tome);
      const cookies = (await context.cookies(tome.url)).filter((c) => c.name === 'tome_session');
      assert.equal(cookies.length, 1, JSON.stringify(cookies));
      const [cookie] = cookies;
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.secure, false, 'plain http');
      assert.equal(cookie.path, '/');
      assert.equal(cookie.expires, -1, 'a browser-session cookie: the server decides when it ends');
      assert.notEqual(cookie.value, planted);
      assert.equal(await page.evaluate(() => document.cookie.includes('tome_session')), false,
        'page script cannot read the session cookie');
      await signIn(page, tome);
      const again = (await context.cookies(tome.url)).find((c) => c.name === 'tome_session');
      assert.notEqual(again.value, cookie.value, 'a new ID at every sign-in');
      await context.close();
    });

    test('behind --public-url https://… the cookie is __Host- prefixed and Secure', { timeout: 30_000 }, async () => {
      const secure = await startDashboard(backend, ['--public-url', 'https://tome.example.com']);
      try {
        // What the server sends, raw: the form post of a client that is not a browser.
        const r = await fetch(`${secure.url}/dashboard/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ key: secure.key }).toString(),
        });
        assert.equal(r.status, 303);
        const cookies = r.headers.getSetCookie().filter((c) => c.includes('tome_session='));
        assert.equal(cookies.length, 1, cookies.join('\n'));
        const [raw] = cookies;
        assert.match(raw, /^__Host-tome_session=[A-Za-z0-9_-]{43};/);
        for (const flag of ['; Secure', '; HttpOnly', '; SameSite=Lax', '; Path=/']) {
          assert.ok(raw.includes(flag), `${flag} missing: ${raw}`);
        }
        assert.ok(!/domain=/i.test(raw), `a __Host- cookie names no Domain: ${raw}`);
        // And as Chromium stores it (loopback counts as a secure context for cookies).
        const context = await browser.newContext();
        const page = await context.newPage();
        await signIn(page, secure);
        const stored = (await context.cookies(secure.url)).find((c) => c.name === '__Host-tome_session');
        assert.ok(stored, 'Chromium kept the __Host- cookie');
        assert.equal(stored.secure, true);
        assert.equal(stored.httpOnly, true);
        assert.equal(stored.sameSite, 'Lax');
        await context.close();
      } finally {
        await secure.stop();
      }
    });

    test('revoking the key ends its session: the next page is the sign-in page', { timeout: 30_000 }, async () => {
      const project = await tome.call('GET', '/v1/project');
      const created = await tome.cli(['key', 'create', '--project', project.id, '--kind', 'admin', '--json']);
      const { id, key } = JSON.parse(created);
      assert.match(key, /^tome_/);
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, tome, key);
      await page.goto(`${tome.url}/dashboard`);
      assert.equal(new URL(page.url()).pathname, '/dashboard');
      await tome.cli(['key', 'revoke', id]);
      await page.reload();
      assert.equal(new URL(page.url()).pathname, '/dashboard/sign-in', 'sent to sign in');
      assert.match(await page.locator('main').innerText(), /session has ended/i);
      // Signing in again with the revoked key is refused.
      await page.fill('#key', key);
      await submit(page, 'Sign in');
      assert.match(await page.locator('main').innerText(), /revoked/i);
      await context.close();
    });

    test('XSS payloads in every user field render inert on every dashboard page', { timeout: 300_000 }, async () => {
      const seeded = await seedPayloads(tome);
      for (const bypassCSP of [false, true]) {
        const context = await browser.newContext({ bypassCSP });
        const beacons = [];
        // Nothing may leave for another host: record it and never let it through.
        await context.route((url) => new URL(url).host !== new URL(tome.url).host, (route) => {
          beacons.push(route.request().url());
          return route.abort();
        });
        await context.addInitScript(() => {
          window.__xss = [];
          for (const name of ['alert', 'confirm', 'prompt', 'print']) {
            window[name] = (...args) => { window.__xss.push(`${name}(${args.join(',')})`); };
          }
        });
        const page = await context.newPage();
        const seen = watch(page);
        await signIn(page, tome);
        // The positive control: the hook catches a call.
        await page.evaluate(() => window.alert('control'));
        assert.deepEqual(await page.evaluate(() => window.__xss), ['alert(control)']);
        const failures = [];
        for (const route of seeded.pages) {
          const response = await page.goto(`${tome.url}${route}`);
          await page.waitForLoadState('load');
          if (response.status() !== 200) failures.push(`${route}: HTTP ${response.status()}`);
          const status = await page.evaluate(() => document.title);
          const found = await page.evaluate(() => {
            const bad = [...window.__xss];
            for (const el of document.querySelectorAll('*')) {
              for (const a of el.attributes) {
                if (/^on/i.test(a.name)) bad.push(`<${el.tagName} ${a.name}>`);
                if (/^(href|src|action|formaction|data|srcdoc)$/i.test(a.name)
                    && /^\s*(javascript|vbscript|data:text)/i.test(a.value)) bad.push(`<${el.tagName} ${a.name}=${a.value}>`);
              }
            }
            for (const s of document.querySelectorAll('script')) {
              if (!/^\/dashboard\/assets\/[\w.-]+\.js$/.test(s.getAttribute('src') || '')) bad.push(`<script ${s.outerHTML.slice(0, 80)}>`);
            }
            for (const tag of ['iframe', 'object', 'embed', 'base', 'frameset']) {
              for (const el of document.querySelectorAll(tag)) {
                // The theme preview's own frame is allowed; nothing else may be framed.
                if (!(tag === 'iframe' && (el.getAttribute('src') || '').startsWith('/dashboard/kb/'))) bad.push(`<${tag}>`);
              }
            }
            return bad;
          });
          if (found.length) failures.push(`${route} (${status}): ${found.join(' ')}`);
        }
        // The editor's server-rendered preview of the body holding every Markdown payload.
        await page.goto(`${tome.url}${seeded.editor}`);
        const preview = page.getByRole('button', { name: /preview/i }).first();
        if (await preview.count()) {
          await preview.click();
          await page.waitForLoadState('load');
          await page.waitForTimeout(500);
          const calls = await page.evaluate(() => window.__xss);
          if (calls.length) failures.push(`editor preview: ${calls.join(' ')}`);
        } else {
          failures.push(`${seeded.editor}: no Preview button`);
        }
        // The payloads are there, shown as text: the KB's title is the first one.
        await page.goto(`${tome.url}/dashboard/kbs`);
        assert.ok((await page.locator('main').innerText()).includes(MARKDOWN_PAYLOADS[0]),
          `the KB title ${MARKDOWN_PAYLOADS[0]} is shown as text`);
        assert.deepEqual(failures, [], `bypassCSP=${bypassCSP}`);
        assert.deepEqual(seen.dialogs, [], `dialogs (bypassCSP=${bypassCSP})`);
        assert.deepEqual(beacons, [], `requests to other hosts (bypassCSP=${bypassCSP})`);
        assert.deepEqual(seen.errors, [], `page errors (bypassCSP=${bypassCSP})`);
        await context.close();
      }
    });

    test('sign-in attempts are throttled per client address', { timeout: 60_000 }, async () => {
      // A server of its own: the other tests' sign-ins count against the same address. The
      // limiter counts per minute: a run that straddles the minute's end starts over on a new one.
      let statuses = [];
      let last;
      for (let run = 0; run < 2; run++) {
        const fresh = await startDashboard(backend);
        const attempt = (key) => fetch(`${fresh.url}/dashboard/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: fresh.url },
          body: new URLSearchParams({ key }).toString(),
        });
        try {
          statuses = [];
          for (let i = 0; i < 12; i++) statuses.push((await attempt(`tome_${'x'.repeat(38)}`)).status);
          last = await attempt(fresh.key);
        } finally {
          await fresh.stop();
        }
        const rolled = statuses.some((s, i) => s === 401 && statuses.slice(0, i).includes(429));
        if (!rolled && last.status !== 303) break;
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429], 'ten tries a minute, then 429');
      assert.equal(last.status, 429, 'even the right key waits now');
      assert.ok(Number(last.headers.get('retry-after')) > 0, 'Retry-After says when');
    });
  });
}

/**
 * Puts the payloads in every user field that accepts them (a 422 means the field refuses such
 * text, which is also safe) through the management API, and lists the dashboard pages that show
 * them: { pages, editor }.
 */
async function seedPayloads(tome) {
  const accepted = async (method, route, body) => {
    const r = await fetch(`${tome.url}${route}`, {
      method,
      headers: { Authorization: `Bearer ${tome.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (r.status === 422) return null;
    const text = await r.text();
    assert.ok(r.ok, `${method} ${route} → ${r.status}: ${text}`);
    return JSON.parse(text).data;
  };
  const P = MARKDOWN_PAYLOADS;
  const short = (s, n) => s.slice(0, n);
  const pick = (i) => P[i % P.length];
  const kb = await accepted('POST', '/v1/kb', {
    title: short(pick(0), 200),
    slug: 'xss-kb',
    description: P.slice(0, 20).join(' '),
    theme_settings: { custom_css: CSS_PAYLOADS.join('\n') },
    is_public: true,
  });
  assert.ok(kb, 'a KB with payloads in title, description and custom CSS');
  const pages = [
    '/dashboard', '/dashboard/kbs', `/dashboard/kb/${kb.id}`, `/dashboard/kb/${kb.id}/settings`,
    `/dashboard/kb/${kb.id}/delete`, `/dashboard/kb/${kb.id}/site-key`, `/dashboard/kb/${kb.id}/faqs`,
    `/dashboard/kb/${kb.id}/source`, '/dashboard/keys', '/dashboard/project', '/dashboard/assistant',
  ];
  // The theme preview with a payload in every field it takes from the query.
  const q = new URLSearchParams({ theme: 'docs', custom_css: CSS_PAYLOADS.join('\n'), title: pick(1) });
  pages.push(`/dashboard/kb/${kb.id}/theme-preview?${q}`);
  for (const domain of [pick(2), 'a.example"><script>alert(1)</script>']) {
    await accepted('PUT', '/v1/project', { allowed_domains: [domain] });
  }
  let n = 0;
  let editor = '';
  for (let c = 0; c < 6; c++) {
    const category = await accepted('POST', `/v1/kb/${kb.id}/categories`, { name: short(pick(n++), 100), description: pick(n++) })
      ?? await accepted('POST', `/v1/kb/${kb.id}/categories`, { name: `Category ${c}`, description: pick(n++) });
    pages.push(`/dashboard/kb/${kb.id}/categories/${category.id}`, `/dashboard/kb/${kb.id}/faqs?category_id=${category.id}`);
    const section = await accepted('POST', `/v1/kb/${kb.id}/sections`, { category_id: category.id, name: short(pick(n++), 100), description: pick(n++) })
      ?? await accepted('POST', `/v1/kb/${kb.id}/sections`, { category_id: category.id, name: `Section ${c}`, description: pick(n++) });
    pages.push(`/dashboard/kb/${kb.id}/sections/${section.id}`);
    for (let a = 0; a < 4; a++) {
      const body = c === 0 && a === 0 ? P.join('\n\n') : `${pick(n++)}\n\n${pick(n++)}`;
      const fields = {
        category_id: category.id, section_id: section.id, title: short(pick(n++), 200),
        excerpt: short(pick(n++), 300), body, status: a % 2 ? 'published' : 'draft',
      };
      let article = await accepted('POST', `/v1/kb/${kb.id}/articles`, { ...fields, tags: [short(pick(n++), 50)] })
        ?? await accepted('POST', `/v1/kb/${kb.id}/articles`, fields);
      article ??= await accepted('POST', `/v1/kb/${kb.id}/articles`, { ...fields, title: `Article ${c}.${a}` });
      assert.ok(article, `article ${c}.${a}`);
      const url = `/dashboard/kb/${kb.id}/articles/${article.id}`;
      if (!editor) editor = url;
      pages.push(url);
    }
    for (let f = 0; f < 2; f++) {
      const faq = await accepted('POST', `/v1/kb/${kb.id}/faqs`, {
        category_id: category.id, question: short(pick(n++), 200), answer: pick(n++), status: 'published',
      });
      if (faq) pages.push(`/dashboard/kb/${kb.id}/faqs/${faq.id}`);
    }
  }
  // The search tester shows highlighted snippets of the matches.
  for (const query of ['alert', 'script', 'onerror', '<img src=x onerror=alert(1)>', 'javascript']) {
    pages.push(`/dashboard/kb/${kb.id}/search?${new URLSearchParams({ q: query })}`);
  }
  return { pages, editor };
}
