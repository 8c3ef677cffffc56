#!/usr/bin/env python3
"""Assistant and documentation search benchmark (driven by bench/assistant.sh; see bench/README.md,
"Assistant and documentation search").

Against one real `tome serve` (SQLite) holding the 7,424 tldr pages (Tome layout, one folder per
platform, as bench/sync.py writes them) and the Mintlify docs (`tome import --format mintlify`):

  1. speed of `POST /v1/search/{domain}` (passages, assistant key) next to the management search
     `GET /v1/kb/{kb}/search` (whole articles, admin key) on the same queries, one client, one
     request at a time, the two alternating query by query;
  2. the extractive assistant, `POST /v2/assistant/{domain}/message` streamed (SSE) over a raw
     socket: time to the first body byte, to the first text delta and to the end of the stream;
     and the same message with `Accept: application/json`;
  3. retrieval quality on the hand-written question set (crates/tome/tests/assistant/
     questions.json): recall@5 of the passage search (distinct articles in rank order) next to the
     whole-article search and to SQLite FTS5 bm25() over the same passages, split here by a port
     of `tome_render::passages` (below) from each article's Markdown as the admin API returns it.

Standard library only (sqlite3 brings FTS5).
"""

import argparse
import html as htmllib
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.parse

TOME_ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOME_")}


# =============================================================================================
# Passages: a port of `tome_render::passages` and `text_of(…, true, '\n')`
# (crates/tome-render/src/text.rs) on a CommonMark parser with the options Tome gives
# pulldown-cmark there (GFM tables, strikethrough, task lists, blockquote alerts; footnote
# definitions are not handled: neither corpus has any). The port is checked against the server:
# every passage a documentation search returns must be one of the port's passages of that article
# (the report gives the share that are).
# =============================================================================================

ASCII_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
BLOCK_TAGS = set("""address article aside base basefont blockquote body caption center col colgroup
dd details dialog dir div dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4
h5 h6 head header hr html iframe legend li link main menu menuitem nav noframes ol optgroup option
p param search section summary table tbody td tfoot th thead title tr track ul""".split())
TAGNAME = r"[A-Za-z][A-Za-z0-9-]*"
ATTRIBUTE = (r"(?:\s+[a-zA-Z_:][a-zA-Z0-9:._-]*"
             r"(?:\s*=\s*(?:[^\"'=<>`\x00-\x20]+|'[^']*'|\"[^\"]*\"))?)")
OPENTAG = r"<" + TAGNAME + ATTRIBUTE + r"*\s*/?>"
CLOSETAG = r"</" + TAGNAME + r"\s*>"
RAW_HTML = re.compile(
    "(?:" + OPENTAG + "|" + CLOSETAG + r"|<!-->|<!--->|<!--[\s\S]*?-->|<\?[\s\S]*?\?>"
    r"|<![A-Za-z]+[^>]*>|<!\[CDATA\[[\s\S]*?\]\]>)")
HTML_START = [
    None,
    re.compile(r"<(?:script|pre|style|textarea)(?:\s|>|$)", re.I),
    re.compile(r"<!--"),
    re.compile(r"<\?"),
    re.compile(r"<![A-Za-z]"),
    re.compile(r"<!\[CDATA\["),
    re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?:\s|/?>|$)"),
    re.compile(r"(?:" + OPENTAG + "|" + CLOSETAG + r")\s*$"),
]
HTML_END = [None, re.compile(r"</(?:script|pre|style|textarea)>", re.I), re.compile(r"-->"),
            re.compile(r"\?>"), re.compile(r">"), re.compile(r"\]\]>")]
AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*)>")
EMAIL = re.compile(r"<([a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                   r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>")
ENTITY = re.compile(r"&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});")
REF_DEF = re.compile(
    r"[ ]{0,3}\[((?:[^\[\]\\]|\\.){1,999})\]:[ \t]*\n?[ \t]*(<[^<>\n]*>|[^\s<][^\s]*)"
    r"(?:[ \t]*\n?[ \t]*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?[ \t]*(?:\n|$)")
ALERT = re.compile(r"\[!(?:note|tip|important|warning|caution)\][ \t]*$", re.I)
MAYBE_SPECIAL = re.compile(r"[#`~*+_=<>0-9|:-]")
THEMATIC = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|(?:-[ \t]*){3,})$")
DELIM_ROW = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


class Block:
    def __init__(self, kind, parent=None):
        self.kind = kind
        self.parent = parent
        self.children = []
        self.open = True
        self.lines = []
        self.last_line_blank = False
        self.start = self.end = 0


def norm_label(s):
    return " ".join(s.strip().split()).casefold()


