//! Secondary indexes: filtered queries, exact counts, summaries and full-text search
//! over the log, with tantivy.
//!
//! A background indexer ([`indexer`]) follows the log and feeds a tantivy index holding
//! only what queries need (the event's LSN, filter fields, the risk score, the words of
//! the description and error message); events themselves are always read from the log.
//! The last indexed LSN is stored in each tantivy commit, so a restart resumes exactly
//! there, and the index can be dropped and rebuilt from the log at any time. Queries
//! merge the committed index with the log's tail after it ([`tail`]: a pending set, an
//! in-memory inverted index that queries bring up to date), so every acknowledged
//! event is visible to the next query. The resolution overlay ([`overlay`]) is kept
//! beside, rebuilt from the log, never written into events.

mod collect;
mod cursor;
mod fields;
mod filter;
mod index;
mod indexer;
mod merge;
pub mod overlay;
mod pending;
mod plan;
mod query;
mod schema;
mod segments;
mod summary;
mod tail;

pub use cursor::Cursor;
pub use fields::{string, IndexedFields, RESOLUTION_EVENT_TYPE};
pub use filter::{cmp_decimal, words, Filter, WORD_BYTES_MAX};
pub use index::{SearchConfig, SearchIndex, SearchMetrics};
pub use overlay::Resolution;
pub use query::{cursor_after, Hit, Order, Paging, Query, QueryPage, QueryStats};
pub use summary::{Summary, SUMMARY_GROUPS_MAX};
