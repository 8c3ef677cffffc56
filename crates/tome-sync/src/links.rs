//! Link destinations in Markdown bodies: found outside code (fenced blocks and inline code
//! spans), and rewritten. The format readers write links between a source's pages as
//! `tome:page/N[#anchor]` (see [`crate::desired::PAGE_LINK_PREFIX`]); whoever creates the
//! articles turns them into hosted URLs with [`rewrite_page_links`] once the IDs are known.

use crate::desired::PAGE_LINK_PREFIX;

/// Rewrites every `tome:page/N` and `tome:page/N#anchor` link destination in `body` to
/// `url_of(N)` (the anchor kept). A destination whose `url_of` is `None` is left as it is.
pub fn rewrite_page_links(body: &str, url_of: impl Fn(usize) -> Option<String>) -> String {
    map_destinations(body, |dest| {
        let (index, anchor) = parse_page_link(dest)?;
        let url = url_of(index)?;
        Some(match anchor {
            Some(a) => format!("{url}#{a}"),
            None => url,
        })
    })
}

/// `tome:page/12#setup` → (12, Some("setup")).
pub fn parse_page_link(dest: &str) -> Option<(usize, Option<&str>)> {
    let rest = dest.strip_prefix(PAGE_LINK_PREFIX)?;
    let (digits, anchor) = match rest.split_once('#') {
        Some((d, a)) => (d, Some(a)),
        None => (rest, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, anchor))
}

/// The path of an article's hosted page: `/hc/{kb_slug}/articles/{id}-{slug of title}`, the
/// same shape as the hosted help centre's own links.
pub fn hosted_article_url(kb_slug: &str, id: &str, title: &str) -> String {
    article_url(&format!("/hc/{kb_slug}"), id, title)
}

/// The hosted article URL below `root` (`/hc/help` or `https://help.example.com/help`):
/// `{root}/articles/{id}-{slug of the title}`, as the help centre links its own pages.
pub fn article_url(root: &str, id: &str, title: &str) -> String {
    let slug: String = tome_render::slugify(title).chars().take(60).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{root}/articles/{id}")
    } else {
        format!("{root}/articles/{id}-{slug}")
    }
}

