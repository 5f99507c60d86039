//! What the audit log records. Entries name who, what, when and which object, by id only: the
//! audit log never holds personal data such as names, addresses or message text.

/// A write that the app layer performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An account was registered.
    AccountRegistered,
    /// The platform operator account was created.
    OperatorCreated,
    /// A password was changed.
    PasswordChanged,
    /// The account's shown name changed.
    ProfileUpdated,
    /// A session was started by signing in.
    SignedIn,
    /// A session was ended by signing out.
    SignedOut,
    /// A sign-in attempt failed.
    SignInFailed,
    /// A personal API token was created.
    TokenCreated,
    /// A personal API token was revoked.
    TokenRevoked,
    /// A community was created.
    CommunityCreated,
    /// A community's settings were changed.
    CommunityUpdated,
    /// Someone joined a community.
    MemberJoined,
    /// Someone left a community.
    MemberLeft,
    /// A member was removed by an admin.
    MemberRemoved,
    /// A member's role was changed.
    RoleChanged,
    /// The owner handed the community to another member.
    OwnershipTransferred,
    /// An invitation link was created.
    InviteCreated,
    /// An invitation link was revoked.
    InviteRevoked,
    /// A channel was created.
    ChannelCreated,
    /// Someone joined a channel or was added to it.
    ChannelMemberAdded,
    /// Someone left a channel.
    ChannelMemberRemoved,
    /// A direct conversation was opened.
    DirectOpened,
    /// A message was posted.
    MessagePosted,
    /// A message was edited.
    MessageEdited,
    /// A message was deleted.
    MessageDeleted,
    /// A file was uploaded, to be attached to a message.
    UploadCreated,
    /// An admin defined a custom profile field.
    ProfileFieldCreated,
    /// An admin changed a custom profile field.
    ProfileFieldChanged,
    /// An admin deleted a custom profile field, and its answers with it.
    ProfileFieldDeleted,
    /// A member changed their answers to a community's profile fields.
    ProfileAnswersChanged,
    /// A member changed or removed their picture.
    AvatarChanged,
    /// Someone signed one of their other sessions out, or all of them.
    SessionsEnded,
    /// A person confirmed their address by the mailed link.
    EmailConfirmed,
    /// A person asked to change their address (a link went to the new one).
    EmailChangeRequested,
    /// A person's address changed, confirmed at the new address (the old one was told).
    EmailChanged,
    /// A password reset link was asked for (by anyone: the actor is unknown).
    PasswordResetRequested,
    /// A password was reset by a mailed link; every session and token ended.
    PasswordReset,
    /// Two-factor sign-in was turned on.
    TwoFactorEnabled,
    /// Two-factor sign-in was turned off.
    TwoFactorDisabled,
    /// A new set of recovery codes replaced the old.
    RecoveryCodesRenewed,
    /// A recovery code was used to sign in or to turn two-factor sign-in off.
    RecoveryCodeUsed,
    /// An account was linked to an identity provider's identifier for its owner.
    IdentityLinked,
    /// An account's links to identity providers were removed.
    IdentityUnlinked,
    /// A person opted out of the sale and sharing of their personal information by a page or
    /// the API.
    SaleOptedOut,
    /// A person's browser sent the Global Privacy Control signal, and it was applied: they are
    /// opted out of sale and sharing.
    SaleOptedOutBySignal,
    /// A person withdrew their opt-out (after confirming it).
    SaleOptOutWithdrawn,
    /// A person asked to limit the use of their sensitive personal information.
    SensitiveLimited,
    /// A person withdrew that limit.
    SensitiveLimitWithdrawn,
    /// A person's account was erased at their own request. The entry names the account by
    /// its former id only, and no one as actor: the account is gone when it is written.
    AccountErased,
    /// A person asked for a copy of their data.
    CopyRequested,
    /// A person's copy of their data was made and offered (no one is its actor: a job did it).
    CopyProvided,
    /// An operator erased a person's account (a request that came another way, carried out
    /// from the command line).
    AccountErasedByOperator,
    /// A privacy request was received (and is on record, with its deadlines).
    RequestReceived,
    /// The person confirmed a request made on the public form, by its mailed link.
    RequestVerified,
    /// A privacy request was carried out (by its requester's own hand, an admin's approval
    /// or a job).
    RequestCompleted,
    /// A privacy request was refused, for a reason from the closed list.
    RequestDenied,
    /// A privacy request's deadline was extended, with a notice to the requester.
    RequestExtended,
    /// A privacy request's failed step was run again.
    RequestRetried,
    /// An admin approved a privacy request, and it is being carried out.
    RequestApproved,
    /// A person's information was corrected at their request.
    InformationCorrected,
    /// A community changed how it answers privacy requests (its law, what admins approve).
    RequestHandlingChanged,
    /// An outgoing webhook was set up.
    WebhookCreated,
    /// An outgoing webhook was removed.
    WebhookDeleted,
    /// A legal hold was placed on a person's messages in a community.
    LegalHoldPlaced,
    /// A legal hold was released.
    LegalHoldReleased,
    /// A new version of a community's privacy statement was published.
    StatementPublished,
    /// A member acknowledged a version of a community's privacy statement.
    StatementAcknowledged,
    /// A community changed what its privacy statement says of it (contact, metrics).
    StatementSettingsChanged,
    /// The operator published a new version of a legal document.
    TermsPublished,
    /// A community's owner accepted a version of a legal document for it.
    TermsAccepted,
    /// A community changed the ages it admits or how it asks.
    AgePolicyChanged,
    /// A member aged 13 to 15 gave their own consent to joining a community.
    MinorConsented,
    /// A member under 16 joined without allowing sale and sharing, and was opted out of it.
    MinorOptedOut,
    /// A member aged 13 to 15 allowed the sale and sharing of their personal information.
    MinorOptedIn,
    /// A parent was asked to consent to their child's joining a community.
    ParentalConsentRequested,
    /// A parent consented to their child's joining a community.
    ParentalConsentGiven,
    /// A parent refused their child's joining a community.
    ParentalConsentRefused,
    /// A parent withdrew their consent, and their child's account was deleted.
    ParentalConsentWithdrawn,
}

