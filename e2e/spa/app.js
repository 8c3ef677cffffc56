// A small help-centre SPA on Tome's public read API — the spec's "SPA example", fleshed out.
//
// Configuration comes from the page URL's query string:
//   index.html?api=http://127.0.0.1:8080&slug=help&key=psk_…
// Every request sends the site key in X-Minolith-Site-Key; the browser adds the Origin header,
// which the API checks against the project's allowed_domains.
//
// Content comes from the API, so it is only ever written with textContent / createElement:
// never innerHTML. On any failure (fetch rejects, or the response is not ok) the page shows the
// #error alert instead of throwing.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const API_BASE = (params.get('api') || '').replace(/\/+$/, '');
  const KB_SLUG = params.get('slug') || '';
  const SITE_KEY = params.get('key') || '';

  const $ = (id) => document.getElementById(id);

  // --- API -------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  async function api(path) {
    const url = `${API_BASE}/v1/kb/public/${encodeURIComponent(KB_SLUG)}${path}`;
    let r;
    try {
      r = await fetch(url, { headers: { 'X-Minolith-Site-Key': SITE_KEY } });
    } catch (e) {
      // A network error — or, for a refused origin, the CORS preflight failing.
      throw new ApiError('network error or request blocked', 0);
    }
    if (!r.ok) throw new ApiError(`HTTP ${r.status}`, r.status);
    const body = await r.json();
    if (!body || typeof body !== 'object' || !('data' in body)) {
      throw new ApiError('unexpected response', r.status);
    }
    return body.data;
  }

  const loadStructure = () => api('/structure');
  const loadArticle = (id) => api(`/articles/${encodeURIComponent(id)}`);
  const loadFaqs = (categoryId) => api(`/faqs/${encodeURIComponent(categoryId)}`);
  const searchKb = (q) => api(`/search?q=${encodeURIComponent(q)}`);

  // --- DOM helpers -----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'className') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function showError(message, err) {
    $('error-message').textContent = message;
    $('error-detail').textContent = err && err.message ? ` (${err.message})` : '';
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-message').textContent = '';
    $('error-detail').textContent = '';
  }

  function setState(state) {
    document.body.dataset.state = state;
    $('status').hidden = state !== 'loading';
    // Without a structure there is nothing to search.
    for (const c of $('search-form').elements) c.disabled = state === 'error';
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function articleLink(a) {
    return el(
      'a',
      { href: `#/articles/${encodeURIComponent(a.id)}`, className: 'article-link', dataset: { articleId: a.id } },
      a.title,
    );
  }

  // --- Navigation tree -------------------------------------------------------------------------

  function renderStructure(s) {
    $('kb-title').textContent = s.title || 'Help centre';
    document.title = s.title || 'Help centre';
    if (s.description) {
      $('kb-description').textContent = s.description;
      $('kb-description').hidden = false;
    }
    const nav = $('nav');
    nav.replaceChildren();
    const list = el('ul', { className: 'categories' });
    for (const c of s.categories || []) {
      const item = el('li', { className: 'category', dataset: { categoryId: c.id } });
      const heading = el('h2', { className: 'category-name' }, c.name);
      item.append(heading);

      const faqCount = Number(c.faq_count) || 0;
      if (faqCount > 0) {
        const toggle = el(
          'button',
          { type: 'button', className: 'faq-toggle', 'aria-expanded': 'false', dataset: { categoryId: c.id } },
          plural(faqCount, 'FAQ', 'FAQs'),
        );
        toggle.addEventListener('click', () => toggleFaqs(item, toggle, c.id));
        heading.append(' ', toggle);
      } else {
        heading.append(' ', el('span', { className: 'faq-count' }, '0 FAQs'));
      }

      if ((c.sections || []).length) {
        const sections = el('ul', { className: 'sections' });
        for (const sec of c.sections) {
          const articles = el('ul', { className: 'section-articles' });
          for (const a of sec.articles || []) articles.append(el('li', {}, articleLink(a)));
          sections.append(
            el('li', { className: 'section', dataset: { sectionId: sec.id } },
              el('h3', { className: 'section-name' }, sec.name), articles),
          );
        }
        item.append(sections);
      }
      if ((c.articles || []).length) {
        const articles = el('ul', { className: 'category-articles' });
        for (const a of c.articles) articles.append(el('li', {}, articleLink(a)));
        item.append(articles);
      }
      list.append(item);
    }
    nav.append(list);
  }

  async function toggleFaqs(item, toggle, categoryId) {
    const existing = item.querySelector('.faq-list');
    if (existing) {
      existing.remove();
      toggle.setAttribute('aria-expanded', 'false');
      return;
    }
    try {
      const faqs = await loadFaqs(categoryId);
      const dl = el('dl', { className: 'faq-list' });
      for (const f of faqs) {
        dl.append(el('dt', { dataset: { faqId: f.id } }, f.question), el('dd', {}, f.answer));
      }
      item.append(dl);
      toggle.setAttribute('aria-expanded', 'true');
      clearError();
    } catch (e) {
      showError('Could not load these FAQs.', e);
    }
  }

  // --- Article view ----------------------------------------------------------------------------

  let articleRequest = 0;

  async function showArticle(id) {
    const seq = ++articleRequest;
    try {
      const a = await loadArticle(id);
      if (seq !== articleRequest) return; // a later click won
      renderArticle(a);
      clearError();
    } catch (e) {
      if (seq !== articleRequest) return;
      $('article').hidden = true;
      showError('Could not load this article.', e);
    }
  }

  function renderArticle(a) {
    $('search-results').hidden = true;
    const crumbs = [a.category && a.category.name, a.section && a.section.name].filter(Boolean);
    $('article-breadcrumb').textContent = crumbs.join(' › ');
    $('article-title').textContent = a.title;
    // The body is Markdown from the API: shown as text, never parsed as HTML.
    $('article-body').textContent = a.body || '';

    const tags = $('article-tags');
    tags.replaceChildren(...(a.tags || []).map((t) => el('li', { className: 'tag' }, t)));
    tags.hidden = !(a.tags || []).length;

    const related = a.related_articles || [];
    $('related-list').replaceChildren(
      ...related.map((r) =>
        el('li', { className: 'related' }, articleLink(r), r.excerpt ? el('p', { className: 'excerpt' }, r.excerpt) : null),
      ),
    );
    $('related').hidden = related.length === 0;

    const article = $('article');
    article.dataset.articleId = a.id;
    article.hidden = false;
  }

  // --- Search ----------------------------------------------------------------------------------

  let searchRequest = 0;

  async function runSearch(q) {
    const seq = ++searchRequest;
    try {
      const hits = await searchKb(q);
      if (seq !== searchRequest) return;
      renderSearch(q, hits);
      clearError();
    } catch (e) {
      if (seq !== searchRequest) return;
      showError('Search failed.', e);
    }
  }

  function renderSearch(q, hits) {
    const articles = hits.articles || [];
    const faqs = hits.faqs || [];
    $('search-results-heading').textContent = `Search results for “${q}”`;
    $('search-article-results').replaceChildren(
      ...articles.map((a) =>
        el('li', { className: 'search-hit' }, articleLink(a), a.excerpt ? el('p', { className: 'excerpt' }, a.excerpt) : null),
      ),
    );
    $('search-faq-results').replaceChildren(
      ...faqs.map((f) =>
        el('li', { className: 'search-faq', dataset: { faqId: f.id } }, el('strong', {}, f.question),
          f.excerpt ? el('p', { className: 'excerpt' }, f.excerpt) : null),
      ),
    );
    $('search-empty').hidden = articles.length + faqs.length > 0;
    $('article').hidden = true;
    const section = $('search-results');
    section.dataset.query = q;
    section.hidden = false;
  }

  // --- Routing and start-up --------------------------------------------------------------------

  function route() {
    const m = /^#\/articles\/([^/]+)$/.exec(window.location.hash);
    if (m) showArticle(decodeURIComponent(m[1]));
  }

  async function start() {
    if (!API_BASE || !KB_SLUG || !SITE_KEY) {
      setState('error');
      showError('Could not load the help centre.', new Error('missing api, slug or key in the page URL'));
      return;
    }
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = $('search-input').value.trim();
      if (q) runSearch(q);
    });
    window.addEventListener('hashchange', route);
    try {
      renderStructure(await loadStructure());
    } catch (e) {
      $('nav').replaceChildren();
      setState('error');
      showError('Could not load the help centre.', e);
      return;
    }
    setState('ready');
    route();
  }

  start().catch((e) => {
    // Nothing above should throw, but never leave the page half-built and silent.
    setState('error');
    showError('Could not load the help centre.', e);
  });
})();
