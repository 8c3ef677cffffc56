#!/usr/bin/env python3
"""MCP benchmark (driven by bench/mcp.sh; see bench/README.md, "MCP").

Against one real `tome serve` (SQLite) holding a subset of the tldr pages (Tome layout, imported
published), on the same server in one run:

  1. latency, one client on one keep-alive connection per protocol, one request at a time:
     `tools/call get_article` over Streamable HTTP (`POST /mcp`, revision 2026-07-28: stateless,
     JSON response) next to `GET /v1/kb/{kb}/articles/{id}`, and `tools/call search_articles`
     next to `GET /v1/kb/{kb}/search?q=…`; the two alternating item by item (the order flipping
     each time), every answer checked (the MCP `structuredContent` equal to the REST `data`);
  2. the server's CPU per call: each endpoint alone for one pass, `/proc/PID/stat` before and
     after;
  3. latency again with `wrk -t1 -c1` (one connection, one request at a time, the same request
     bytes): the Python client's own time is in part 1's figures, and it is not the same on both
     sides — an MCP call has five more headers to write and twice the answer to read — so this
     is the server's latency ratio with a client whose own cost is negligible;
  4. throughput: `wrk` with bench/mcp.lua on each of the four, the same request bytes the first
     part checked; calls/s, wrk's p50/p99 under load, and server CPU per call.

Standard library only.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

TOME_ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOME_")}
VERSION = "2026-07-28"


def log(msg):
    print(f"==> {msg}", flush=True)


def pct(xs, p):
    """Nearest-rank percentile of xs (p in 0–100)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def cli(tome, data, *args):
    p = subprocess.run([tome, "--data-dir", data, *args, "--json"], capture_output=True, text=True,
                       env=TOME_ENV)
    if p.returncode != 0:
        sys.exit(f"error: tome {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout)


class Http:
    """One keep-alive HTTP/1.1 connection (http.client); times each request to its last byte."""

    def __init__(self, addr, key):
        self.host, port = addr.split(":")
        self.port = int(port)
        self.key = key
        self.conn = None

    def call(self, method, path, data=None, headers=None):
        hdrs = {"Authorization": f"Bearer {self.key}"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                    self.conn.connect()
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t0 = time.perf_counter()
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                dt = time.perf_counter() - t0
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, raw, dt
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        status, raw, _ = self.call(method, path, data)
        if status >= 300:
            sys.exit(f"error: {method} {path} → {status}: {raw[:500]!r}")
        return json.loads(raw) if raw else None

    def paged(self, path):
        out, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.ok("GET", f"{path}{sep}limit=100" + (f"&cursor={cursor}" if cursor else ""))
            out.extend(page["data"])
            if not page.get("pagination", {}).get("has_more"):
                return out
            cursor = page["pagination"]["next_cursor"]


def mcp_body(tool, arguments):
    """A `tools/call` as a 2026-07-28 client sends it: protocol version and capabilities in
    `_meta` (the same bytes every time, so wrk can replay them)."""
    return json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {
            "name": tool, "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }, separators=(",", ":"))


def mcp_headers(tool):
    return {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }


class Server:
    def __init__(self, tome, data, logs, synchronous):
        self.out = open(f"{logs}.out", "w")
        self.err = open(f"{logs}.err", "w")
        self.proc = subprocess.Popen(
            [tome, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--log-format", "json",
             "--sqlite-synchronous", synchronous, "--admin-rate-limit", "1000000000"],
            stdout=self.out, stderr=self.err, env=TOME_ENV)
        self.addr = None
        deadline = time.time() + 600
        while time.time() < deadline:
            m = re.search(r'"addr":"([^"]+)"', open(f"{logs}.err").read())
            if m:
                self.addr = m.group(1)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if not self.addr:
            sys.exit(f"error: tome serve did not start:\n{open(f'{logs}.err').read()[-3000:]}")

    def cpu_seconds(self):
        """User + system CPU of the server process (all its threads) so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_tldr(jsonl, root, count):
    """`count` tldr pages spread evenly over the corpus, in Tome's layout as bench/sync.py writes
    them: one folder per platform, one file per page with `title` and `excerpt` front matter."""
    with open(jsonl, encoding="utf-8") as f:
        every = [json.loads(line) for line in f]
    # Hidden files (the `.` page) are not imported.
    every = [p for p in every if not os.path.basename(p["path"]).startswith(".")]
    step = max(1, len(every) // count)
    pages = every[::step][:count]
    for page in pages:
        folder = os.path.join(root, page["category"])
        os.makedirs(folder, exist_ok=True)
        name = os.path.splitext(os.path.basename(page["path"]))[0]
        with open(os.path.join(folder, f"{name}.md"), "w", encoding="utf-8") as md:
            md.write(f"---\ntitle: {json.dumps(page['title'], ensure_ascii=False)}\n"
                     f"excerpt: {json.dumps(page['excerpt'][:500], ensure_ascii=False)}\n"
                     f"---\n\n{page['body']}")
    return pages


def derived_queries(pages, count):
    """`count` queries from page descriptions, spread evenly over the pages: the first 2–4 words
    of the first sentence, lower-cased, punctuation dropped — what someone types."""
    step = max(1, len(pages) // count)
    out = []
    for i, page in enumerate(pages[::step]):
        first = re.split(r"(?<=[.!?])\s", page["excerpt"].strip())[0]
        words = [w.strip(".") for w in re.split(r"[^\w+#.-]+", first.lower()) if w.strip(".-")]
        if len(words) < 2:
            continue
        out.append(" ".join(words[:2 + i % 3]))
        if len(out) == count:
            break
    return out


class Bench:
    def __init__(self, a):
        self.a = a
        self.notes = []
        self.results = {}
        self.hit_queries = set()

    def setup(self):
        a = self.a
        data = os.path.join(a.work, "data")
        log(f"writing {a.articles} tldr pages in Tome's layout")
        pages = write_tldr(a.tldr, os.path.join(a.work, "tldr"), a.articles)
        project = cli(a.tome, data, "project", "create", "--name", "bench")["id"]
        log("importing them (published)")
        imp = cli(a.tome, data, "import", "--project", project, "--from",
                  os.path.join(a.work, "tldr"), "--format", "tome", "--slug", "tldr", "--title",
                  "tldr", "--default-status", "published", "--sqlite-synchronous", a.synchronous)
        self.notes.append(f"`tome import` of {len(pages):,} tldr pages: "
                          f"{imp['counts']['articles']:,} articles in "
                          f"{imp['counts'].get('categories', 0)} categories")
        key = cli(a.tome, data, "key", "create", "--project", project, "--kind", "admin")["key"]
        log("starting tome serve")
        self.server = Server(a.tome, data, os.path.join(a.work, "server"), a.synchronous)
        self.rest = Http(self.server.addr, key)
        self.mcp = Http(self.server.addr, key)
        self.key = key
        kbs = self.rest.ok("GET", "/v1/kb?limit=100")["data"]
        self.kb = next(k["id"] for k in kbs if k["slug"] == "tldr")
        self.ids = [x["id"] for x in self.rest.paged(f"/v1/kb/{self.kb}/articles?status=published")]
        self.queries = derived_queries(pages, a.queries)
        self.notes.append(f"{len(self.ids):,} articles read by ID; {len(self.queries)} search "
                          f"queries from page descriptions (\"{self.queries[0]}\", "
                          f"\"{self.queries[1]}\", \"{self.queries[2]}\")")

    # --- the four calls ------------------------------------------------------------------------
    def rest_get_path(self, aid):
        return f"/v1/kb/{self.kb}/articles/{aid}"

    def rest_search_path(self, q):
        return f"/v1/kb/{self.kb}/search?q={urllib.parse.quote(q)}"

    def rest_get(self, aid):
        status, raw, dt = self.rest.call("GET", self.rest_get_path(aid))
        if status != 200:
            sys.exit(f"error: REST get {aid} → {status}: {raw[:300]!r}")
        return raw, dt

    def rest_search(self, q):
        status, raw, dt = self.rest.call("GET", self.rest_search_path(q))
        if status != 200:
            sys.exit(f"error: REST search {q!r} → {status}: {raw[:300]!r}")
        return raw, dt

    def mcp_call(self, tool, body):
        status, raw, dt = self.mcp.call("POST", "/mcp", body.encode(), mcp_headers(tool))
        if status != 200:
            sys.exit(f"error: MCP {tool} → {status}: {raw[:300]!r}")
        return raw, dt

    def mcp_get_body(self, aid):
        return mcp_body("get_article", {"kb_id": self.kb, "id": aid})

    def mcp_search_body(self, q):
        return mcp_body("search_articles", {"kb_id": self.kb, "q": q})

    @staticmethod
    def structured(raw):
        msg = json.loads(raw)
        result = msg.get("result")
        if not result or result.get("isError"):
            sys.exit(f"error: MCP answer is not a result: {raw[:500]!r}")
        return result["structuredContent"]

    # --- 1. latency ----------------------------------------------------------------------------
    def latency(self, name, items, rest_fn, mcp_fn, check):
        a = self.a
        times = {"rest": [], "mcp": []}
        for rnd in range(a.rounds + 1):
            for i, item in enumerate(items):
                order = ("rest", "mcp") if (i + rnd) % 2 == 0 else ("mcp", "rest")
                got = {}
                for which in order:
                    raw, dt = rest_fn(item) if which == "rest" else mcp_fn(item)
                    got[which] = raw
                    if rnd > 0:   # round 0 warms up
                        times[which].append(dt * 1000)
                if rnd <= 1:
                    check(item, json.loads(got["rest"]), self.structured(got["mcp"]))
        out = {}
        for which, xs in times.items():
            out[which] = {
                "n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99),
                "mean": statistics.fmean(xs), "seq_rps": 1000 / statistics.fmean(xs),
            }
        self.results[f"{name}_latency"] = out

    def check_get(self, aid, rest, mcp):
        if rest["data"]["id"] != aid or mcp != rest["data"]:
            sys.exit(f"error: get {aid}: the MCP result differs from the REST data:\n"
                     f"{json.dumps(mcp)[:300]}\n{json.dumps(rest['data'])[:300]}")

    def check_search(self, q, rest, mcp):
        ids = lambda d: [x["id"] for x in d["articles"]]
        if ids(mcp) != ids(rest["data"]):
            sys.exit(f"error: search {q!r}: MCP {ids(mcp)} vs REST {ids(rest['data'])}")
        if rest["data"]["articles"]:
            self.hit_queries.add(q)

    # --- 2. CPU per call -----------------------------------------------------------------------
    def cpu(self, items, fn):
        c0 = self.server.cpu_seconds()
        for item in items:
            fn(item)
        c1 = self.server.cpu_seconds()
        return (c1 - c0) / len(items) * 1e6

    def cpu_pass(self, name, items, rest_fn, mcp_fn):
        # Twice each, alternating, so a drift in the machine's speed falls on both.
        r, m = [], []
        for _ in range(2):
            r.append(self.cpu(items, rest_fn))
            m.append(self.cpu(items, mcp_fn))
        self.results[f"{name}_cpu_us"] = {"rest": statistics.fmean(r), "mcp": statistics.fmean(m)}

    # --- 3. throughput -------------------------------------------------------------------------
    def wrk(self, label, lines, mode, tool="", threads=None, connections=None):
        a = self.a
        path = os.path.join(a.work, f"{label}.txt")
        with open(path, "w") as f:
            for line in lines:
                f.write(line + "\n")
        env = dict(os.environ, TOME_KEY=self.key, BENCH_LINES=path, BENCH_MODE=mode,
                   BENCH_TOOL=tool)
        cmd = ["wrk", f"-t{threads or a.threads}", f"-c{connections or a.connections}", "--latency",
               "-s", a.lua, f"http://{self.server.addr}"]
        subprocess.run(cmd[:1] + [f"-d{a.warmup}s"] + cmd[1:], env=env, capture_output=True,
                       check=True)
        c0 = self.server.cpu_seconds()
        p = subprocess.run(cmd[:1] + [f"-d{a.duration}s"] + cmd[1:], env=env, capture_output=True,
                           text=True)
        c1 = self.server.cpu_seconds()
        if p.returncode != 0 or "error" in p.stderr.lower():
            sys.exit(f"error: wrk failed:\n{p.stdout}\n{p.stderr}")
        out = p.stdout
        with open(os.path.join(a.work, f"{label}.wrk"), "w") as f:
            f.write(out)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        reqs = int(re.search(r"(\d+) requests in", out).group(1))
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)

        def ms(p):
            v = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            n, unit = float(v.group(1)), v.group(2)
            return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n

        self.results[f"{label}_wrk"] = {
            "rps": rps, "requests": reqs, "errors": errors, "p50": ms(50), "p99": ms(99),
            "cpu_us": (c1 - c0) / reqs * 1e6,
        }
        log(f"  {label}: {rps:,.0f} calls/s, p50 {ms(50):.2f} ms, p99 {ms(99):.2f} ms, "
            f"{errors} errors")

    def run(self):
        a = self.a
        self.setup()
        ids = self.ids
        log(f"latency: get, {len(ids)} articles × {a.rounds} rounds, REST and MCP alternating")
        self.latency("get", ids, self.rest_get,
                     lambda i: self.mcp_call("get_article", self.mcp_get_body(i)), self.check_get)
        log(f"latency: search, {len(self.queries)} queries × {a.rounds} rounds")
        self.latency("search", self.queries, self.rest_search,
                     lambda q: self.mcp_call("search_articles", self.mcp_search_body(q)),
                     self.check_search)
        log("server CPU per call (each alone, twice, alternating)")
        self.cpu_pass("get", ids, self.rest_get,
                      lambda i: self.mcp_call("get_article", self.mcp_get_body(i)))
        self.cpu_pass("search", self.queries, self.rest_search,
                      lambda q: self.mcp_call("search_articles", self.mcp_search_body(q)))
        log(f"latency, one connection without Python: wrk -t1 -c1 -d{a.duration}s per endpoint")
        for rnd in range(a.wrk_rounds):
            sfx = f"_{rnd}"
            self.wrk("rest_get_one" + sfx, [self.rest_get_path(i) for i in ids], "rest",
                     threads=1, connections=1)
            self.wrk("mcp_get_one" + sfx, [self.mcp_get_body(i) for i in ids], "mcp",
                     "get_article", threads=1, connections=1)
            self.wrk("rest_search_one" + sfx, [self.rest_search_path(q) for q in self.queries],
                     "rest", threads=1, connections=1)
            self.wrk("mcp_search_one" + sfx, [self.mcp_search_body(q) for q in self.queries],
                     "mcp", "search_articles", threads=1, connections=1)
        log(f"throughput: wrk -t{a.threads} -c{a.connections} -d{a.duration}s per endpoint")
        for rnd in range(a.wrk_rounds):
            sfx = f"_{rnd}"
            self.wrk("rest_get" + sfx, [self.rest_get_path(i) for i in ids], "rest")
            self.wrk("mcp_get" + sfx, [self.mcp_get_body(i) for i in ids], "mcp", "get_article")
            self.wrk("rest_search" + sfx, [self.rest_search_path(q) for q in self.queries], "rest")
            self.wrk("mcp_search" + sfx, [self.mcp_search_body(q) for q in self.queries], "mcp",
                     "search_articles")
        self.server.stop()
        self.report()

    # --- report --------------------------------------------------------------------------------
    def report(self):
        a, r = self.a, self.results
        lines = [a.header, ""]
        lines += [f"- {n}" for n in self.notes]
        lines.append(f"- search queries with at least one hit: {len(self.hit_queries)} of "
                     f"{len(self.queries)}")
        lines += ["", "Latency, one client, one request at a time (ms; REST and MCP alternating "
                  f"item by item; {a.rounds} rounds after a warm-up):", "",
                  "| call | n | p50 | p90 | p99 | mean | calls/s (sequential) | MCP ÷ REST p50 | p99 |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, rest_label, mcp_label in (
                ("get", "`GET /v1/kb/{kb}/articles/{id}`", "MCP `get_article`"),
                ("search", "`GET /v1/kb/{kb}/search?q=`", "MCP `search_articles`")):
            x = r[f"{name}_latency"]
            for which, label in (("rest", rest_label), ("mcp", mcp_label)):
                s = x[which]
                ratio = ("", "")
                if which == "mcp":
                    ratio = (f"**{s['p50'] / x['rest']['p50']:.2f}×**",
                             f"**{s['p99'] / x['rest']['p99']:.2f}×**")
                lines.append(f"| {label} | {s['n']:,} | {s['p50']:.3f} | {s['p90']:.3f} | "
                             f"{s['p99']:.3f} | {s['mean']:.3f} | {s['seq_rps']:,.0f} | "
                             f"{ratio[0]} | {ratio[1]} |")
        lines += ["", f"Latency, one connection, one request at a time, without Python: `wrk -t1 -c1 "
                  f"-d{a.duration}s --latency` (after a {a.warmup} s warm-up), {a.wrk_rounds} "
                  "round(s), the four alternating (ms):", "",
                  "| call | round | p50 | p99 | calls/s | MCP ÷ REST p50 | p99 |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for rnd in range(a.wrk_rounds):
            for name in ("get", "search"):
                rest = r[f"rest_{name}_one_{rnd}_wrk"]
                for which in ("rest", "mcp"):
                    w = r[f"{which}_{name}_one_{rnd}_wrk"]
                    ratio = ("", "")
                    if which == "mcp":
                        ratio = (f"**{w['p50'] / rest['p50']:.2f}×**",
                                 f"**{w['p99'] / rest['p99']:.2f}×**")
                    lines.append(f"| {which} {name} | {rnd + 1} | {w['p50']:.3f} | {w['p99']:.3f} "
                                 f"| {w['rps']:,.0f} | {ratio[0]} | {ratio[1]} |")
        lines += ["", "Server CPU per call, one client (µs; each endpoint alone, twice):", "",
                  "| call | REST | MCP | MCP ÷ REST |", "|---|---:|---:|---:|"]
        for name in ("get", "search"):
            c = r[f"{name}_cpu_us"]
            lines.append(f"| {name} | {c['rest']:.0f} | {c['mcp']:.0f} | "
                         f"{c['mcp'] / c['rest']:.2f}× |")
        lines += ["", f"Throughput, `wrk -t{a.threads} -c{a.connections} -d{a.duration}s --latency` "
                  f"(after a {a.warmup} s warm-up), {a.wrk_rounds} round(s), the four alternating; "
                  "server CPU from `/proc`:", "",
                  "| call | round | calls/s | p50 ms | p99 ms | server CPU µs/call | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for rnd in range(a.wrk_rounds):
            for label in ("rest_get", "mcp_get", "rest_search", "mcp_search"):
                w = r[f"{label}_{rnd}_wrk"]
                lines.append(f"| {label.replace('_', ' ')} | {rnd + 1} | {w['rps']:,.0f} | "
                             f"{w['p50']:.2f} | {w['p99']:.2f} | {w['cpu_us']:.0f} | "
                             f"{w['errors']} |")
        lines += ["", "MCP ÷ REST under load (mean over rounds):", ""]
        for name in ("get", "search"):
            rest = [r[f"rest_{name}_{i}_wrk"] for i in range(a.wrk_rounds)]
            mcp = [r[f"mcp_{name}_{i}_wrk"] for i in range(a.wrk_rounds)]
            f = lambda xs, k: statistics.fmean(x[k] for x in xs)
            lines.append(f"- {name}: calls/s {f(mcp, 'rps') / f(rest, 'rps'):.2f}×, "
                         f"p50 {f(mcp, 'p50') / f(rest, 'p50'):.2f}×, "
                         f"p99 {f(mcp, 'p99') / f(rest, 'p99'):.2f}×, "
                         f"CPU/call {f(mcp, 'cpu_us') / f(rest, 'cpu_us'):.2f}×")
        text = "\n".join(lines) + "\n"
        with open(a.results, "w") as f:
            f.write(text)
        with open(os.path.splitext(a.results)[0] + ".json", "w") as f:
            json.dump(r, f, indent=1)
        print()
        print(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tome", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--tldr", required=True)
    p.add_argument("--lua", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--header", default="## MCP benchmark")
    p.add_argument("--synchronous", default="full")
    p.add_argument("--articles", type=int, default=1000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--wrk-rounds", type=int, default=2)
    a = p.parse_args()
    b = Bench(a)
    try:
        b.run()
    finally:
        if hasattr(b, "server"):
            b.server.stop()


if __name__ == "__main__":
    main()
