//! The units a passage is quoted in: sentences, list items, table rows, and a sentence ending
//! in `:` with the code it introduces.
//!
//! A passage's text is read line by line: each line is a block (a paragraph, a list item, a
//! table row, a code line). Markdown markers are recognised where present (`#` headings, `>`
//! quotes, `-`/`*`/`1.` list items, ``` fences, `|` table rows) and dropped from the quoted text;
//! MDX/HTML tag lines and `{/* … */}` comments are skipped. Paragraph lines are split into
//! sentences; list items, table rows and code lines stay whole. Text flattened to one line
//! still works, but its list items and code lines then run together.

/// What a quotable unit is; it decides how the unit is rendered and whether it may be quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A sentence of a paragraph.
    Prose,
    /// A list item or a table row: rendered on its own line as a list item.
    Item,
    /// A line of a fenced code block not introduced by a sentence ending in `:`; never quoted
    /// alone (out of context a code line reads as noise).
    Code,
    /// A heading line: its words count as heading words, it is never quoted.
    Heading,
}

/// A piece of a passage that an answer may quote.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unit {
    pub kind: Kind,
    /// The verbatim text (block markers removed).
    pub text: String,
    /// Code lines of a fenced block that this unit introduces (it ends with `:`).
    pub code: Vec<String>,
    /// The line the unit starts on: sentences of one paragraph share it.
    pub block: usize,
    /// Cut from a longer sentence at this side (rendered with an ellipsis).
    pub cut_before: bool,
    pub cut_after: bool,
    /// The number of an ordered list item (`3.` → 3).
    pub number: Option<u32>,
}

impl Unit {
    fn new(kind: Kind, text: &str, block: usize) -> Self {
        Unit {
            kind,
            text: text.to_string(),
            code: Vec::new(),
            block,
            cut_before: false,
            cut_after: false,
            number: None,
        }
    }

    /// Words in the unit (for the length penalty).
    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }
}

/// Sentences longer than this many words are quoted in windows of [`WINDOW_WORDS`]: text
/// without sentence punctuation (a page flattened to one line) would otherwise be quoted whole.
const MAX_UNIT_WORDS: usize = 60;
const WINDOW_WORDS: usize = 40;

/// Code lines that a `:` sentence takes along at most.
const MAX_ATTACHED_CODE_LINES: usize = 8;

/// The quotable units of a passage's text, in reading order.
pub(crate) fn units(text: &str) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut fence: Option<String> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (block, raw) in lines.iter().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some(marker) = &fence {
            if trimmed.starts_with(marker.as_str())
                && trimmed.trim_matches(|c| c == '`' || c == '~').is_empty()
            {
                fence = None;
            } else {
                // Blank lines too: they keep a block's lines consecutive (see `attach_code`).
                out.push(Unit::new(Kind::Code, line, block));
            }
            continue;
        }
        if let Some(marker) = fence_marker(trimmed) {
            fence = Some(marker);
            continue;
        }
        let mut rest = trimmed;
        while let Some(quoted) = rest.strip_prefix('>') {
            rest = quoted.trim_start();
        }
        if rest.is_empty() || is_markup_only(rest) {
            continue;
        }
        if let Some(heading) = heading_text(rest) {
            out.push(Unit::new(Kind::Heading, heading, block));
        } else if let Some((number, item)) = list_item(rest) {
            let first = out.len();
            push_long(&mut out, Kind::Item, item, block);
            if let Some(unit) = out.get_mut(first) {
                unit.number = number;
            }
        } else if rest.starts_with('|') {
            // A header row (the next line is the delimiter row) names columns: nothing to quote.
            let header = lines
                .get(block + 1)
                .is_some_and(|next| next.trim().starts_with('|') && table_row(next).is_none());
            if let Some(row) = table_row(rest).filter(|_| !header) {
                push_long(&mut out, Kind::Item, &row, block);
            }
        } else {
            for sentence in sentences(rest) {
                push_long(&mut out, Kind::Prose, sentence, block);
            }
        }
    }
    attach_code(out)
}

/// Pushes a unit, cut into windows of words if it is very long.
fn push_long(out: &mut Vec<Unit>, kind: Kind, text: &str, block: usize) {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= MAX_UNIT_WORDS {
        out.push(Unit::new(kind, text, block));
        return;
    }
    let windows = words.len().div_ceil(WINDOW_WORDS);
    for (i, window) in words.chunks(WINDOW_WORDS).enumerate() {
        let mut unit = Unit::new(kind, &window.join(" "), block);
        unit.cut_before = i > 0;
        unit.cut_after = i + 1 < windows;
        out.push(unit);
    }
}

