//! A model's citations: it cites the passages it was sent as `[n]`; the asker sees the pages
//! numbered in order of first citation, with citations of passages it was not sent dropped.
//!
//! What counts as a citation: `[n]`, several at once (`[1, 2]`, `[1; 2]`, `[1][2]`), footnote
//! style `[^1]` and the full-width brackets some models use (`【1】`), `n` being one to three
//! ASCII digits. A chain of adjacent brackets (`[1][2]`) is one citation, written back as
//! `[a][b]` with each page once. Pages are told apart by their `url`: two passages with the same
//! URL are one source. A citation whose numbers all point nowhere (`[0]`, `[7]` with five
//! passages) is dropped together with the spaces before it, so `text [7].` becomes `text.`.
//! Brackets inside Markdown code (`` `a[1]` ``, fenced blocks) are code, never citations.
//!
//! The text streams: only a trailing `[…` that may still become a citation, trailing spaces
//! (they go if a dropped citation follows) and a trailing run of backticks are held back, and
//! never more than a few characters. The result does not depend on how the model's text was cut
//! into deltas.

use crate::{Citation, Event, Passage};

/// Longest chain of brackets read as one citation; past it, the `[` is plain text.
const MAX_CITATION: usize = 48;
/// Most spaces dropped before a dropped citation (and so held back while waiting for one).
const MAX_SPACES: usize = 16;

/// The source a passage becomes when cited: its URL, and its title with the heading trail
/// (`Install › On Windows`) so that two sections of one article read differently.
pub fn citation(passage: &Passage) -> Citation {
    let title = if passage.heading.is_empty() {
        passage.title.clone()
    } else {
        format!("{} › {}", passage.title, passage.heading)
    };
    Citation {
        url: passage.url.clone(),
        title,
    }
}

/// Rewrites a streamed answer's citations as it arrives.
#[derive(Debug)]
pub struct Citer {
    passages: Vec<Passage>,
    sources: Vec<Citation>,
    /// The answer given out so far, citations renumbered.
    text: String,
    /// The model's text not decided yet (see the module's documentation).
    held: String,
    /// Inside Markdown code opened by a run of this many backticks.
    code: Option<usize>,
}

/// What a `[` (or `【`) starts.
#[derive(Debug, PartialEq)]
enum Parsed {
    /// Plain text.
    No,
    /// Cannot tell yet: more text is needed.
    Incomplete,
    /// A citation `len` bytes long, of these passage numbers (as the model wrote them).
    Citation { len: usize, numbers: Vec<usize> },
}

/// Reads the chain of citation brackets `s` starts with; `last`: no more text will come.
fn parse(s: &str, last: bool) -> Parsed {
    /// Where in a bracket the reader is.
    enum State {
        /// After the opening bracket or a separator: spaces, `^`, then a number.
        Number,
        /// In a number, of this many digits so far.
        Digits(u32),
        /// After a number: spaces, then a separator or the closing bracket.
        After,
    }
    let mut numbers = Vec::new();
    // The end of the last complete bracket: a chain ends there when what follows is not one.
    let mut end = 0;
    let done = |end: usize, numbers: Vec<usize>| match end {
        0 => Parsed::No,
        len => Parsed::Citation { len, numbers },
    };
    let mut chars = s.char_indices();
    loop {
        let close = match chars.next() {
            None if last => return done(end, numbers),
            None => return Parsed::Incomplete,
            Some((_, '[')) => ']',
            Some((_, '【')) => '】',
            Some(_) => return done(end, numbers),
        };
        let mut bracket = Vec::new();
        let mut value = 0;
        let mut state = State::Number;
        loop {
            let Some((at, c)) = chars.next() else {
                return if last {
                    done(end, numbers)
                } else {
                    Parsed::Incomplete
                };
            };
            if at >= MAX_CITATION {
                return done(end, numbers);
            }
            let digit = c.is_ascii_digit().then(|| c as usize - '0' as usize);
            state = match (state, c, digit) {
                (State::Number, ' ' | '\t' | '^', _) => State::Number,
                (State::Number, _, Some(d)) => {
                    value = d;
                    State::Digits(1)
                }
                (State::Digits(n), _, Some(d)) if n < 3 => {
                    value = value * 10 + d;
                    State::Digits(n + 1)
                }
                (State::Digits(_), ' ' | '\t', _) => {
                    bracket.push(value);
                    State::After
                }
                (State::Digits(_), ',' | ';', _) => {
                    bracket.push(value);
                    State::Number
                }
                (State::After, ' ' | '\t', _) => State::After,
                (State::After, ',' | ';', _) => State::Number,
                (state @ (State::Digits(_) | State::After), c, _) if c == close => {
                    if let State::Digits(_) = state {
                        bracket.push(value);
                    }
                    numbers.extend(bracket);
                    end = at + c.len_utf8();
                    break;
                }
                _ => return done(end, numbers),
            };
        }
    }
}