def split_row(line):
    """A GFM table row's cells: split at unescaped pipes (escaped ones become plain pipes)."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells, cur, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if c == "|":
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur))
    return [c.strip() for c in cells]


class BlockParser:
    """CommonMark block structure (the commonmark.js algorithm), with GFM tables and alerts.
    Headings carry their source range (`start`, `end`: pulldown-cmark's event range)."""

    def __init__(self, src):
        self.src = src
        self.doc = Block("document")
        self.tip = self.doc
        self.refs = set()
        self.line_no = 0

    # -- line state ---------------------------------------------------------------------------
    def find_next_nonspace(self):
        line, i = self.line, self.pos
        while i < len(line) and line[i] in " \t":
            i += 1
        self.next_nonspace = i
        self.indent = i - self.pos
        self.blank = i >= len(line)
        self.indented = self.indent >= 4

    def advance(self, n):
        self.pos = min(self.pos + n, len(self.line))

    def advance_nonspace(self):
        self.pos = self.next_nonspace

    def peek(self, at=None):
        at = self.pos if at is None else at
        return self.line[at] if at < len(self.line) else ""

    def rest(self):
        return self.line[self.next_nonspace:]

    # -- tree ---------------------------------------------------------------------------------
    def can_contain(self, parent, kind):
        if parent.kind in ("document", "blockquote", "item"):
            return kind != "item"
        if parent.kind == "list":
            return kind == "item"
        return False

    def add_child(self, kind, offset):
        while not self.can_contain(self.tip, kind):
            self.finalize(self.tip)
        b = Block(kind, self.tip)
        b.start = self.line_start + offset
        b.line_no = self.line_no
        self.tip.children.append(b)
        self.tip = b
        return b

    def close_unmatched(self):
        if not self.all_closed:
            while self.oldtip is not self.last_matched:
                parent = self.oldtip.parent
                self.finalize(self.oldtip)
                self.oldtip = parent
            self.all_closed = True

    def finalize(self, b):
        b.open = False
        if b.kind == "paragraph":
            text = "\n".join(b.lines)
            while text.startswith("[") or text.startswith(" "):
                m = REF_DEF.match(text)
                if not m or m.group(1).startswith("^") or not m.group(1).strip():
                    break
                self.refs.add(norm_label(m.group(1)))
                text = text[m.end():]
            b.lines = text.split("\n") if text else []
            if not b.lines:
                b.parent.children.remove(b)
        elif b.kind == "code" and not b.fenced:
            while b.lines and not b.lines[-1].strip():
                b.lines.pop()
        elif b.kind == "list":
            b.tight = True
            for i, item in enumerate(b.children):
                last_item = i == len(b.children) - 1
                if ends_with_blank(item) and not last_item:
                    b.tight = False
                    break
                for j, sub in enumerate(item.children):
                    if ends_with_blank(sub) and (not last_item or j < len(item.children) - 1):
                        b.tight = False
                        break
                if not b.tight:
                    break
        self.tip = b.parent

    # -- continuation -------------------------------------------------------------------------
    def continues(self, c):
        """0: matched, 1: not matched, 2: the line is used up (a closing fence)."""
        k = c.kind
        if k == "blockquote":
            if not self.indented and self.peek(self.next_nonspace) == ">":
                self.advance_nonspace()
                self.advance(1)
                if self.peek() in (" ", "\t") and self.peek():
                    self.advance(1)
                return 0
            return 1
        if k == "item":
            if self.blank:
                if not c.children:
                    return 1
                self.advance_nonspace()
                return 0
            if self.indent >= c.marker_offset + c.padding:
                self.advance(c.marker_offset + c.padding)
                return 0
            return 1
        if k in ("heading", "thematic"):
            return 1
        if k == "code":
            if c.fenced:
                m = None
                if self.indent <= 3 and self.peek(self.next_nonspace) == c.fence_char:
                    m = re.match(r"(" + re.escape(c.fence_char) + r"{3,})[ \t]*$", self.rest())
                if m and len(m.group(1)) >= c.fence_len:
                    self.finalize(c)
                    return 2
                n = c.fence_offset
                while n > 0 and self.peek() == " ":
                    self.advance(1)
                    n -= 1
                return 0
            if self.indent >= 4:
                self.advance(4)
                return 0
            if self.blank:
                self.advance_nonspace()
                return 0
            return 1
        if k == "html":
            return 1 if self.blank and c.html_type in (6, 7) else 0
        if k in ("paragraph", "table"):
            return 1 if self.blank else 0
        return 0

    # -- block starts ---------------------------------------------------------------------------
    def start(self, container):
        """0: nothing starts here, 1: a container started, 2: a leaf started."""
        rest = self.rest()
        if not self.indented:
            c0 = rest[:1]
            if c0 == ">":
                self.advance_nonspace()
                self.advance(1)
                if self.peek() in (" ", "\t") and self.peek():
                    self.advance(1)
                self.close_unmatched()
                bq = self.add_child("blockquote", self.next_nonspace)
                bq.alert = False
                self.find_next_nonspace()
                if ALERT.match(self.line[self.pos:]):
                    bq.alert = True
                    self.pos = len(self.line)
                return 1
            m = re.match(r"(#{1,6})(?:[ \t]+|$)", rest)
            if m:
                self.advance_nonspace()
                self.close_unmatched()
                h = self.add_child("heading", self.next_nonspace)
                h.level = len(m.group(1))
                content = rest[m.end():]
                content = re.sub(r"^[ \t]*#+[ \t]*$", "", content)
                content = re.sub(r"[ \t]+#+[ \t]*$", "", content)
                h.lines = [content.strip()]
                h.end = self.line_start + len(self.line) + 1
                self.pos = len(self.line)
                return 2
            m = re.match(r"`{3,}(?!.*`)|~{3,}", rest)
            if m:
                self.close_unmatched()
                c = self.add_child("code", self.next_nonspace)
                c.fenced = True
                c.fence_char = m.group(0)[0]
                c.fence_len = len(m.group(0))
                c.fence_offset = self.indent
                c.info_line = True
                self.pos = len(self.line)
                return 2
            if c0 == "<":
                for t in range(1, 8):
                    m = HTML_START[t].match(rest)
                    if not m:
                        continue
                    if t == 6 and m.group(1).lower() not in BLOCK_TAGS:
                        continue
                    if t == 7 and (container.kind == "paragraph" or (
                            not self.all_closed and not self.blank and self.tip.kind == "paragraph")
                            or re.match(r"</?(?:script|style|pre|textarea)\b", rest, re.I)):
                        continue
                    self.close_unmatched()
                    b = self.add_child("html", self.next_nonspace)
                    b.html_type = t
                    return 2
            if container.kind == "paragraph" and container.lines and "|" in rest \
                    and DELIM_ROW.match(rest):
                # A GFM table: the line before the delimiter row is its head. It may interrupt a
                # paragraph (pulldown-cmark: the paragraph's last line becomes the head).
                last = container.lines[-1]
                head = split_row(last)
                if len(head) == len(split_row(rest)) and (len(container.lines) == 1 or "|" in last):
                    self.close_unmatched()
                    if len(container.lines) == 1:
                        table = container
                        table.kind = "table"
                    else:
                        container.lines.pop()
                        self.finalize(container)
                        table = self.add_child("table", self.next_nonspace)
                    table.ncols = len(head)
                    table.rows = [head]
                    self.pos = len(self.line)
                    return 2
            m = re.match(r"(?:=+|-+)[ \t]*$", rest)
            if m and container.kind == "paragraph":
                self.close_unmatched()
                text = "\n".join(container.lines)
                while text.startswith("[") or text.startswith(" "):
                    r = REF_DEF.match(text)
                    if not r or r.group(1).startswith("^"):
                        break
                    self.refs.add(norm_label(r.group(1)))
                    text = text[r.end():]
                if text:
                    container.kind = "heading"
                    container.level = 1 if rest[0] == "=" else 2
                    container.lines = [text.strip()]
                    container.end = self.line_start + len(self.line) + 1
                    self.pos = len(self.line)
                    return 2
                container.lines = []
            if THEMATIC.match(rest):
                self.close_unmatched()
                self.add_child("thematic", self.next_nonspace)
                self.pos = len(self.line)
                return 2
        if not self.indented or container.kind == "list":
            data = self.list_marker(container)
            if data:
                self.close_unmatched()
                if self.tip.kind != "list" or not (
                        self.tip.ordered == data["ordered"] and self.tip.char == data["char"]):
                    lst = self.add_child("list", data["at"])
                    lst.ordered, lst.char = data["ordered"], data["char"]
                item = self.add_child("item", data["at"])
                item.marker_offset, item.padding = data["marker_offset"], data["padding"]
                return 1
        if self.indented and self.tip.kind != "paragraph" and not self.blank:
            self.advance(4)
            self.close_unmatched()
            c = self.add_child("code", self.pos)
            c.fenced = False
            return 2
        return 0

    def list_marker(self, container):
        if self.indent >= 4:
            return None
        rest = self.rest()
        m = re.match(r"[*+-]", rest)
        ordered = False
        if m:
            char = m.group(0)
        else:
            m = re.match(r"(\d{1,9})([.)])", rest)
            if not m or (container.kind == "paragraph" and m.group(1) != "1"):
                return None
            ordered, char = True, m.group(2)
        after = rest[m.end():m.end() + 1]
        if after not in ("", " ", "\t"):
            return None
        if container.kind == "paragraph" and not rest[m.end():].strip():
            return None
        marker_offset = self.indent
        at = self.next_nonspace
        self.advance_nonspace()
        self.advance(m.end())
        spaces_start = self.pos
        while self.pos - spaces_start < 5 and self.peek() == " ":
            self.pos += 1
        blank_item = self.pos >= len(self.line)
        spaces = self.pos - spaces_start
        if spaces >= 5 or spaces < 1 or blank_item:
            padding = m.end() + 1
            self.pos = spaces_start
            if self.peek() == " ":
                self.pos += 1
        else:
            padding = m.end() + spaces
        return {"ordered": ordered, "char": char, "marker_offset": marker_offset,
                "padding": padding, "at": at}

    # -- one line -----------------------------------------------------------------------------
    def line_in(self, line, line_start):
        self.line, self.line_start, self.pos = line, line_start, 0
        self.line_no += 1
        self.all_closed = True
        container = self.doc
        self.oldtip = self.tip
        while container.children and container.children[-1].open:
            container = container.children[-1]
            self.find_next_nonspace()
            r = self.continues(container)
            if r == 1:
                container = container.parent
                break
            if r == 2:
                return
        self.all_closed = container is self.oldtip
        self.last_matched = container
        matched_leaf = container.kind in ("code", "html")
        while not matched_leaf:
            self.find_next_nonspace()
            if not self.indented and not MAYBE_SPECIAL.match(self.rest()):
                self.advance_nonspace()
                break
            r = self.start(container)
            if r == 0:
                self.advance_nonspace()
                break
            container = self.tip
            if r == 2:
                matched_leaf = True
        self.find_next_nonspace()
        if not self.all_closed and not self.blank and self.tip.kind == "paragraph":
            self.tip.lines.append(self.line[self.pos:].lstrip())
            return
        self.close_unmatched()
        if self.blank and container.children:
            container.children[-1].last_line_blank = True
        t = container.kind
        last_blank = self.blank and not (
            t == "blockquote" or (t == "code" and container.fenced)
            or (t == "item" and not container.children and container.line_no == self.line_no))
        c = container
        while c is not None:
            c.last_line_blank = last_blank
            c = c.parent
        if t == "html":
            container.lines.append(self.line[self.pos:])
            if container.html_type <= 5 and HTML_END[container.html_type].search(self.line[self.pos:]):
                self.finalize(container)
        elif t == "code":
            if container.fenced and container.info_line:
                container.info_line = False  # the opening fence's own line
            else:
                container.lines.append(self.line[self.pos:])
        elif t == "table":
            if self.pos < len(self.line) and not self.blank:
                cells = split_row(self.line[self.pos:])
                container.rows.append((cells + [""] * container.ncols)[:container.ncols])
        elif t == "paragraph":
            container.lines.append(self.line[self.pos:].lstrip())
        elif t == "heading":
            pass
        elif not self.blank and t not in ("thematic",):
            self.advance_nonspace()
            p = self.add_child("paragraph", self.pos)
            p.lines.append(self.line[self.pos:])

    def parse(self):
        src = self.src
        lines = src.split("\n")
        if src.endswith("\n"):
            lines.pop()
        at = 0
        for line in lines:
            self.line_in(line, at)
            at += len(line) + 1
        while self.tip is not None:
            self.finalize(self.tip)
        return self.doc


def ends_with_blank(b):
    while b is not None:
        if b.last_line_blank:
            return True
        if b.kind in ("list", "item") and b.children:
            b = b.children[-1]
        else:
            return False
    return False


def is_punct(c):
    return c in ASCII_PUNCT or unicodedata.category(c)[0] in ("P", "S")


def is_space(c):
    return c == "" or c in " \t\n\r\f" or unicodedata.category(c) == "Zs"


class Delim:
    def __init__(self, node, char, n, can_open, can_close):
        self.node, self.char, self.n, self.orig = node, char, n, n
        self.can_open, self.can_close = can_open, can_close


def parse_link_tail(s, i):
    """At s[i] == '(' of an inline link: the index after its ')', or None."""
    n = len(s)
    j = i + 1
    while j < n and s[j] in " \t\n":
        j += 1
    if j < n and s[j] == "<":
        k = j + 1
        while k < n and s[k] not in "<>\n":
            k += 2 if s[k] == "\\" else 1
        if k >= n or s[k] != ">":
            return None
        j = k + 1
    else:
        depth, k = 0, j
        while k < n:
            c = s[k]
            if c == "\\" and k + 1 < n and s[k + 1] in ASCII_PUNCT:
                k += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c in " \t\n" or ord(c) < 0x20:
                break
            k += 1
        if depth != 0:
            return None
        j = k
    k = j
    while k < n and s[k] in " \t\n":
        k += 1
    if k < n and s[k] in "\"'(" and k > j:
        close = ")" if s[k] == "(" else s[k]
        m = k + 1
        while m < n and s[m] != close:
            m += 2 if s[m] == "\\" else 1
        if m >= n:
            return None
        k = m + 1
        while k < n and s[k] in " \t\n":
            k += 1
    if k < n and s[k] == ")":
        return k + 1
    return None


def parse_inlines(s, refs):
    """Inline content → events: ('text', t), ('code', t), ('html', t), ('soft', ' ')."""
    nodes = []          # [kind, text]
    delims = []         # Delim, in order
    brackets = []       # {node, image, active, delims, pos}
    i, n = 0, len(s)
    buf = []

    def flush():
        if buf:
            nodes.append(["text", "".join(buf)])
            buf.clear()

    while i < n:
        c = s[i]
        if c == "\n":
            while buf and buf[-1] == " ":
                buf.pop()
            flush()
            nodes.append(["soft", " "])
            i += 1
            while i < n and s[i] == " ":
                i += 1
        elif c == "\\":
            if i + 1 < n and s[i + 1] in ASCII_PUNCT:
                buf.append(s[i + 1])
                i += 2
            elif i + 1 < n and s[i + 1] == "\n":
                flush()
                nodes.append(["soft", " "])
                i += 2
            else:
                buf.append("\\")
                i += 1
        elif c == "`":
            j = i
            while j < n and s[j] == "`":
                j += 1
            ticks = j - i
            k = j
            found = -1
            while True:
                k = s.find("`" * ticks, k)
                if k < 0:
                    break
                e = k + ticks
                if (k == 0 or s[k - 1] != "`") and (e >= n or s[e] != "`"):
                    found = k
                    break
                while k < n and s[k] == "`":
                    k += 1
            if found < 0:
                buf.append("`" * ticks)
                i = j
            else:
                code = s[j:found].replace("\n", " ")
                if len(code) >= 2 and code[0] == " " and code[-1] == " " and code.strip(" "):
                    code = code[1:-1]
                flush()
                nodes.append(["code", code])
                i = found + ticks
        elif c == "<":
            m = AUTOLINK.match(s, i) or EMAIL.match(s, i)
            if m:
                flush()
                nodes.append(["text", m.group(1)])
                i = m.end()
                continue
            m = RAW_HTML.match(s, i)
            if m:
                flush()
                nodes.append(["html", m.group(0)])
                i = m.end()
                continue
            buf.append("<")
            i += 1
        elif c == "&":
            m = ENTITY.match(s, i)
            if m and (m.group(0)[1] == "#" or m.group(0)[1:] in htmllib.entities.html5):
                buf.append(htmllib.unescape(m.group(0)))
                i = m.end()
            else:
                buf.append("&")
                i += 1
        elif c in "*_~":
            j = i
            while j < n and s[j] == c:
                j += 1
            before = s[i - 1] if i > 0 else ""
            after = s[j] if j < n else ""
            left = not is_space(after) and (not is_punct(after) or is_space(before) or is_punct(before))
            right = not is_space(before) and (not is_punct(before) or is_space(after) or is_punct(after))
            if c == "_":
                can_open = left and (not right or is_punct(before))
                can_close = right and (not left or is_punct(after))
            else:
                can_open, can_close = left, right
            flush()
            node = ["delim", s[i:j]]
            nodes.append(node)
            if c != "~" or j - i <= 2:
                delims.append(Delim(node, c, j - i, can_open, can_close))
            i = j
        elif c == "[" or (c == "!" and i + 1 < n and s[i + 1] == "["):
            flush()
            image = c == "!"
            node = ["text", "![" if image else "["]
            nodes.append(node)
            brackets.append({"node": node, "image": image, "active": True,
                             "delims": len(delims), "pos": i + (2 if image else 1)})
            i += 2 if image else 1
        elif c == "]":
            flush()
            if not brackets:
                buf.append("]")
                i += 1
                continue
            op = brackets[-1]
            if not op["active"]:
                brackets.pop()
                buf.append("]")
                i += 1
                continue
            end = None
            if i + 1 < n and s[i + 1] == "(":
                end = parse_link_tail(s, i + 1)
            if end is None:
                label_text = s[op["pos"]:i]
                m = re.match(r"\[((?:[^\[\]\\]|\\.){0,999})\]", s[i + 1:])
                if m and m.group(1).strip():
                    if norm_label(m.group(1)) in refs:
                        end = i + 1 + m.end()
                else:
                    if norm_label(label_text) in refs and not label_text.startswith("^"):
                        end = i + 1 + (m.end() if m else 0)
            if end is None:
                brackets.pop()
                buf.append("]")
                i += 1
                continue
            op["node"][1] = ""
            process_emphasis(delims, op["delims"])
            brackets.pop()
            if not op["image"]:
                for b in brackets:
                    if not b["image"]:
                        b["active"] = False
            i = end
        else:
            buf.append(c)
            i += 1
    flush()
    process_emphasis(delims, 0)
    out = []
    for kind, text in nodes:
        if kind == "delim":
            if text:
                out.append(("text", text))
        elif text or kind == "soft":
            out.append((kind, text))
    return out


def process_emphasis(delims, bottom):
    """Matches emphasis and strikethrough runs above `bottom` in the delimiter list; a matched
    run's characters are taken off its node's text (they are syntax, not text)."""
    openers_bottom = {}
    ci = bottom
    while ci < len(delims):
        closer = delims[ci]
        if not closer.can_close:
            ci += 1
            continue
        key = (closer.char, closer.can_open, closer.orig % 3)
        floor = openers_bottom.get(key)
        oi = ci - 1
        found = False
        while oi >= bottom and delims[oi] is not floor:
            op = delims[oi]
            if op.char == closer.char and op.can_open:
                if closer.char == "~":
                    if op.n == closer.n:
                        found = True
                        break
                else:
                    odd = ((closer.can_open or op.can_close) and closer.orig % 3 != 0
                           and (op.orig + closer.orig) % 3 == 0)
                    if not odd:
                        found = True
                        break
            oi -= 1
        if not found:
            openers_bottom[key] = delims[ci - 1] if ci - 1 >= bottom else None
            if not closer.can_open:
                del delims[ci]
            else:
                ci += 1
            continue
        op = delims[oi]
        use = op.n if closer.char == "~" else (2 if closer.n >= 2 and op.n >= 2 else 1)
        op.n -= use
        closer.n -= use
        op.node[1] = op.node[1][:op.n]
        closer.node[1] = closer.node[1][:closer.n]
        del delims[oi + 1:ci]
        ci = oi + 1
        if op.n == 0:
            del delims[oi]
            ci -= 1
        if closer.n == 0:
            del delims[ci]
    del delims[bottom:]


def text_events(doc, refs):
    """The document's events as `text_of` reads them: ('text'|'code'|'html'|'soft'|'end', str)."""
    out = []

    def walk(b, tight):
        k = b.kind
        if k == "paragraph":
            out.extend(parse_inlines("\n".join(b.lines), refs))
            if not tight:
                out.append(("end", ""))
        elif k == "heading":
            out.extend(parse_inlines(b.lines[0], refs))
            out.append(("end", ""))
        elif k == "code":
            body = "".join(line + "\n" for line in b.lines)
            if body:
                out.append(("codeblock", body))
            out.append(("end", ""))
        elif k == "html":
            for line in b.lines:
                out.append(("html", line + "\n"))
            out.append(("end", ""))
        elif k == "table":
            for row in b.rows:
                for cell in row:
                    out.extend(parse_inlines(cell, refs))
                    out.append(("end", ""))
        elif k == "blockquote":
            for ch in b.children:
                walk(ch, False)
            out.append(("end", ""))
        elif k == "list":
            for item in b.children:
                items = item.children
                if items and items[0].kind == "paragraph" and items[0].lines and \
                        re.match(r"\[[ xX]\](?:[ \t]|$)", items[0].lines[0]):
                    # A task list marker is not text.
                    items[0].lines = [items[0].lines[0][3:].lstrip()] + items[0].lines[1:]
                for ch in items:
                    walk(ch, b.tight)
                out.append(("end", ""))
        elif k == "document":
            for ch in b.children:
                walk(ch, False)

    walk(doc, False)
    return out


def html_push(state, piece, out):
    """`HtmlText::push`: the text of a piece of raw HTML (tags dropped, script/style content
    dropped, entities decoded; block-level tags separate words)."""
    at, n = 0, len(piece)
    while at < n:
        if piece[at] != "<":
            end = piece.find("<", at + 1)
            end = n if end < 0 else end
            if state["skip"] is None:
                out.append(decode_entities(piece[at:end]))
            at = end
            continue
        nxt = piece[at + 1:at + 2]
        if nxt == "!":
            if piece.startswith("<!--", at):
                body = at + 4
                if piece.startswith(">", body):
                    at = body + 1
                elif piece.startswith("->", body):
                    at = body + 2
                else:
                    close, bang = piece.find("-->", body), piece.find("--!>", body)
                    ends = ([close + 3] if close >= 0 else []) + ([bang + 4] if bang >= 0 else [])
                    at = min(ends) if ends else n
            else:
                g = piece.find(">", at + 2)
                at = n if g < 0 else g + 1
            continue
        if nxt == "?":
            g = piece.find(">", at + 2)
            at = n if g < 0 else g + 1
            continue
        if nxt == "/":
            c2 = piece[at + 2:at + 3]
            if c2 == ">":
                at += 3
            elif c2.isascii() and c2.isalpha():
                t = read_tag(piece, at + 2)
                if t is None:
                    if state["skip"] is None:
                        out.append("<")
                    at += 1
                else:
                    name, end = t
                    if state["skip"] == name:
                        state["skip"] = None
                    if name not in INLINE_TAGS:
                        out.append(" ")
                    at = end
            elif c2:
                g = piece.find(">", at + 2)
                at = n if g < 0 else g + 1
            else:
                if state["skip"] is None:
                    out.append("<")
                at += 1
            continue
        if nxt.isascii() and nxt.isalpha():
            t = read_tag(piece, at + 1)
            if t is not None:
                name, end = t
                if state["skip"] is None:
                    state["skip"] = name if name in ("script", "style") else None
                    if name not in INLINE_TAGS:
                        out.append(" ")
                at = end
                continue
        if state["skip"] is None:
            out.append("<")
        at += 1


INLINE_TAGS = set("""a abbr acronym b bdi bdo cite code data del dfn em i ins kbd mark q rp rt rtc
ruby s samp small span strike strong sub sup time tt u var font""".split())


def read_tag(html, at):
    """`sanitize::tag`: (lower-cased name, index past '>') or None if the tag does not end."""
    i, n = at, len(html)
    while i < n and html[i] not in " \t\n\f\r/>":
        i += 1
    name = html[at:i].lower()
    while i < n:
        c = html[i]
        if c == ">":
            return name, i + 1
        if c == "=":
            i += 1
            while i < n and html[i] in " \t\n\f\r":
                i += 1
            if i < n and html[i] in "\"'":
                q = html.find(html[i], i + 1)
                if q < 0:
                    return None
                i = q
            i += 1
        else:
            i += 1
    return None


def decode_entities(text):
    def one(m):
        s = m.group(0)
        if s[1] == "#" or s[1:] in htmllib.entities.html5:
            return htmllib.unescape(s)
        return s
    return re.sub(r"&[A-Za-z0-9#]{1,38};", one, text)


def text_of(markdown):
    """`text_of(markdown, true, '\\n')`: the words a reader sees, one block per line."""
    p = BlockParser(markdown)
    doc = p.parse()
    out = []
    state = {"skip": None}
    for kind, text in text_events(doc, p.refs):
        if kind == "codeblock":
            out.append(text)
        elif kind in ("text", "code"):
            if state["skip"] is None:
                out.append(text)
        elif kind == "html":
            html_push(state, text, out)
        elif kind == "soft":
            out.append(" ")
        elif kind == "end":
            state["skip"] = None
            out.append("\n")
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


def slugify(text):
    out, pending = [], False
    for c in text:
        if c.isalnum():
            if pending and out:
                out.append("-")
            pending = False
            out.append(c.lower())
        elif c not in ("'", "\u2019"):
            pending = True
    return "".join(out)


def cut_lines(text, limit=1500):
    parts, cur, chars = [], [], 0
    for line in text.split("\n"):
        if not line:
            continue
        n = len(line)
        if chars > 0 and chars + n > limit:
            parts.append("\n".join(cur))
            cur, chars = [], 0
        if chars > 0:
            chars += 1
        cur.append(line)
        chars += n
    if chars > 0:
        parts.append("\n".join(cur))
    return parts


def passages(markdown):
    """`tome_render::passages`: [(trail, anchor, text)] in document order."""
    p = BlockParser(markdown)
    doc = p.parse()
    heads = []

    def collect(b):
        for ch in b.children:
            if ch.kind == "heading":
                heads.append(ch)
            collect(ch)
    collect(doc)
    heads.sort(key=lambda h: h.start)
    ids = set()
    found = []
    for h in heads:
        evs = parse_inlines(h.lines[0], p.refs)
        text = "".join(t for k, t in evs if k in ("text", "code"))
        base = slugify(text)[:80] or "section"
        hid, k = base, 1
        while hid in ids:
            hid = f"{base}-{k}"
            k += 1
        ids.add(hid)
        found.append((h.level, text.strip(), hid, h.start, h.end))
    splits = [h for h in found if 1 <= h[0] <= 3]
    out = []

    def push(trail, anchor, piece):
        for part in cut_lines(text_of(piece)):
            out.append((tuple(trail), anchor, part))

    first = splits[0][3] if splits else len(markdown)
    push([], None, markdown[:first])
    stack = []
    for i, (level, text, hid, start, end) in enumerate(splits):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        stop = splits[i + 1][3] if i + 1 < len(splits) else len(markdown)
        push([t for _, t in stack], hid, markdown[min(end, stop):stop])
    return out


# =============================================================================================
# The benchmark
# =============================================================================================

TRAIL_SEPARATOR = " › "   # tome_search::PASSAGE_TRAIL_SEPARATOR
ARTICLE_ID = re.compile(r"kba_[0-9a-z]{12}")


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

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
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
        status, raw, _ = self.call(method, path, body)
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


class Stream:
    """A raw keep-alive socket for the streamed message: times the first byte of the body, the
    first `text-delta` chunk and the end of the stream (the last chunk of the chunked body)."""

    def __init__(self, addr, key):
        self.host, port = addr.split(":")
        self.port = int(port)
        self.key = key
        self.sock = None

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, path, body):
        if self.sock is None:
            self.connect()
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
                f"Accept: text/event-stream\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        t0 = time.perf_counter()
        self.sock.sendall(head + data)
        buf = b""
        headers = None
        body_bytes = bytearray()
        t_first = t_delta = t_end = None
        first_bytes = b""
        chunked = False
        length = None
        pos = 0              # parse position in buf (after the head)
        chunk_left = 0       # bytes of the current chunk still to come
        reads = 0
        close = False
        while t_end is None:
            piece = self.sock.recv(65536)
            now = time.perf_counter()
            if not piece:
                if headers is not None and not chunked and length is None:
                    t_end = now
                    break
                raise OSError("connection closed mid-response")
            reads += 1
            buf += piece
            if headers is None:
                at = buf.find(b"\r\n\r\n")
                if at < 0:
                    continue
                lines = buf[:at].decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                chunked = "chunked" in headers.get("transfer-encoding", "").lower()
                if not chunked and "content-length" in headers:
                    length = int(headers["content-length"])
                close = headers.get("connection", "").lower() == "close"
                pos = at + 4
            if chunked:
                while True:
                    if chunk_left > 0:
                        take = min(chunk_left, len(buf) - pos)
                        if take <= 0:
                            break
                        body_bytes += buf[pos:pos + take]
                        if t_first is None:
                            t_first = now
                            first_bytes = bytes(body_bytes)
                        pos += take
                        chunk_left -= take
                        if chunk_left == 0:
                            chunk_left = -2   # the CRLF after the chunk
                        continue
                    if chunk_left == -2:
                        if len(buf) - pos < 2:
                            break
                        pos += 2
                        chunk_left = 0
                        continue
                    eol = buf.find(b"\r\n", pos)
                    if eol < 0:
                        break
                    size = int(buf[pos:eol].split(b";")[0], 16)
                    if size == 0:
                        # The last chunk, then an empty trailer: wait until its CRLF is in.
                        if buf.find(b"\r\n", eol + 2) >= 0:
                            t_end = now
                            pos = eol + 4
                        break
                    pos = eol + 2
                    chunk_left = size
            elif length is not None:
                if len(buf) > pos and t_first is None:
                    t_first = now
                if len(buf) - pos >= length:
                    body_bytes += buf[pos:pos + length]
                    t_end = now
            else:
                if len(buf) > pos and t_first is None:
                    t_first = now
            if t_delta is None and b'"text-delta"' in body_bytes:
                t_delta = now
        if close or (not chunked and length is None):
            self.sock.close()
            self.sock = None
        if not chunked and length is None:
            body_bytes += buf[pos:]
        return {"status": status, "headers": headers, "body": bytes(body_bytes), "reads": reads,
                "first": first_bytes,
                "ttfb": (t_first or t_end) - t0, "delta": (t_delta - t0) if t_delta else None,
                "done": t_end - t0}


