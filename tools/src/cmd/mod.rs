//! One module per subcommand, plus the option parsers they share.

pub mod arg;
pub mod bench_engine;
pub mod bench_integrity;
pub mod bench_query;
pub mod export;
pub mod gen;
pub mod ingest;
pub mod load;
pub mod reindex;
pub mod verify;