impl Citer {
    /// A citer for an answer from `passages`, numbered `[1]`… in this order in the prompt.
    pub fn new(passages: &[Passage]) -> Self {
        Citer {
            passages: passages.to_vec(),
            sources: Vec::new(),
            text: String::new(),
            held: String::new(),
            code: None,
        }
    }

    /// Feeds a delta of the model's text; returns the events ready to send (text may be held
    /// back while a `[` could still start a citation).
    pub fn push(&mut self, delta: &str) -> Vec<Event> {
        self.held.push_str(delta);
        self.process(false)
    }

    /// Flushes what is held back at the end of the answer.
    pub fn finish(&mut self) -> Vec<Event> {
        self.process(true)
    }

    /// The answer so far, citations renumbered.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cited pages so far, `[n]` = `sources()[n - 1]`.
    pub fn sources(&self) -> &[Citation] {
        &self.sources
    }

    /// Decides as much of the held text as it can (all of it when `last`).
    fn process(&mut self, last: bool) -> Vec<Event> {
        let input = std::mem::take(&mut self.held);
        let mut events = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            if let Some(fence) = self.code {
                // Code: only a closing run of backticks (or, for inline code, the line's end)
                // matters.
                let Some(next) = rest.find(['`', '\n']) else {
                    self.emit(&mut events, rest);
                    at = input.len();
                    continue;
                };
                self.emit(&mut events, &rest[..next]);
                at += next;
                if rest[next..].starts_with('\n') {
                    if fence < 3 {
                        self.code = None;
                    }
                    self.emit(&mut events, "\n");
                    at += 1;
                    continue;
                }
                let Some(run) = self.backticks(&input[at..], last) else {
                    break;
                };
                if run == fence {
                    self.code = None;
                }
                self.emit(&mut events, &input[at..at + run]);
                at += run;
                continue;
            }

            let Some(next) = rest.find(['`', ' ', '\t', '[', '【']) else {
                self.emit(&mut events, rest);
                at = input.len();
                continue;
            };
            self.emit(&mut events, &rest[..next]);
            at += next;
            let rest = &input[at..];
            if rest.starts_with('`') {
                let Some(run) = self.backticks(rest, last) else {
                    break;
                };
                self.code = Some(run);
                self.emit(&mut events, &rest[..run]);
                at += run;
                continue;
            }

            let spaces = rest
                .bytes()
                .take_while(|&b| b == b' ' || b == b'\t')
                .count();
            if spaces == rest.len() && !last {
                // Keep the last few spaces: a dropped citation may follow.
                let keep = spaces.min(MAX_SPACES);
                self.emit(&mut events, &rest[..spaces - keep]);
                at += spaces - keep;
                break;
            }
            // Only the last `MAX_SPACES` spaces go with a dropped citation.
            let kept = spaces.saturating_sub(MAX_SPACES);
            self.emit(&mut events, &rest[..kept]);
            at += kept;
            let (spaces, rest) = rest[kept..].split_at(spaces - kept);
            match parse(rest, last) {
                Parsed::Incomplete => break,
                Parsed::No => {
                    // Spaces, and a `[` if one follows: it is text.
                    let bracket = if rest.starts_with(['[', '【']) {
                        rest.chars().next().map_or(0, char::len_utf8)
                    } else {
                        0
                    };
                    let plain = spaces.len() + bracket;
                    self.emit(&mut events, &input[at..at + plain]);
                    at += plain;
                }
                Parsed::Citation { len, numbers } => {
                    let ids = self.resolve(&numbers, &mut events, spaces);
                    if !ids.is_empty() {
                        let cited: String = ids.iter().map(|id| format!("[{id}]")).collect();
                        self.emit(&mut events, &cited);
                    }
                    at += spaces.len() + len;
                }
            }
        }
        self.held = input[at..].to_string();
        events
    }

    /// The length of the run of backticks `s` starts with, or `None` if it may go on.
    fn backticks(&self, s: &str, last: bool) -> Option<usize> {
        let run = s.bytes().take_while(|&b| b == b'`').count();
        (run < s.len() || last).then_some(run)
    }

    /// The asker's numbers for the passages `numbers` cites, each once, announcing new sources;
    /// `spaces` (the text before the citation) is given out first unless nothing is cited.
    fn resolve(&mut self, numbers: &[usize], events: &mut Vec<Event>, spaces: &str) -> Vec<usize> {
        let cited: Vec<usize> = numbers
            .iter()
            .filter_map(|&n| n.checked_sub(1))
            .filter(|&i| i < self.passages.len())
            .collect();
        if cited.is_empty() {
            return Vec::new();
        }
        self.emit(events, spaces);
        let mut ids = Vec::new();
        for i in cited {
            let passage = &self.passages[i];
            let id = match self.sources.iter().position(|s| s.url == passage.url) {
                Some(known) => known + 1,
                None => {
                    let citation = citation(passage);
                    self.sources.push(citation.clone());
                    events.push(Event::Source {
                        id: self.sources.len().to_string(),
                        citation,
                    });
                    self.sources.len()
                }
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Gives out answer text, merged into the last event when that is text too.
    fn emit(&mut self, events: &mut Vec<Event>, text: &str) {
        if text.is_empty() {
            return;
        }
        self.text.push_str(text);
        match events.last_mut() {
            Some(Event::Text(last)) => last.push_str(text),
            _ => events.push(Event::Text(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passages `[1]`…`[n]`; passages listed in `same_page` share the URL of the first of them.
    fn passages(n: usize, same_page: &[usize]) -> Vec<Passage> {
        (1..=n)
            .map(|i| {
                let page = if same_page.contains(&i) {
                    same_page[0]
                } else {
                    i
                };
                Passage {
                    article_id: format!("kba_{page}"),
                    title: format!("Page {page}"),
                    heading: if i == 1 {
                        String::new()
                    } else {
                        format!("Part {i}")
                    },
                    url: format!("https://help.example.com/acme/articles/kba_{page}"),
                    text: String::new(),
                    about: String::new(),
                    score: 0.5,
                }
            })
            .collect()
    }

    /// The events for `pieces`, adjacent texts merged (how they were cut is not meaningful).
    fn run(passages: &[Passage], pieces: &[&str]) -> (Vec<Event>, Citer) {
        let mut citer = Citer::new(passages);
        let mut events = Vec::new();
        for piece in pieces {
            events.extend(citer.push(piece));
        }
        events.extend(citer.finish());
        (merge(events), citer)
    }

    fn merge(events: Vec<Event>) -> Vec<Event> {
        let mut merged: Vec<Event> = Vec::new();
        for event in events {
            match (merged.last_mut(), event) {
                (_, Event::Text(text)) if text.is_empty() => {
                    panic!("an empty text event")
                }
                (Some(Event::Text(last)), Event::Text(text)) => last.push_str(&text),
                (_, event) => merged.push(event),
            }
        }
        merged
    }

    fn rewrite(n: usize, text: &str) -> String {
        run(&passages(n, &[]), &[text]).1.text().to_string()
    }

    fn source(id: usize, page: usize) -> Event {
        Event::Source {
            id: id.to_string(),
            citation: Citation {
                url: format!("https://help.example.com/acme/articles/kba_{page}"),
                title: if page == 1 {
                    "Page 1".to_string()
                } else {
                    format!("Page {page} › Part {page}")
                },
            },
        }
    }

    fn text(s: &str) -> Event {
        Event::Text(s.to_string())
    }

    #[test]
    fn sources_are_numbered_in_order_of_first_citation_right_before_their_text() {
        let (events, citer) = run(&passages(5, &[]), &["A [3]. B [1]. C [3]."]);
        assert_eq!(
            events,
            [
                text("A "),
                source(1, 3),
                text("[1]. B "),
                source(2, 1),
                text("[2]. C [1]."),
            ]
        );
        assert_eq!(citer.text(), "A [1]. B [2]. C [1].");
        assert_eq!(citer.sources().len(), 2);
        assert_eq!(citer.sources()[0].title, "Page 3 › Part 3");
        assert_eq!(citer.sources()[1].title, "Page 1");
    }

    #[test]
    fn passages_of_one_url_are_one_source() {
        let passages = passages(4, &[2, 4]);
        let (events, citer) = run(&passages, &["X [4]. Y [2]. Z [2][4] [2, 4]."]);
        assert_eq!(citer.text(), "X [1]. Y [1]. Z [1] [1].");
        assert_eq!(citer.sources().len(), 1);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Source { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn citations_of_passages_not_sent_are_dropped_with_their_spaces() {
        assert_eq!(rewrite(5, "Foo [7]. Bar [0] baz [6, 9]."), "Foo. Bar baz.");
        assert_eq!(rewrite(5, "Foo [7][2]. Bar [2, 0]."), "Foo [1]. Bar [1].");
        assert_eq!(rewrite(0, "Nothing was sent [1]."), "Nothing was sent.");
        assert_eq!(rewrite(5, "[9] starts a line"), " starts a line");
        let (events, citer) = run(&passages(2, &[]), &["Foo [7]."]);
        assert_eq!(events, [text("Foo.")]);
        assert!(citer.sources().is_empty());
    }

    #[test]
    fn groups_chains_footnotes_and_full_width_brackets() {
        assert_eq!(rewrite(5, "a [2, 3]"), "a [1][2]");
        assert_eq!(rewrite(5, "a [2,3; 4]"), "a [1][2][3]");
        assert_eq!(rewrite(5, "a [ 2 ]"), "a [1]");
        assert_eq!(rewrite(5, "a [2][3][2]."), "a [1][2].");
        assert_eq!(rewrite(5, "a.[3]"), "a.[1]");
        assert_eq!(rewrite(5, "a 【4】【2】"), "a [1][2]");
        assert_eq!(rewrite(5, "a [^5]"), "a [1]");
        assert_eq!(rewrite(5, "a [2] [3]"), "a [1] [2]");
        assert_eq!(rewrite(5, "a [002]"), "a [1]");
    }

    #[test]
    fn brackets_that_are_not_citations_stay_text() {
        for plain in [
            "[foo]",
            "[1-3]",
            "[1234]",
            "[]",
            "[ ]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "[docs]",
            "see [the docs](https://example.com)",
            "[1】",
            "【1]",
            "unclosed [2",
            "[",
            "a [b] c",
        ] {
            assert_eq!(rewrite(5, plain), plain);
        }
        // A chain ends at the first bracket that is not a citation.
        assert_eq!(rewrite(5, "x [2][note]"), "x [1][note]");
        // Too long to be a citation.
        let long = format!("[{}1]", " ".repeat(MAX_CITATION));
        assert_eq!(rewrite(5, &long), long);
    }

    #[test]
    fn code_is_never_rewritten() {
        assert_eq!(
            rewrite(3, "Use `items[1]` and `a[0]` [2]."),
            "Use `items[1]` and `a[0]` [1]."
        );
        assert_eq!(
            rewrite(
                3,
                "Run:\n\n```sh\n[ -f x ] && echo ${a[1]} `b[2]`\n```\n\nDone [3]."
            ),
            "Run:\n\n```sh\n[ -f x ] && echo ${a[1]} `b[2]`\n```\n\nDone [1]."
        );
        assert_eq!(rewrite(3, "``a ` [1]`` [1]"), "``a ` [1]`` [1]");
        // Inline code ends with its line, even if unclosed.
        assert_eq!(rewrite(3, "a `b [1]\nc [1]"), "a `b [1]\nc [1]");
        assert_eq!(rewrite(3, "a `b [2]\nc [2]"), "a `b [2]\nc [1]");
    }

    #[test]
    fn text_is_held_back_only_while_a_citation_may_start() {
        let mut citer = Citer::new(&passages(3, &[]));
        assert_eq!(citer.push("Plain text"), [text("Plain text")]);
        assert_eq!(citer.push(" and"), [text(" and")]);
        assert_eq!(citer.push(" see "), [text(" see")]);
        assert_eq!(citer.push("["), []);
        assert_eq!(citer.push("3"), []);
        assert_eq!(citer.push("]"), []);
        assert_eq!(
            citer.push(". More"),
            [text(" "), source(1, 3), text("[1]. More")]
        );
        assert_eq!(citer.push(" [x"), [text(" [x")]);
        assert_eq!(citer.push(" ``"), [text(" ")]);
        assert_eq!(citer.push("`code"), [text("```code")]);
        assert_eq!(citer.text(), "Plain text and see [1]. More [x ```code");

        // A `[` gives up after a bounded number of characters.
        let mut citer = Citer::new(&passages(3, &[]));
        let mut given = String::new();
        citer.push("[");
        for _ in 0..MAX_CITATION + 2 {
            for event in citer.push(" ") {
                if let Event::Text(t) = event {
                    given.push_str(&t);
                }
            }
        }
        assert!(given.starts_with('['), "{given:?}");
        // Spaces alone are held back only up to the few a dropped citation would take.
        let mut citer = Citer::new(&passages(3, &[]));
        let events = citer.push(&" ".repeat(40));
        assert_eq!(events, [text(&" ".repeat(40 - MAX_SPACES))]);
    }

    #[test]
    fn finish_gives_out_what_was_held_back() {
        let mut citer = Citer::new(&passages(3, &[]));
        assert_eq!(citer.push("end ["), [text("end")]);
        assert_eq!(citer.push("2"), []);
        assert_eq!(citer.finish(), [text(" [2")]);
        assert_eq!(citer.text(), "end [2");

        let mut citer = Citer::new(&passages(3, &[]));
        assert_eq!(citer.push("end [2]"), [text("end")]);
        assert_eq!(citer.finish(), [text(" "), source(1, 2), text("[1]")]);
        assert_eq!(citer.finish(), []);
    }

    const OUTPUTS: &[&str] = &[
        "To install Tome, run the installer [2]. On Windows, use the MSI [4][1]; \
         see [3, 9] and 【5】.\n\n1. `tome serve` [0]\n2. Open `a[1]` [^2]  [7].\n\
         ```\nx[1] ``y``\n```\nThe docs don't cover proxies [1,2 ; 3].",
        "é [1]€ [2]😀[3] 【4】 [5]  \t[6] ab[c] [12 [1 ] [ ^3 , 4 ]`",
        "[[1]] [1][[2]] ` [1]` [1]` ```[1] ````[2]```` [3]",
    ];

    /// Every way of cutting the same model output into deltas gives the same answer and events.
    #[test]
    fn the_same_events_however_the_output_is_cut() {
        let passages = passages(5, &[1, 4]);
        for output in OUTPUTS {
            let (whole, citer) = run(&passages, &[output]);
            let answer = citer.text().to_string();
            let bounds: Vec<usize> = (0..=output.len())
                .filter(|&i| output.is_char_boundary(i))
                .collect();
            for &cut in &bounds {
                let (events, citer) = run(&passages, &[&output[..cut], &output[cut..]]);
                assert_eq!(events, whole, "{output:?} cut at {cut}");
                assert_eq!(citer.text(), answer);
            }
            for (i, &a) in bounds.iter().enumerate() {
                for &b in &bounds[i..] {
                    let (events, _) = run(&passages, &[&output[..a], &output[a..b], &output[b..]]);
                    assert_eq!(events, whole, "{output:?} cut at {a} and {b}");
                }
            }
            let chars: Vec<String> = output.chars().map(String::from).collect();
            let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
            assert_eq!(run(&passages, &chars).0, whole, "{output:?} char by char");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Model output made of the pieces citations are made of, and some plain text.
        fn output() -> impl Strategy<Value = String> {
            let piece = prop::sample::select(vec![
                "[", "]", "【", "】", "1", "2", "7", "0", "12", ",", ";", " ", "  ", "\t", "^",
                "`", "```", "\n", "word", "é", ".", "[3]", "[2, 4]",
            ]);
            prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn cutting_never_changes_the_events(
                output in output(),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            ) {
                let passages = passages(5, &[2, 5]);
                let (whole, citer) = run(&passages, &[&output]);
                let mut bounds: Vec<usize> = cuts
                    .iter()
                    .map(|cut| cut.index(output.len() + 1))
                    .filter(|&i| output.is_char_boundary(i))
                    .collect();
                bounds.sort_unstable();
                let mut pieces = Vec::new();
                let mut from = 0;
                for bound in bounds {
                    pieces.push(&output[from..bound]);
                    from = bound;
                }
                pieces.push(&output[from..]);
                let (events, cut_citer) = run(&passages, &pieces);
                prop_assert_eq!(&events, &whole);
                prop_assert_eq!(cut_citer.text(), citer.text());

                // The text events are the answer; every source is announced once, in order,
                // before its first `[n]`, and no citation points past the sources.
                let mut text = String::new();
                let mut announced = 0;
                for event in &whole {
                    match event {
                        Event::Text(t) => text.push_str(t),
                        Event::Source { id, .. } => {
                            announced += 1;
                            prop_assert_eq!(id, &announced.to_string());
                            if !output.contains('`') {
                                let cited = format!("[{announced}]");
                                prop_assert!(!text.contains(&cited), "{} before its source", cited);
                            }
                        }
                        other => prop_assert!(false, "unexpected {:?}", other),
                    }
                }
                prop_assert_eq!(text.as_str(), citer.text());
                prop_assert_eq!(announced, citer.sources().len());
            }
        }
    }
}
