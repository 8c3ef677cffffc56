// The official MCP conformance suite (`@modelcontextprotocol/conformance server`) against Tome's
// two Streamable HTTP endpoints — `/mcp` (management, bearer key) and `/hc/{slug}/mcp` (a public
// help centre, no key) — at both protocol revisions Tome speaks: 2025-11-25 (the `initialize`
// handshake) and 2026-07-28 (stateless), each with `--suite all` (active, pending and draft
// scenarios) and `--spec-version`.
//
// The suite has no option for credentials, so `/mcp` is reached through a proxy on 127.0.0.1 that
// adds `Authorization: Bearer <admin key>` to every request and passes the rest through; Tome runs
// with `--public-url` set to the proxy's address, as behind any reverse proxy, so the suite's own
// `Origin` (the proxy's) is Tome's and a foreign one (DNS rebinding) is not.
//
// Many scenarios call the suite's own fixture server (its "everything server": tools such as
// `test_simple_text`, resources such as `test://static-text`, prompts, logging, subscriptions)
// that a real server does not have. Those are EXPECTED_FAILURES below, each with its reason,
// whole scenarios where every check needs a fixture and single checks (`scenario:check-id`)
// where a scenario also checks things Tome does have. They are passed to the suite as its
// expected-failures baseline, so its exit code already says "no other failure, and every expected
// one still fails" (a fixed one is a stale entry); the test also reads every check of every
// scenario and names any unexpected failure itself.
//
// Node: the suite's bundle imports `fs.globSync` (Node 22), so it runs under
// `--import ./conformance-node20.mjs` (see that file). It reaches nothing but 127.0.0.1.
//
// Env: TOME_BIN (default ../target/debug/tome from this folder).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adminClient, startTome } from './hosted-support.mjs';
import {
  LEGACY, MODERN, conformance, installedVersion, readConformanceResults, seedPublicKb, startProxy,
} from './mcp-support.mjs';

const SUITE = `@modelcontextprotocol/conformance@${installedVersion('@modelcontextprotocol/conformance')}`;
const SLUG = 'acme';
const BOTH = [LEGACY, MODERN];
const ENDPOINTS = ['/mcp', '/hc/{slug}/mcp'];

const fixture = (what) => `needs the suite's fixture server: ${what}, which Tome does not have`;
const NO_PROMPTS = 'the scenario gets the fixture\'s test_* prompts: `/mcp` serves Tome\'s own two prompts (article_from_faq, review_article), and the public help-centre endpoint none (no `prompts` capability)';
const HC_NO_PROMPTS = 'the public help-centre endpoint serves no prompts (no `prompts` capability); `/mcp` passes';

/**
 * What fails, and why: `entry` is a scenario (all its checks) or `scenario:check-id`; `revisions`
 * and `endpoints` say where it applies.
 */
