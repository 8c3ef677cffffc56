//! Splitting text into words: runs of letters and digits, where a single letter in brackets
//! glued to a word is part of it — tldr pages mark an option's letter so (`e[x]ecute`,
//! `[u]ser`, `Lis[t]`), and read as `execute`, `user`, `List`. Any other bracket, and a
//! bracketed letter standing alone (`- [x] done`), splits words as any punctuation does.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Words of text, with option-letter marks read through (see the module's documentation).
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

pub struct WordTokenStream<'a> {
    text: &'a str,
    /// Byte offset of the next character to look at.
    pos: usize,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream {
            text,
            pos: 0,
            token: &mut self.token,
        }
    }
}

/// The letter of a `[x]` mark starting at byte `at` of `text`, and the offset after the `]`.
fn mark_at(text: &str, at: usize) -> Option<(char, usize)> {
    let rest = text.get(at..)?;
    let mut chars = rest.chars();
    if chars.next()? != '[' {
        return None;
    }
    let letter = chars.next().filter(|c| c.is_alphabetic())?;
    (chars.next()? == ']').then_some((letter, at + 2 + letter.len_utf8()))
}

fn alphanumeric_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?
        .chars()
        .next()
        .filter(|c| c.is_alphanumeric())
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        let text = self.text;
        // The start of the next word: a letter or digit, or a mark glued to one.
        let start = loop {
            let Some(c) = text.get(self.pos..).and_then(|r| r.chars().next()) else {
                return false;
            };
            if c.is_alphanumeric() {
                break self.pos;
            }
            if let Some((_, after)) = mark_at(text, self.pos)
                && alphanumeric_at(text, after).is_some()
            {
                break self.pos;
            }
            self.pos += c.len_utf8();
        };
        loop {
            if let Some(c) = alphanumeric_at(text, self.pos) {
                self.token.text.push(c);
                self.pos += c.len_utf8();
            } else if let Some((letter, after)) = mark_at(text, self.pos) {
                self.token.text.push(letter);
                self.pos = after;
            } else {
                break;
            }
        }
        self.token.offset_from = start;
        self.token.offset_to = self.pos;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(String, usize, usize)> {
        let mut t = WordTokenizer::default();
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let tok = s.token();
            out.push((tok.text.clone(), tok.offset_from, tok.offset_to));
        }
        out
    }

    fn texts(text: &str) -> Vec<String> {
        words(text).into_iter().map(|(w, _, _)| w).collect()
    }

    #[test]
    fn splits_on_anything_not_a_letter_or_digit() {
        assert_eq!(
            texts("Hello, happy tax-payer!"),
            ["Hello", "happy", "tax", "payer"]
        );
        assert_eq!(texts("café über 42"), ["café", "über", "42"]);
        assert!(texts(" ,; ").is_empty());
    }

    #[test]
    fn reads_option_letter_marks_as_part_of_the_word() {
        assert_eq!(
            texts("Give the [u]ser the right to e[x]ecute it, Lis[t] them"),
            [
                "Give", "the", "user", "the", "right", "to", "execute", "it", "List", "them"
            ]
        );
        // The word's offsets cover the marks, so a highlight covers them too.
        assert_eq!(words("a e[x]ecute")[1], ("execute".to_string(), 2, 11));
    }

    #[test]
    fn other_brackets_split_words() {
        assert_eq!(texts("- [x] done"), ["x", "done"]);
        assert_eq!(
            texts("see [1]st and [ab]c"),
            ["see", "1", "st", "and", "ab", "c"]
        );
        assert_eq!(texts("{{[-R|--recursive]}}"), ["R", "recursive"]);
        assert_eq!(texts("[x](url)"), ["x", "url"]);
        assert_eq!(texts("end ["), ["end"]);
    }
}
