#!/usr/bin/env python3
"""Imports a Mintlify docs folder (e.g. ../shared/corpora/mintlify-docs) into a Tome knowledge base.

Folders become categories (top level) and sections (second level); front matter gives titles and
excerpts; MDX components become plain Markdown: callouts (<Tip>, <Note>, <Warning>, ...) become
GitHub alerts, <Steps>/<Tabs> become headings, <Accordion> becomes <details>, <Card> a bold link,
parameter fields a definition line; imports, images and agent-only blocks are dropped. Internal
links (/path) are rewritten to the imported articles. Accordions on troubleshooting-style pages
that ask a question are also imported as FAQs, so the FAQ accordion shows real questions.

Usage: import-mintlify.py --api http://127.0.0.1:8080 --key tome_... --slug mintlify-docs \
         [--theme docs] [--dir ../shared/corpora/mintlify-docs]
Prints the KB id. Python standard library only.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

BODY_MAX = 100_000
ALERTS = {"Tip": "TIP", "Check": "TIP", "Note": "NOTE", "Info": "NOTE", "Warning": "WARNING", "Danger": "CAUTION"}
# Tags dropped with their content.
DROP_WITH_CONTENT = {"SetupAgentPrompt", "Prompt", "PreviewButton", "Color", "IconsOptional"}
ACRONYMS = {"api": "API", "ai": "AI", "cli": "CLI", "mcp": "MCP", "seo": "SEO", "sdk": "SDK"}


def api(base, key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    for _ in range(20):
        req = urllib.request.Request(base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + key)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(int(e.headers.get("Retry-After", "2")))
                continue
            raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()[:500]}")
    raise SystemExit(f"{method} {path}: still rate limited")


def titleize(name):
    words = name.replace("_", "-").split("-")
    out = [ACRONYMS.get(w, w) for w in words]
    out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def front_matter(text):
    meta = {}
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end > 0:
            for line in text[3:end].splitlines():
                m = re.match(r'^(\w+):\s*(.*)$', line)
                if m:
                    v = m.group(2).strip()
                    if len(v) >= 2 and v[0] == v[-1] == '"':
                        try:
                            v = json.loads(v)  # YAML double quotes escape like JSON strings
                        except ValueError:
                            v = v[1:-1]
                    elif len(v) >= 2 and v[0] == v[-1] == "'":
                        v = v[1:-1].replace("''", "'")
                    meta[m.group(1)] = v
            text = text[end + 4:]
    return meta, text


def attrs(tag):
    return {k: (a if a else b) for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|\{?\'([^\']*)\'\}?)', tag)}


INLINE = [
    (re.compile(r"<Tooltip[^>]*>(.*?)</Tooltip>", re.S), r"\1"),
    (re.compile(r"<Badge[^>]*>(.*?)</Badge>", re.S), r"`\1`"),
    (re.compile(r"<Icon[^>]*/>"), ""),
    (re.compile(r"<Tile[^>]*/>"), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images are not part of the corpus
    (re.compile(r"<img[^>]*>", re.I), ""),
    (re.compile(r"<video[^>]*>.*?</video>|<video[^>]*/>", re.I | re.S), ""),
    (re.compile(r"<iframe[^>]*>.*?</iframe>|<iframe[^>]*/>", re.I | re.S), ""),
    (re.compile(r"<[A-Z][\w.]*[^<>]*/>"), ""),  # other self-closing components
    (re.compile(r"</?[A-Z][\w.]*(\s[^<>]*)?>"), ""),  # any remaining component tag
    (re.compile(r"\{/\*.*?\*/\}", re.S), ""),  # MDX comments
]


def convert(body):
    """MDX → Markdown. Returns (markdown, faqs[(question, answer)])."""
    # Media tags span lines; the corpus ships no media files, so they go before line handling.
    body = re.sub(r"<(img|video|iframe)\b[^>]*?/?>(\s*</\1>)?", "", body, flags=re.S | re.I)
    lines = body.splitlines()
    out, faqs = [], []
    stack = []  # (tag, indent_removed, prefix)
    in_code = False
    step = [0]
    drop_depth = 0
    accordion = None  # (question, lines)
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        depth = sum(2 for _ in stack)
        line = raw
        stripped_lead = len(line) - len(line.lstrip(" "))
        line = line[min(depth, stripped_lead):]
        s = line.strip()
        if s.startswith("```"):
            in_code = not in_code
        if in_code or s.startswith("```"):
            if drop_depth == 0:
                emit(out, stack, line, accordion)
            continue
        if re.match(r"^(import|export)\s", s) and not stack:
            continue
        m = re.match(r"^<([A-Z][\w.]*)(.*)$", s)
        if m and not s.endswith("/>") or (m and s.endswith("/>") and False):
            tag = s
            while ">" not in tag.replace("=>", "") and i < len(lines):
                tag += " " + lines[i].strip()
                i += 1
            name = m.group(1)
            a = attrs(tag)
            selfclosing = tag.rstrip().endswith("/>")
            closing_inline = re.search(rf"</{re.escape(name)}>\s*$", tag)
            if selfclosing:
                continue
            if closing_inline:
                # One-line component: keep its text.
                text = re.sub(r"^<[^>]*>|</[^>]*>$", "", tag).strip()
                if name in ALERTS:
                    emit(out, stack, f"> [!{ALERTS[name]}]\n> {text}\n", accordion)
                elif drop_depth == 0 and text:
                    emit(out, stack, text, accordion)
                continue
            hidden = name == "Visibility" and a.get("for") == "agents"
            if drop_depth or hidden or name in DROP_WITH_CONTENT:
                drop_depth += 1
                stack.append((name, "drop"))
                continue
            kind = "plain"
            if name in ALERTS:
                emit(out, stack, "", accordion)
                stack.append((name, "alert"))
                emit(out, stack, f"[!{ALERTS[name]}]", accordion)
                continue
            if name == "Steps":
                step[0] = 0
            elif name == "Step":
                step[0] += 1
                emit(out, stack, f"\n### {step[0]}. {a.get('title', 'Step')}\n", accordion)
            elif name == "Tab":
                emit(out, stack, f"\n#### {a.get('title', 'Tab')}\n", accordion)
            elif name in ("Accordion", "Expandable"):
                title = a.get("title", "Details")
                if name == "Accordion" and accordion is None:
                    accordion = (title, [])
                    kind = "accordion"
                emit(out, stack, f"\n<details><summary>{html_escape(title)}</summary>\n", accordion if kind != "accordion" else None)
            elif name == "Card":
                title, href = a.get("title", ""), a.get("href", "")
                emit(out, stack, f"\n**[{title}]({href})**\n" if href else f"\n**{title}**\n", accordion)
            elif name in ("ParamField", "ResponseField"):
                field = a.get("name") or a.get("path") or a.get("body") or a.get("query") or a.get("header") or ""
                typ = a.get("type", "")
                req = " · required" if re.search(r"\brequired\b", tag) else ""
                emit(out, stack, f"\n**`{field}`** {('*' + typ + '*') if typ else ''}{req}\n", accordion)
            elif name == "Update":
                emit(out, stack, f"\n## {a.get('label', 'Update')}\n", accordion)
            elif name == "Frame" and a.get("caption"):
                emit(out, stack, f"\n*{a['caption']}*\n", accordion)
            stack.append((name, kind))
            continue
        m = re.match(r"^</([A-Z][\w.]*)>$", s)
        if m:
            if stack:
                name, kind = stack.pop()
                if kind == "drop":
                    drop_depth -= 1
                elif kind == "alert":
                    emit(out, stack, "", accordion)
                elif name in ("Accordion", "Expandable"):
                    if kind == "accordion" and accordion is not None:
                        q, body_lines = accordion
                        answer = "\n".join(body_lines).strip()
                        if answer:
                            faqs.append((q, answer))
                        accordion = None
                    emit(out, stack, "\n</details>\n", accordion)
            continue
        if drop_depth:
            continue
        for pattern, repl in INLINE:
            line = pattern.sub(repl, line)
        emit(out, stack, line, accordion)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text, faqs


def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def emit(out, stack, line, accordion):
    in_alert = any(kind == "alert" for _, kind in stack)
    for part in line.split("\n"):
        if accordion is not None:
            accordion[1].append(part)
        out.append(("> " + part).rstrip() if in_alert else part)


def truncate(md):
    if len(md) <= BODY_MAX:
        return md
    cut = md[: BODY_MAX - 200]
    at = cut.rfind("\n## ")
    cut = cut[:at] if at > BODY_MAX // 2 else cut[: cut.rfind("\n\n")]
    return cut.rstrip() + "\n\n*(Older entries are not included here.)*\n"


def link_rewriter(path_to_id):
    def fix(m):
        target = m.group(2).split("#")[0].rstrip("/")
        frag = "#" + m.group(2).split("#", 1)[1] if "#" in m.group(2) else ""
        if target in path_to_id:
            return f"{m.group(1)}({path_to_id[target]}{frag})"
        return f"{m.group(1)}(https://www.mintlify.com/docs{m.group(2)})"
    return lambda md: re.sub(r"(\[[^\]]*\])\((/[^)\s]*)\)", fix, md)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", default="http://127.0.0.1:8080")
    p.add_argument("--key", required=True)
    p.add_argument("--slug", default="mintlify-docs")
    p.add_argument("--title", default="Mintlify Documentation")
    p.add_argument("--theme", default="docs")
    p.add_argument("--dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora", "mintlify-docs"))
    p.add_argument("--max-faqs", type=int, default=40)
    args = p.parse_args()

    pages = []
    for root, dirs, files in os.walk(args.dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("snippets", "agent-context", "skills"))
        for f in sorted(files):
            if f.endswith(".mdx"):
                rel = os.path.relpath(os.path.join(root, f), args.dir)
                pages.append(rel)

    kb = api(args.api, args.key, "POST", "/v1/kb", {
        "title": args.title, "slug": args.slug, "is_public": True, "theme": args.theme,
        "description": "Guides, references and answers for building, deploying and growing a documentation site with Mintlify.",
    })["data"]
    kb_id = kb["id"]

    cats, secs = {}, {}
    items = []  # (rel, category_id, section_id, title, excerpt, body, faqs)
    for rel in pages:
        with open(os.path.join(args.dir, rel), encoding="utf-8") as fh:
            meta, body = front_matter(fh.read())
        parts = rel.split(os.sep)
        cat_name = titleize(parts[0]) if len(parts) > 1 else "Getting started"
        if cat_name not in cats:
            cats[cat_name] = api(args.api, args.key, "POST", f"/v1/kb/{kb_id}/categories", {
                "name": cat_name, "sort_order": 0 if cat_name == "Getting started" else len(cats) + 1,
            })["data"]["id"]
        sec_id = None
        if len(parts) > 2:
            key = (cat_name, parts[1])
            if key not in secs:
                secs[key] = api(args.api, args.key, "POST", f"/v1/kb/{kb_id}/sections", {
                    "category_id": cats[cat_name], "name": titleize(parts[1]),
                })["data"]["id"]
            sec_id = secs[key]
        md, faqs = convert(body)
        title = (meta.get("title") or titleize(os.path.splitext(parts[-1])[0]))[:500]
        items.append((rel, cats[cat_name], sec_id, title, meta.get("description", "")[:500], truncate(md), faqs))

    # A folder's index or overview page describes its category.
    for cat_name, cat_id in cats.items():
        folder = next((rel.split(os.sep)[0] for rel in pages
                       if os.sep in rel and titleize(rel.split(os.sep)[0]) == cat_name), None)
        desc = None
        for candidate in ("index.mdx", "overview.mdx"):
            path = os.path.join(args.dir, folder, candidate) if folder else None
            if path and os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    desc = front_matter(fh.read())[0].get("description")
                if desc:
                    break
        if folder is None:
            desc = "Start here: what Mintlify is, a quickstart, pricing and how to get support."
        if desc:
            api(args.api, args.key, "PUT", f"/v1/kb/{kb_id}/categories/{cat_id}", {"description": desc[:10_000]})

    path_to_id = {}
    created = []
    for start in range(0, len(items), 20):
        batch = items[start:start + 20]
        body = [{
            "category_id": c, **({"section_id": s} if s else {}), "title": t, "excerpt": e or None,
            "body": b, "status": "published", "tags": [rel.split(os.sep)[0]] if os.sep in rel else [],
        } for rel, c, s, t, e, b, _ in batch]
        res = api(args.api, args.key, "POST", f"/v1/kb/{kb_id}/articles/bulk", {"articles": body})["data"]
        for (rel, *_), art in zip(batch, res):
            path_to_id["/" + os.path.splitext(rel)[0].replace(os.sep, "/")] = art["id"]
            created.append((rel, art))
    # Internal links point at the imported articles (relative to an article page).
    fix = link_rewriter(path_to_id)
    updates = []
    for (rel, c, s, t, e, b, _), (_, art) in zip(items, created):
        fixed = fix(b)
        if fixed != b:
            updates.append({"id": art["id"], "body": truncate(fixed)})
    for start in range(0, len(updates), 20):
        api(args.api, args.key, "PUT", f"/v1/kb/{kb_id}/articles/bulk", {"articles": updates[start:start + 20]})
    # Related articles: the neighbours in the same section or category.
    by_parent = {}
    for (rel, c, s, *_), (_, art) in zip(items, created):
        by_parent.setdefault(s or c, []).append(art["id"])
    related = []
    for ids in by_parent.values():
        for n, aid in enumerate(ids):
            others = [x for x in ids if x != aid][:3]
            if others:
                related.append({"id": aid, "related_articles": others})
    for start in range(0, len(related), 20):
        api(args.api, args.key, "PUT", f"/v1/kb/{kb_id}/articles/bulk", {"articles": related[start:start + 20]})
    nfaq = 0
    for rel, c, s, t, e, b, faqs in items:
        for q, a in faqs:
            # Only accordions that ask something are FAQs; others are just folded sections.
            if nfaq >= args.max_faqs or not q.rstrip().endswith("?") or len(q) > 500 or len(a) > 10_000:
                continue
            api(args.api, args.key, "POST", f"/v1/kb/{kb_id}/faqs", {
                "category_id": c, **({"section_id": s} if s else {}), "question": q,
                "answer": fix(a), "status": "published",
            })
            nfaq += 1
    print(kb_id)
    print(f"imported {len(created)} articles, {len(cats)} categories, {len(secs)} sections, {nfaq} FAQs", file=sys.stderr)


if __name__ == "__main__":
    main()
