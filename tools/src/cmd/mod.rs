//! One module per subcommand.

pub mod bench_engine;
pub mod bench_query;
pub mod gen;
pub mod reindex;