impl AuditAction {
    /// The stable code stored in the log.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::AccountRegistered => "account.registered",
            AuditAction::OperatorCreated => "account.operator_created",
            AuditAction::PasswordChanged => "account.password_changed",
            AuditAction::ProfileUpdated => "account.profile_updated",
            AuditAction::SignedIn => "session.signed_in",
            AuditAction::SignedOut => "session.signed_out",
            AuditAction::SignInFailed => "session.sign_in_failed",
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::CommunityCreated => "community.created",
            AuditAction::CommunityUpdated => "community.updated",
            AuditAction::MemberJoined => "community.member_joined",
            AuditAction::MemberLeft => "community.member_left",
            AuditAction::MemberRemoved => "community.member_removed",
            AuditAction::RoleChanged => "community.role_changed",
            AuditAction::OwnershipTransferred => "community.ownership_transferred",
            AuditAction::InviteCreated => "invite.created",
            AuditAction::InviteRevoked => "invite.revoked",
            AuditAction::ChannelCreated => "channel.created",
            AuditAction::ChannelMemberAdded => "channel.member_added",
            AuditAction::ChannelMemberRemoved => "channel.member_removed",
            AuditAction::DirectOpened => "direct.opened",
            AuditAction::MessagePosted => "message.posted",
            AuditAction::MessageEdited => "message.edited",
            AuditAction::MessageDeleted => "message.deleted",
            AuditAction::UploadCreated => "upload.created",
            AuditAction::ProfileFieldCreated => "profile_field.created",
            AuditAction::ProfileFieldChanged => "profile_field.changed",
            AuditAction::ProfileFieldDeleted => "profile_field.deleted",
            AuditAction::ProfileAnswersChanged => "account.profile_answers_changed",
            AuditAction::AvatarChanged => "account.avatar_changed",
            AuditAction::SessionsEnded => "session.others_ended",
            AuditAction::EmailConfirmed => "account.email_confirmed",
            AuditAction::EmailChangeRequested => "account.email_change_requested",
            AuditAction::EmailChanged => "account.email_changed",
            AuditAction::PasswordResetRequested => "account.password_reset_requested",
            AuditAction::PasswordReset => "account.password_reset",
            AuditAction::TwoFactorEnabled => "account.two_factor_enabled",
            AuditAction::TwoFactorDisabled => "account.two_factor_disabled",
            AuditAction::RecoveryCodesRenewed => "account.recovery_codes_renewed",
            AuditAction::RecoveryCodeUsed => "account.recovery_code_used",
            AuditAction::IdentityLinked => "account.identity_linked",
            AuditAction::IdentityUnlinked => "account.identity_unlinked",
            AuditAction::SaleOptedOut => "privacy.sale_opted_out",
            AuditAction::SaleOptedOutBySignal => "privacy.sale_opted_out_by_signal",
            AuditAction::SaleOptOutWithdrawn => "privacy.sale_opt_out_withdrawn",
            AuditAction::SensitiveLimited => "privacy.sensitive_limited",
            AuditAction::SensitiveLimitWithdrawn => "privacy.sensitive_limit_withdrawn",
            AuditAction::AccountErased => "privacy.account_erased",
            AuditAction::CopyRequested => "privacy.copy_requested",
            AuditAction::CopyProvided => "privacy.copy_provided",
            AuditAction::AccountErasedByOperator => "privacy.account_erased_by_operator",
            AuditAction::RequestReceived => "privacy.request_received",
            AuditAction::RequestVerified => "privacy.request_verified",
            AuditAction::RequestCompleted => "privacy.request_completed",
            AuditAction::RequestDenied => "privacy.request_denied",
            AuditAction::RequestExtended => "privacy.request_extended",
            AuditAction::RequestRetried => "privacy.request_retried",
            AuditAction::RequestApproved => "privacy.request_approved",
            AuditAction::InformationCorrected => "privacy.information_corrected",
            AuditAction::RequestHandlingChanged => "community.request_handling_changed",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::LegalHoldPlaced => "legal_hold.placed",
            AuditAction::LegalHoldReleased => "legal_hold.released",
            AuditAction::StatementPublished => "privacy.statement_published",
            AuditAction::StatementAcknowledged => "privacy.statement_acknowledged",
            AuditAction::StatementSettingsChanged => "privacy.statement_settings_changed",
            AuditAction::TermsPublished => "terms.published",
            AuditAction::TermsAccepted => "terms.accepted",
            AuditAction::AgePolicyChanged => "community.age_policy_changed",
            AuditAction::MinorConsented => "consent.minor_consented",
            AuditAction::MinorOptedOut => "consent.minor_opted_out",
            AuditAction::MinorOptedIn => "consent.minor_opted_in",
            AuditAction::ParentalConsentRequested => "consent.parental_requested",
            AuditAction::ParentalConsentGiven => "consent.parental_given",
            AuditAction::ParentalConsentRefused => "consent.parental_refused",
            AuditAction::ParentalConsentWithdrawn => "consent.parental_withdrawn",
        }
    }
}

