//! The tantivy schema: only what queries need. Events themselves are never stored in
//! the index (no doc store): a hit is an LSN, and the event is read from the log.

use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{Document, Value};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

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
pub fn document(fields: &Fields, lsn: Lsn, tenant: &str, f: &IndexedFields<'_>) -> IndexDoc {
    let mut doc = IndexDoc {
        lsn: (fields.lsn, lsn.0),
        risk: None,
        text: String::with_capacity(DOC_TEXT_CAPACITY),
        strings: Vec::with_capacity(DOC_STRINGS_CAPACITY),
    };
    doc.push_str(fields.tenant, tenant);
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
            doc.push_str(*field, v);
        }
    }
    for tag in &f.tags {
        doc.push_str(fields.terms[9], tag);
    }
    if let Some(r) = &f.risk_score {
        doc.risk = Some((fields.risk, decimal_f64(r)));
    }
    for text in [&f.event_description, &f.error_message]
        .into_iter()
        .flatten()
    {
        doc.push_str(fields.text, text);
    }
    doc
}

/// Room for a typical event's strings in one [`IndexDoc`] (ids, codes and a
/// description: ~300 bytes), so most documents allocate once.
const DOC_TEXT_CAPACITY: usize = 384;

/// Room for a typical event's string values (tenant, nine exact fields, a few tags, the
/// description).
const DOC_STRINGS_CAPACITY: usize = 16;

/// What tantivy indexes of one event: its LSN, its string values (in one buffer) and its
/// risk score.
///
/// tantivy's own `TantivyDocument` encodes every value into a byte buffer, which its
/// indexing thread decodes again; this document hands tantivy the values as they are,
/// in two allocations. The indexing thread is the slowest stage of indexing
/// (docs/BENCHMARKS.md, "The allocator's purge delay and tantivy's documents").
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    lsn: (Field, u64),
    risk: Option<(Field, f64)>,
    /// Every string value, one after another.
    text: String,
    /// Each string value's field and where it ends in `text`.
    strings: Vec<(Field, usize)>,
}

impl IndexDoc {
    fn push_str(&mut self, field: Field, value: &str) {
        self.text.push_str(value);
        self.strings.push((field, self.text.len()));
    }
}

/// One value of an [`IndexDoc`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IndexValue<'a> {
    /// A string (tokenized as its field says).
    Str(&'a str),
    /// The LSN.
    U64(u64),
    /// The risk score.
    F64(f64),
}

impl<'a> Value<'a> for IndexValue<'a> {
    type ArrayIter = std::iter::Empty<IndexValue<'a>>;
    type ObjectIter = std::iter::Empty<(&'a str, IndexValue<'a>)>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        ReferenceValue::Leaf(match *self {
            IndexValue::Str(s) => ReferenceValueLeaf::Str(s),
            IndexValue::U64(n) => ReferenceValueLeaf::U64(n),
            IndexValue::F64(x) => ReferenceValueLeaf::F64(x),
        })
    }
}

/// The fields and values of an [`IndexDoc`]: the LSN, the strings in order, the risk.
#[derive(Debug)]
pub struct IndexValues<'a> {
    doc: &'a IndexDoc,
    /// 0: the LSN; 1..=strings: a string; then the risk.
    at: usize,
}

impl<'a> Iterator for IndexValues<'a> {
    type Item = (Field, IndexValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let doc = self.doc;
        let at = self.at;
        self.at += 1;
        if at == 0 {
            return Some((doc.lsn.0, IndexValue::U64(doc.lsn.1)));
        }
        if let Some(&(field, end)) = doc.strings.get(at - 1) {
            let start = match at {
                1 => 0,
                _ => doc.strings[at - 2].1,
            };
            return Some((field, IndexValue::Str(&doc.text[start..end])));
        }
        if at == doc.strings.len() + 1 {
            return doc.risk.map(|(field, x)| (field, IndexValue::F64(x)));
        }
        self.at = at;
        None
    }
}

impl Document for IndexDoc {
    type Value<'a> = IndexValue<'a>;
    type FieldsValuesIter<'a> = IndexValues<'a>;

    fn iter_fields_and_values(&self) -> IndexValues<'_> {
        IndexValues { doc: self, at: 0 }
    }
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
    use std::borrow::Cow;

    use proptest::prelude::*;
    use tantivy::schema::Document;
    use tantivy::tokenizer::{TokenStream, Tokenizer};

    use super::{document, schema, IndexValue, WordsTokenizer};
    use crate::search::fields::IndexedFields;
    use crate::search::filter::words;
    use crate::types::Lsn;

    /// A document hands tantivy the LSN, then every string value with its field, in
    /// order, then the risk score; absent fields give nothing.
    #[test]
    fn a_document_yields_every_value_once_with_its_field() {
        let (_, fields) = schema();
        let f = IndexedFields {
            user_id: Some(Cow::Borrowed("u1")),
            event_type: Some(Cow::Borrowed("order.created")),
            record_id: Some(Cow::Borrowed("")),
            tags: vec![Cow::Borrowed("a"), Cow::Owned("b\"c".to_string())],
            risk_score: Some(Cow::Borrowed("12.5")),
            event_description: Some(Cow::Borrowed("Order created")),
            error_message: Some(Cow::Borrowed("timeout")),
            ..IndexedFields::default()
        };
        let doc = document(&fields, Lsn(7), "tenant_a", &f);
        let got: Vec<_> = doc.iter_fields_and_values().collect();
        let want = vec![
            (fields.lsn, IndexValue::U64(7)),
            (fields.tenant, IndexValue::Str("tenant_a")),
            (fields.terms[0], IndexValue::Str("u1")),
            (fields.terms[1], IndexValue::Str("order.created")),
            (fields.terms[5], IndexValue::Str("")),
            (fields.terms[9], IndexValue::Str("a")),
            (fields.terms[9], IndexValue::Str("b\"c")),
            (fields.text, IndexValue::Str("Order created")),
            (fields.text, IndexValue::Str("timeout")),
            (fields.risk, IndexValue::F64(12.5)),
        ];
        assert_eq!(got, want);

        let bare = document(&fields, Lsn(1), "t", &IndexedFields::default());
        let got: Vec<_> = bare.iter_fields_and_values().collect();
        assert_eq!(
            got,
            vec![
                (fields.lsn, IndexValue::U64(1)),
                (fields.tenant, IndexValue::Str("t"))
            ]
        );
        let mut values = bare.iter_fields_and_values();
        values.by_ref().for_each(drop);
        assert_eq!(values.next(), None, "stays ended");
    }

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
