//! A parent's review of their child's data (COPPA, 16 CFR 312.6): through the standing link
//! mailed to them once they consented, a parent asks for a copy of everything the child's
//! account holds and downloads it. Each copy answers a request to access made by the parent
//! (manner "parent"), on record and audited like any other; only the copies made for the
//! parent are theirs to download.

use crate::privacy::ChoiceBy;
use crate::{App, AppError, ExportInfo, ExportRange, ExportState, ParentalRequest};
use hearth_core::requests::RequestKind;
use hearth_core::{CommunityId, DomainError, Timestamp};
use std::path::PathBuf;

/// The manner of the requests a parent makes through their link.
const PARENT: &str = "parent";
/// A parent's link asks for at most one copy a day.
const COPY_EVERY_SECS: i64 = 24 * 3600;

impl App {
    /// The copies of the child's data made for the parent holding this link, newest first.
    pub async fn parental_copies(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<(ParentalRequest, Vec<ExportInfo>), AppError> {
        let asked = self.parental_withdrawal(community, secret).await?;
        let mut copies = Vec::new();
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        for record in conn.exports_of(asked.user).await? {
            let request = conn.privacy_request(record.request_id).await?;
            if request.is_some_and(|r| r.manner == PARENT) {
                copies.push(ExportInfo::from_record(record)?);
            }
        }
        Ok((asked, copies))
    }

    /// Asks for a copy of everything the child's account holds, for the parent holding this
    /// link; made by a job. A parent's copy still in the making or offered, or asked for
    /// within the day, answers instead: a link cannot fill the disk nor the child's inbox.
    pub async fn request_parental_copy(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<ExportInfo, AppError> {
        let (asked, copies) = self.parental_copies(community, secret).await?;
        let now = Timestamp::now();
        if let Some(latest) = copies.into_iter().next() {
            let offered = latest.state == ExportState::Preparing || latest.offered(now);
            let today = latest.requested_at.0 > now.0 - COPY_EVERY_SECS * 1000;
            if offered || today {
                return Ok(latest);
            }
        }
        let request = self
            .new_request_row(
                RequestKind::Access,
                Some(asked.user),
                None,
                self.config.law,
                ChoiceBy::Parent,
                Timestamp::now(),
            )
            .await?;
        self.start_copy(
            asked.user,
            ExportRange::Everything,
            request,
            true,
            true,
            None,
        )
        .await
    }

    /// The file of a ready, unexpired copy made for the parent holding this link.
    pub async fn parental_copy_file(
        &self,
        community: CommunityId,
        secret: &str,
        id: i64,
    ) -> Result<(ExportInfo, PathBuf), AppError> {
        let (_, copies) = self.parental_copies(community, secret).await?;
        let copy = copies
            .into_iter()
            .find(|c| c.id == id && c.offered(Timestamp::now()))
            .ok_or(DomainError::NotFound("export"))?;
        Ok((copy, self.export_path(id)))
    }
}
