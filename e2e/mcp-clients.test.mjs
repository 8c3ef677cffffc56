// Tome's MCP server (`/mcp`, `/hc/{slug}/mcp`, `tome mcp`) driven by the official TypeScript MCP
// clients and tools from npm, against a real `tome serve`:
//
//   - the v2 SDK client `@modelcontextprotocol/client`, pinned to protocol 2026-07-28 (stateless:
//     `server/discover`, no `initialize`, the version in every request's `_meta` and headers);
//   - the v1 SDK `@modelcontextprotocol/sdk` (`Client` + `StreamableHTTPClientTransport`), which
//     speaks 2025-11-25 with the `initialize` handshake;
//   - the MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`) over HTTP in both of its
//     protocol eras and over stdio (`tome mcp`);
//   - the public help-centre endpoint with the v1 client, no key.
//
// Each lists the tools (all 48 management operations for an admin key), calls one, and checks an
// error path: a tool error is a result with `isError` and the REST error's `code` in
// `structuredContent`; an unknown tool or argument is a JSON-RPC error. The wire is read too (a
// custom fetch, or a recording proxy for the Inspector): which revision, whether a handshake ran,
// and that no session ID is ever issued.
//
// Node: the Inspector 2.x declares `engines.node >= 22.19`; npm only warns, and its CLI (all that
// is used here) runs on the Node 20 of CI.
//
// Env: TOME_BIN (default ../target/debug/tome from this folder).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Client as ClientV2, ProtocolError, StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { adminClient, startTome } from './hosted-support.mjs';
import {
  ADMIN_TOOLS, ASSISTANT_TOOLS, INSTALL_TITLE, LEGACY, MODERN, PUBLIC_TOOLS, TOME_BIN,
  inspector, installedVersion, seedPublicKb, startProxy, tomeCli,
} from './mcp-support.mjs';

const SLUG = 'acme';
const V2 = `@modelcontextprotocol/client@${installedVersion('@modelcontextprotocol/client')}`;
const V1 = `@modelcontextprotocol/sdk@${installedVersion('@modelcontextprotocol/sdk')}`;
const INSPECTOR = `@modelcontextprotocol/inspector@${installedVersion('@modelcontextprotocol/inspector')}`;
const CLIENT_INFO = { name: 'tome-e2e', version: '1.0.0' };

/** A fetch that records each request's JSON-RPC method, MCP headers and the response status. */
function recordingFetch() {
  const log = [];
  const fetchLike = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    let body = null;
    try { body = typeof init.body === 'string' ? JSON.parse(init.body) : null; } catch { /* not JSON */ }
    const entry = {
      method: init.method ?? 'GET',
      rpc: body?.method ?? null,
      meta: body?.params?._meta ?? null,
      version: headers.get('mcp-protocol-version'),
      mcpMethod: headers.get('mcp-method'),
      sessionSent: headers.get('mcp-session-id'),
    };
    const response = await fetch(url, init);
    entry.status = response.status;
    entry.sessionId = response.headers.get('mcp-session-id');
    log.push(entry);
    return response;
  };
  return { log, fetch: fetchLike };
}

async function connectV2(url, key, recorder = recordingFetch()) {
  const client = new ClientV2(CLIENT_INFO, { versionNegotiation: { mode: { pin: MODERN } } });
  const transport = new TransportV2(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
    fetch: recorder.fetch,
  });
  await client.connect(transport);
  return { client, log: recorder.log };
}

async function connectV1(url, key) {
  const recorder = recordingFetch();
  const client = new ClientV1(CLIENT_INFO);
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const transport = new TransportV1(new URL(url), { requestInit: { headers }, fetch: recorder.fetch });
  await client.connect(transport);
  return { client, transport, log: recorder.log };
}

