#!/usr/bin/env python3
"""Dashboard benchmark (driven by bench/dashboard.sh; see bench/README.md, "Dashboard").

Against one real `tome serve` (SQLite) holding the 7,424 tldr pages in ONE knowledge base (Tome
layout: a category per platform, a section per first letter — about 200 sections — imported with
`tome import`), signed in to the dashboard as a
browser is (session cookie, CSRF token, `Sec-Fetch-Site: same-origin`), one client on one
keep-alive connection, one request at a time:

  1. the content tree page `GET /dashboard/kb/{kb}` next to the REST list it is drawn from
     (`GET /v1/kb/{kb}/articles?limit=100`), alternating;
  2. the search tester `GET /dashboard/kb/{kb}/search?q=…` next to the management search
     `GET /v1/kb/{kb}/search?q=…` on the same queries (derived from tldr descriptions), alternating;
  3. the article editor `GET /dashboard/kb/{kb}/articles/{id}` next to `GET /v1/kb/{kb}/articles/{id}`;
  4. the overview `GET /dashboard`;
  5. the editor's preview round trip `POST /dashboard/kb/{kb}/preview` with a 20 KB Markdown
     article (real tldr pages concatenated), next to the same request with a one-line body.

Latency is measured by the client to the last byte of the response over loopback, so it is the
server's time plus a loopback round trip. Goals (issue 25): p99 < 20 ms for the tree and search
pages, p99 < 30 ms for the preview of a 20 KB article. Standard library only.
"""

import argparse
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assistant import Server, cli, derived_queries, log, pct  # noqa: E402


def write_tldr_sections(jsonl, root):
    """The tldr pages in Tome's layout with sections: one folder per platform (a category), one
    sub-folder per first letter of the command (a section: `a`…`z`, `0-9`), so the tree has the
    shape of a large help centre — about 200 sections — rather than 11 flat categories."""
    pages = []
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            page = json.loads(line)
            name = os.path.splitext(os.path.basename(page["path"]))[0]
            first = name[:1].lower()
            section = first if first.isalpha() else "0-9"
            folder = os.path.join(root, page["category"], section)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{name}.md"), "w", encoding="utf-8") as md:
                md.write(f"---\ntitle: {json.dumps(page['title'], ensure_ascii=False)}\n"
                         f"excerpt: {json.dumps(page['excerpt'][:500], ensure_ascii=False)}\n"
                         f"---\n\n{page['body']}")
            pages.append(page)
    return pages


class Client:
    """One keep-alive connection that keeps the dashboard's cookies and CSRF token."""

    def __init__(self, addr):
        self.host, port = addr.split(":")
        self.port = int(port)
        self.conn = None
        self.cookies = {}
        self.csrf = None

    def call(self, method, path, body=None, headers=None):
        hdrs = {"Sec-Fetch-Site": "same-origin"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs.update(headers or {})
        data = body.encode() if isinstance(body, str) else body
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=hdrs)
        r = self.conn.getresponse()
        raw = r.read()
        dt = time.perf_counter() - t0
        for value in r.headers.get_all("Set-Cookie") or []:
            pair = value.split(";", 1)[0]
            name, _, v = pair.partition("=")
            if "Max-Age=0" in value or not v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = v
        m = re.search(rb'name="_csrf" value="([^"]+)"', raw)
        if m:
            self.csrf = m.group(1).decode()
        if r.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r.status, raw, dt

    def form(self, path, fields):
        body = urllib.parse.urlencode(fields)
        return self.call("POST", path, body,
                         {"Content-Type": "application/x-www-form-urlencoded"})


