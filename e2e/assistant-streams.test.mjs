// The assistant's two streams read by the AI SDK's own parsers, from npm, against a real
// `tome serve`:
//
//   - `POST /v2/assistant/{domain}/message` (UI message stream, SSE) with the latest `ai`
//     (package.json `ai`), a late `ai@5` (`ai5`) and the first `ai@5.0.0` (`ai5-strict`: up to
//     5.0.216 every chunk is a zod strict object, so one unknown key fails the stream). Each reads
//     through `DefaultChatTransport` + `readUIMessageStream` and through `AbstractChat` (the core
//     of `useChat`) with a follow-up in the same thread.
//   - `POST /v1/assistant/{domain}/message` (AI SDK v4 data stream) with `@ai-sdk/ui-utils@1`:
//     `processDataStream` on the raw body and `callChatApi` (what v4's `useChat` runs).
//
// Asserted: the text with its `[n]` citations, the sources (hosted article URLs and titles, one per
// cited number, never a draft), the thread ID (`message.metadata.threadId` in v5+, the
// `{threadId}` message annotation in v4) kept by a follow-up, an unanswerable question answered
// without sources, an unknown thread refused; the raw streams well formed and chunked; the
// site-key path from a browser origin (CORS on an allowed origin, 403 on another); and, with a
// scripted OpenAI-compatible model behind a second server (`--llm-url`), that the answer streams
// (the SDK sees text well before the end) and that a model failing mid-answer reaches every parser
// as its error, not as a truncated message.
//
// Content: a small Tome-layout folder written here (`tome import`), with a draft that matches the
// question better than the published page. Keys: `tome key create --kind assistant`, and the KB's
// site key (rotated through the management API to learn its plaintext).
//
// Node: `ai@7` declares `engines.node >= 22` (as do its `@ai-sdk/*` dependencies); npm only warns,
// and everything used here (`DefaultChatTransport`, `readUIMessageStream`, `AbstractChat`) runs on
// the Node 20 of CI, so the latest major is tested as is.
//
// Env: TOME_BIN (default ../target/debug/tome from this folder).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as aiLatest from 'ai';
import * as ai5 from 'ai5';
import * as ai5Strict from 'ai5-strict';
import { callChatApi, processDataStream } from '@ai-sdk/ui-utils';
import { HERE, adminClient, sleep, startTome } from './hosted-support.mjs';

const TOME_BIN = path.resolve(HERE, process.env.TOME_BIN || '../target/debug/tome');
const SLUG = 'acme';
const FP = 'e2e-fingerprint';
const ALLOWED_ORIGIN = 'https://docs.acme.test';
const OTHER_ORIGIN = 'https://evil.test';
const INSTALL = 'Install the Acme CLI';
const MACOS = 'How do I install the Acme CLI on macOS?';
const WINDOWS = 'and on Windows?';
const FRANCE = 'What is the capital of France?';
// Pauses of the scripted model between its deltas in the streaming test.
const MODEL_PAUSE_MS = 400;

function version(pkg) {
  return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

/** The UI message stream clients under test: [label, the package's exports]. */
const V2_CLIENTS = [
  [`ai@${version('ai')}`, aiLatest],
  [`ai@${version('ai5')}`, ai5],
  [`ai@${version('ai5-strict')} (strict chunk schemas)`, ai5Strict],
];
const UI_UTILS = `@ai-sdk/ui-utils@${version('@ai-sdk/ui-utils')}`;

// --- content and server ------------------------------------------------------------------------

const FILES = {
  'manifest.json': JSON.stringify({
    format: 'tome-kb',
    version: 1,
    knowledge_base: { title: 'Acme Help', slug: SLUG, is_public: true },
    categories: [{ name: 'Getting started', folder: 'getting-started' }],
  }),
  'getting-started/install-the-acme-cli.md': `---
type: article
title: "${INSTALL}"
status: published
---
The Acme CLI manages widgets from a terminal.

## On macOS

Install the Acme CLI with Homebrew: run \`brew install acme-cli\`. Check it with \`acme --version\`.

## On Windows

Download \`acme-setup.exe\` from the releases page and run the installer. It adds \`acme\` to your PATH.
`,
  'getting-started/reset-your-password.md': `---
type: article
title: "Reset your password"
status: published
---
To reset your password, open the sign-in page and choose **Forgot password**. Acme emails you a
reset link that expires after 30 minutes.
`,
  // A draft that matches the macOS question best: it must never be quoted or cited.
  'getting-started/install-nightly.md': `---
type: article
title: "Install the Acme CLI nightly on macOS"
status: draft
---
Install the Acme CLI on macOS from the nightly channel: run \`brew install acme-cli-nightly\`.
`,
};

function tomeCli(args) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOME_')));
  env.TOME_LOG = 'warn';
  return new Promise((resolve, reject) => {
    execFile(TOME_BIN, args, { env, maxBuffer: 16 << 20 }, (e, out, stderr) => {
      if (e) reject(new Error(`tome ${args[0]} failed: ${e.message}\n${stderr}`));
      else resolve(JSON.parse(out));
    });
  });
}

