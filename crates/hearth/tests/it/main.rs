//! Hearth's integration tests: real servers on loopback, real SQLite files and a real
//! PostgreSQL server (started by `scripts/test`). Every test body runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod bounds;
mod catalog;
mod cli;
mod durability;
mod errors;
mod journey;
mod live;
mod ops;
