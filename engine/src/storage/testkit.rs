//! Test support: an in-memory, fault-injecting [`Storage`](super::Storage).