/**
 * A `tome serve` with the content imported: { tome, kbId, projectId, assistantKey, siteKey,
 * install (the published article), admin }.
 */
async function startServer(corpusDir, extraArgs = []) {
  const tome = await startTome(extraArgs);
  const admin = adminClient(tome.url, tome.key);
  const projectId = (await admin('GET', '/v1/project')).id;
  const imported = await tomeCli(['import', '--project', projectId, '--from', corpusDir, '--json',
    '--data-dir', tome.dataDir]);
  const kbId = imported.knowledge_base.id;
  const key = await tomeCli(['key', 'create', '--kind', 'assistant', '--project', projectId,
    '--json', '--data-dir', tome.dataDir]);
  assert.match(key.key, /^tome_dsc_/);
  // An imported KB's site key was never shown: rotate it to learn a plaintext.
  const siteKey = (await admin('POST', `/v1/kb/${kbId}/site-key/revoke`)).site_key;
  assert.match(siteKey, /^psk_/);
  await admin('PUT', '/v1/project', { allowed_domains: [new URL(ALLOWED_ORIGIN).host] });
  const articles = (await admin('GET', `/v1/kb/${kbId}/articles?limit=100`));
  const install = articles.find((a) => a.title === INSTALL);
  assert.ok(install, `no "${INSTALL}" among ${articles.map((a) => a.title)}`);

  // The running server indexes what the CLI wrote shortly after; wait until search sees it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`${tome.url}/v1/search/${SLUG}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'install acme cli windows' }),
    });
    const hits = r.ok ? await r.json() : [];
    if (hits.some((h) => h.metadata?.article_id === install.id)) break;
    assert.ok(Date.now() < deadline, `search never found the imported article (last: ${r.status})`);
    await sleep(100);
  }
  return { tome, kbId, projectId, assistantKey: key.key, siteKey, install, admin };
}

/**
 * An OpenAI-compatible chat-completions endpoint with a scripted reply citing the passage of
 * "Install the Acme CLI › On macOS" by the number Tome gave it. `mode`: `slow` (three deltas
 * with pauses) or `broken` (one delta, then the connection drops).
 */
async function startModel() {
  const model = { mode: 'slow', requests: [] };
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = JSON.parse(raw);
    model.requests.push({ method: req.method, url: req.url, body });
    const system = body.messages?.[0]?.content ?? '';
    const n = new RegExp(`\\[(\\d+)\\] ${INSTALL} › On macOS`).exec(system)?.[1];
    if (!n) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'no macOS passage in the prompt' } }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const delta = (content, finish = null) => res.write(`data: ${JSON.stringify({
      id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 0, model: body.model,
      choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
    })}\n\n`);
    delta(`To install it on macOS, run \`brew install acme-cli\` [${n}].`);
    if (model.mode === 'broken') {
      await sleep(200);
      res.socket.destroy();
      return;
    }
    await sleep(MODEL_PAUSE_MS);
    delta(' Homebrew puts `acme` on your PATH.');
    await sleep(MODEL_PAUSE_MS);
    delta(` Check the install with \`acme --version\` [${n}].`);
    delta(null, 'stop');
    res.end('data: [DONE]\n\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  model.url = `http://127.0.0.1:${server.address().port}/v1`;
  model.stop = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return model;
}

// --- clients -----------------------------------------------------------------------------------

let nextId = 0;
const userMessage = (text) => ({ id: `u${++nextId}`, role: 'user', parts: [{ type: 'text', text }] });
const textOf = (message) => message.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
const sourcesOf = (message) => message.parts.filter((p) => p.type === 'source-url');

