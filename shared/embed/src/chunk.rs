//! Knowledge-base chunking. A chunk is a run of whole sentences (a sentence longer than the
//! maximum is cut at a space), preferring to end at a paragraph break once it is long
//! enough, and starting with the previous chunk's last sentence so that an answer split
//! across a boundary is still found whole in one chunk.
//!
//! Offsets are in characters (Unicode scalar values), not bytes, and exact:
//! `text.chars().skip(char_start).take(char_end - char_start)` is the chunk's content.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub index: usize,
    pub char_start: usize,
    pub char_end: usize,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkConfig {
    /// A chunk may end at a paragraph break once it has this many characters.
    pub min_chars: usize,
    /// No chunk is longer than this.
    pub max_chars: usize,
    /// The previous chunk's last sentence is repeated when it is at most this long.
    pub max_overlap_chars: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            min_chars: 500,
            max_chars: 800,
            max_overlap_chars: 250,
        }
    }
}

/// A sentence (or a piece of an over-long one): `[start, end)` in characters, trimmed.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    /// The unit begins a paragraph.
    paragraph_start: bool,
}

fn units(chars: &[char], max_chars: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut paragraph_start = true;
    while i < chars.len() {
        // Skip whitespace, noting paragraph breaks (a blank line).
        let mut newlines = 0;
        while i < chars.len() && chars[i].is_whitespace() {
            if chars[i] == '\n' {
                newlines += 1;
            }
            i += 1;
        }
        if newlines >= 2 {
            paragraph_start = true;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        // A sentence ends after . ! ? (and closing quotes or brackets) before whitespace,
        // or at a paragraph break.
        let mut end = i;
        while end < chars.len() {
            let c = chars[end];
            end += 1;
            if matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
                while end < chars.len() && matches!(chars[end], '"' | '\'' | ')' | ']' | '”' | '’')
                {
                    end += 1;
                }
                if end >= chars.len() || chars[end].is_whitespace() {
                    break;
                }
            }
            if c == '\n' && end < chars.len() && chars[end] == '\n' {
                end -= 1;
                break;
            }
        }
        // Trim trailing whitespace.
        let mut trimmed_end = end;
        while trimmed_end > start && chars[trimmed_end - 1].is_whitespace() {
            trimmed_end -= 1;
        }
        // Cut over-long sentences at the last space before the limit.
        let mut piece_start = start;
        while trimmed_end - piece_start > max_chars {
            let limit = piece_start + max_chars;
            let cut = (piece_start + max_chars / 2..limit)
                .rev()
                .find(|&k| chars[k].is_whitespace())
                .unwrap_or(limit);
            let mut piece_end = cut;
            while piece_end > piece_start && chars[piece_end - 1].is_whitespace() {
                piece_end -= 1;
            }
            out.push(Unit {
                start: piece_start,
                end: piece_end,
                paragraph_start,
            });
            paragraph_start = false;
            piece_start = cut;
            while piece_start < trimmed_end && chars[piece_start].is_whitespace() {
                piece_start += 1;
            }
        }
        if trimmed_end > piece_start {
            out.push(Unit {
                start: piece_start,
                end: trimmed_end,
                paragraph_start,
            });
        }
        paragraph_start = false;
        i = end;
    }
    out
}