/// A sentence ending in `:` takes along what it introduces when that is code: the code lines of
/// the fenced block right after it, or a paragraph that is one code span (a tldr command).
fn attach_code(units: Vec<Unit>) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(units.len());
    let mut iter = units.into_iter().peekable();
    while let Some(mut unit) = iter.next() {
        let introduces = matches!(unit.kind, Kind::Prose | Kind::Item)
            && unit.text.ends_with(':')
            && !unit.cut_after;
        if introduces {
            let mut last_block = unit.block;
            while let Some(next) = iter.peek() {
                let attach = match next.kind {
                    // Past the limit, the rest of the block stays plain code lines.
                    // The lines of the one block right after: the first line after the
                    // fence, then each next line (another block starts after two fence lines).
                    Kind::Code => {
                        unit.text.ends_with(':')
                            && unit.code.len() < MAX_ATTACHED_CODE_LINES
                            && (if unit.code.is_empty() {
                                next.block > last_block
                            } else {
                                next.block == last_block + 1
                            })
                    }
                    Kind::Prose => {
                        unit.text.ends_with(':')
                            && unit.code.is_empty()
                            && next.block > last_block
                            && is_code_span(&next.text)
                    }
                    _ => false,
                };
                if !attach {
                    break;
                }
                let Some(next) = iter.next() else { break };
                last_block = next.block;
                if next.kind == Kind::Code {
                    unit.code.push(next.text);
                } else {
                    unit.text.push(' ');
                    unit.text.push_str(&next.text);
                }
            }
        }
        while unit.code.last().is_some_and(|l| l.trim().is_empty()) {
            unit.code.pop();
        }
        out.push(unit);
    }
    // Blank code lines are not units of their own.
    out.retain(|u| !(u.kind == Kind::Code && u.text.trim().is_empty()));
    out
}

/// The marker of a fenced code block's opening line (the run of backticks or tildes).
fn fence_marker(line: &str) -> Option<String> {
    let fence_char = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = line.chars().take_while(|c| *c == fence_char).count();
    // An info string with a backtick is not a fence (CommonMark): it is inline code.
    let info = &line[run..];
    (run >= 3 && !(fence_char == '`' && info.contains('`'))).then(|| line[..run].to_string())
}

/// `# Title` → `Title`.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim().trim_end_matches('#').trim())
}

/// The number (ordered lists) and text of a list item line (`- x`, `* x`, `+ x`, `1. x`,
/// `1) x`).
fn list_item(line: &str) -> Option<(Option<u32>, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            let rest = rest.trim_start();
            // `- [ ] task` / `- [x] task`: the checkbox is markup.
            let rest = ["[ ] ", "[x] ", "[X] "]
                .iter()
                .find_map(|b| rest.strip_prefix(b))
                .unwrap_or(rest);
            return (!rest.is_empty()).then_some((None, rest));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        let rest = rest
            .strip_prefix(". ")
            .or_else(|| rest.strip_prefix(") "))?;
        let rest = rest.trim_start();
        let number = line[..digits].parse().ok();
        return (!rest.is_empty()).then_some((number, rest));
    }
    None
}

/// A table row's cells joined with ` — `; `None` for a delimiter row (`|---|:---:|`) or an
/// empty one.
fn table_row(line: &str) -> Option<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
    if cells
        .iter()
        .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
    {
        return None;
    }
    let cells: Vec<&str> = cells.into_iter().filter(|c| !c.is_empty()).collect();
    (!cells.is_empty()).then(|| cells.join(" — "))
}

/// A line that is only markup: MDX/HTML tags (`<Tip>`, `</CodeGroup>`, `<br/>`) or an MDX
/// comment (`{/* vale off */}`).
fn is_markup_only(line: &str) -> bool {
    if line.starts_with("{/*") && line.ends_with("*/}") {
        return true;
    }
    if !line.starts_with('<') || !line.ends_with('>') {
        return false;
    }
    // Tags back to back with nothing but whitespace between them.
    let mut rest = line;
    while let Some(tag) = rest.strip_prefix('<') {
        let Some(end) = tag.find('>') else {
            return false;
        };
        // A tag name, not an autolink (`<https://…>`) or a comparison.
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/' && *c != '>')
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_alphabetic())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return false;
        }
        rest = tag[end + 1..].trim_start();
    }
    rest.is_empty()
}

/// A paragraph that is exactly one code span: `` `mint dev` ``.
fn is_code_span(text: &str) -> bool {
    let ticks = text.chars().take_while(|c| *c == '`').count();
    ticks > 0
        && text.len() > 2 * ticks
        && text.ends_with(&"`".repeat(ticks))
        && !text[ticks..text.len() - ticks].contains(&"`".repeat(ticks))
}

/// Words that end a sentence-like token without ending the sentence, lower-cased, without the
/// final period.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "eg", "ie", "vs", "cf", "approx", "incl", "fig", "no", "nr", "dr", "mr", "mrs",
    "ms", "st", "jr", "sr", "al", "ca", "min", "max", "ver", "v", "resp", "esp",
];

