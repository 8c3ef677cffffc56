#!/usr/bin/env python3
"""Checks questions.json (the assistant's grounding and benchmark question sets) against the corpora.

Usage (from anywhere):  python3 crates/tome/tests/assistant/check_questions.py [--corpora DIR]

DIR defaults to the shared corpora beside the repository (`<repo>/../shared/corpora`), or
$TOME_CORPORA when set. Checks, and exits 1 listing every failure:
  - the structure: the four sets, the fields of each entry, their types, no empty text, no
    duplicate question within a set, the minimum counts;
  - every expected Mintlify page exists (`<path>.mdx` or `.md`) and is in docs.json's navigation
    (pages outside it are not imported), and its `title` is the page's front-matter title (what
    `tome import --format mintlify` calls the article);
  - every expected tldr page is a line of tldr/pages-en.jsonl (`<platform>/<command>` from its
    `path`), and its `title` is that line's `title` (what the bench and tests call the article);
  - `title` (and `first_title`/`then_title`) lists one title per expected page, in order.
Then prints the counts, and the expected titles that more than one imported page carries (a
test that matches sources by title alone cannot tell those apart; match on the path or the
category too).
Standard library only.
"""

import argparse
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
MINIMUM = {"mintlify": 30, "tldr": 20, "followups": 6, "unanswerable": 20}
CORPORA = ("mintlify", "tldr")


def yaml_scalar(raw):
    """The value of a one-line YAML scalar: plain, 'single' or "double" quoted."""
    raw = raw.strip()
    if raw.startswith('"'):
        end = raw.rfind('"')
        # YAML double-quoted escapes are a superset of JSON's; the corpus uses JSON's.
        return json.loads(raw[: end + 1])
    if raw.startswith("'"):
        end = raw.rfind("'")
        return raw[1:end].replace("''", "'")
    return re.sub(r"\s+#.*$", "", raw).strip()


def humanize(name):
    """Tome's fallback title from a file name (tome-sync archive::names::humanize)."""
    spaced = " ".join(name.replace("-", " ").replace("_", " ").split())
    return spaced[:1].upper() + spaced[1:] if spaced else name


