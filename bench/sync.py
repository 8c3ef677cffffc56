#!/usr/bin/env python3
"""Docs-as-code update benchmark (driven by bench/sync.sh; see bench/README.md, "Updates from git").

In one run, on the Mintlify corpus and on the tldr pages (one folder per platform, Tome layout),
both as git repositories served by `git daemon` on 127.0.0.1, against a real `tome serve`:

  (a) first update (trigger → `success`) vs the floor `git clone --depth 1` + `tome import`;
  (b) no-change update (trigger again at the same commit) vs a bare `git fetch` of the repo;
  (c) one-file change at 7.4k pages: push a commit editing one tldr page, trigger, time to
      `success` (and to the edit being searchable); exactly one article's updated_at may change;
  (d) peak RSS: the server's peak during each job (VmHWM, reset through /proc/PID/clear_refs),
      and `tome update --wait` run as the job process under `/usr/bin/time -v`.

Where the time goes comes from the update's own logs (each line carries the seconds since the
job started): fetch, tree read (changed files + file contents), format read, load (the KB's
content and path map), planning (the diff), the apply transaction (to `endedAt`), and the
catch-up (`endedAt` to the status saying `success`, once the search index and caches hold it).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime

GIT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
GIT_ENV.update(
    GIT_CONFIG_NOSYSTEM="1",
    GIT_AUTHOR_NAME="Bench",
    GIT_AUTHOR_EMAIL="bench@example.com",
    GIT_COMMITTER_NAME="Bench",
    GIT_COMMITTER_EMAIL="bench@example.com",
)
TOME_ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOME_")}


def log(msg):
    print(f"==> {msg}", flush=True)


def git(*args, cwd=None):
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True,
    ).stdout


def timed(cmd, **kw):
    """Runs cmd; returns (seconds, stdout). Fails loudly."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return dt, p.stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def iso_ms(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Api:
    """The admin API over one keep-alive connection."""

    def __init__(self, base, key):
        self.host, self.port = base.removeprefix("http://").split(":")
        self.key = key
        self.conn = None

    def call(self, method, path, body=None):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
                data = None if body is None else json.dumps(body).encode()
                self.conn.request(method, path, body=data, headers={
                    "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None, want=(200, 201, 202, 204)):
        status, out = self.call(method, path, body)
        if status not in want:
            sys.exit(f"error: {method} {path} → {status}: {out}")
        return out

    def articles(self, kb):
        out, cursor = {}, None
        while True:
            q = f"/v1/kb/{kb}/articles?limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = self.ok("GET", q)
            for a in page["data"]:
                out[a["id"]] = a
            if not page["pagination"]["has_more"]:
                return out
            cursor = page["pagination"]["next_cursor"]


class Server:
    def __init__(self, tome, data, logs, extra=()):
        self.tome, self.data, self.logs = tome, data, logs
        self.out = open(f"{logs}.out", "w")
        self.err = open(f"{logs}.err", "w")
        self.proc = subprocess.Popen(
            [tome, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--log-format", "json",
             "--sync-allow-private", "--admin-rate-limit", "1000000", *extra],
            stdout=self.out, stderr=self.err, env=TOME_ENV)
        addr = key = None
        for _ in range(300):
            text = open(f"{logs}.err").read()
            m = re.search(r'"addr":"([^"]+)"', text)
            k = re.search(r"tome_[0-9A-Za-z]{38}", open(f"{logs}.out").read())
            if m and (k or key):
                addr, key = m.group(1), k.group(0) if k else key
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if not addr:
            sys.exit(f"error: tome serve did not start:\n{open(f'{logs}.err').read()}")
        self.api = Api(f"http://{addr}", key)

    def reset_peak(self):
        # Writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS (Linux ≥ 4.0).
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def mem_kib(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


PHASES = [
    ("fetch", re.compile(r"^fetching "), re.compile(r"^at commit ")),
    ("tree read", re.compile(r"^at commit "), re.compile(r"^\d+ files read")),
    ("format read", re.compile(r"^\d+ files read"), re.compile(r"^read as ")),
    ("load", re.compile(r"^read as "), re.compile(r"^the knowledge base now: ")),
    ("plan", re.compile(r"^the knowledge base now: "), re.compile(r"^applying: ")),
]


def phases(status):
    """Seconds per phase from the job's log lines ("[  0.12s] text"), plus queue wait and apply."""
    at = []
    for line in status.get("logs") or []:
        m = re.match(r"^\[\s*([0-9.]+)s\] (.*)$", line)
        if m:
            at.append((float(m.group(1)), m.group(2)))
    # Log times have 10 ms steps; a phase never takes less than nothing.

    def first(rx):
        return next((t for t, text in at if rx.search(text)), None)

    out = {}
    for name, start, end in PHASES:
        a, b = first(start), first(end)
        out[name] = (b - a) if a is not None and b is not None else None
    created, started, ended = (iso_ms(status[k]) if status.get(k) else None
                               for k in ("createdAt", "startedAt", "endedAt"))
    applying = first(re.compile(r"^applying: "))
    out["queue"] = (started - created) if started and created else None
    out["apply"] = max(0.0, ended - started - applying) if ended and started and applying is not None else None
    out["job"] = (ended - started) if ended and started else None
    out["catch-up"] = (status["_seen"] - ended) if ended and status.get("_seen") else None
    out["to end"] = (ended - created) if ended and created else None
    return out


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.work
        self.rows = []      # result table rows
        self.notes = []
        self.detail = []    # per-run lines

    # --- corpora -----------------------------------------------------------------------------
    def make_repos(self):
        repos = os.path.join(self.work, "repos")
        src = os.path.join(self.work, "src")
        os.makedirs(repos)
        os.makedirs(src)
        mint = os.path.join(src, "mintlify")
        shutil.copytree(self.a.mintlify, mint)
        tldr = os.path.join(src, "tldr")
        self.tldr_titles = {}
        with open(self.a.tldr, encoding="utf-8") as f:
            for line in f:
                page = json.loads(line)
                folder = os.path.join(tldr, page["category"])
                os.makedirs(folder, exist_ok=True)
                name = os.path.splitext(os.path.basename(page["path"]))[0]
                rel = f"{page['category']}/{name}.md"
                self.tldr_titles[rel] = page["title"]
                with open(os.path.join(tldr, rel), "w", encoding="utf-8") as md:
                    md.write(f"---\ntitle: {json.dumps(page['title'], ensure_ascii=False)}\n"
                             f"excerpt: {json.dumps(page['excerpt'][:500], ensure_ascii=False)}\n"
                             f"---\n\n{page['body']}")
        for name in ("mintlify", "tldr"):
            tree = os.path.join(src, name)
            git("init", "-q", cwd=tree)
            git("add", "-A", cwd=tree)
            git("commit", "-q", "-m", f"{name} corpus", cwd=tree)
            git("clone", "-q", "--bare", tree, os.path.join(repos, f"{name}.git"))
            git("remote", "add", "origin", os.path.join(repos, f"{name}.git"), cwd=tree)
        self.src = src
        self.repos = repos
        self.counts = {name: int(git("ls-files", "-z", cwd=os.path.join(src, name)).count("\0"))
                       for name in ("mintlify", "tldr")}

    def start_daemon(self):
        port = free_port()
        self.daemon = subprocess.Popen(
            ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={self.repos}",
             "--listen=127.0.0.1", f"--port={port}", self.repos],
            env=GIT_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("error: git daemon did not start")
        self.git_url = lambda name: f"git://127.0.0.1:{port}/{name}.git"

    # --- updates -----------------------------------------------------------------------------
    def new_kb(self, api, slug, name):
        kb = api.ok("POST", "/v1/kb", {"title": slug, "slug": slug, "is_public": True})["data"]["id"]
        api.ok("PUT", f"/v1/kb/{kb}/source", {"type": "git", "url": self.git_url(name), "format": "auto"})
        return kb

    def update(self, server, kb):
        """Trigger → final status; returns (seconds, status, peak RSS KiB of the server)."""
        api = server.api
        server.reset_peak()
        t0 = time.perf_counter()
        out = api.ok("POST", f"/v1/project/update/{self.project}?kb_id={kb}")
        sid = out["statusId"]
        while True:
            _, st = api.call("GET", f"/v1/project/update-status/{sid}")
            if st["status"] in ("success", "failure"):
                break
            time.sleep(0.005)
        dt = time.perf_counter() - t0
        # The status answers `success` only once this node's search index and caches have
        # caught up with the update: the time from `endedAt` to that answer is the catch-up.
        st["_seen"] = time.time()
        peak = server.mem_kib().get("VmHWM")
        if st["status"] != "success":
            sys.exit(f"error: update {sid} failed: {st.get('summary')}\n" + "\n".join(st.get("logs") or []))
        return dt, st, peak

    def record(self, corpus, what, secs, st, peak):
        ph = phases(st)
        fmt = lambda v: "—" if v is None else f"{v * 1000:.0f}"
        self.detail.append(
            f"| {corpus} | {what} | {secs * 1000:.0f} | {fmt(ph['queue'])} | {fmt(ph['fetch'])} | "
            f"{fmt(ph['tree read'])} | {fmt(ph['format read'])} | {fmt(ph['load'])} | {fmt(ph['plan'])} | "
            f"{fmt(ph['apply'])} | {fmt(ph['job'])} | {fmt(ph['catch-up'])} | {peak // 1024 if peak else '—'} |")
        return ph

    def run(self):
        a = self.a
        log("making the git repositories")
        self.make_repos()
        self.start_daemon()
        log(f"git daemon serving {self.repos}")
        data = os.path.join(self.work, "data")
        server = Server(a.tome, data, os.path.join(self.work, "server"),
                        ["--sqlite-synchronous", a.synchronous])
        self.server = server
        self.project = server.api.ok("GET", "/v1/project")["data"]["id"]
        base_rss = server.mem_kib()
        self.notes.append(f"server RSS at start: {base_rss.get('VmRSS', 0) // 1024} MiB")
        kept = {}
        clones = {}
        for corpus in ("mintlify", "tldr"):
            # (a) first update vs git clone --depth 1 + tome import, alternating.
            firsts, floors, clone_t, import_t, ends = [], [], [], [], []
            for rep in range(a.reps_first):
                floor_dir = os.path.join(self.work, f"floor-{corpus}-{rep}")
                fp = json.loads(timed([a.tome, "project", "create", "--name", "floor", "--json",
                                       "--data-dir", floor_dir], env=TOME_ENV)[1])["id"]
                clone = os.path.join(self.work, f"clone-{corpus}")
                shutil.rmtree(clone, ignore_errors=True)
                tc, _ = timed(["git", "clone", "-q", "--depth", "1", "--branch", "main",
                               self.git_url(corpus), clone], env=GIT_ENV)
                ti, _ = timed([a.tome, "import", "--project", fp, "--from", clone,
                               "--slug", f"{corpus}-floor", "--exclude", ".git",
                               "--default-status", "published", "--data-dir", floor_dir,
                               "--sqlite-synchronous", a.synchronous], env=TOME_ENV)
                clone_t.append(tc)
                import_t.append(ti)
                floors.append(tc + ti)
                shutil.rmtree(floor_dir, ignore_errors=True)
                clones[corpus] = clone

                kb = self.new_kb(server.api, f"{corpus}-{rep}", corpus)
                secs, st, peak = self.update(server, kb)
                self.record(corpus, f"first update #{rep + 1}", secs, st, peak)
                firsts.append(secs)
                ends.append(phases(st)["to end"])
                log(f"{corpus} first update {secs:.3f} s (floor {tc:.3f} + {ti:.3f} s): {st['summary']}")
                if rep < a.reps_first - 1:
                    server.api.ok("DELETE", f"/v1/kb/{kb}")
                else:
                    kept[corpus] = kb
            f, fl = median(firsts), median(floors)
            self.rows.append((corpus, "(a) first update, trigger → success",
                              f"`git clone --depth 1` + `tome import`: {fl:.3f} s "
                              f"({median(clone_t):.3f} + {median(import_t):.3f})",
                              f"{f:.3f} s", f / fl, "≤ 1.5×", f / fl <= 1.5))
            e = median(ends)
            self.rows.append((corpus, "(a′) first update, trigger → `endedAt` (committed; before the index catch-up)",
                              f"same floor: {fl:.3f} s", f"{e:.3f} s", e / fl, "—", None))

            # (b) no-change update vs a bare git fetch at the same commit.
            kb = kept[corpus]
            before = server.api.articles(kb)
            nochange, fetches = [], []
            for rep in range(a.reps_nochange):
                tf, _ = timed(["git", "-C", clones[corpus], "fetch", "-q", "origin"], env=GIT_ENV)
                fetches.append(tf)
                secs, st, peak = self.update(server, kb)
                self.record(corpus, f"no change #{rep + 1}", secs, st, peak)
                fc = st["commit"]["filesChanged"]
                if fc["added"] or fc["modified"] or fc["removed"]:
                    sys.exit(f"error: a no-change update reported changes: {fc}")
                nochange.append(secs)
            after = server.api.articles(kb)
            touched = [i for i in before if after.get(i, {}).get("updated_at") != before[i]["updated_at"]]
            if touched or len(after) != len(before):
                sys.exit(f"error: no-change updates touched {len(touched)} articles")
            n, g = median(nochange), median(fetches)
            self.rows.append((corpus, "(b) no-change update, trigger → success",
                              f"`git fetch` (same commit): {g:.3f} s", f"{n:.3f} s", n / g, "≤ 1.2×",
                              n / g <= 1.2))
            log(f"{corpus} no-change update {n:.3f} s vs git fetch {g:.3f} s")

        # (c) one-file change at 7.4k pages.
        kb = kept["tldr"]
        tree = os.path.join(self.src, "tldr")
        picks = ["common/tar.md", "linux/apt.md", "osx/brew.md", "common/git-commit.md", "windows/dir.md"]
        picks = [p for p in picks if os.path.exists(os.path.join(tree, p))][: a.reps_change]
        changes, searchable, change_fetches = [], [], []
        for rep, rel in enumerate(picks):
            token = f"zqbench{rep}x{int(time.time())}"
            with open(os.path.join(tree, rel), "a", encoding="utf-8") as f:
                f.write(f"\n- Print the bench marker {token}:\n\n`echo {token}`\n")
            git("commit", "-q", "-am", f"Edit {rel}", cwd=tree)
            git("push", "-q", "origin", "main", cwd=tree)
            before = server.api.articles(kb)
            target = [i for i, x in before.items() if x["title"] == self.tldr_titles[rel]]
            t0 = time.perf_counter()
            secs, st, peak = self.update(server, kb)
            # Searchable: the first search for the new word that finds the edited article.
            found = False
            while time.perf_counter() - t0 < 30:
                _, res = server.api.call("GET", f"/v1/kb/{kb}/search?q={token}")
                hits = (res or {}).get("data", {}).get("articles", []) if isinstance(res, dict) else []
                if any(h["id"] in target for h in hits):
                    found = True
                    break
                time.sleep(0.005)
            ts = time.perf_counter() - t0 if found else float("nan")
            self.record("tldr", f"one-file change #{rep + 1}", secs, st, peak)
            # For scale: a plain `git fetch` of the same new commit into the floor's clone.
            tf, _ = timed(["git", "-C", clones["tldr"], "fetch", "-q", "--depth", "1", "origin", "main"],
                          env=GIT_ENV)
            change_fetches.append(tf)
            after = server.api.articles(kb)
            touched = [after[i] for i in after if i not in before or before[i]["updated_at"] != after[i]["updated_at"]]
            fc = st["commit"]["filesChanged"]
            ok = (len(touched) == 1 and touched[0]["title"] == self.tldr_titles[rel]
                  and fc == {"added": [], "modified": [rel], "removed": []} and len(after) == len(before))
            if not ok:
                sys.exit(f"error: the one-file change touched {[t['title'] for t in touched]}; filesChanged {fc}")
            changes.append(secs)
            searchable.append(ts)
            log(f"tldr one-file change ({rel}) {secs:.3f} s, searchable after {ts:.3f} s: {st['summary']}")
        c = median(changes)
        self.rows.append(("tldr", "(c) one-file change, trigger → success",
                          f"— (max {max(changes):.3f} s; exactly 1 article's `updated_at` changed, every run)",
                          f"{c:.3f} s", None, "< 1 s", max(changes) < 1.0))
        self.rows.append(("tldr", "(c′) the edit searchable, trigger → first search hit", "—",
                          f"{median(searchable):.3f} s", None, "—", None))
        self.notes.append(f"for scale, `git fetch --depth 1` of each one-file commit into a clone: "
                          f"median {median(change_fetches) * 1000:.0f} ms")

        # (d) the job as its own process: tome update --wait under /usr/bin/time -v.
        rss_kbs = {c: self.new_kb(server.api, f"{c}-rss", c) for c in ("mintlify", "tldr")}
        server.stop()
        self.rss = []
        for corpus in ("mintlify", "tldr"):
            self.rss.append((corpus, "first update") + self.cli_update(data, rss_kbs[corpus]))
            self.rss.append((corpus, "no change") + self.cli_update(data, rss_kbs[corpus]))
        rel = "common/ls.md"
        with open(os.path.join(tree, rel), "a", encoding="utf-8") as f:
            f.write("\n- One more line for the RSS run.\n")
        git("commit", "-q", "-am", f"Edit {rel}", cwd=tree)
        git("push", "-q", "origin", "main", cwd=tree)
        self.rss.append(("tldr", "one-file change") + self.cli_update(data, rss_kbs["tldr"]))
        self.daemon.terminate()
        self.daemon.wait()

    def cli_update(self, data, kb):
        p = subprocess.run(
            ["/usr/bin/time", "-v", self.a.tome, "update", "--project", self.project, "--kb", kb,
             "--wait", "--json", "--sync-allow-private", "--data-dir", data,
             "--sqlite-synchronous", self.a.synchronous],
            capture_output=True, text=True, env=TOME_ENV)
        if p.returncode != 0:
            sys.exit(f"error: tome update --wait failed:\n{p.stdout}\n{p.stderr}")
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)", p.stderr).group(1)
        secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
        start = p.stdout.find("[")
        status = json.loads(p.stdout[start:])[0] if start >= 0 else {}
        return rss, secs, status.get("summary", "")

    def report(self, header):
        out = [header, ""]
        out.append("| corpus | measure | baseline (same run) | Tome | × baseline | goal | met |")
        out.append("|---|---|---|---:|---:|---|---|")
        for corpus, what, base, val, ratio, goal, met in self.rows:
            r = "—" if ratio is None else f"{ratio:.2f}×"
            m = "—" if met is None else ("yes" if met else "**no**")
            out.append(f"| {corpus} | {what} | {base} | {val} | {r} | {goal} | {m} |")
        out += ["", "Each update, from the job's own logs (ms): queue = `createdAt`→`startedAt`; fetch = "
                "`git` fetch into the work copy; tree = changed files + reading every file of the "
                "commit; format = parsing them (Tome layout or Mintlify); load = reading the KB's content "
                "and path map from the database; plan = diffing; apply = the one transaction up to `endedAt`; catch-up = `endedAt` to "
                "the status answering `success`, which it does once the node's search index and caches "
                "hold the update. Peak RSS is the server's VmHWM during the job (reset before each "
                "trigger).", "",
                "| corpus | run | trigger → success | queue | fetch | tree | format | load | plan | apply | job | catch-up | server peak RSS MiB |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        out += self.detail
        out += ["", "`tome update --wait` as the job process, under `/usr/bin/time -v` (server stopped):", "",
                "| corpus | run | max RSS MiB | wall s | summary |", "|---|---|---:|---:|---|"]
        for corpus, what, rss, secs, summary in self.rss:
            out.append(f"| {corpus} | {what} | {rss / 1024:.0f} | {secs:.2f} | {summary} |")
        out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tome", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--mintlify", required=True)
    p.add_argument("--tldr", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--header", default="# Sync benchmark")
    p.add_argument("--synchronous", default="full", choices=["full", "normal"])
    p.add_argument("--reps-first", type=int, default=3)
    p.add_argument("--reps-nochange", type=int, default=5)
    p.add_argument("--reps-change", type=int, default=3)
    a = p.parse_args()
    b = Bench(a)
    try:
        b.run()
    finally:
        if getattr(b, "server", None):
            b.server.stop()
        if getattr(b, "daemon", None) and b.daemon.poll() is None:
            b.daemon.terminate()
            b.daemon.wait()
    b.notes.append(f"files in the repositories: Mintlify {b.counts['mintlify']}, tldr {b.counts['tldr']}")
    text = b.report(a.header)
    os.makedirs(os.path.dirname(a.results), exist_ok=True)
    with open(a.results, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