/**
 * One message through `sdk`'s `DefaultChatTransport` + `readUIMessageStream`: resolves to
 * { message (the last state), updates [{at, text}], errors, response }.
 */
async function askV2(sdk, server, { messages, threadId, headers, body }) {
  let response;
  const transport = new sdk.DefaultChatTransport({
    api: `${server.tome.url}/v2/assistant/${SLUG}/message`,
    headers: headers ?? { Authorization: `Bearer ${server.assistantKey}` },
    body: { fp: FP },
    fetch: async (...args) => (response = await fetch(...args)),
  });
  const stream = await transport.sendMessages({
    chatId: 'e2e-chat', trigger: 'submit-message', messageId: undefined, messages,
    abortSignal: undefined, body: { ...(threadId ? { threadId } : {}), ...body },
  });
  const errors = [];
  const updates = [];
  let message;
  for await (const m of sdk.readUIMessageStream({ stream, onError: (e) => errors.push(e) })) {
    message = m;
    updates.push({ at: performance.now(), text: textOf(m) });
  }
  return { message, updates, errors, response };
}

/** `useChat`'s core: an `AbstractChat` over a plain state, as the framework bindings build it. */
function chat(sdk, server) {
  const state = {
    status: 'ready',
    error: undefined,
    messages: [],
    pushMessage(m) { this.messages = [...this.messages, m]; },
    popMessage() { this.messages = this.messages.slice(0, -1); },
    replaceMessage(i, m) { this.messages = this.messages.map((x, j) => (j === i ? m : x)); },
    snapshot: (x) => structuredClone(x),
  };
  const errors = [];
  const c = new (class extends sdk.AbstractChat {})({
    state,
    transport: new sdk.DefaultChatTransport({
      api: `${server.tome.url}/v2/assistant/${SLUG}/message`,
      headers: { Authorization: `Bearer ${server.assistantKey}` },
      body: { fp: FP },
    }),
    onError: (e) => errors.push(e),
  });
  return { chat: c, errors };
}

/** One v1 message through `callChatApi` (v4's `useChat`): { message, finish, updates }. */
async function askV1(server, { messages, threadId, headers }) {
  let finished;
  const updates = [];
  let response;
  await callChatApi({
    api: `${server.tome.url}/v1/assistant/${SLUG}/message`,
    body: { fp: FP, messages, ...(threadId ? { threadId } : {}) },
    streamProtocol: 'data',
    credentials: undefined,
    headers: headers ?? { Authorization: `Bearer ${server.assistantKey}` },
    abortController: () => null,
    restoreMessagesOnFailure: () => {},
    onResponse: (r) => { response = r; },
    onUpdate: ({ message }) => updates.push(structuredClone(message)),
    onFinish: (message, { finishReason, usage }) => { finished = { message, finishReason, usage }; },
    onToolCall: undefined,
    generateId: () => `v4-${++nextId}`,
    fetch: undefined,
    lastMessage: undefined,
  });
  assert.ok(finished, 'onFinish was called');
  return { ...finished, updates, response };
}

/** Every part of a v1 stream through `processDataStream`, in order: [{type, value}]. */
async function dataStreamParts(body) {
  const parts = [];
  const on = (type) => (value) => { parts.push({ type, value }); };
  await processDataStream({
    stream: body,
    onTextPart: on('text'),
    onSourcePart: on('source'),
    onMessageAnnotationsPart: on('annotations'),
    onStartStepPart: on('start_step'),
    onFinishStepPart: on('finish_step'),
    onFinishMessagePart: on('finish_message'),
    onErrorPart: on('error'),
    onDataPart: on('data'),
  });
  return parts;
}