const EXPECTED_FAILURES = [
  // Tools, resources and prompts of the fixture server.
  ...[
    ['tools-call-simple-text', 'test_simple_text'],
    ['tools-call-image', 'test_image_content'],
    ['tools-call-audio', 'test_audio_content'],
    ['tools-call-embedded-resource', 'test_embedded_resource'],
    ['tools-call-mixed-content', 'test_multiple_content_types'],
    ['tools-call-error', 'test_error_handling'],
    ['tools-call-with-progress', 'test_tool_with_progress'],
    ['json-schema-2020-12', 'json_schema_2020_12_tool'],
  ].map(([entry, tool]) => ({ entry, revisions: BOTH, reason: fixture(`the tool \`${tool}\``) })),
  ...[
    ['tools-call-with-logging', 'test_tool_with_logging (after logging/setLevel)'],
    ['tools-call-sampling', 'test_sampling'],
    ['tools-call-elicitation', 'test_elicitation'],
    ['elicitation-sep1034-defaults', 'test_elicitation_sep1034_defaults'],
    ['elicitation-sep1330-enums', 'test_elicitation_sep1330_enums'],
  ].map(([entry, tool]) => ({ entry, revisions: [LEGACY], reason: fixture(`the tool \`${tool}\``) })),
  ...[
    ['resources-read-text', 'test://static-text'],
    ['resources-read-binary', 'test://static-binary'],
    ['resources-templates-read', 'test://template/123/data'],
  ].map(([entry, uri]) => ({ entry, revisions: BOTH, reason: fixture(`the resource \`${uri}\``) })),
  { entry: 'prompts-list', revisions: BOTH, endpoints: ['/hc/{slug}/mcp'], reason: HC_NO_PROMPTS },
  ...['prompts-get-simple', 'prompts-get-with-args', 'prompts-get-embedded-resource',
    'prompts-get-with-image'].map((entry) => ({ entry, revisions: BOTH, reason: NO_PROMPTS })),
  {
    entry: 'completion-complete', revisions: BOTH,
    reason: 'completes an argument of the fixture prompt `test_prompt_with_arguments`; Tome has no prompts and declares no `completions` capability',
  },
  {
    entry: 'logging-set-level', revisions: [LEGACY],
    reason: 'Tome declares no `logging` capability (it sends no log messages; logging is deprecated in 2026-07-28, SEP-2577), so logging/setLevel is -32601',
  },
  ...['resources-subscribe', 'resources-unsubscribe'].map((entry) => ({
    entry, revisions: [LEGACY],
    reason: 'Tome declares no `resources.subscribe` capability (stateless, no session to notify); the scenario subscribes to the fixture\'s `test://watched-resource`',
  })),
  // 2026-07-28 scenarios that check Tome's own behaviour too: only their fixture checks.
  ...[
    ['sep-2575-server-rejects-undeclared-capability', 'test_missing_capability'],
    ['sep-2575-missing-capability-http-400', 'test_missing_capability'],
    ['sep-2575-http-server-no-independent-requests-on-stream', 'test_streaming_elicitation'],
    ['sep-2575-server-no-log-without-loglevel', 'test_logging_tool'],
  ].map(([check, tool]) => ({
    entry: `server-stateless:${check}`, revisions: [MODERN], reason: fixture(`the diagnostic tool \`${tool}\``),
  })),
  { entry: 'caching:sep-2549-prompts-list-caching-hints', revisions: [MODERN], endpoints: ['/hc/{slug}/mcp'], reason: HC_NO_PROMPTS },
  ...['sep-2243-server-no-xmcp-tool', 'sep-2243-server-decode-base64', 'sep-2243-server-validate-param-match',
    'sep-2243-server-reject-invalid-param-chars', 'sep-2243-server-reject-param-mismatch'].map((check) => ({
    entry: `http-custom-header-server-validation:${check}`, revisions: [MODERN],
    reason: 'untestable: no Tome tool declares `x-mcp-header` parameters (SEP-2243 custom headers), and the scenario has no fixture of its own',
  })),
  ...[
    ['basic-elicitation', 'test_input_required_result_elicitation'],
    ['basic-sampling', 'test_input_required_result_sampling'],
    ['basic-list-roots', 'test_input_required_result_list_roots'],
    ['request-state', 'test_input_required_result_request_state'],
    ['multiple-input-requests', 'test_input_required_result_multiple_inputs'],
    ['multi-round', 'a multi-round input_required tool'],
    ['result-type', 'test_input_required_result_elicitation'],
    ['tampered-state', 'test_input_required_result_elicitation (for a requestState to tamper with)'],
    ['capability-check', 'test_input_required_result_capabilities'],
  ].map(([name, tool]) => ({
    entry: `input-required-result-${name}`, revisions: [MODERN],
    reason: fixture(`the tool \`${tool}\` (no Tome tool asks the client for input)`),
  })),
  ...[
    ['missing-input-response', 'sep-2322-missing-response-rerequests'],
    ['ignore-extra-params', 'sep-2322-ignore-unexpected-params'],
  ].map(([name, check]) => ({
    entry: `input-required-result-${name}:${check}`, revisions: [MODERN],
    reason: `a warning: ${fixture('the tool `test_input_required_result_elicitation`')}, so the call is a JSON-RPC error (unknown tool), not an input_required result`,
  })),
  {
    entry: 'input-required-result-non-tool-request', revisions: [MODERN],
    reason: `${NO_PROMPTS} (a prompt answering input_required)`,
  },
  // Warnings at 2025-11-25, which the suite counts as failures.
  ...['server-sse-polling', 'server-sse-multiple-streams'].map((scenario) => ({
    entry: `${scenario}:${scenario}-session`, revisions: [LEGACY],
    reason: 'a warning: Tome issues no Mcp-Session-Id (stateless by design, any node answers any request; a session is optional at 2025-11-25) and answers JSON rather than SSE streams, so the scenario\'s session-based SSE checks do not apply',
  })),
  // The public help centre only.
  {
    entry: 'http-header-validation:sep-2243-server-accepts-whitespace-header-value', revisions: [MODERN], endpoints: ['/hc/{slug}/mcp'],
    reason: 'the scenario calls the first listed tool with no arguments; there it is `search`, whose `query` is required, so the call is a JSON-RPC -32602 (arguments not matching the schema are protocol errors), not the success the check looks for; on `/mcp` the first tool takes no required argument and the check passes',
  },
  {
    entry: 'dns-rebinding-protection:localhost-host-rebinding-rejected', revisions: BOTH, endpoints: ['/hc/{slug}/mcp'],
    reason: 'the public help-centre endpoint answers every Origin: no key, published content only, as the hosted pages it mirrors (so browser-based agents on any site can use it); `/mcp` refuses foreign origins',
  },
];