/// The kind of object an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A user account.
    User,
    /// A community.
    Community,
    /// A channel or direct conversation.
    Channel,
    /// A message.
    Message,
    /// An API token.
    Token,
    /// An invitation link.
    Invite,
    /// An uploaded file.
    Upload,
    /// A custom profile field.
    ProfileField,
    /// A privacy request.
    PrivacyRequest,
    /// An outgoing webhook.
    Webhook,
    /// A legal hold.
    LegalHold,
    /// A version of a community's privacy statement.
    PrivacyStatement,
    /// A version of one of the platform's legal documents.
    LegalTerms,
}

impl ObjectKind {
    /// The stable code stored in the log.
    pub fn code(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Community => "community",
            ObjectKind::Channel => "channel",
            ObjectKind::Message => "message",
            ObjectKind::Token => "token",
            ObjectKind::Invite => "invite",
            ObjectKind::Upload => "upload",
            ObjectKind::ProfileField => "profile_field",
            ObjectKind::PrivacyRequest => "privacy_request",
            ObjectKind::Webhook => "webhook",
            ObjectKind::LegalHold => "legal_hold",
            ObjectKind::PrivacyStatement => "privacy_statement",
            ObjectKind::LegalTerms => "legal_terms",
        }
    }
}

/// One audit entry, ready to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who did it; `None` for the system or an anonymous caller.
    pub actor: Option<crate::UserId>,
    /// What was done.
    pub action: AuditAction,
    /// What kind of object it was done to.
    pub object_kind: ObjectKind,
    /// Which object, by id.
    pub object_id: Option<i64>,
    /// The community it happened in, if any.
    pub community: Option<crate::CommunityId>,
}
