//! Server-sent events, as the HTML standard defines them, fed with bytes as they arrive: lines
//! end in CRLF, LF or CR (and a CR may end one chunk with its LF opening the next); an event's
//! `data:` lines are joined with LF; `:` lines are comments (keep-alives); other fields are
//! ignored since a chat-completions stream only uses `data`.

/// Longest line or event accepted; a stream that goes past it is not a chat-completions stream.
const MAX_LEN: usize = 1 << 20;

/// Why the bytes are not an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SseError {
    /// A line or an event longer than [`MAX_LEN`].
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::TooLong => write!(f, "an event longer than {MAX_LEN} bytes"),
            SseError::NotUtf8 => f.write_str("a line that is not UTF-8"),
        }
    }
}

/// Splits a byte stream into the data of its events.
#[derive(Debug, Default)]
pub(super) struct Parser {
    /// The current line, without its end.
    line: Vec<u8>,
    /// The last byte fed was a CR: an LF right after it ends no second line.
    after_cr: bool,
    /// The stream's first line has not started yet (a BOM there is dropped).
    started: bool,
    /// The current event's data lines, each followed by LF.
    data: String,
    has_data: bool,
}

impl Parser {
    /// Feeds bytes; the data of every event they complete is pushed to `out`.
    pub(super) fn feed(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), SseError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if rest[0] == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.extend_line(&rest[..end])?;
                    self.after_cr = rest[end] == b'\r';
                    rest = &rest[end + 1..];
                    self.end_line(out)?;
                }
                None => {
                    self.extend_line(rest)?;
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    /// The end of the stream: a last line without its end still counts, and so does a last event
    /// without its blank line (the standard drops it; servers that close right after their last
    /// `data:` line are common enough to be lenient).
    pub(super) fn finish(&mut self, out: &mut Vec<String>) -> Result<(), SseError> {
        if !self.line.is_empty() {
            self.end_line(out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > MAX_LEN {
            return Err(SseError::TooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<String>) -> Result<(), SseError> {
        let bytes = std::mem::take(&mut self.line);
        let mut line = std::str::from_utf8(&bytes).map_err(|_| SseError::NotUtf8)?;
        if !self.started {
            self.started = true;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            if self.data.len() + value.len() + 1 > MAX_LEN {
                return Err(SseError::TooLong);
            }
            self.data.push_str(value);
            self.data.push('\n');
            self.has_data = true;
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<String>) {
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        out.push(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(pieces: &[&[u8]]) -> Vec<String> {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece, &mut out).expect("valid stream");
        }
        parser.finish(&mut out).expect("valid stream");
        out
    }

    const STREAM: &str = "\u{feff}: keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: message\nid: 7\ndata:{\"b\":\ndata:  2}\n\nretry: 10\n\ndata\n\ndata: é€😀\r\rdata: [DONE]\n\n";

    #[test]
    fn events_comments_fields_and_line_ends() {
        assert_eq!(
            parse_all(&[STREAM.as_bytes()]),
            ["{\"a\":1}", "{\"b\":\n 2}", "", "é€😀", "[DONE]"]
        );
    }

    #[test]
    fn the_same_events_whatever_the_chunk_boundaries() {
        let whole = parse_all(&[STREAM.as_bytes()]);
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(
                parse_all(&[&bytes[..cut], &bytes[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse_all(&singles), whole);
    }

    #[test]
    fn a_last_event_without_its_blank_line_still_counts() {
        assert_eq!(parse_all(&[b"data: x\n"]), ["x"]);
        assert_eq!(parse_all(&[b"data: x"]), ["x"]);
        assert!(parse_all(&[b": only a comment"]).is_empty());
    }

    #[test]
    fn not_utf8_or_endless_lines_are_errors() {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        assert_eq!(
            parser.feed(b"data: \xff\xfe\n", &mut out),
            Err(SseError::NotUtf8)
        );
        let mut parser = Parser::default();
        let long = vec![b'a'; MAX_LEN / 2 + 1];
        assert_eq!(parser.feed(&long, &mut out), Ok(()));
        assert_eq!(parser.feed(&long, &mut out), Err(SseError::TooLong));
    }
}
