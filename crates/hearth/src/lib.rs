//! The Hearth server as a library: configuration, start-up and shutdown. The `hearth` binary
//! and the integration tests both start servers through [`server::start`].
#![forbid(unsafe_code)]

pub mod config;
pub mod master_key;
pub mod server;