/// Calls `f` with the destination of every inline link and image (`[text](dest "title")`),
/// link reference definition (`[label]: dest`) and HTML `href="…"` attribute outside code, and
/// replaces the destination with what `f` returns (`None` keeps it).
pub fn map_destinations(body: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    let mut fence: Option<(u8, usize)> = None;
    let mut line_start = true;
    while i < bytes.len() {
        if line_start {
            line_start = false;
            let indent = body[i..]
                .bytes()
                .take_while(|b| *b == b' ' || *b == b'\t' || *b == b'>')
                .count();
            let rest = &body[i + indent..];
            let run = |c: u8| rest.bytes().take_while(|b| *b == c).count();
            if let Some((c, n)) = fence {
                let line_end = rest.find('\n').map_or(rest.len(), |e| e);
                if run(c) >= n
                    && rest[..line_end]
                        .trim_start_matches(c as char)
                        .trim()
                        .is_empty()
                {
                    fence = None;
                }
                i = skip_line(body, i);
                line_start = true;
                continue;
            }
            for c in [b'`', b'~'] {
                if run(c) >= 3 {
                    fence = Some((c, run(c)));
                }
            }
            if fence.is_some() {
                i = skip_line(body, i);
                line_start = true;
                continue;
            }
            // A reference definition: `[label]: dest`.
            let lead = body[i..].bytes().take_while(|b| *b == b' ').count();
            if lead < 4
                && let Some(rest) = body[i + lead..].strip_prefix('[')
                && let Some(close) = rest.find("]:")
                && !rest[..close].contains(['\n', '['])
            {
                let start = i + lead + 1 + close + 2;
                let ws = body[start..]
                    .bytes()
                    .take_while(|b| *b == b' ' || *b == b'\t')
                    .count();
                let d0 = start + ws;
                let d1 = d0
                    + body[d0..]
                        .bytes()
                        .take_while(|b| !b.is_ascii_whitespace())
                        .count();
                if d1 > d0
                    && let Some(new) = f(&body[d0..d1])
                {
                    out.push_str(&body[copied..d0]);
                    out.push_str(&new);
                    copied = d1;
                }
                i = skip_line(body, i);
                line_start = true;
                continue;
            }
        }
        match bytes[i] {
            b'\n' => {
                i += 1;
                line_start = true;
            }
            b'\\' => i += 2,
            b'`' => {
                let n = body[i..].bytes().take_while(|b| *b == b'`').count();
                i = match find_backtick_run(body, i + n, n) {
                    Some(end) => end + n,
                    None => i + n,
                };
            }
            b']' if bytes.get(i + 1) == Some(&b'(') => {
                let mut d0 = i + 2;
                d0 += body[d0..]
                    .bytes()
                    .take_while(|b| *b == b' ' || *b == b'\t')
                    .count();
                let (d0, d1) = if bytes.get(d0) == Some(&b'<') {
                    let end = body[d0 + 1..]
                        .find(['>', '\n'])
                        .map_or(d0 + 1, |e| d0 + 1 + e);
                    (d0 + 1, end)
                } else {
                    let mut depth = 0i32;
                    let mut e = d0;
                    while e < bytes.len() {
                        match bytes[e] {
                            b'(' => depth += 1,
                            b')' if depth == 0 => break,
                            b')' => depth -= 1,
                            b'\\' => e += 1,
                            b if b.is_ascii_whitespace() => break,
                            _ => {}
                        }
                        e += 1;
                    }
                    (d0, e.min(bytes.len()))
                };
                if d1 > d0
                    && let Some(new) = f(&body[d0..d1])
                {
                    out.push_str(&body[copied..d0]);
                    out.push_str(&new);
                    copied = d1;
                }
                i = d1.max(i + 2);
            }
            b'h' if body[i..].starts_with("href=")
                && i > 0
                && bytes[i - 1].is_ascii_whitespace()
                && matches!(bytes.get(i + 5), Some(b'"' | b'\'')) =>
            {
                let q = bytes[i + 5] as char;
                let d0 = i + 6;
                let d1 = body[d0..].find([q, '\n']).map_or(d0, |e| d0 + e);
                if d1 > d0
                    && let Some(new) = f(&body[d0..d1])
                {
                    out.push_str(&body[copied..d0]);
                    out.push_str(&new);
                    copied = d1;
                }
                i = d1.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out.push_str(&body[copied.min(body.len())..]);
    out
}

/// The byte after the end of the line `i` is on.
fn skip_line(s: &str, i: usize) -> usize {
    s[i..].find('\n').map_or(s.len(), |e| i + e + 1)
}

/// Where the next run of exactly `n` backticks starts, at or after `from`.
pub(crate) fn find_backtick_run(s: &str, from: usize, n: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = from;
    while i < b.len() {
        if b[i] == b'`' {
            let run = s[i..].bytes().take_while(|c| *c == b'`').count();
            if run == n {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// `dir` + `rel` with `.` and `..` resolved (never above the root).
pub fn normalize(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(i: usize) -> Option<String> {
        (i < 3).then(|| format!("/hc/kb/articles/kba_{i}"))
    }

    #[test]
    fn page_links_become_urls() {
        let body = "See [a](tome:page/1) and [b](tome:page/2#setup \"t\"), [c](tome:page/9), \
                    ![i](tome:page/0).\n\n[ref]: tome:page/0#x\n<a href=\"tome:page/1\">x</a>\n";
        assert_eq!(
            rewrite_page_links(body, url),
            "See [a](/hc/kb/articles/kba_1) and [b](/hc/kb/articles/kba_2#setup \"t\"), \
             [c](tome:page/9), ![i](/hc/kb/articles/kba_0).\n\n[ref]: /hc/kb/articles/kba_0#x\n\
             <a href=\"/hc/kb/articles/kba_1\">x</a>\n"
        );
    }

    #[test]
    fn code_is_left_alone() {
        let body = "```md\n[a](tome:page/1)\n```\n\n`[a](tome:page/1)` and [b](tome:page/1)\n\n\
                    ~~~~\n[c](tome:page/2)\n~~~\n~~~~\n";
        assert_eq!(
            rewrite_page_links(body, url),
            "```md\n[a](tome:page/1)\n```\n\n`[a](tome:page/1)` and [b](/hc/kb/articles/kba_1)\n\n\
             ~~~~\n[c](tome:page/2)\n~~~\n~~~~\n"
        );
    }

    #[test]
    fn odd_destinations() {
        assert_eq!(parse_page_link("tome:page/"), None);
        assert_eq!(parse_page_link("tome:page/1x"), None);
        assert_eq!(parse_page_link("tome:page/04#a#b"), Some((4, Some("a#b"))));
        let body = "[x](<tome:page/1>) [y](a(b)c) [z]( tome:page/2 )";
        assert_eq!(
            rewrite_page_links(body, url),
            "[x](</hc/kb/articles/kba_1>) [y](a(b)c) [z]( /hc/kb/articles/kba_2 )"
        );
    }

    #[test]
    fn hosted_urls() {
        assert_eq!(
            hosted_article_url("help", "kba_abc", "How to: Export CSV?"),
            "/hc/help/articles/kba_abc-how-to-export-csv"
        );
        assert_eq!(
            hosted_article_url("help", "kba_abc", "!!"),
            "/hc/help/articles/kba_abc"
        );
    }
}