def summary(xs):
    ms = [x * 1000 for x in xs]
    return {"n": len(ms), "p50": pct(ms, 50), "p90": pct(ms, 90), "p99": pct(ms, 99),
            "max": max(ms) if ms else float("nan")}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tome", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--tldr", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--header", default="# Dashboard benchmark")
    p.add_argument("--synchronous", default="full")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--queries", type=int, default=300)
    a = p.parse_args()

    data = os.path.join(a.work, "data")
    log("writing the tldr pages in Tome's layout, a section per first letter")
    pages = write_tldr_sections(a.tldr, os.path.join(a.work, "tldr"))
    project = cli(a.tome, data, "project", "create", "--name", "bench")["id"]
    log("importing tldr into one knowledge base")
    imp = cli(a.tome, data, "import", "--project", project, "--from", os.path.join(a.work, "tldr"),
              "--format", "tome", "--slug", "tldr", "--title", "tldr", "--default-status",
              "published", "--sqlite-synchronous", a.synchronous)
    articles = imp["counts"]["articles"]
    sections = imp["counts"].get("sections", 0)
    key = cli(a.tome, data, "key", "create", "--project", project, "--kind", "admin")["key"]
    server = Server(a.tome, data, os.path.join(a.work, "serve"), a.synchronous)
    results, notes = {}, [f"{articles:,} articles in {sections} sections of "
                          f"{imp['counts'].get('categories', 0)} categories, in one knowledge base"]
    try:
        api = Client(server.addr)
        auth = {"Authorization": f"Bearer {key}"}
        status, raw, _ = api.call("GET", "/v1/kb?limit=100", headers=auth)
        kb = next(k for k in json.loads(raw)["data"] if k["slug"] == "tldr")["id"]
        status, raw, _ = api.call("GET", f"/v1/kb/{kb}/articles?limit=100", headers=auth)
        sample = [x["id"] for x in json.loads(raw)["data"]]

        dash = Client(server.addr)
        dash.call("GET", "/dashboard/sign-in")
        status, _, _ = dash.form("/dashboard/sign-in", {"key": key, "next": "/dashboard"})
        if status != 303:
            sys.exit(f"error: sign-in answered {status}")
        status, raw, _ = dash.call("GET", "/dashboard")
        if status != 200 or not dash.csrf:
            sys.exit(f"error: overview answered {status} without a CSRF token")

        def pair(name, dash_path, api_path, rounds):
            d, r = [], []
            for i in range(rounds + 5):
                s1, body, t1 = dash.call("GET", dash_path(i))
                s2, _, t2 = api.call("GET", api_path(i), headers=auth)
                if s1 != 200 or s2 != 200:
                    sys.exit(f"error: {name}: dashboard {s1}, API {s2} ({dash_path(i)})\n{body[:500]!r}")
                if i >= 5:   # warm-up
                    d.append(t1)
                    r.append(t2)
            results[name] = {"dashboard": summary(d), "api": summary(r)}
            log(f"{name}: dashboard p50 {results[name]['dashboard']['p50']:.2f} ms, "
                f"p99 {results[name]['dashboard']['p99']:.2f} ms; API p99 {results[name]['api']['p99']:.2f} ms")

        log("content tree")
        pair("tree", lambda i: f"/dashboard/kb/{kb}", lambda i: f"/v1/kb/{kb}/articles?limit=100",
             a.rounds)
        queries = derived_queries(pages, a.queries)
        log(f"search page ({len(queries)} queries)")
        q = lambda i: urllib.parse.quote(queries[i % len(queries)])  # noqa: E731
        pair("search", lambda i: f"/dashboard/kb/{kb}/search?q={q(i)}",
             lambda i: f"/v1/kb/{kb}/search?q={q(i)}", max(a.rounds, len(queries)))
        log("article editor")
        pair("editor", lambda i: f"/dashboard/kb/{kb}/articles/{sample[i % len(sample)]}",
             lambda i: f"/v1/kb/{kb}/articles/{sample[i % len(sample)]}", a.rounds)
        log("overview")
        pair("overview", lambda i: "/dashboard", lambda i: "/v1/usage", a.rounds)

        log("preview of a 20 KB article")
        big, i = [], 0
        while sum(len(x) for x in big) < 20 * 1024:
            big.append(f"## {pages[i]['title']}\n\n{pages[i]['body']}\n")
            i += 1
        markdown = "\n".join(big)[:20 * 1024]
        notes.append(f"preview body: {len(markdown.encode()):,} bytes of Markdown ({i} tldr pages)")
        big_t, small_t = [], []
        preview_bytes = 0
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": dash.csrf}
        for n in range(a.rounds + 5):
            for text, into in ((markdown, big_t), ("One *line*.", small_t)):
                status, raw, dt = dash.call("POST", f"/dashboard/kb/{kb}/preview",
                                            urllib.parse.urlencode({"body": text}), hdrs)
                if status != 200:
                    sys.exit(f"error: preview answered {status}: {raw[:300]!r}")
                # The whole article was rendered: one <h2> per page put in.
                if text is markdown and raw.count(b"<h2") < i:
                    sys.exit(f"error: the preview rendered {raw.count(b'<h2')} of {i} headings")
                if n >= 5:
                    into.append(dt)
                if text is markdown:
                    preview_bytes = len(raw)
        results["preview"] = {"dashboard": summary(big_t), "api": summary(small_t)}
        notes.append(f"preview answer: {preview_bytes:,} bytes of sanitised HTML")
        log(f"preview: 20 KB p50 {results['preview']['dashboard']['p50']:.2f} ms, "
            f"p99 {results['preview']['dashboard']['p99']:.2f} ms")
    finally:
        server.stop()

    goals = {"tree": 20, "search": 20, "preview": 30}
    lines = [a.header, "", *[f"- {n}" for n in notes], "",
             "| page | dashboard p50 | p90 | p99 | baseline (same run) | baseline p50 | p99 | p50 ratio | goal (p99) |",
             "|---|---|---|---|---|---|---|---|---|"]
    baseline = {"tree": "`GET /v1/kb/{kb}/articles?limit=100`",
                "search": "`GET /v1/kb/{kb}/search` (same queries)",
                "editor": "`GET /v1/kb/{kb}/articles/{id}`",
                "overview": "`GET /v1/usage`",
                "preview": "the same POST with a one-line body"}
    for name in ("tree", "search", "editor", "overview", "preview"):
        d, r = results[name]["dashboard"], results[name]["api"]
        goal = goals.get(name)
        verdict = "" if goal is None else (f"< {goal} ms: **met** ({goal / d['p99']:.1f}× margin)"
                                           if d["p99"] < goal else f"< {goal} ms: **not met**")
        lines.append(f"| {name} | {d['p50']:.2f} ms | {d['p90']:.2f} ms | {d['p99']:.2f} ms | {baseline[name]} | "
                     f"{r['p50']:.2f} ms | {r['p99']:.2f} ms | {d['p50'] / r['p50']:.2f}× | {verdict} |")
    lines.append("")
    text = "\n".join(lines)
    with open(a.results, "w") as f:
        f.write(text)
    with open(os.path.splitext(a.results)[0] + ".json", "w") as f:
        json.dump(results, f, indent=2)
    print(text)


if __name__ == "__main__":
    main()