/// Splits `text` into chunks; see the module docs for the rules.
pub fn chunk_text(text: &str, config: ChunkConfig) -> Vec<Chunk> {
    let chars: Vec<char> = text.chars().collect();
    let units = units(&chars, config.max_chars);
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < units.len() {
        let start = units[first].start;
        let mut last = first;
        while last + 1 < units.len() {
            let next = units[last + 1];
            let len_with_next = next.end - start;
            let len_now = units[last].end - start;
            if len_with_next > config.max_chars {
                break;
            }
            if next.paragraph_start && len_now >= config.min_chars {
                break;
            }
            last += 1;
        }
        let end = units[last].end;
        chunks.push(Chunk {
            index: chunks.len(),
            char_start: start,
            char_end: end,
            content: chars[start..end].iter().collect(),
        });
        if last + 1 >= units.len() {
            break;
        }
        // Overlap: begin the next chunk with this one's last sentence when it is short and
        // doing so still makes progress.
        let tail = units[last];
        first = if last > first
            && tail.end - tail.start <= config.max_overlap_chars
            && !units[last + 1].paragraph_start
        {
            last
        } else {
            last + 1
        };
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slice(text: &str, start: usize, end: usize) -> String {
        text.chars().skip(start).take(end - start).collect()
    }

    fn article() -> String {
        let para = |topic: &str| {
            (0..6)
                .map(|i| {
                    format!("Sentence {i} explains how {topic} works in Nexify for every team.")
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "{}\n\n{}\n\n{}\n\nÜmlaut café — 日本語のテキスト。 Ends here.",
            para("billing"),
            para("refunds"),
            para("login")
        )
    }

    #[test]
    fn offsets_slice_back_to_the_content_including_non_ascii() {
        let text = article();
        let chunks = chunk_text(&text, ChunkConfig::default());
        assert!(chunks.len() >= 2, "{chunks:#?}");
        for chunk in &chunks {
            assert_eq!(
                slice(&text, chunk.char_start, chunk.char_end),
                chunk.content
            );
        }
        let last = chunks.last().unwrap();
        assert!(last.content.contains("日本語"), "{last:?}");
    }

    #[test]
    fn chunks_respect_the_size_limit_and_overlap() {
        let text = article();
        let config = ChunkConfig::default();
        let chunks = chunk_text(&text, config);
        for chunk in &chunks {
            assert!(chunk.char_end - chunk.char_start <= config.max_chars);
        }
        // Chunks of one paragraph overlap by a sentence.
        let long = (0..40)
            .map(|i| format!("Line {i} of one long paragraph about card payments."))
            .collect::<Vec<_>>()
            .join(" ");
        let chunks = chunk_text(&long, config);
        assert!(chunks.len() >= 3);
        for pair in chunks.windows(2) {
            assert!(
                pair[1].char_start < pair[0].char_end,
                "expected overlap: {pair:#?}"
            );
            assert!(
                pair[1].char_start > pair[0].char_start,
                "must make progress"
            );
        }
        for chunk in &chunks {
            assert!(
                chunk.char_end - chunk.char_start >= config.min_chars
                    || chunk.index == chunks.len() - 1
            );
        }
    }

    #[test]
    fn over_long_sentences_are_cut_at_spaces() {
        let text = "word ".repeat(500);
        let chunks = chunk_text(&text, ChunkConfig::default());
        for chunk in &chunks {
            assert!(chunk.content.len() <= 800);
            assert!(!chunk.content.starts_with(' ') && !chunk.content.ends_with(' '));
            assert_eq!(
                slice(&text, chunk.char_start, chunk.char_end),
                chunk.content
            );
        }
    }

    #[test]
    fn empty_and_blank_texts_have_no_chunks() {
        assert!(chunk_text("", ChunkConfig::default()).is_empty());
        assert!(chunk_text(" \n\n ", ChunkConfig::default()).is_empty());
    }

    proptest! {
        #[test]
        fn any_text_chunks_exactly_and_covers_every_word(text in "(\\PC{0,40}[.!?]? ?(\n\n)?){0,60}") {
            let chunks = chunk_text(&text, ChunkConfig::default());
            let mut covered = vec![false; text.chars().count()];
            for chunk in &chunks {
                prop_assert_eq!(slice(&text, chunk.char_start, chunk.char_end), chunk.content.clone());
                prop_assert!(chunk.char_end - chunk.char_start <= 800);
                for c in covered.iter_mut().take(chunk.char_end).skip(chunk.char_start) {
                    *c = true;
                }
            }
            for (i, ch) in text.chars().enumerate() {
                prop_assert!(covered[i] || ch.is_whitespace(), "char {} ({:?}) not covered", i, ch);
            }
        }
    }
}
