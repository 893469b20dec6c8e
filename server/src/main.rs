//! sealogd: the HTTP server (placeholder until the HTTP API issue lands).
#![forbid(unsafe_code)]

fn main() {
    eprintln!("sealogd: the HTTP API is not built yet; see the open issues");
    std::process::exit(2);
}