/** The check statuses the suite counts as failures (a WARNING too; INFO and SKIPPED are not). */
const FAILED = new Set(['FAILURE', 'WARNING']);

/** Scenarios that must have run (and so passed, but for their listed checks) at each revision. */
const MUST_RUN = {
  [LEGACY]: ['server-initialize', 'ping', 'tools-list', 'resources-list', 'dns-rebinding-protection',
    'server-sse-multiple-streams'],
  [MODERN]: ['server-stateless', 'tools-list', 'resources-list', 'sep-2164-resource-not-found', 'caching',
    'http-header-validation', 'dns-rebinding-protection', 'server-sse-multiple-streams'],
};

function expectedFor(revision, endpoint) {
  return EXPECTED_FAILURES.filter((f) => f.revisions.includes(revision)
    && (!f.endpoints || f.endpoints.includes(endpoint)));
}

describe(`MCP conformance suite ${SUITE}`, () => {
  let tome;
  let proxy;
  let work;

  before(async () => {
    proxy = await startProxy();
    tome = await startTome(['--public-url', proxy.url]);
    proxy.target = tome.url;
    proxy.headers = { authorization: `Bearer ${tome.key}` };
    // A public KB with a published article and a draft: resources to list and read (their
    // caching hints are checked), a help centre for `/hc/{slug}/mcp`.
    await seedPublicKb(adminClient(tome.url, tome.key), SLUG);
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tome-mcp-conformance-'));
  });

  after(async () => {
    await proxy?.close();
    await tome?.stop();
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  for (const endpoint of ENDPOINTS) {
    for (const revision of BOTH) {
      test(`${endpoint} at ${revision}: every scenario passes but the listed fixture ones`, async (t) => {
        const url = endpoint === '/mcp' ? `${proxy.url}/mcp` : `${tome.url}/hc/${SLUG}/mcp`;
        const expected = expectedFor(revision, endpoint);
        const name = `${endpoint === '/mcp' ? 'mcp' : 'hc'}-${revision}`;
        const baseline = path.join(work, `${name}.yaml`);
        await fsp.writeFile(baseline, `server:\n${expected.map((f) => `  - ${f.entry}\n`).join('')}`);
        const out = path.join(work, name);
        const run = await conformance(['server', '--url', url, '--suite', 'all', '--spec-version', revision,
          '--expected-failures', baseline, '-o', out]);

        const results = readConformanceResults(out);
        for (const scenario of MUST_RUN[revision]) {
          assert.ok(results.has(scenario), `${scenario} did not run; ran: ${[...results.keys()].join(', ')}`);
        }
        const excuses = (scenario, check) => expected.some((f) => f.entry === scenario || f.entry === `${scenario}:${check.id}`);
        const unexpected = [];
        const passed = [];
        const partly = []; // passed but for single listed checks
        for (const [scenario, checks] of results) {
          assert.ok(checks.length > 0 || ['server-session-lifecycle', 'server-sse-polling', 'server-sse-multiple-streams'].includes(scenario),
            `${scenario} made no check`);
          for (const check of checks.filter((c) => FAILED.has(c.status) && !excuses(scenario, c))) {
            unexpected.push(`${scenario}:${check.id}: ${check.errorMessage ?? ''} ${JSON.stringify(check.details ?? null).slice(0, 400)}`);
          }
          if (checks.every((c) => !FAILED.has(c.status))) passed.push(scenario);
          else if (!expected.some((f) => f.entry === scenario)) partly.push(scenario);
        }
        assert.deepEqual(unexpected, [], 'unexpected failures');
        // Every expected failure still fails (one that passes now is a stale entry: remove it).
        for (const f of expected) {
          const [scenario, checkId] = f.entry.split(':');
          const checks = results.get(scenario);
          assert.ok(checks, `${f.entry}: the scenario did not run`);
          assert.ok(checks.some((c) => FAILED.has(c.status) && (!checkId || c.id === checkId)),
            `${f.entry} passes now: remove it from EXPECTED_FAILURES (${f.reason})`);
        }
        // The suite's own verdict with the same baseline.
        assert.equal(run.code, 0, `conformance exited ${run.code}\n${run.stdout.slice(-3000)}\n${run.stderr}`);
        t.diagnostic(`${results.size} scenarios; passed: ${passed.join(', ')}; passed but for listed checks: ${partly.join(', ')}`);
        t.diagnostic(`expected failures (${expected.length}): ${expected.map((f) => f.entry).join(', ')}`);
      });
    }
  }
});