/// Splits a paragraph into sentences, verbatim. A sentence ends at `.`, `!` or `?` (with any
/// closing quotes, brackets or emphasis) followed by a space and a capital, a digit or an
/// opening mark; never inside a code span, after an abbreviation (`e.g.`, `i.e.`, `U.S.`, an
/// initial), or inside a URL or version number (no space follows their dots).
pub(crate) fn sentences(paragraph: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut code_ticks = 0usize;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k].1;
        if c == '`' {
            let run = chars[k..].iter().take_while(|(_, ch)| *ch == '`').count();
            if code_ticks == 0 {
                code_ticks = run;
            } else if code_ticks == run {
                code_ticks = 0;
            }
            k += run;
            continue;
        }
        if code_ticks > 0 || !matches!(c, '.' | '!' | '?') {
            k += 1;
            continue;
        }
        let mut end = k + 1;
        while end < chars.len()
            && matches!(
                chars[end].1,
                '.' | '!' | '?' | ')' | ']' | '"' | '\'' | '”' | '’' | '*' | '_'
            )
        {
            end += 1;
        }
        if end >= chars.len() || !chars[end].1.is_whitespace() {
            k = end;
            continue;
        }
        let mut next = end;
        while next < chars.len() && chars[next].1.is_whitespace() {
            next += 1;
        }
        if next >= chars.len() {
            break;
        }
        let opener = chars[next].1;
        let starts_sentence = opener.is_uppercase()
            || opener.is_ascii_digit()
            || matches!(
                opener,
                '`' | '"' | '\'' | '“' | '‘' | '(' | '[' | '*' | '_' | '<'
            );
        if starts_sentence && !(c == '.' && is_abbreviation(&paragraph[start..chars[k].0])) {
            let sentence = paragraph[start..chars[end].0].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = chars[next].0;
        }
        k = next;
    }
    let last = paragraph[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// Whether the word just before a period (the end of `before`) is an abbreviation.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '[' || c == '"')
        .next()
        .unwrap_or("");
    if word.is_empty() {
        return false;
    }
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // An initial (`J.`) or a dotted abbreviation (`U.S.`, `a.m.`): letters in groups of one or
    // two between dots.
    let segments: Vec<&str> = word.split('.').collect();
    segments.iter().all(|s| {
        let n = s.chars().count();
        (1..=2).contains(&n) && s.chars().all(char::is_alphabetic)
    }) && (segments.len() > 1 || word.chars().all(char::is_uppercase) && word.chars().count() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_respect_abbreviations_versions_urls_and_code() {
        let text = "Install Node.js v20.17.0 or newer, e.g. the LTS release. Then run `npm i -g mint. Really.` \
                    to install. See https://nodejs.org/en. U.S. users (i.e. most) pay in USD. Done! Next? ok";
        assert_eq!(
            sentences(text),
            [
                "Install Node.js v20.17.0 or newer, e.g. the LTS release.",
                "Then run `npm i -g mint. Really.` to install.",
                "See https://nodejs.org/en.",
                "U.S. users (i.e. most) pay in USD.",
                "Done!",
                "Next? ok",
            ]
        );
        assert_eq!(
            sentences("Version 1.2. Then more (see below.) Last"),
            ["Version 1.2.", "Then more (see below.)", "Last"]
        );
    }

    #[test]
    fn units_read_markdown_blocks() {
        let text = "# am\n\n> Android activity manager.\n> More information: <https://developer.android.com/tools/adb#am>.\n\n\
                    - Start an intent [a]ction and pass [d]ata to it:\n\n`am start -a {{android.intent.action.VIEW}} -d {{tel:123}}`\n\n\
                    <Tip>\n{/* vale off */}\n| Flag | Description |\n| --- | --- |\n| `--name` | Project name. |\n\n\
                    Create the project with:\n\n```bash\nmint new docs\nmint dev\n```\n```\nloose code\n```";
        let units = units(text);
        let shape: Vec<(Kind, &str, &[String])> = units
            .iter()
            .map(|u| (u.kind, u.text.as_str(), u.code.as_slice()))
            .collect();
        let code = ["mint new docs".to_string(), "mint dev".to_string()];
        assert_eq!(
            shape,
            [
                (Kind::Heading, "am", &[][..]),
                (Kind::Prose, "Android activity manager.", &[][..]),
                (
                    Kind::Prose,
                    "More information: <https://developer.android.com/tools/adb#am>.",
                    &[][..]
                ),
                (
                    Kind::Item,
                    "Start an intent [a]ction and pass [d]ata to it: `am start -a {{android.intent.action.VIEW}} -d {{tel:123}}`",
                    &[][..]
                ),
                (Kind::Item, "`--name` — Project name.", &[][..]),
                (Kind::Prose, "Create the project with:", &code[..]),
                (Kind::Code, "loose code", &[][..]),
            ]
        );
    }

    #[test]
    fn very_long_lines_are_quoted_in_windows() {
        let line = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let units = units(&line);
        assert_eq!(units.len(), 3);
        assert!(!units[0].cut_before && units[0].cut_after);
        assert!(units[1].cut_before && units[1].cut_after);
        assert!(units[2].cut_before && !units[2].cut_after);
        assert_eq!(units.iter().map(Unit::word_count).sum::<usize>(), 100);
    }
}
