//! The tantivy schema: only what queries need. Events themselves are never stored in
//! the index (no doc store): a hit is an LSN, and the event is read from the log.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::TantivyDocument;

use super::fields::IndexedFields;
use super::filter::decimal_f64;
use crate::types::Lsn;

/// The tokenizer of `text` (event_description and error_message), the same split as
/// [`words`].
pub const WORDS_TOKENIZER: &str = "sealog_words";

/// Fields that summaries group by (FAST string columns).
pub const SUMMARY_FIELDS: [&str; 5] = ["table_name", "user_id", "action", "event_type", "severity"];

/// Exact-match fields (untokenized), in [`super::Filter::terms`] naming.
pub const TERM_FIELDS: [&str; 10] = [
    "user_id",
    "event_type",
    "severity",
    "compliance_status",
    "table_name",
    "record_id",
    "symbol",
    "action",
    "result",
    "tags",
];

/// The schema's fields.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The event's LSN: FAST only (sort, ranges, sets of resolved events). Not INDEXED:
    /// a term per document costs the indexer much and would serve no query.
    pub lsn: Field,
    /// The tenant.
    pub tenant: Field,
    /// `TERM_FIELDS`, in that order.
    pub terms: Vec<Field>,
    /// `risk_score` as the nearest double (FAST).
    pub risk: Field,
    /// Words of event_description and error_message.
    pub text: Field,
}

impl Fields {
    /// The exact-match field named `name`.
    pub fn term(&self, name: &str) -> Option<Field> {
        TERM_FIELDS
            .iter()
            .position(|n| *n == name)
            .map(|i| self.terms[i])
    }
}

/// Builds the schema.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let lsn = b.add_u64_field("lsn", NumericOptions::default().set_fast());
    let exact = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let string = TextOptions::default().set_indexing_options(exact);
    let tenant = b.add_text_field("tenant", string.clone());
    let terms = TERM_FIELDS
        .iter()
        .map(|name| {
            let options = if SUMMARY_FIELDS.contains(name) {
                string.clone().set_fast(Some("raw"))
            } else {
                string.clone()
            };
            b.add_text_field(name, options)
        })
        .collect();
    let risk = b.add_f64_field("risk", NumericOptions::default().set_fast());
    let words = TextFieldIndexing::default()
        .set_tokenizer(WORDS_TOKENIZER)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let text = b.add_text_field("text", TextOptions::default().set_indexing_options(words));
    (
        b.build(),
        Fields {
            lsn,
            tenant,
            terms,
            risk,
            text,
        },
    )
}

/// The index document of one event.
pub fn document(fields: &Fields, lsn: Lsn, tenant: &str, f: &IndexedFields<'_>) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.lsn, lsn.0);
    doc.add_text(fields.tenant, tenant);
    let values = [
        &f.user_id,
        &f.event_type,
        &f.severity,
        &f.compliance_status,
        &f.table_name,
        &f.record_id,
        &f.symbol,
        &f.action,
        &f.result,
    ];
    for (field, value) in fields.terms.iter().zip(values) {
        if let Some(v) = value {
            doc.add_text(*field, v);
        }
    }
    for tag in &f.tags {
        doc.add_text(fields.terms[9], tag);
    }
    if let Some(r) = &f.risk_score {
        doc.add_f64(fields.risk, decimal_f64(r));
    }
    for text in [&f.event_description, &f.error_message]
        .into_iter()
        .flatten()
    {
        doc.add_text(fields.text, text);
    }
    doc
}

/// A tantivy tokenizer that yields exactly [`words`](super::filter::words).
#[derive(Debug, Clone, Default)]
pub struct WordsTokenizer {
    token: Token,
}

/// The token stream of [`WordsTokenizer`]: finds one word at a time, lowercasing it
/// into the token's own buffer (no allocation per word).
#[derive(Debug)]
pub struct WordsStream<'a> {
    text: &'a str,
    /// Where the search for the next word starts.
    at: usize,
    token: &'a mut Token,
}

impl Tokenizer for WordsTokenizer {
    type TokenStream<'a> = WordsStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordsStream<'a> {
        self.token.reset();
        WordsStream {
            text,
            at: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordsStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let rest = &self.text[self.at..];
            let Some(start) = rest.find(char::is_alphanumeric) else {
                self.at = self.text.len();
                return false;
            };
            let word = &rest[start..];
            let len = word
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(word.len());
            let offset = self.at + start;
            self.at = offset + len;
            if len > super::filter::WORD_BYTES_MAX {
                continue;
            }
            super::filter::lowercase_into(&word[..len], &mut self.token.text);
            self.token.offset_from = offset;
            self.token.offset_to = offset + len;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
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
    use proptest::prelude::*;
    use tantivy::tokenizer::{TokenStream, Tokenizer};

    use super::WordsTokenizer;
    use crate::search::filter::words;

    fn tokens(text: &str) -> Vec<(String, usize, usize)> {
        let mut tokenizer = WordsTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// The index's words are exactly the query side's [`words`], and each token's
        /// offsets point at the word it came from.
        #[test]
        fn the_tokenizer_yields_exactly_the_words(
            text in prop_oneof![
                "[a-zA-Z0-9 .,_-]{0,80}",
                "\\PC{0,40}",
                "([a-z]{60,70} ?){0,3}",
            ]
        ) {
            let got = tokens(&text);
            let want: Vec<String> = words(&text).collect();
            let texts: Vec<String> = got.iter().map(|(w, _, _)| w.clone()).collect();
            prop_assert_eq!(texts, want);
            for (w, from, to) in &got {
                prop_assert_eq!(&text[*from..*to].to_lowercase(), w);
            }
        }
    }
}