async function post(server, version, body, headers) {
  return fetch(`${server.tome.url}/${version}/assistant/${SLUG}/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(headers ?? { Authorization: `Bearer ${server.assistantKey}` }) },
    body: JSON.stringify({ fp: FP, ...body }),
  });
}

/** The raw body's chunks as they arrive: [{at, text}] (times from `performance.now()`). */
async function rawChunks(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push({ at: performance.now(), text: decoder.decode(value, { stream: true }) });
  }
  return chunks;
}

/** An SSE body's events with the time their last byte arrived: [{at, data}]. */
function sseEvents(chunks) {
  const events = [];
  let buffer = '';
  for (const c of chunks) {
    buffer += c.text;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      assert.match(block, /^data: /, `an SSE event that is not one data line: ${JSON.stringify(block)}`);
      assert.ok(!block.includes('\n'), `a multi-line SSE event: ${JSON.stringify(block)}`);
      events.push({ at: c.at, data: block.slice('data: '.length) });
    }
  }
  assert.equal(buffer, '', 'the stream ends at an event boundary');
  return events;
}

/** Checks a v5+ assistant answer to the macOS question against the server's content. */
function assertMacosAnswer(server, message, label) {
  const text = textOf(message);
  const sources = sourcesOf(message);
  assert.equal(message.role, 'assistant', label);
  assert.match(text, /brew install acme-cli/, `${label}: ${text}`);
  assert.doesNotMatch(text, /nightly/, `${label}: a draft was quoted: ${text}`);
  const cited = [...new Set([...text.matchAll(/\[(\d+)\]/g)].map((m) => m[1]))];
  assert.ok(cited.includes('1'), `${label}: no [1] in ${text}`);
  assert.deepEqual(sources.map((s) => s.sourceId).sort(), cited.sort(), `${label}: one source per cited number`);
  const hosted = `${server.tome.url}/hc/${SLUG}/articles/`;
  for (const s of sources) {
    assert.ok(s.url.startsWith(hosted), `${label}: ${s.url} is not a hosted article`);
    assert.ok(s.title, `${label}: a source without a title`);
  }
  const first = sources.find((s) => s.sourceId === '1');
  assert.ok(first.url.startsWith(`${hosted}${server.install.id}`), `${label}: [1] is ${first.url}`);
  // Extractive answers cite the article's title; a model's citations add the heading trail.
  assert.ok(first.title === INSTALL || first.title.startsWith(`${INSTALL} › `), `${label}: title ${first.title}`);
  assert.match(message.metadata?.threadId ?? '', /^thr_/, `${label}: metadata ${JSON.stringify(message.metadata)}`);
}

// --- the tests ---------------------------------------------------------------------------------

describe('assistant streams read by the AI SDK parsers', () => {
  let tmp;
  let offline; // extractive answers
  let model;
  let generated; // answers from the scripted model

  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-assistant-e2e-'));
    for (const [name, text] of Object.entries(FILES)) {
      await fsp.mkdir(path.dirname(path.join(tmp, name)), { recursive: true });
      await fsp.writeFile(path.join(tmp, name), text);
    }
    offline = await startServer(tmp);
    model = await startModel();
    generated = await startServer(tmp, ['--llm-url', model.url, '--llm-model', 'e2e-model',
      '--llm-first-token-timeout', '5']);
  });

  after(async () => {
    await offline?.tome.stop();
    await generated?.tome.stop();
    await model?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  for (const [label, sdk] of V2_CLIENTS) {
    describe(`v2 with ${label}`, () => {
      test('DefaultChatTransport + readUIMessageStream: text, sources and threadId', async () => {
        const { message, errors, response } = await askV2(sdk, offline, { messages: [userMessage(MACOS)] });
        assert.deepEqual(errors, [], `${label} reported errors`);
        assert.equal(response.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
        assertMacosAnswer(offline, message, label);
        // The text part is complete; sources follow it as separate parts.
        assert.ok(message.parts.filter((p) => p.type === 'text').every((p) => p.state === undefined || p.state === 'done'));
      });

      test('useChat core (AbstractChat): a follow-up with threadId stays in the thread', async () => {
        const { chat: c, errors } = chat(sdk, offline);
        await c.sendMessage({ text: MACOS });
        assert.equal(c.status, 'ready', `status after the first answer: ${c.status} ${c.error}`);
        const first = c.messages.at(-1);
        assertMacosAnswer(offline, first, label);
        const threadId = first.metadata.threadId;

        await c.sendMessage({ text: WINDOWS }, { body: { threadId } });
        assert.deepEqual(errors, [], `${label} chat errors`);
        assert.equal(c.messages.length, 4);
        const second = c.messages.at(-1);
        assert.equal(second.role, 'assistant');
        assert.equal(second.metadata?.threadId, threadId, 'the follow-up stays in the thread');
        assert.match(textOf(second), /acme-setup\.exe/, textOf(second));
        const sources = sourcesOf(second);
        assert.ok(sources.some((s) => s.url.startsWith(`${offline.tome.url}/hc/${SLUG}/articles/${offline.install.id}`) && s.url.endsWith('#on-windows')),
          JSON.stringify(sources));

        // The thread holds both exchanges.
        const r = await fetch(`${offline.tome.url}/v1/analytics/${offline.projectId}/assistant/threads/${threadId}`,
          { headers: { Authorization: `Bearer ${offline.tome.key}` } });
        assert.equal(r.status, 200);
        const thread = await r.json();
        assert.equal(thread.threadId, threadId);
        assert.deepEqual(thread.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
        assert.equal(thread.messages[2].content, WINDOWS);
      });

      test('a question the docs do not cover: text, no sources, a thread', async () => {
        const { message, errors } = await askV2(sdk, offline, { messages: [userMessage(FRANCE)] });
        assert.deepEqual(errors, []);
        assert.ok(textOf(message).trim().length > 0, 'some text');
        assert.doesNotMatch(textOf(message), /\[\d+\]/);
        assert.deepEqual(sourcesOf(message), []);
        assert.match(message.metadata?.threadId ?? '', /^thr_/);
      });

      test('an unknown threadId: the transport rejects with the 404', async () => {
        await assert.rejects(
          askV2(sdk, offline, { messages: [userMessage(MACOS)], threadId: 'thr_000000000000' }),
          /thread_not_found/,
        );
      });

      test('a model failing mid-answer reaches the parser as an error after the partial text', async () => {
        model.mode = 'broken';
        const { message, errors } = await askV2(sdk, generated, { messages: [userMessage(MACOS)] });
        assert.equal(errors.length, 1, `errors: ${errors}`);
        assert.match(String(errors[0]?.message ?? errors[0]), /part-way/);
        assert.match(textOf(message), /brew install acme-cli/);
      });
    });
  }

  test(`control: ${V2_CLIENTS[2][0]} fails a stream whose chunk has an unknown key`, async () => {
    // What the server must never send: a top-level `threadId` on `finish`. The strict parser
    // rejects it, so the passing v2 tests above mean every chunk had only known keys.
    const sse = ['{"type":"start","messageId":"msg_x"}', '{"type":"finish","threadId":"thr_x"}', '[DONE]']
      .map((d) => `data: ${d}\n\n`).join('');
    const transport = new ai5Strict.DefaultChatTransport({
      api: 'http://127.0.0.1:9/unused',
      fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
    });
    const stream = await transport.sendMessages({ chatId: 'c', trigger: 'submit-message',
      messageId: undefined, messages: [userMessage('x')], abortSignal: undefined });
    const errors = [];
    for await (const _ of ai5Strict.readUIMessageStream({ stream, onError: (e) => errors.push(e) })) { /* drain */ }
    assert.equal(errors.length, 1, 'the strict schema rejected the chunk');
    assert.match(String(errors[0]), /threadId|unrecognized/i);
  });

  describe(`v1 with ${UI_UTILS}`, () => {
    test('processDataStream: start, text, sources, the threadId annotation, finish', async () => {
      const r = await post(offline, 'v1', { messages: [{ role: 'user', content: MACOS }] });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-vercel-ai-data-stream'), 'v1');
      const parts = await dataStreamParts(r.body);
      const types = parts.map((p) => p.type);
      assert.equal(types[0], 'start_step');
      assert.deepEqual(types.slice(-3), ['annotations', 'finish_step', 'finish_message']);
      assert.ok(!types.includes('error'), JSON.stringify(parts));
      const text = parts.filter((p) => p.type === 'text').map((p) => p.value).join('');
      assert.match(text, /brew install acme-cli/);
      assert.match(text, /\[1\]/);
      assert.doesNotMatch(text, /nightly/);
      const sources = parts.filter((p) => p.type === 'source').map((p) => p.value);
      assert.ok(sources.length >= 1);
      for (const s of sources) {
        assert.equal(s.sourceType, 'url');
        assert.ok(s.url.startsWith(`${offline.tome.url}/hc/${SLUG}/articles/`), s.url);
      }
      const one = sources.find((s) => s.id === '1');
      assert.equal(one.title, INSTALL);
      assert.ok(one.url.includes(offline.install.id));
      const [annotation] = parts.find((p) => p.type === 'annotations').value;
      assert.match(annotation.threadId, /^thr_/);
      assert.equal(parts.at(-1).value.finishReason, 'stop');
    });

    test('callChatApi (v4 useChat): message content, source parts, annotations; a follow-up keeps the thread', async () => {
      const first = await askV1(offline, { messages: [{ role: 'user', content: MACOS }] });
      assert.equal(first.finishReason, 'stop');
      assert.equal(first.message.role, 'assistant');
      assert.match(first.message.content, /brew install acme-cli.*\[1\]/s);
      const sources = first.message.parts.filter((p) => p.type === 'source').map((p) => p.source);
      assert.ok(sources.some((s) => s.id === '1' && s.title === INSTALL && s.url.includes(offline.install.id)),
        JSON.stringify(first.message.parts));
      const threadId = first.message.annotations?.[0]?.threadId;
      assert.match(threadId ?? '', /^thr_/, JSON.stringify(first.message.annotations));
      assert.ok(first.updates.length >= 1);

      const second = await askV1(offline, {
        messages: [
          { role: 'user', content: MACOS },
          { role: 'assistant', content: first.message.content },
          { role: 'user', content: WINDOWS },
        ],
        threadId,
      });
      assert.match(second.message.content, /acme-setup\.exe/);
      assert.equal(second.message.annotations?.[0]?.threadId, threadId);
    });

    test('callChatApi: a question the docs do not cover has no source parts', async () => {
      const { message } = await askV1(offline, { messages: [{ role: 'user', content: FRANCE }] });
      assert.ok(message.content.trim().length > 0);
      assert.deepEqual(message.parts.filter((p) => p.type === 'source'), []);
      assert.match(message.annotations?.[0]?.threadId ?? '', /^thr_/);
    });

    test('a model failing mid-answer: an error part; callChatApi rejects with its text', async () => {
      model.mode = 'broken';
      const r = await post(generated, 'v1', { messages: [{ role: 'user', content: MACOS }] });
      const parts = await dataStreamParts(r.body);
      assert.equal(parts.at(-1).type, 'error', JSON.stringify(parts));
      assert.match(parts.at(-1).value, /part-way/);
      assert.ok(parts.some((p) => p.type === 'text' && /brew install/.test(p.value)));
      await assert.rejects(askV1(generated, { messages: [{ role: 'user', content: MACOS }] }), /part-way/);
    });
  });

  describe('raw streams', () => {
    test('v2: chunked SSE, one JSON chunk per event, start first, [DONE] last', async () => {
      const t0 = performance.now();
      const r = await post(offline, 'v2', { messages: [userMessage(MACOS)] });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'text/event-stream');
      assert.equal(r.headers.get('transfer-encoding'), 'chunked');
      assert.equal(r.headers.get('content-length'), null);
      const chunks = await rawChunks(r);
      const events = sseEvents(chunks);
      assert.equal(events.at(-1).data, '[DONE]');
      const parsed = events.slice(0, -1).map((e) => JSON.parse(e.data));
      const types = parsed.map((c) => c.type);
      assert.equal(types[0], 'start');
      assert.equal(types.at(-1), 'finish');
      assert.ok(types.indexOf('text-start') < types.indexOf('text-delta'));
      assert.ok(types.lastIndexOf('text-delta') < types.indexOf('text-end'));
      assert.ok(types.indexOf('text-end') < types.indexOf('finish'));
      // The first bytes are the `start` chunk, sent before the answer is composed.
      assert.match(chunks[0].text, /^data: \{"type":"start"/);
      console.log(`v2 offline: ${chunks.length} chunks, first after ${(chunks[0].at - t0).toFixed(1)} ms, ` +
        `last after ${(chunks.at(-1).at - t0).toFixed(1)} ms`);
    });

    test('v1: chunked, one CODE:JSON line per part', async () => {
      const r = await post(offline, 'v1', { messages: [{ role: 'user', content: MACOS }] });
      assert.equal(r.headers.get('transfer-encoding'), 'chunked');
      const text = (await rawChunks(r)).map((c) => c.text).join('');
      assert.ok(text.endsWith('\n'));
      const lines = text.slice(0, -1).split('\n');
      for (const line of lines) {
        const m = /^([0-9a-z]):(.*)$/.exec(line);
        assert.ok(m, `not a data stream part: ${line}`);
        JSON.parse(m[2]);
      }
      const codes = lines.map((l) => l[0]);
      assert.equal(codes[0], 'f', 'start step first');
      assert.deepEqual(codes.slice(-3), ['8', 'e', 'd'], 'annotation, finish step, finish message last');
      assert.deepEqual([...new Set(codes.slice(1, -3))].sort(), ['0', 'h'], 'text and sources between');
    });

    test('a model-backed answer streams: text reaches the SDK well before the end', async () => {
      model.mode = 'slow';
      const r = await post(generated, 'v2', { messages: [userMessage(MACOS)] });
      const events = sseEvents(await rawChunks(r));
      const firstText = events.find((e) => e.data.includes('"text-delta"'));
      const finish = events.find((e) => e.data.includes('"finish"'));
      assert.ok(firstText && finish, JSON.stringify(events));
      const gap = finish.at - firstText.at;
      assert.ok(gap >= MODEL_PAUSE_MS, `first text only ${gap.toFixed(0)} ms before the finish`);

      const { message, updates, errors } = await askV2(aiLatest, generated, { messages: [userMessage(MACOS)] });
      assert.deepEqual(errors, []);
      assertMacosAnswer(generated, message, 'ai (model)');
      assert.match(textOf(message), /acme --version/);
      const firstUpdate = updates.find((u) => u.text.length > 0);
      const sdkGap = updates.at(-1).at - firstUpdate.at;
      assert.ok(sdkGap >= MODEL_PAUSE_MS, `readUIMessageStream saw text only ${sdkGap.toFixed(0)} ms before the end`);
      assert.ok(firstUpdate.text.length < textOf(message).length, 'the first update is part of the answer');
      console.log(`v2 model: first text ${gap.toFixed(0)} ms before the finish on the wire, ` +
        `${sdkGap.toFixed(0)} ms in readUIMessageStream; ${updates.length} message updates`);

      // The model was asked for a stream, with the passages numbered.
      const req = model.requests.at(-1);
      assert.equal(req.url, '/v1/chat/completions');
      assert.equal(req.body.stream, true);
      assert.equal(req.body.model, 'e2e-model');
    });
  });

  describe('site key from a browser origin', () => {
    const siteHeaders = (origin) => ({ 'X-Minolith-Site-Key': offline.siteKey, Origin: origin });

    test('preflight from an allowed origin allows the POST with the site-key header', async () => {
      for (const version of ['v1', 'v2']) {
        const r = await fetch(`${offline.tome.url}/${version}/assistant/${SLUG}/message`, {
          method: 'OPTIONS',
          headers: {
            Origin: ALLOWED_ORIGIN,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type,x-minolith-site-key',
          },
        });
        assert.ok(r.status === 200 || r.status === 204, `${version} preflight ${r.status}`);
        assert.equal(r.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
        assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/i);
        const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
        assert.match(allowed, /x-minolith-site-key/);
        assert.match(allowed, /content-type/);
      }
    });

    test(`an allowed origin: answered with CORS headers, read by ai@${version('ai')} and ${UI_UTILS}`, async () => {
      const { message, errors, response } = await askV2(aiLatest, offline, {
        messages: [userMessage(MACOS)], headers: siteHeaders(ALLOWED_ORIGIN),
      });
      assert.deepEqual(errors, []);
      assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
      assert.match(response.headers.get('vary') ?? '', /Origin/);
      assertMacosAnswer(offline, message, 'ai (site key)');

      const v1 = await askV1(offline, {
        messages: [{ role: 'user', content: MACOS }], headers: siteHeaders(ALLOWED_ORIGIN),
      });
      assert.equal(v1.response.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
      assert.match(v1.message.content, /brew install acme-cli/);
      assert.match(v1.message.annotations?.[0]?.threadId ?? '', /^thr_/);
    });

    test('another origin, or a wrong site key: 403 without CORS headers; the SDK rejects', async () => {
      for (const version of ['v1', 'v2']) {
        for (const headers of [siteHeaders(OTHER_ORIGIN),
          { 'X-Minolith-Site-Key': `psk_${'x'.repeat(offline.siteKey.length - 4)}`, Origin: ALLOWED_ORIGIN }]) {
          const r = await post(offline, version, { messages: [userMessage(MACOS)] }, headers);
          assert.equal(r.status, 403, `${version} ${JSON.stringify(headers)}`);
          assert.equal(r.headers.get('access-control-allow-origin'), null);
          assert.equal((await r.json()).error?.code, 'forbidden');
        }
      }
      await assert.rejects(askV2(aiLatest, offline, {
        messages: [userMessage(MACOS)], headers: siteHeaders(OTHER_ORIGIN),
      }), /forbidden/i);
    });
  });
});
