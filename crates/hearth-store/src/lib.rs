//! Hearth's persistence: one store over SQLite (the embedded default) or PostgreSQL, chosen at
//! start-up. Every query is written once, as a method on [`Conn`], and runs on either backend;
//! each backend has its own migration folder. Writes go through the group-commit [`writer`].
#![forbid(unsafe_code)]

mod account_links;
mod accounts;
mod audit;
mod blobs;
mod chat;
mod checkpoint;
mod communities;
mod conn;
mod erasure;
mod error;
mod export;
mod external_identities;
mod holds;
mod jobs;
mod posting;
mod privacy_requests;
mod profiles;
mod public_requests;
pub mod rows;
pub mod schema;
pub mod sealing;
mod search;
mod settings;
mod statements;
mod store;
mod two_factor;
mod uploads;
mod webhooks;
pub mod writer;

pub use account_links::{AccountLink, NewAccountLink};
pub use accounts::{NewUser, SessionRow};
pub use audit::{AuditRecord, EventRecord, TimeOrderedLog, multi_row_insert};
pub use blobs::BlobStore;
pub use chat::{Edit, NewMessage};
pub use conn::{Backend, Conn, Reader};
pub use error::StoreError;
pub use export::{ExportRecord, ExportRow, Range};
pub use holds::HoldRow;
pub use jobs::{JobRow, NewJob};
pub use posting::{Posted, QuickPost};
pub use privacy_requests::{Inbox, PrivacyRequestRow};
pub use profiles::Avatar;
pub use public_requests::VerificationRow;
pub use sealing::{PlainSealer, Sealer};
pub use search::{HIT_END, HIT_START, SearchHit, SearchScope, searchable_text};
pub use settings::{Settings, SettingsInForce};
pub use statements::{StatementRow, StatementSettings};
pub use store::{Store, StoreOptions};
pub use two_factor::TwoFactorRow;
pub use uploads::UploadRow;
pub use webhooks::{DeliveryRow, WebhookRow};
pub use writer::{JobError, Tx};