/** Asserts a tools/list result: the expected names in order, each tool fully described. */
function assertToolList(tools, expected) {
  assert.deepEqual(tools.map((t) => t.name), expected);
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', `${tool.name} inputSchema`);
    // The success result's schema, or the error object of a tool error.
    assert.equal(tool.outputSchema?.type, 'object', `${tool.name} outputSchema`);
    assert.equal(tool.outputSchema.anyOf?.length, 2, `${tool.name} outputSchema.anyOf`);
    assert.ok(tool.description.length > 40, `${tool.name} has a description`);
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${tool.name} readOnlyHint`);
  }
}

/** The JSON object a tool result's text rendering ends with (a summary line, then the JSON). */
function textJson(result) {
  const text = result.content.find((c) => c.type === 'text').text;
  return JSON.parse(text.slice(text.indexOf('\n\n') + 2));
}

describe('MCP clients and tools against tome serve', () => {
  let tome;
  let admin;
  let seed;
  let projectId;
  let assistantKey;
  let home;

  before(async () => {
    tome = await startTome();
    admin = adminClient(tome.url, tome.key);
    projectId = (await admin('GET', '/v1/project')).id;
    seed = await seedPublicKb(admin, SLUG);
    assistantKey = (await tomeCli(['key', 'create', '--kind', 'assistant', '--project', projectId,
      '--data-dir', tome.dataDir])).key;
    assert.match(assistantKey, /^tome_dsc_/);
    home = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-mcp-inspector-home-'));
  });

  after(async () => {
    await tome?.stop();
    if (home) await fsp.rm(home, { recursive: true, force: true });
  });

  describe(`v2 client ${V2}, protocol ${MODERN}`, () => {
    test('lists every management tool, stateless: server/discover, no initialize, no session', async () => {
      const { client, log } = await connectV2(`${tome.url}/mcp`, tome.key);
      try {
        assert.equal(client.getProtocolEra(), 'modern');
        assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
        assert.equal(client.getServerVersion()?.name, 'tome');
        assert.ok(client.getDiscoverResult().supportedVersions.includes(LEGACY));
        const listed = await client.listTools();
        assertToolList(listed.tools, ADMIN_TOOLS);
        assert.equal(listed.tools.length, 48);
        for (const name of ['create_article', 'move_article', 'search_docs']) {
          assert.ok(listed.tools.some((t) => t.name === name), name);
        }
        // Cacheable lists (2026-07-28): the list carries its cache hints.
        assert.equal(typeof listed.ttlMs, 'number');
        assert.equal(listed.cacheScope, 'private');
        const byName = Object.fromEntries(listed.tools.map((t) => [t.name, t]));
        assert.equal(byName.get_article.annotations.readOnlyHint, true);
        assert.equal(byName.delete_article.annotations.destructiveHint, true);
        assert.deepEqual(byName.get_knowledge_base.inputSchema.required, ['kb_id']);
        // The same rules as the REST API's request body (one source of truth: the OpenAPI document).
        const openapi = await (await fetch(`${tome.url}/v1/openapi.json`)).json();
        assert.deepEqual(byName.create_article.inputSchema.properties.title,
          openapi.components.schemas.ArticleCreate.properties.title);
      } finally {
        await client.close();
      }
      const rpcs = log.filter((e) => e.rpc).map((e) => e.rpc);
      assert.deepEqual(rpcs, ['server/discover', 'tools/list']);
      for (const e of log.filter((x) => x.rpc)) {
        assert.equal(e.status, 200, `${e.rpc} → ${e.status}`);
        assert.equal(e.version, MODERN, `${e.rpc} MCP-Protocol-Version`);
        assert.equal(e.mcpMethod, e.rpc, `${e.rpc} Mcp-Method`);
        assert.equal(e.meta?.['io.modelcontextprotocol/protocolVersion'], MODERN, `${e.rpc} _meta`);
        assert.equal(e.sessionId, null, 'no Mcp-Session-Id');
        assert.equal(e.sessionSent, null);
      }
    });

    test('create_knowledge_base then get_knowledge_base: structuredContent is the REST data', async () => {
      const { client, log } = await connectV2(`${tome.url}/mcp`, tome.key);
      try {
        const created = await client.callTool({
          name: 'create_knowledge_base',
          arguments: { title: 'Made by the v2 client', slug: 'mcp-v2', description: 'From MCP' },
        });
        assert.equal(created.isError ?? false, false, JSON.stringify(created));
        const kb = created.structuredContent;
        assert.match(kb.id, /^kb_/);
        assert.equal(kb.title, 'Made by the v2 client');
        assert.equal(kb.slug, 'mcp-v2');
        assert.match(kb.site_key, /^psk_/, 'the new site key, shown once');
        assert.deepEqual(textJson(created), kb, 'the text rendering carries the same data');

        const got = await client.callTool({ name: 'get_knowledge_base', arguments: { kb_id: kb.id } });
        assert.equal(got.isError ?? false, false);
        assert.equal(got.structuredContent.id, kb.id);
        assert.equal(got.structuredContent.description, 'From MCP');
        assert.equal(got.structuredContent.site_key, undefined, 'a site key is shown only once');
        // The same thing the REST API answers.
        const rest = await admin('GET', `/v1/kb/${kb.id}`);
        assert.deepEqual(got.structuredContent, rest);
      } finally {
        await client.close();
      }
      const calls = log.filter((e) => e.rpc === 'tools/call');
      assert.equal(calls.length, 2);
      for (const e of calls) assert.equal(e.version, MODERN);
    });

    test('tool errors are isError results with the REST code; protocol errors are JSON-RPC errors', async () => {
      const { client } = await connectV2(`${tome.url}/mcp`, tome.key);
      try {
        const missing = await client.callTool({ name: 'get_knowledge_base', arguments: { kb_id: 'kb_doesnotexist' } });
        assert.equal(missing.isError, true);
        assert.equal(missing.structuredContent.code, 'kb_not_found');
        assert.match(missing.content[0].text, /^kb_not_found: /);

        const invalid = await client.callTool({
          name: 'create_category', arguments: { kb_id: seed.kbId, name: '' },
        });
        assert.equal(invalid.isError, true);
        assert.equal(invalid.structuredContent.code, 'validation_error');
        assert.equal(invalid.structuredContent.details.field, 'name');

        await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
          assert.ok(e instanceof ProtocolError, e.constructor.name);
          assert.equal(e.code, -32602);
          assert.match(e.message, /no_such_tool/);
          return true;
        });
        await assert.rejects(client.callTool({
          name: 'create_category', arguments: { kb_id: seed.kbId, name: 'x', colour: 'red' },
        }), (e) => {
          assert.ok(e instanceof ProtocolError, e.constructor.name);
          assert.equal(e.code, -32602);
          assert.match(e.message, /colour/);
          return true;
        });
      } finally {
        await client.close();
      }
    });

    test('keys: an invalid one is refused (401 at connect); an assistant key gets the docs tools only', async () => {
      await assert.rejects(connectV2(`${tome.url}/mcp`, 'tome_thisisnotakey0000000000000000000000'), (e) => {
        assert.equal(e.data?.status, 401, JSON.stringify(e.data));
        return true;
      });
      const { client } = await connectV2(`${tome.url}/mcp`, assistantKey);
      try {
        assertToolList((await client.listTools()).tools, ASSISTANT_TOOLS);
        const found = await client.callTool({
          name: 'search_docs', arguments: { domain: SLUG, query: 'install with homebrew' },
        });
        assert.equal(found.isError ?? false, false, JSON.stringify(found));
        assert.ok(found.structuredContent.results.some((r) => r.metadata.title === INSTALL_TITLE));
        await assert.rejects(client.callTool({ name: 'list_knowledge_bases', arguments: {} }), ProtocolError);
      } finally {
        await client.close();
      }
    });

    test('resources: the articles (drafts too) listed and read as Markdown', async () => {
      const { client } = await connectV2(`${tome.url}/mcp`, tome.key);
      try {
        const { resources } = await client.listResources();
        const uri = `tome://kb/${SLUG}/articles/${seed.article.id}`;
        assert.ok(resources.some((r) => r.uri === uri), JSON.stringify(resources));
        assert.ok(resources.some((r) => r.uri === `tome://kb/${SLUG}/articles/${seed.draft.id}`));
        const read = await client.readResource({ uri });
        assert.equal(read.contents[0].mimeType, 'text/markdown');
        assert.match(read.contents[0].text, /brew install acme-cli/);
        const { resourceTemplates } = await client.listResourceTemplates();
        assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'tome://kb/{slug}/articles/{id}'));
      } finally {
        await client.close();
      }
    });
  });

  describe(`v1 client ${V1}, protocol ${LEGACY} (initialize handshake)`, () => {
    test('lists every management tool after the handshake; no session is created', async () => {
      const { client, transport, log } = await connectV1(`${tome.url}/mcp`, tome.key);
      try {
        assert.equal(transport.protocolVersion, LEGACY);
        assert.equal(transport.sessionId, undefined);
        assert.equal(client.getServerVersion()?.name, 'tome');
        assert.ok(client.getServerCapabilities().tools);
        assertToolList((await client.listTools()).tools, ADMIN_TOOLS);
      } finally {
        await client.close();
      }
      const rpcs = log.filter((e) => e.rpc).map((e) => e.rpc);
      assert.deepEqual(rpcs, ['initialize', 'notifications/initialized', 'tools/list']);
      assert.equal(log.find((e) => e.rpc === 'tools/list').version, LEGACY);
      assert.ok(log.every((e) => e.sessionId === null), 'no Mcp-Session-Id');
    });

    test('calls tools: create_category, then list_categories shows it', async () => {
      const { client } = await connectV1(`${tome.url}/mcp`, tome.key);
      try {
        await client.listTools(); // as clients do; the v1 client then checks results against outputSchema
        const created = await client.callTool({
          name: 'create_category', arguments: { kb_id: seed.kbId, name: 'Made by the v1 client' },
        });
        assert.equal(created.isError ?? false, false, JSON.stringify(created));
        assert.match(created.structuredContent.id, /^kbc_/);
        const listed = await client.callTool({ name: 'list_categories', arguments: { kb_id: seed.kbId } });
        const names = listed.structuredContent.data.map((c) => c.name);
        assert.ok(names.includes('Made by the v1 client'), names.join(', '));
        assert.ok(names.includes('Getting started'));
      } finally {
        await client.close();
      }
    });

    test('a tool error is a result with isError and the REST code (read as the raw tools/call result)', async () => {
      const { client } = await connectV1(`${tome.url}/mcp`, tome.key);
      try {
        const result = await client.request({
          method: 'tools/call', params: { name: 'get_article', arguments: { kb_id: seed.kbId, id: 'kba_nope' } },
        }, CallToolResultSchema);
        assert.equal(result.isError, true);
        assert.equal(result.structuredContent.code, 'article_not_found');
        await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
          assert.ok(e instanceof McpError);
          assert.equal(e.code, -32602);
          return true;
        });
      } finally {
        await client.close();
      }
    });

    // The v1 SDK's `callTool` checks `structuredContent` against the tool's `outputSchema` even
    // when `isError` is true (typescript-sdk issue 1943; the v2 client skips it). A Tome tool
    // error's structuredContent is the error object {code, message, details}, so each
    // outputSchema admits it (`anyOf`: the success result or the error object); without that, a
    // v1 caller got McpError -32602 "Structured content does not match the tool's output schema"
    // instead of the error.
    test('callTool after tools/list returns a tool error as its result', async () => {
      const { client } = await connectV1(`${tome.url}/mcp`, tome.key);
      try {
        await client.listTools();
        const result = await client.callTool({
          name: 'get_article', arguments: { kb_id: seed.kbId, id: 'kba_nope' },
        });
        assert.equal(result.isError, true);
        assert.equal(result.structuredContent.code, 'article_not_found');
      } finally {
        await client.close();
      }
    });
  });

  describe(`MCP Inspector CLI ${INSPECTOR}`, () => {
    for (const era of ['legacy', 'modern']) {
      test(`HTTP, --protocol-era ${era}: tools/list and tools/call (create, then a tool error)`, async () => {
        const proxy = await startProxy({ target: tome.url });
        try {
          const common = [`${proxy.url}/mcp`, '--transport', 'http', '--protocol-era', era,
            '--header', `Authorization: Bearer ${tome.key}`];
          const listed = await inspector([...common, '--method', 'tools/list', '--strict'], home);
          assert.equal(listed.code, 0, listed.stderr);
          assertToolList(listed.json.result.tools, ADMIN_TOOLS);
          // --strict exits 6 on any error-severity schema portability problem.
          assert.match(listed.stderr, /\b0 errors?\b/i, listed.stderr);

          const slug = `inspector-${era}`;
          const created = await inspector([...common, '--method', 'tools/call',
            '--tool-name', 'create_knowledge_base', '--tool-arg', 'title=Made by the Inspector', `slug=${slug}`], home);
          assert.equal(created.code, 0, created.stderr);
          assert.equal(created.json.result.isError, false);
          assert.equal(created.json.result.structuredContent.slug, slug);

          const failed = await inspector([...common, '--method', 'tools/call',
            '--tool-name', 'get_knowledge_base', '--tool-args-json', '{"kb_id":"kb_doesnotexist"}'], home);
          assert.equal(failed.code, 5, 'exit 5: the tool returned isError');
          assert.equal(failed.json.result.isError, true);
          assert.equal(failed.json.result.structuredContent.code, 'kb_not_found');
        } finally {
          await proxy.close();
        }
        const posts = proxy.exchanges.filter((x) => x.method === 'POST');
        const rpcs = posts.map((x) => x.body?.method);
        for (const x of posts) {
          assert.ok(x.status < 300, `${x.body?.method} → ${x.status}`);
          assert.equal(x.responseHeaders['mcp-session-id'], undefined);
        }
        if (era === 'modern') {
          assert.ok(!rpcs.includes('initialize'), rpcs.join(' '));
          assert.ok(rpcs.includes('server/discover'), rpcs.join(' '));
          for (const x of posts.filter((p) => p.body?.method === 'tools/call')) {
            assert.equal(x.headers['mcp-protocol-version'], MODERN);
            assert.equal(x.headers['mcp-name'], x.body.params.name);
          }
        } else {
          assert.equal(rpcs.filter((m) => m === 'initialize').length, 3, rpcs.join(' '));
          for (const x of posts.filter((p) => p.body?.method === 'tools/call')) {
            assert.equal(x.headers['mcp-protocol-version'], LEGACY);
          }
        }
      });
    }

    test('stdio: `tome mcp` with --key, and with TOME_API_KEY; both eras', async () => {
      const byFlag = await inspector(['--method', 'tools/list', '--',
        TOME_BIN, '--data-dir', tome.dataDir, 'mcp', '--key', tome.key], home);
      assert.equal(byFlag.code, 0, byFlag.stderr);
      assertToolList(byFlag.json.result.tools, ADMIN_TOOLS);

      for (const era of ['legacy', 'modern']) {
        const called = await inspector(['--protocol-era', era, '-e', `TOME_API_KEY=${tome.key}`,
          '-e', 'TOME_LOG=warn', '--method', 'tools/call', '--tool-name', 'list_articles',
          '--tool-arg', `kb_id=${seed.kbId}`, '--', TOME_BIN, '--data-dir', tome.dataDir, 'mcp'], home);
        assert.equal(called.code, 0, called.stderr);
        const titles = called.json.result.structuredContent.data.map((a) => a.title);
        assert.ok(titles.includes(INSTALL_TITLE), `${era}: ${titles.join(', ')}`);
      }

      // The stdio server and the HTTP one share the database: what one writes, the other reads.
      const created = await inspector(['--method', 'tools/call', '--tool-name', 'create_faq',
        '--tool-args-json', JSON.stringify({
          kb_id: seed.kbId, category_id: seed.categoryId, question: 'Is there a Linux build?', answer: 'Yes.',
        }),
        '--', TOME_BIN, '--data-dir', tome.dataDir, 'mcp', '--key', tome.key], home);
      assert.equal(created.code, 0, created.stderr);
      const faq = created.json.result.structuredContent;
      assert.equal((await admin('GET', `/v1/kb/${seed.kbId}/faqs/${faq.id}`)).question, 'Is there a Linux build?');
    });
  });

  describe(`public help-centre MCP /hc/{slug}/mcp, ${V1}, no key`, () => {
    test('lists search and get_page; search finds the published article, get_page gives its Markdown', async () => {
      const { client, log } = await connectV1(`${tome.url}/hc/${SLUG}/mcp`);
      try {
        assertToolList((await client.listTools()).tools, PUBLIC_TOOLS);
        const found = await client.callTool({ name: 'search', arguments: { query: 'install with homebrew', pageSize: 5 } });
        assert.equal(found.isError ?? false, false, JSON.stringify(found));
        const results = found.structuredContent.results;
        assert.ok(results.length >= 1 && results.length <= 5);
        const hit = results.find((r) => r.metadata.article_id === seed.article.id);
        assert.ok(hit, JSON.stringify(results));
        assert.equal(hit.metadata.title, INSTALL_TITLE);
        assert.ok(hit.path.startsWith(`/articles/${seed.article.id}`), hit.path);
        assert.equal(new URL(hit.metadata.url).pathname, `/hc/${SLUG}${hit.path}`);
        assert.ok(!results.some((r) => r.metadata.article_id === seed.draft.id), 'a draft is never found');

        const page = await client.callTool({ name: 'get_page', arguments: { path: hit.path } });
        assert.equal(page.isError ?? false, false);
        assert.match(page.structuredContent.content, /^# Install the Acme CLI/);
        assert.match(page.structuredContent.content, /brew install acme-cli/);

        // A draft has no public page: a tool error (which the v1 callTool returns as its result).
        const draft = await client.callTool({ name: 'get_page', arguments: { path: `/articles/${seed.draft.id}` } });
        assert.equal(draft.isError, true);
        assert.equal(draft.structuredContent.code, 'page_not_found');

        const { resources } = await client.listResources();
        assert.deepEqual(resources.map((r) => r.title), [INSTALL_TITLE], 'published articles only');
      } finally {
        await client.close();
      }
      assert.equal(log.find((e) => e.rpc === 'tools/list').version, LEGACY);
    });

    test('a private knowledge base has no public MCP endpoint (404)', async () => {
      const kb = await admin('POST', '/v1/kb', { title: 'Internal', slug: 'internal', is_public: false });
      await assert.rejects(connectV1(`${tome.url}/hc/internal/mcp`), (e) => {
        assert.equal(e.code, 404, e.message);
        assert.match(e.message, /kb_not_found/);
        return true;
      });
      await admin('DELETE', `/v1/kb/${kb.id}`);
    });
  });
});