class Server:
    def __init__(self, tome, data, logs, synchronous):
        self.out = open(f"{logs}.out", "w")
        self.err = open(f"{logs}.err", "w")
        self.proc = subprocess.Popen(
            [tome, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--log-format", "json",
             "--sqlite-synchronous", synchronous, "--admin-rate-limit", "1000000000",
             "--assistant-rate-limit", "1000000000"],
            stdout=self.out, stderr=self.err, env=TOME_ENV)
        self.addr = None
        deadline = time.time() + 1800   # the first start builds the search index
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


def write_tldr(jsonl, root):
    """The tldr pages in Tome's layout, as bench/sync.py writes them: one folder per platform, one
    file per page with `title` and `excerpt` front matter."""
    pages = []
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            page = json.loads(line)
            folder = os.path.join(root, page["category"])
            os.makedirs(folder, exist_ok=True)
            name = os.path.splitext(os.path.basename(page["path"]))[0]
            with open(os.path.join(folder, f"{name}.md"), "w", encoding="utf-8") as md:
                md.write(f"---\ntitle: {json.dumps(page['title'], ensure_ascii=False)}\n"
                         f"excerpt: {json.dumps(page['excerpt'][:500], ensure_ascii=False)}\n"
                         f"---\n\n{page['body']}")
            pages.append(page)
    return pages


