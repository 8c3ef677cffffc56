//! Links between the pages of a source: `tome:page/N` destinations (see
//! [`crate::desired::PAGE_LINK_PREFIX`]) rewritten to hosted URLs once IDs are known.

use tome_render::slugify;

use crate::desired::PAGE_LINK_PREFIX;

/// Rewrites every `tome:page/N` (and `tome:page/N#anchor`) in `body` to `url_of(N)` (keeping the
/// anchor); one whose `N` has no URL is left as it is.
pub fn rewrite_page_links(body: &str, url_of: impl Fn(usize) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(PAGE_LINK_PREFIX) {
        out.push_str(&rest[..at]);
        let after = &rest[at + PAGE_LINK_PREFIX.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>().ok().and_then(&url_of) {
            Some(url) => out.push_str(&url),
            None => {
                out.push_str(PAGE_LINK_PREFIX);
                out.push_str(&after[..digits]);
            }
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The hosted article URL below `root` (`/hc/help` or `https://help.example.com/help`):
/// `{root}/articles/{id}-{slug of the title}`, as the help centre links its own pages.
pub fn article_url(root: &str, id: &str, title: &str) -> String {
    let slug: String = slugify(title).chars().take(60).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{root}/articles/{id}")
    } else {
        format!("{root}/articles/{id}-{slug}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_are_rewritten_with_their_anchors() {
        let body =
            "See [a](tome:page/1#setup) and [b](tome:page/22), not tome:page/x or tome:page/9.";
        let out = rewrite_page_links(body, |i| (i != 9).then(|| format!("/u{i}")));
        assert_eq!(
            out,
            "See [a](/u1#setup) and [b](/u22), not tome:page/x or tome:page/9."
        );
    }

    #[test]
    fn article_urls_match_the_help_centre() {
        assert_eq!(
            article_url("/hc/help", "kba_abc123def456", "How to: Export CSV?"),
            "/hc/help/articles/kba_abc123def456-how-to-export-csv"
        );
        assert_eq!(article_url("/hc/h", "kba_x", "!!!"), "/hc/h/articles/kba_x");
    }
}