def mintlify_title(path):
    """The article title of a Mintlify page file: front-matter `title`, else the first `# `
    heading, else the humanized file name (as crates/tome-sync/src/formats/mintlify does)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    body = text
    m = re.match(r"---\r?\n(.*?)\r?\n---\r?\n?", text, re.S)
    if m:
        body = text[m.end():]
        t = re.search(r"^title:[ \t]*(.+)$", m.group(1), re.M)
        if t and yaml_scalar(t.group(1)):
            return yaml_scalar(t.group(1))
    h = re.search(r"^# +(.+?)\s*#*\s*$", body, re.M)
    if h:
        return h.group(1)
    return humanize(os.path.splitext(os.path.basename(path))[0])


def navigation_pages(docs_json):
    """Page paths in docs.json's navigation: the default (else first) language and version,
    every tab/anchor/dropdown/product/menu item, group roots and pages (`$ref` is not used by
    this corpus and not followed)."""
    with open(docs_json, encoding="utf-8") as f:
        nav = json.load(f)["navigation"]
    pages = []

    def pick(items):
        return next((x for x in items if isinstance(x, dict) and x.get("default")), items[0])

    def walk(node):
        if isinstance(node, str):
            pages.append(node.lstrip("/"))
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key in ("languages", "versions"):
                if node.get(key):
                    walk(pick(node[key]))
            if isinstance(node.get("root"), str):
                pages.append(node["root"].lstrip("/"))
            for key in ("tabs", "anchors", "dropdowns", "products", "menu", "items",
                        "groups", "pages"):
                if key in node:
                    walk(node[key])

    walk(nav)
    return pages


class Corpora:
    def __init__(self, base):
        self.base = base
        mint = os.path.join(base, "mintlify-docs")
        self.mint_dir = mint
        self.mint_nav = set(navigation_pages(os.path.join(mint, "docs.json")))
        self.mint_titles = {}
        for page in self.mint_nav:
            for ext in (".mdx", ".md"):
                f = os.path.join(mint, page + ext)
                if os.path.isfile(f):
                    self.mint_titles[page] = mintlify_title(f)
                    break
        self.tldr_titles = {}
        with open(os.path.join(base, "tldr", "pages-en.jsonl"), encoding="utf-8") as f:
            for line in f:
                page = json.loads(line)
                name = os.path.splitext(os.path.basename(page["path"]))[0]
                self.tldr_titles[f"{page['category']}/{name}"] = page["title"]

    def mint_exists(self, page):
        return any(os.path.isfile(os.path.join(self.mint_dir, page + ext)) for ext in (".mdx", ".md"))

    def title(self, corpus, page):
        return (self.mint_titles if corpus == "mintlify" else self.tldr_titles).get(page)


def check(data, corpora):
    errors = []

    def err(where, msg):
        errors.append(f"{where}: {msg}")

    def text(where, entry, key):
        v = entry.get(key)
        if not isinstance(v, str) or not v.strip():
            err(where, f"`{key}` must be non-empty text")
            return None
        return v

    def pages(where, corpus, entry, key, title_key):
        exp = entry.get(key)
        if not isinstance(exp, list) or not exp or not all(isinstance(p, str) for p in exp):
            err(where, f"`{key}` must be a non-empty list of page paths")
            return
        if len(set(exp)) != len(exp):
            err(where, f"`{key}` lists a page twice")
        for page in exp:
            if page.endswith((".md", ".mdx")) or page.startswith("/"):
                err(where, f"{page!r}: write the path without a leading / or an extension")
            elif corpus == "mintlify":
                if not corpora.mint_exists(page):
                    err(where, f"{page!r}: no such page in mintlify-docs")
                elif page not in corpora.mint_nav:
                    err(where, f"{page!r}: not in docs.json's navigation (so never imported)")
            elif page not in corpora.tldr_titles:
                err(where, f"{page!r}: no such tldr page (want <platform>/<command>)")
        want = [corpora.title(corpus, p) for p in exp]
        got = entry.get(title_key)
        if None not in want and got != want:
            err(where, f"`{title_key}` is {got!r}; the pages are titled {want!r}")

    for name, low in MINIMUM.items():
        if not isinstance(data.get(name), list):
            err(name, "missing, or not a list")
            data[name] = []
        elif len(data[name]) < low:
            err(name, f"{len(data[name])} entries, at least {low} wanted")
    extra = set(data) - set(MINIMUM)
    if extra:
        err("questions.json", f"unknown sets {sorted(extra)}")

    for corpus in CORPORA:
        seen = set()
        for i, e in enumerate(data[corpus]):
            where = f"{corpus}[{i}]"
            if not isinstance(e, dict):
                err(where, "must be an object")
                continue
            unknown = set(e) - {"q", "expect", "title", "note"}
            if unknown:
                err(where, f"unknown fields {sorted(unknown)}")
            q = text(where, e, "q")
            if q and q.lower() in seen:
                err(where, f"duplicate question {q!r}")
            seen.add((q or "").lower())
            if "note" in e:
                text(where, e, "note")
            pages(where, corpus, e, "expect", "title")

    for i, e in enumerate(data["followups"]):
        where = f"followups[{i}]"
        if not isinstance(e, dict):
            err(where, "must be an object")
            continue
        unknown = set(e) - {"first", "first_expect", "first_title", "then", "then_expect",
                            "then_title", "corpus", "note"}
        if unknown:
            err(where, f"unknown fields {sorted(unknown)}")
        corpus = e.get("corpus")
        if corpus not in CORPORA:
            err(where, f"`corpus` must be one of {CORPORA}")
            continue
        text(where, e, "first")
        text(where, e, "then")
        pages(where, corpus, e, "first_expect", "first_title")
        pages(where, corpus, e, "then_expect", "then_title")

    seen = set()
    for i, e in enumerate(data["unanswerable"]):
        where = f"unanswerable[{i}]"
        if not isinstance(e, dict):
            err(where, "must be an object")
            continue
        unknown = set(e) - {"q", "note"}
        if unknown:
            err(where, f"unknown fields {sorted(unknown)}")
        q = text(where, e, "q")
        if q and q.lower() in seen:
            err(where, f"duplicate question {q!r}")
        seen.add((q or "").lower())
    return errors


def ambiguous_titles(data, corpora):
    """Expected pages whose title another imported page of the same corpus also has."""
    counts = {c: collections.Counter(t.lower() for t in
                                     (corpora.mint_titles if c == "mintlify" else corpora.tldr_titles).values())
              for c in CORPORA}
    found = set()
    for corpus in CORPORA:
        for e in data[corpus]:
            found.update((corpus, p) for p in e["expect"])
    for e in data["followups"]:
        found.update((e["corpus"], p) for p in e["first_expect"] + e["then_expect"])
    return sorted((c, p, corpora.title(c, p)) for c, p in found
                  if counts[c][corpora.title(c, p).lower()] > 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=os.environ.get("TOME_CORPORA") or
                    os.path.normpath(os.path.join(ROOT, "..", "shared", "corpora")))
    ap.add_argument("--file", default=os.path.join(HERE, "questions.json"))
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(a.corpora, "mintlify-docs", "docs.json")):
        sys.exit(f"error: no corpora at {a.corpora} (pass --corpora or set TOME_CORPORA)")
    with open(a.file, encoding="utf-8") as f:
        data = json.load(f)
    corpora = Corpora(a.corpora)
    errors = check(data, corpora)
    if errors:
        print(f"{len(errors)} problem(s) in {a.file}:", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        sys.exit(1)

    print(f"ok: {os.path.relpath(a.file)}")
    for name in MINIMUM:
        print(f"  {name}: {len(data[name])} (at least {MINIMUM[name]})")
    for corpus in CORPORA:
        multi = sum(1 for e in data[corpus] if len(e["expect"]) > 1)
        print(f"  {corpus}: {multi} with more than one expected page")
    by = collections.Counter(e["corpus"] for e in data["followups"])
    print(f"  followups by corpus: " + ", ".join(f"{c} {by[c]}" for c in CORPORA))
    grounded = len(data["mintlify"]) + len(data["tldr"])
    print(f"  answerable questions (mintlify + tldr): {grounded}")
    amb = ambiguous_titles(data, corpora)
    if amb:
        print("  expected pages whose title another page of the corpus also has "
              "(match on path/category, not the title alone):")
        for corpus, page, title in amb:
            print(f"    {corpus} {page}: {title!r}")


if __name__ == "__main__":
    main()
