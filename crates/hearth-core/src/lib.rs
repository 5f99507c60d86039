//! Hearth's pure domain: typed ids, models, validation rules, permissions, audit actions and the
//! data catalog. No I/O, no SQL, no async: everything here is unit-testable.
#![forbid(unsafe_code)]

pub mod ages;
pub mod audit;
pub mod catalog;
pub mod device;
pub mod error;
pub mod export;
pub mod ids;
pub mod jobs;
pub mod know;
pub mod model;
pub mod paging;
pub mod permissions;
pub mod profile;
pub mod progress;
pub mod redacted_debug;
pub mod requests;
pub mod sign_in_throttle;
pub mod statement;
pub mod terms;
pub mod timestamp;
pub mod uploads;
pub mod validate;
pub mod webhooks;

pub use error::DomainError;
pub use ids::{
    ChannelId, CommunityId, IdGenerator, InviteId, MessageId, ProfileFieldId, TokenId, UploadId,
    UserId,
};
pub use paging::PageSize;
pub use timestamp::Timestamp;