def derived_queries(pages, count):
    """`count` queries from tldr page descriptions, spread evenly over the pages: the first 3–6
    words of the first sentence, lower-cased, punctuation dropped — what someone types."""
    step = max(1, len(pages) // count)
    out = []
    for i, page in enumerate(pages[::step][:count]):
        first = re.split(r"(?<=[.!?])\s", page["excerpt"].strip())[0]
        words = [w for w in re.split(r"[^\w+#.-]+", first.lower()) if w.strip(".-")]
        words = [w.strip(".") for w in words]
        if len(words) < 2:
            continue
        out.append(" ".join(words[:3 + i % 4]))
    return out


class Bench:
    def __init__(self, a):
        self.a = a
        self.notes = []
        self.results = {}

    # --- setup -------------------------------------------------------------------------------
    def setup(self):
        a = self.a
        data = os.path.join(a.work, "data")
        log("writing the tldr pages in Tome's layout")
        self.pages = write_tldr(a.tldr, os.path.join(a.work, "tldr"))
        self.project = cli(a.tome, data, "project", "create", "--name", "bench")["id"]
        log("importing tldr and the Mintlify docs (published)")
        t0 = time.perf_counter()
        imp = cli(a.tome, data, "import", "--project", self.project, "--from",
                  os.path.join(a.work, "tldr"), "--format", "tome", "--slug", "tldr", "--title",
                  "tldr", "--default-status", "published", "--sqlite-synchronous", a.synchronous)
        t1 = time.perf_counter()
        self.notes.append(f"`tome import` of the tldr tree: {imp['counts']['articles']:,} articles in "
                          f"{t1 - t0:.1f} s")
        imp = cli(a.tome, data, "import", "--project", self.project, "--from", a.mintlify,
                  "--format", "mintlify", "--slug", "mintlify", "--sqlite-synchronous", a.synchronous)
        self.notes.append(f"Mintlify: {imp['counts']['articles']} articles (+ {imp['counts']['faqs']} "
                          f"FAQs, not searched by either endpoint here)")
        admin = cli(a.tome, data, "key", "create", "--project", self.project, "--kind", "admin")["key"]
        assistant = cli(a.tome, data, "key", "create", "--project", self.project, "--kind",
                        "assistant")["key"]
        log("starting tome serve (the first start indexes the articles and their passages)")
        t0 = time.perf_counter()
        self.server = Server(a.tome, data, os.path.join(a.work, "server"), a.synchronous)
        self.notes.append(f"server start including the search index build: "
                          f"{time.perf_counter() - t0:.1f} s")
        self.admin = Http(self.server.addr, admin)
        self.docs = Http(self.server.addr, assistant)
        self.stream = Stream(self.server.addr, assistant)
        self.kbs = {kb["slug"]: kb["id"] for kb in self.admin.ok("GET", "/v1/kb?limit=100")["data"]}
        self.load_articles()

    def load_articles(self):
        """Every article's Markdown through the admin API, split into passages by the port."""
        log("reading every article's Markdown and splitting it into passages (Python port)")
        self.articles = {}      # id → {kb, title, category, body, tags}
        self.port = {}          # id → [(trail, anchor, text)]
        for slug, kb in self.kbs.items():
            cats = {c["id"]: c for c in self.admin.paged(f"/v1/kb/{kb}/categories")}
            for a in self.admin.paged(f"/v1/kb/{kb}/articles?status=published"):
                full = self.admin.ok("GET", f"/v1/kb/{kb}/articles/{a['id']}")["data"]
                cat = cats.get(full["category_id"], {})
                self.articles[a["id"]] = {
                    "kb": slug, "title": full["title"], "body": full["body"],
                    "excerpt": full.get("excerpt") or "",
                    "tags": full.get("tags") or [],
                    "category": cat.get("name", ""), "category_slug": cat.get("slug", ""),
                }
                self.port[a["id"]] = passages(full["body"])
        for slug in self.kbs:
            ids = [i for i, x in self.articles.items() if x["kb"] == slug]
            n = sum(len(self.port[i]) for i in ids)
            self.notes.append(f"{slug}: {len(ids):,} published articles, {n:,} passages "
                              f"({n / max(1, len(ids)):.1f} per article)")
        self.port_sets = {i: {(TRAIL_SEPARATOR.join(t), x) for t, _, x in ps}
                          for i, ps in self.port.items()}
        self.port_checked = {}  # (article, heading, content) → bool

    def check_port(self, hits):
        for h in hits:
            md = h["metadata"]
            k = (md["article_id"], md["heading"], h["content"])
            if k not in self.port_checked:
                self.port_checked[k] = (md["heading"], h["content"]) in self.port_sets.get(
                    md["article_id"], set())

    def port_check_pass(self):
        """More passages for the port check: every Mintlify article's title, and every 20th tldr
        page's description, as documentation searches of 50 passages."""
        log("checking the passage port against the server's passages")
        for art in self.articles.values():
            if art["kb"] == "mintlify":
                self.docs_search("mintlify", art["title"], 50)
        for page in self.pages[::20]:
            self.docs_search("tldr", page["excerpt"][:200], 50)

    # --- expected pages ------------------------------------------------------------------------
    def expected_ids(self, corpus, paths, titles):
        out = set()
        for path, title in zip(paths, titles):
            if corpus == "tldr":
                platform = path.split("/")[0]
                ids = [i for i, x in self.articles.items() if x["kb"] == "tldr" and x["title"] == title
                       and platform in (x["category"].lower(), x["category_slug"].lower())]
            else:
                ids = [i for i, x in self.articles.items()
                       if x["kb"] == "mintlify" and x["title"] == title]
            if len(ids) != 1:
                sys.exit(f"error: {corpus} page {path} ({title!r}) matches {len(ids)} articles")
            out.update(ids)
        return out

    # --- 1. search speed -----------------------------------------------------------------------
    def docs_search(self, slug, query, size):
        status, raw, dt = self.docs.call("POST", f"/v1/search/{slug}", {"query": query, "pageSize": size})
        if status != 200:
            sys.exit(f"error: /v1/search/{slug} {query!r} → {status}: {raw[:300]!r}")
        hits = json.loads(raw)
        self.check_port(hits)
        self.last_bytes = len(raw)
        return hits, dt

    def kb_search(self, slug, query, limit, kind=None):
        q = urllib.parse.urlencode({"q": query, "limit": limit, **({"type": kind} if kind else {})})
        status, raw, dt = self.admin.call("GET", f"/v1/kb/{self.kbs[slug]}/search?{q}")
        if status != 200:
            sys.exit(f"error: management search {query!r} → {status}: {raw[:300]!r}")
        self.last_bytes = len(raw)
        return json.loads(raw)["data"], dt

    def search_speed(self, slug, queries):
        a = self.a
        log(f"search speed on {slug}: {len(queries)} queries × {a.rounds} rounds (+1 warm-up), "
            "the two endpoints alternating")
        docs_t, kb_t, docs_b, kb_b = [], [], [], []
        for r in range(a.rounds + 1):
            for i, q in enumerate(queries):
                # Alternate which endpoint goes first, so neither always runs right after the other.
                if (i + r) % 2 == 0:
                    _, d = self.docs_search(slug, q, a.page_size)
                    docs_b.append(self.last_bytes)
                    _, k = self.kb_search(slug, q, a.page_size)
                    kb_b.append(self.last_bytes)
                else:
                    _, k = self.kb_search(slug, q, a.page_size)
                    kb_b.append(self.last_bytes)
                    _, d = self.docs_search(slug, q, a.page_size)
                    docs_b.append(self.last_bytes)
                if r > 0:
                    docs_t.append(d * 1000)
                    kb_t.append(k * 1000)
        # Server CPU per request, each endpoint on its own (two passes over the queries each):
        # less sensitive to other load on the machine than the latencies.
        cpu = {}
        for name, fn in (("docs", lambda q: self.docs_search(slug, q, a.page_size)),
                         ("kb", lambda q: self.kb_search(slug, q, a.page_size))):
            c0 = self.server.cpu_seconds()
            for _ in range(2):
                for q in queries:
                    fn(q)
            cpu[name] = (self.server.cpu_seconds() - c0) * 1000 / (2 * len(queries))
        row = {"queries": len(queries), "rounds": a.rounds,
               "docs_cpu_ms": cpu["docs"], "kb_cpu_ms": cpu["kb"],
               "docs_p50": pct(docs_t, 50), "docs_p99": pct(docs_t, 99), "docs_mean": statistics.mean(docs_t),
               "kb_p50": pct(kb_t, 50), "kb_p99": pct(kb_t, 99), "kb_mean": statistics.mean(kb_t),
               "docs_bytes_mean": statistics.mean(docs_b), "kb_bytes_mean": statistics.mean(kb_b)}
        row["ratio_p50"] = row["docs_p50"] / row["kb_p50"]
        row["ratio_p99"] = row["docs_p99"] / row["kb_p99"]
        self.results.setdefault("search_speed", {})[slug] = row
        log(f"  /v1/search p50 {row['docs_p50']:.2f} p99 {row['docs_p99']:.2f} ms; management p50 "
            f"{row['kb_p50']:.2f} p99 {row['kb_p99']:.2f} ms; ratio {row['ratio_p50']:.2f}× / "
            f"{row['ratio_p99']:.2f}×")

    # --- 2. assistant speed ----------------------------------------------------------------------
    @staticmethod
    def message(q):
        return {"fp": "bench", "messages": [{"id": "m1", "role": "user",
                                              "parts": [{"type": "text", "text": q}]}]}

    def assistant_speed(self, slug, questions):
        a = self.a
        log(f"assistant on {slug}: {len(questions)} messages × {a.rounds} rounds (+1 warm-up), "
            "streamed v2 and as JSON, alternating")
        ttfb, delta, done, jdone, reads = [], [], [], [], []
        firsts = set()
        unanswered = 0
        for r in range(a.rounds + 1):
            for q in questions:
                s = self.stream.post(f"/v2/assistant/{slug}/message", self.message(q))
                if s["status"] != 200:
                    sys.exit(f"error: v2 message {q!r} → {s['status']}: {s['body'][:300]!r}")
                text = s["body"].decode()
                if not text.rstrip().endswith("data: [DONE]") or '"finish"' not in text:
                    sys.exit(f"error: v2 stream for {q!r} did not end with finish and [DONE]:\n{text[-500:]}")
                status, raw, dt = self.docs.call("POST", f"/v2/assistant/{slug}/message",
                                                 self.message(q), {"Accept": "application/json"})
                if status != 200:
                    sys.exit(f"error: JSON message {q!r} → {status}: {raw[:300]!r}")
                if r > 0:
                    firsts.add(s["first"].decode(errors="replace").split("\n")[0][:100])
                    ttfb.append(s["ttfb"] * 1000)
                    done.append(s["done"] * 1000)
                    if s["delta"] is not None:
                        delta.append(s["delta"] * 1000)
                    jdone.append(dt * 1000)
                    reads.append(s["reads"])
                    if json.loads(raw).get("resolutionStatus") == "unanswered":
                        unanswered += 1
        c0 = self.server.cpu_seconds()
        for q in questions:
            self.stream.post(f"/v2/assistant/{slug}/message", self.message(q))
        cpu_ms = (self.server.cpu_seconds() - c0) * 1000 / len(questions)
        row = {"messages": len(questions), "rounds": a.rounds, "cpu_ms": cpu_ms,
               "ttfb_p50": pct(ttfb, 50), "ttfb_p99": pct(ttfb, 99),
               "delta_p50": pct(delta, 50), "delta_p99": pct(delta, 99),
               "done_p50": pct(done, 50), "done_p99": pct(done, 99),
               "json_p50": pct(jdone, 50), "json_p99": pct(jdone, 99),
               "reads_median": statistics.median(reads), "first_chunks": sorted(firsts)[:5],
               "unanswered_share": unanswered / len(jdone)}
        self.results.setdefault("assistant_speed", {})[slug] = row
        log(f"  TTFB p50 {row['ttfb_p50']:.2f} p99 {row['ttfb_p99']:.2f} ms; first text-delta p99 "
            f"{row['delta_p99']:.2f}; done p50 {row['done_p50']:.2f} p99 {row['done_p99']:.2f}; JSON p99 "
            f"{row['json_p99']:.2f} ms")

    # --- 3. retrieval quality --------------------------------------------------------------------
    def build_fts5(self):
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE p USING fts5(title, heading, tags, body, article UNINDEXED, "
                   "kb UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2')")
        db.execute("CREATE VIRTUAL TABLE a USING fts5(title, excerpt, tags, body, article UNINDEXED, "
                   "kb UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2')")
        prows, arows = [], []
        for i, art in self.articles.items():
            tags = " ".join(art["tags"])
            for trail, _, text in self.port[i]:
                prows.append((art["title"], TRAIL_SEPARATOR.join(trail), tags, text, i, art["kb"]))
            arows.append((art["title"], art["excerpt"], tags, "\n".join(t for _, _, t in self.port[i]),
                          i, art["kb"]))
        db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?)", prows)
        db.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?, ?)", arows)
        self.fts = db

    def fts5(self, table, slug, query, limit):
        # As bench/search: every word a quoted FTS5 string, OR-ed, ranked by bm25().
        words = [f'"{w}"' for w in re.split(r"[^\w]+", query) if w]
        if not words:
            return []
        rows = self.fts.execute(f"SELECT article FROM {table} WHERE {table} MATCH ? AND kb = ? "
                                f"ORDER BY bm25({table}) LIMIT ?", (" OR ".join(words), slug, limit))
        return [r[0] for r in rows]

    @staticmethod
    def distinct(ids, k):
        out = []
        for i in ids:
            if i not in out:
                out.append(i)
            if len(out) == k:
                break
        return out

    QUALITY = [
        ("tome_p5", "Tome passages, `pageSize` 5: the articles of the 5 passages (what the assistant reads by default)"),
        ("tome_p10", "Tome passages, `pageSize` 10 (the default): the first 5 distinct articles"),
        ("tome_p50", "Tome passages, `pageSize` 50: the first 5 distinct articles"),
        ("tome_articles", "Tome whole articles: the management search, `limit=5&type=article`"),
        ("fts5_p5", "FTS5 passages: the articles of the top 5 passages"),
        ("fts5_p50", "FTS5 passages: the first 5 distinct articles (of the top 50 passages)"),
        ("fts5_articles", "FTS5 whole articles: top 5"),
        ("assistant_answered", "Assistant (extractive): answers and cites an expected page"),
        ("assistant_any", "Assistant: an expected page among its sources, the closest pages it suggests when it does not answer included"),
    ]

    def quality(self, corpus, items):
        k = 5
        log(f"retrieval quality on {corpus}: {len(items)} questions")
        methods = [m for m, _ in self.QUALITY]
        hit = {m: 0 for m in methods}
        found = {m: 0 for m in methods}   # expected pages found (strict recall numerator)
        total_expected = 0
        misses = []
        answered = 0
        top_scores = []
        for it in items:
            want = self.expected_ids(corpus, it["expect"], it["title"])
            total_expected += len(want)
            got = {}
            for size in (5, 10, 50):
                hits, _ = self.docs_search(corpus, it["q"], size)
                got[f"tome_p{size}"] = self.distinct([h["metadata"]["article_id"] for h in hits], k)
                if size == 5:
                    top_scores.append(hits[0]["metadata"]["score"] if hits else 0.0)
            arts, _ = self.kb_search(corpus, it["q"], k, "article")
            got["tome_articles"] = [x["id"] for x in arts["articles"]][:k]
            fp = self.fts5("p", corpus, it["q"], 50)
            got["fts5_p5"] = self.distinct(fp[:k], k)
            got["fts5_p50"] = self.distinct(fp, k)
            got["fts5_articles"] = self.fts5("a", corpus, it["q"], k)
            status, raw, _ = self.docs.call("POST", f"/v2/assistant/{corpus}/message",
                                            self.message(it["q"]), {"Accept": "application/json"})
            if status != 200:
                sys.exit(f"error: JSON message {it['q']!r} → {status}")
            ans = json.loads(raw)
            cited = self.distinct(
                [m.group(0) for s in ans.get("sources", []) for m in [ARTICLE_ID.search(s["url"])] if m], 99)
            is_answer = ans.get("resolutionStatus") == "answered"
            answered += is_answer
            got["assistant_any"] = cited
            got["assistant_answered"] = cited if is_answer else []
            for m in methods:
                inter = want & set(got[m])
                hit[m] += bool(inter)
                found[m] += len(inter)
            if not (want & set(got["tome_p10"])):
                misses.append(it["q"])
        n = len(items)
        row = {"questions": n, "expected_pages": total_expected, "answered": answered,
               **{f"{m}_any": hit[m] / n for m in methods},
               **{f"{m}_all": found[m] / total_expected for m in methods},
               "tome_p10_misses": misses, "top_scores": top_scores}
        self.results.setdefault("quality", {})[corpus] = row
        log("  " + ", ".join(f"{m} {hit[m] / n:.3f}" for m in methods))

    def unanswerable(self, corpus, items):
        """The questions neither corpus answers: the assistant should decline (`unanswered`)."""
        declined = no_sources = 0
        top_scores = []
        for it in items:
            hits, _ = self.docs_search(corpus, it["q"], 5)
            top_scores.append(hits[0]["metadata"]["score"] if hits else 0.0)
            status, raw, _ = self.docs.call("POST", f"/v2/assistant/{corpus}/message",
                                            self.message(it["q"]), {"Accept": "application/json"})
            if status != 200:
                sys.exit(f"error: JSON message {it['q']!r} → {status}")
            ans = json.loads(raw)
            declined += ans.get("resolutionStatus") == "unanswered"
            no_sources += not ans.get("sources")
        self.results.setdefault("unanswerable", {})[corpus] = {
            "questions": len(items), "declined": declined, "no_sources": no_sources,
            "top_scores": top_scores}

    # --- run and report ----------------------------------------------------------------------------
    def run(self):
        a = self.a
        self.setup()
        qs = json.load(open(a.questions, encoding="utf-8"))
        derived = derived_queries(self.pages, a.derived)
        speed_sets = {
            "tldr": [x["q"] for x in qs["tldr"]]
            + [x["first"] for x in qs["followups"] if x["corpus"] == "tldr"]
            + [x["q"] for x in qs["unanswerable"]] + derived,
            "mintlify": [x["q"] for x in qs["mintlify"]]
            + [x["first"] for x in qs["followups"] if x["corpus"] == "mintlify"]
            + [x["q"] for x in qs["unanswerable"]],
        }
        msg_sets = {
            "tldr": speed_sets["tldr"][:len(speed_sets["tldr"]) - len(derived)] + derived[:a.derived_messages],
            "mintlify": speed_sets["mintlify"],
        }
        self.results["sets"] = {k: len(v) for k, v in speed_sets.items()}
        self.results["derived_examples"] = derived[:8]
        for slug in ("tldr", "mintlify"):
            self.search_speed(slug, speed_sets[slug])
        for slug in ("tldr", "mintlify"):
            self.assistant_speed(slug, msg_sets[slug])
        self.port_check_pass()
        self.build_fts5()
        for corpus in ("mintlify", "tldr"):
            self.quality(corpus, qs[corpus])
            self.unanswerable(corpus, qs["unanswerable"])
        agree = sum(self.port_checked.values())
        self.results["port_check"] = {"passages": len(self.port_checked), "identical": agree,
                                      "differing": [list(k) for k, ok in self.port_checked.items()
                                                    if not ok][:20]}
        self.server.stop()

    def report(self):
        a, R = self.a, self.results
        L = [a.header, ""]
        L += [f"- {n}" for n in self.notes]
        pc = R["port_check"]
        L.append(f"- Python port of `tome_render::passages`: {pc['identical']:,} of {pc['passages']:,} "
                 f"distinct passages the documentation search returned in this run are identical to one "
                 f"of the port's passages of that article ({100 * pc['identical'] / max(1, pc['passages']):.1f}%)")
        L.append(f"- Query sets: tldr {R['sets']['tldr']} (the question set's tldr questions and "
                 f"follow-up openers, the unanswerable questions, {a.derived} derived from page "
                 f"descriptions, e.g. {', '.join(repr(x) for x in R['derived_examples'][:4])}); "
                 f"Mintlify {R['sets']['mintlify']}")
        L += ["", "### 1. Documentation search vs the management search (one client, one request at a time)", "",
              f"`POST /v1/search/{{domain}}` (`pageSize` {a.page_size}, assistant key) and "
              f"`GET /v1/kb/{{kb}}/search?q=…&limit={a.page_size}` (admin key) on the same queries, "
              "alternating query by query; timed from sending the request to the last byte of the "
              "response over a keep-alive connection.", "",
              "| KB | queries × rounds | /v1/search p50 / p99 (ms) | management p50 / p99 (ms) | ratio p50 / p99 | server CPU per request, /v1/search / management (ms) | mean response bytes (/v1/search, management) | goal | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
        for slug, r in R["search_speed"].items():
            met = r["ratio_p50"] <= 1.5 and r["ratio_p99"] <= 1.5
            worst = max(r["ratio_p50"], r["ratio_p99"])
            L.append(f"| {slug} | {r['queries']} × {r['rounds']} | {r['docs_p50']:.2f} / {r['docs_p99']:.2f} | "
                     f"{r['kb_p50']:.2f} / {r['kb_p99']:.2f} | {r['ratio_p50']:.2f}× / {r['ratio_p99']:.2f}× | "
                     f"{r['docs_cpu_ms']:.2f} / {r['kb_cpu_ms']:.2f} ({r['docs_cpu_ms'] / r['kb_cpu_ms']:.2f}×) | "
                     f"{r['docs_bytes_mean']:,.0f}, {r['kb_bytes_mean']:,.0f} | "
                     f"≤ 1.5× | {'met' if met else '**not met**'} (worst {worst:.2f}×, margin "
                     f"{1.5 - worst:+.2f}) |")
        L += ["", "### 2. Extractive assistant (`POST /v2/assistant/{domain}/message`, one client)", "",
              "Streamed (SSE) over a raw socket: time to the first byte of the response body, to the "
              "first `text-delta` chunk, and to the stream's last chunk (after `data: [DONE]`); and the "
              "same message with `Accept: application/json` (one JSON object) to its last byte. Each "
              "message starts a new thread (written to SQLite before `finish`).", "",
              "| KB | messages × rounds | first byte p50 / p99 (ms) | first text-delta p50 / p99 | stream end p50 / p99 | JSON p50 / p99 | server CPU per streamed message (ms) | unanswered | goal | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for slug, r in R["assistant_speed"].items():
            met = r["ttfb_p99"] < 50
            L.append(f"| {slug} | {r['messages']} × {r['rounds']} | {r['ttfb_p50']:.2f} / {r['ttfb_p99']:.2f} | "
                     f"{r['delta_p50']:.2f} / {r['delta_p99']:.2f} | {r['done_p50']:.2f} / {r['done_p99']:.2f} | "
                     f"{r['json_p50']:.2f} / {r['json_p99']:.2f} | {r['cpu_ms']:.2f} | {100 * r['unanswered_share']:.0f}% | "
                     f"first byte p99 < 50 ms | {'met' if met else '**not met**'} (margin "
                     f"{50 - r['ttfb_p99']:+.1f} ms) |")
        firsts = sorted({f for r in R["assistant_speed"].values() for f in r["first_chunks"]})
        L += ["", "The first body bytes of each stream, e.g. " + "; ".join(f"`{f}`" for f in firsts[:1])
              + f" (median {statistics.median([r['reads_median'] for r in R['assistant_speed'].values()]):.0f} "
              "socket reads per response)."]
        L += ["", "### 3. Retrieval quality on the question set (recall@5; deterministic)", "",
              "Each cell: the share of questions with one of their expected pages among the 5 articles "
              "(recall@5, \"any\"), and in brackets the share of all expected pages found. FTS5: "
              "`bm25()` over the port's passages `(title, heading, tags, body)` or over whole articles, "
              "`porter unicode61 remove_diacritics 2`, every query word OR-ed (as in `bench/search`).", ""]
        Q = R["quality"]
        n_all = sum(r["questions"] for r in Q.values())
        e_all = sum(r["expected_pages"] for r in Q.values())
        both = {}
        for m, _ in self.QUALITY:
            both[m + "_any"] = sum(r[m + "_any"] * r["questions"] for r in Q.values()) / n_all
            both[m + "_all"] = sum(r[m + "_all"] * r["expected_pages"] for r in Q.values()) / e_all
        cols = list(Q) + ["both"]
        L.append("| method | " + " | ".join(f"{c} ({Q[c]['questions'] if c in Q else n_all} questions)"
                                            for c in cols) + " |")
        L.append("|---|" + "---|" * len(cols))
        for m, label in self.QUALITY:
            cells = [Q[c] if c in Q else both for c in cols]
            L.append(f"| {label} | " + " | ".join(f"{r[m + '_any']:.3f} ({r[m + '_all']:.3f})" for r in cells) + " |")
        L.append("")
        ans = ", ".join(f"{c} {Q[c]['answered']} of {Q[c]['questions']}" for c in Q)
        L.append(f"The assistant answered (`resolutionStatus: answered`): {ans}.")
        L.append("")
        ratio = lambda a, b: f"{both[a + '_any'] / both[b + '_any']:.2f}×" if both[b + "_any"] else "—"
        L.append("Ratios, both corpora, recall@5 (any): Tome passages (`pageSize` 10) ÷ Tome whole "
                 f"articles {ratio('tome_p10', 'tome_articles')}; Tome passages (`pageSize` 10) ÷ FTS5 "
                 f"passages (first 5 distinct) {ratio('tome_p10', 'fts5_p50')}; Tome 5 passages ÷ FTS5 5 "
                 f"passages {ratio('tome_p5', 'fts5_p5')}; Tome whole articles ÷ FTS5 whole articles "
                 f"{ratio('tome_articles', 'fts5_articles')}.")
        L += ["", "The unanswerable questions (neither corpus answers them) asked of each KB, and the "
              "score of the best passage (`pageSize` 5; the 0–1 scale `scoreThreshold` filters on) for "
              "them and for the answerable ones — the margin the assistant's relevance threshold has "
              "to work with:", "",
              "| KB | unanswerable: declined (`unanswered`) | …with no source at all | best passage score, unanswerable: p10 / median / p90 / max | best passage score, answerable: min / p10 / median / p90 |",
              "|---|---|---|---|---|"]
        for corpus, u in R["unanswerable"].items():
            us, qs_ = u["top_scores"], Q[corpus]["top_scores"]
            L.append(f"| {corpus} | {u['declined']} of {u['questions']} | {u['no_sources']} of {u['questions']} | "
                     f"{pct(us, 10):.3f} / {statistics.median(us):.3f} / {pct(us, 90):.3f} / {max(us):.3f} | "
                     f"{min(qs_):.3f} / {pct(qs_, 10):.3f} / {statistics.median(qs_):.3f} / {pct(qs_, 90):.3f} |")
        for corpus, r in Q.items():
            if r["tome_p10_misses"]:
                L.append(f"\nTome passages (`pageSize` 10) miss on {corpus}: " + "; ".join(
                    f"“{q}”" for q in r["tome_p10_misses"]))
        if pc["differing"]:
            L.append("\nPassages the port splits or words differently (first few): " + "; ".join(
                f"{a_id} “{h}”" for a_id, h, _ in pc["differing"][:5]))
        text = "\n".join(L) + "\n"
        with open(a.results, "w", encoding="utf-8") as f:
            f.write(text)
        with open(os.path.splitext(a.results)[0] + ".json", "w", encoding="utf-8") as f:
            json.dump({"header": a.header, "notes": self.notes, **R}, f, indent=1, ensure_ascii=False)
        print(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tome", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--tldr", required=True)
    p.add_argument("--mintlify", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--header", default="# Assistant benchmark")
    p.add_argument("--synchronous", default="full")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--page-size", type=int, default=10)
    p.add_argument("--derived", type=int, default=300)
    p.add_argument("--derived-messages", type=int, default=100)
    a = p.parse_args()
    b = Bench(a)
    try:
        b.run()
    finally:
        if getattr(b, "server", None):
            b.server.stop()
    b.report()


if __name__ == "__main__":
    main()
