//! Hearth's integration tests: real servers on loopback, real SQLite files and a real
//! PostgreSQL server (started by `scripts/test`). Every test body runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod account_pages;
mod bounds;
mod browser;
mod catalog;
mod cli;
mod crash;
mod durability;
mod erasure;
mod errors;
mod export;
mod idempotency;
mod jobs;
mod journey;
mod live;
mod mail;
mod minors;
mod nodes;
mod oidc;
mod ops;
mod pages;
mod planted;
mod privacy;
mod profiles;
mod public_requests;
mod requests;
mod retention;
mod roles;
mod schema;
mod search;
mod sign_in;
mod statements;
mod terms;
mod two_factor;
mod uploads;
mod webhooks;
