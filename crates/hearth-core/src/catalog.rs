//! The data catalog: every table and column Hearth stores, declared once, with what it means
//! under privacy law. Export, erasure, correction, retention and the privacy statement are
//! derived from here, and a test fails when the live schema and this catalog disagree: on a
//! column, or on what a foreign key to a person does when their account goes.

use crate::model::ChannelKind;

/// The CCPA category of personal information a column holds (Cal. Civ. Code 1798.140(v)),
/// with the kinds of sensitive personal information (1798.140(ae)) as categories of their own,
/// since a privacy statement must list those apart. Columns name one; so does each custom
/// profile field a community admin defines.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Not personal information: keys, flags and counters that identify no one by themselves.
    NotPersonal,
    /// (A) Names, aliases, account names, email addresses, online identifiers.
    Identifiers,
    /// (B) The personal information of customer records (1798.80(e)): a physical
    /// description, address, telephone number and the like.
    CustomerRecords,
    /// (C) Characteristics of protected classifications: age, sex, gender, disability and
    /// the like.
    ProtectedCharacteristics,
    /// (D) Commercial information: what a person bought or considered.
    CommercialInformation,
    /// (E) Biometric information.
    Biometric,
    /// (F) Records of interaction with the service: sign-ins, tokens, activity.
    InternetActivity,
    /// (G) Geolocation data.
    Geolocation,
    /// (H) Audio, electronic, visual or similar information: photos, recordings.
    SensoryData,
    /// (I) Professional or employment-related information.
    ProfessionalInformation,
    /// (J) Education information.
    EducationInformation,
    /// (K) Inferences drawn to build a profile of preferences or characteristics.
    Inferences,
    /// Sensitive (ae)(1)(A): social security, driver's licence, state identification or
    /// passport numbers.
    GovernmentIdentifiers,
    /// Sensitive (ae)(1)(B): account log-in credentials.
    AccountCredentials,
    /// Sensitive (ae)(1)(C): precise geolocation.
    PreciseGeolocation,
    /// Sensitive (ae)(1)(D): racial or ethnic origin.
    RacialOrEthnicOrigin,
    /// Sensitive (ae)(1)(D): citizenship or immigration status.
    CitizenshipOrImmigrationStatus,
    /// Sensitive (ae)(1)(D): religious or philosophical beliefs.
    ReligiousOrPhilosophicalBeliefs,
    /// Sensitive (ae)(1)(D): union membership.
    UnionMembership,
    /// What a person wrote or shared: the content of their communications; sensitive
    /// (ae)(1)(E) where the business is not its intended recipient.
    CommunicationsContent,
    /// Sensitive (ae)(1)(F): genetic data.
    GeneticData,
    /// Sensitive (ae)(1)(G): neural data.
    NeuralData,
    /// Sensitive (ae)(2)(B): health.
    Health,
    /// Sensitive (ae)(2)(C): sex life or sexual orientation.
    SexLifeOrSexualOrientation,
    /// The values of custom profile fields: each field's admin chose its category (and with
    /// it whether it is sensitive) when defining it, so export, erasure and the privacy
    /// statement read the category from the field.
    AsProfileFieldDeclares,
}

impl Category {
    /// Every category, in the order a privacy statement lists them.
    pub const ALL: &'static [Category] = &[
        Category::NotPersonal,
        Category::Identifiers,
        Category::CustomerRecords,
        Category::ProtectedCharacteristics,
        Category::CommercialInformation,
        Category::Biometric,
        Category::InternetActivity,
        Category::Geolocation,
        Category::SensoryData,
        Category::ProfessionalInformation,
        Category::EducationInformation,
        Category::Inferences,
        Category::GovernmentIdentifiers,
        Category::AccountCredentials,
        Category::PreciseGeolocation,
        Category::RacialOrEthnicOrigin,
        Category::CitizenshipOrImmigrationStatus,
        Category::ReligiousOrPhilosophicalBeliefs,
        Category::UnionMembership,
        Category::CommunicationsContent,
        Category::GeneticData,
        Category::NeuralData,
        Category::Health,
        Category::SexLifeOrSexualOrientation,
        Category::AsProfileFieldDeclares,
    ];

    /// The categories an admin may give a custom profile field: every kind of personal
    /// information except credentials, which a profile must never ask for.
    pub fn for_profile_fields() -> impl Iterator<Item = Category> {
        Self::ALL.iter().copied().filter(|c| {
            !matches!(
                c,
                Category::NotPersonal
                    | Category::AccountCredentials
                    | Category::AsProfileFieldDeclares
            )
        })
    }

    /// The stable code stored in the database and used on the wire.
    pub fn code(self) -> &'static str {
        self.describe().0
    }

    /// The category whose [`Category::code`] is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The category's name as a privacy statement lists it.
    pub fn label(self) -> &'static str {
        self.describe().1
    }

    /// Whether every value of the category is sensitive personal information. The contents
    /// of communications are sensitive only where the business is not their intended
    /// recipient, which a column says with its own [`Sensitivity`].
    pub const fn always_sensitive(self) -> bool {
        self.describe().2
    }

    /// Whether the GDPR counts it among the special categories of personal data (Art. 9),
    /// which only explicit consent (or a narrow exception) lets anyone use.
    pub const fn gdpr_special(self) -> bool {
        matches!(
            self,
            Category::RacialOrEthnicOrigin
                | Category::ReligiousOrPhilosophicalBeliefs
                | Category::UnionMembership
                | Category::GeneticData
                | Category::Biometric
                | Category::Health
                | Category::SexLifeOrSexualOrientation
        )
    }

    const fn describe(self) -> (&'static str, &'static str, bool) {
        match self {
            Category::NotPersonal => ("not_personal", "Not personal information", false),
            Category::Identifiers => ("identifiers", "Identifiers", false),
            Category::CustomerRecords => (
                "customer_records",
                "Personal information in customer records",
                false,
            ),
            Category::ProtectedCharacteristics => (
                "protected_characteristics",
                "Characteristics of protected classifications",
                false,
            ),
            Category::CommercialInformation => {
                ("commercial_information", "Commercial information", false)
            }
            Category::Biometric => ("biometric", "Biometric information", true),
            Category::InternetActivity => (
                "internet_activity",
                "Internet or other electronic network activity",
                false,
            ),
            Category::Geolocation => ("geolocation", "Geolocation data", false),
            Category::SensoryData => (
                "sensory_data",
                "Audio, electronic, visual or similar information",
                false,
            ),
            Category::ProfessionalInformation => (
                "professional_information",
                "Professional or employment-related information",
                false,
            ),
            Category::EducationInformation => {
                ("education_information", "Education information", false)
            }
            Category::Inferences => ("inferences", "Inferences drawn to build a profile", false),
            Category::GovernmentIdentifiers => (
                "government_identifiers",
                "Government identifiers (social security, driver's licence, passport numbers)",
                true,
            ),
            Category::AccountCredentials => {
                ("account_credentials", "Account log-in credentials", true)
            }
            Category::PreciseGeolocation => ("precise_geolocation", "Precise geolocation", true),
            Category::RacialOrEthnicOrigin => {
                ("racial_or_ethnic_origin", "Racial or ethnic origin", true)
            }
            Category::CitizenshipOrImmigrationStatus => (
                "citizenship_or_immigration_status",
                "Citizenship or immigration status",
                true,
            ),
            Category::ReligiousOrPhilosophicalBeliefs => (
                "religious_or_philosophical_beliefs",
                "Religious or philosophical beliefs",
                true,
            ),
            Category::UnionMembership => ("union_membership", "Union membership", true),
            Category::CommunicationsContent => (
                "communications_content",
                "Contents of communications",
                false,
            ),
            Category::GeneticData => ("genetic_data", "Genetic data", true),
            Category::NeuralData => ("neural_data", "Neural data", true),
            Category::Health => ("health", "Health information", true),
            Category::SexLifeOrSexualOrientation => (
                "sex_life_or_sexual_orientation",
                "Sex life or sexual orientation",
                true,
            ),
            Category::AsProfileFieldDeclares => (
                "as_profile_field_declares",
                "The category each custom profile field declares",
                false,
            ),
        }
    }
}

/// Why the column is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// Running the service the person asked for (accounts, communities, chat).
    ProvideService,
    /// Keeping accounts and the service secure.
    Security,
    /// Proving compliance: the audit log and request records.
    LegalCompliance,
    /// Internal structure that carries no purpose of its own.
    Structural,
}

impl Purpose {
    /// The purpose in plain words, as an answer to a request to know says it.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::ProvideService => "To run the communities, channels and messages you use",
            Purpose::Security => "To keep your account and the service secure",
            Purpose::LegalCompliance => {
                "To prove we answered your privacy requests and kept the law"
            }
            Purpose::Structural => "To hold the service together (no purpose of its own)",
        }
    }
}

/// How long the column is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Until the account is deleted.
    WhileAccountExists,
    /// Until the person (or a moderator) deletes it, or the account is deleted.
    UntilDeleted,
    /// A fixed number of days after it is written; the retention sweep deletes it then.
    Days(u32),
    /// Until the sign-in it belongs to expires (the `session_days` setting) or ends; the
    /// retention sweep deletes expired ones.
    SessionLifetime,
    /// As long as the community exists.
    WhileCommunityExists,
    /// While the person belongs to the community: leaving it, or being removed, deletes it.
    WhileMember,
    /// Kept for a number of months to prove compliance, then deleted.
    LegalRecordMonths(u32),
    /// Until the privacy request it verifies closes, or its mailed link expires unused.
    UntilRequestCloses,
    /// Seconds after an erasure: until the search index has let go of the erased words.
    UntilIndexPurged,
}

/// What erasing the person does to the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Erasure {
    /// The row goes.
    DeleteRow,
    /// The row stays for others' sake, no longer linked to the person: a link to them is set
    /// to null ("Deleted user").
    Deidentify,
    /// The value is removed and the row stays as a tombstone, so that others' replies keep
    /// their place in a thread.
    Tombstone,
    /// Kept, for the reason given.
    Keep(&'static str),
    /// Nothing to do: the column holds no personal information.
    NotApplicable,
}

/// What the database does to a row when the row one of its foreign keys references is
/// deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// `CASCADE`: the row goes too.
    Cascade,
    /// `SET NULL`: the link is cleared.
    SetNull,
    /// `NO ACTION` or `RESTRICT`: the deletion is refused while the row exists.
    Restrict,
    /// Anything else (`SET DEFAULT`).
    Other,
}

impl OnDelete {
    /// Parses the SQL spelling both engines report (`CASCADE`, `SET NULL`, `NO ACTION`, ...).
    pub fn parse(sql: &str) -> Self {
        match sql.trim().to_ascii_uppercase().as_str() {
            "CASCADE" => OnDelete::Cascade,
            "SET NULL" => OnDelete::SetNull,
            "NO ACTION" | "RESTRICT" => OnDelete::Restrict,
            _ => OnDelete::Other,
        }
    }
}

impl Erasure {
    /// What a foreign key from this column to the person must do when their account row is
    /// deleted, so that the schema never does more, or less, than erasure declares; `None`
    /// when such a column cannot be a link to a person.
    pub fn on_person_deleted(self) -> Option<OnDelete> {
        match self {
            Erasure::DeleteRow => Some(OnDelete::Cascade),
            Erasure::Deidentify => Some(OnDelete::SetNull),
            Erasure::Keep(_) => Some(OnDelete::Restrict),
            Erasure::Tombstone | Erasure::NotApplicable => None,
        }
    }
}

/// Where the personal information in a table comes from (Civ. 1798.110(a)(2): a request to
/// know is told the categories of sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The person, when they signed up, posted, uploaded or changed their account.
    Person,
    /// The person's browser or app, as they use the service.
    Device,
    /// The identity provider they chose to sign in with.
    IdentityProvider,
    /// Other members: who added them to a channel, the fields a community asks.
    OtherMembers,
    /// Hearth itself: its records of what happened, and what it derives.
    Hearth,
    /// A child's parent or guardian, who consented to the child's joining a community.
    Parent,
}

impl Source {
    /// The source in plain words, as an answer to a request to know says it.
    pub fn label(self) -> &'static str {
        match self {
            Source::Person => "You, when you signed up, wrote, uploaded or changed your account",
            Source::Device => "Your browser or app, as you use Hearth",
            Source::IdentityProvider => "The identity provider you chose to sign in with",
            Source::OtherMembers => {
                "Other members of your communities (who added you to a channel, the questions a community asks)"
            }
            Source::Hearth => {
                "Hearth's own records of what happened, and what it works out from what you wrote"
            }
            Source::Parent => {
                "Your parent or guardian, when they consented to your joining a community"
            }
        }
    }
}

/// Whether a column holds sensitive personal information (1798.140(ae)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sensitivity {
    /// Never sensitive.
    No,
    /// Always sensitive: account credentials (1798.140(ae)(1)(B)).
    Always,
    /// The contents of messages, sensitive where the business is not their intended recipient
    /// (1798.140(ae)(1)(E)): in direct conversations and private channels. In a public
    /// channel, people write to the community, which the business runs.
    InPrivateConversations,
    /// A custom profile field's value: sensitive when the category its admin chose is.
    AsProfileFieldDeclares,
}

impl Sensitivity {
    /// Whether a value of this column is sensitive when it belongs to a channel of `kind`.
    pub fn in_channel(self, kind: ChannelKind) -> bool {
        match self {
            Sensitivity::No => false,
            Sensitivity::Always => true,
            Sensitivity::InPrivateConversations => kind != ChannelKind::Public,
            // Profile values belong to no channel.
            Sensitivity::AsProfileFieldDeclares => false,
        }
    }

    /// Whether the column is ever sensitive.
    pub fn ever(self) -> bool {
        self != Sensitivity::No
    }
}

/// One column through which a table's rows link to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonLink {
    /// The column holds the person's user id.
    Column(&'static str),
    /// The column holds a user id on the rows where `kind_column` holds `kind`, and the id of
    /// something else on the others.
    ColumnWhen {
        /// The column holding the id.
        column: &'static str,
        /// The column that says what the id is of.
        kind_column: &'static str,
        /// Its value on rows where the id is a user's.
        kind: &'static str,
    },
    /// The column holds a list of user ids, separated by commas: the row is about each of
    /// them (the participants of a direct conversation).
    InList(&'static str),
    /// The column holds the id of a row of `table`, which links to its own person.
    Via {
        /// The column holding the id.
        column: &'static str,
        /// The table whose row it names.
        table: &'static str,
    },
}

impl PersonLink {
    /// The column holding the link.
    pub fn column(self) -> &'static str {
        match self {
            PersonLink::Column(column)
            | PersonLink::InList(column)
            | PersonLink::ColumnWhen { column, .. }
            | PersonLink::Via { column, .. } => column,
        }
    }
}

/// How a table's rows link to the people they are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectLink {
    /// A row is about every person one of these links names.
    Columns(&'static [PersonLink]),
    /// Rows hold no personal information.
    None,
    /// Rows hold what an erasure is still taking out of an index, for seconds: the person
    /// is already gone, and no row names them.
    AlreadyErased,
}

impl SubjectLink {
    /// The links, none for a table of no one's data.
    pub fn links(self) -> &'static [PersonLink] {
        match self {
            SubjectLink::Columns(links) => links,
            SubjectLink::None | SubjectLink::AlreadyErased => &[],
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name, as in both schemas.
    pub name: &'static str,
    /// CCPA category.
    pub category: Category,
    /// Why it is collected.
    pub purpose: Purpose,
    /// How long it is kept.
    pub retention: Retention,
    /// Whether it is sensitive personal information (1798.140(ae)).
    pub sensitive: Sensitivity,
    /// Sold or shared with third parties. Hearth sells and shares nothing.
    pub sold_or_shared: bool,
    /// What erasure does to it.
    pub erasure: Erasure,
    /// Written and read through the sealing seam (per-person encryption).
    pub sealed: bool,
}

/// One declared table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Table name, as in both schemas.
    pub name: &'static str,
    /// What the table is for.
    pub description: &'static str,
    /// Where its rows come from: a request to know lists the sources of what is held.
    pub source: Source,
    /// Whose data a row is.
    pub subject: SubjectLink,
    /// Every column of the table.
    pub columns: &'static [Column],
}

impl Table {
    /// The declared column of this name.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The retention that ends whole rows: the one every personal column shares, if they all
    /// share one. The retention sweep deletes rows by it.
    pub fn row_retention(&self) -> Option<Retention> {
        let mut personal = self
            .columns
            .iter()
            .filter(|c| c.category != Category::NotPersonal)
            .map(|c| c.retention);
        let first = personal.next()?;
        personal.all(|r| r == first).then_some(first)
    }
}

const fn key(name: &'static str) -> Column {
    Column {
        name,
        category: Category::NotPersonal,
        purpose: Purpose::Structural,
        retention: Retention::UntilDeleted,
        sensitive: Sensitivity::No,
        sold_or_shared: false,
        erasure: Erasure::NotApplicable,
        sealed: false,
    }
}

const fn personal(
    name: &'static str,
    category: Category,
    purpose: Purpose,
    retention: Retention,
    erasure: Erasure,
) -> Column {
    Column {
        name,
        category,
        purpose,
        retention,
        sensitive: if category.always_sensitive() {
            Sensitivity::Always
        } else {
            Sensitivity::No
        },
        sold_or_shared: false,
        erasure,
        sealed: false,
    }
}

const fn sealed(mut column: Column) -> Column {
    column.sealed = true;
    column
}

/// The contents of messages: sensitive in direct conversations and private channels.
const fn message_content(mut column: Column) -> Column {
    column.sensitive = Sensitivity::InPrivateConversations;
    column
}

use Category::*;
use Erasure::*;
use Purpose::*;
use Retention::*;

const AUDIT_REASON: &str = "record of compliance kept 24 months (Cal. Code Regs. tit. 11, 7101)";

/// Names, descriptions and topics are written by people, but for a community or channel that
/// others keep using: they stay with it, and pass on with it.
const SHARED_TEXT_REASON: &str = "written for a community or channel that others keep using";

/// The owner answers for the community, so the schema refuses to delete their account until
/// they hand it on (the ownership transfer); erasure asks them to transfer ownership first.
const OWNER_REASON: &str =
    "the owner answers for the community: ownership passes on before the account can go";

/// A legal hold outlives the erasure of its person: it is why their held messages stay.
const HOLD_REASON: &str = "a legal hold a community placed: kept, with what it holds, until it is released (then deleted)";

/// The commonest link to a person: a `user_id` column.
const USER: PersonLink = PersonLink::Column("user_id");

/// Every table Hearth stores.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        description: "Accounts: who can sign in and how they appear to others.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("id")]),
        columns: &[
            // A persistent identifier of the person, the one every link to them holds.
            personal(
                "id",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "username",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "display_name",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "email",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "password_hash",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "is_operator",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "updated_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            // What the person says about themself, in their own words.
            sealed(personal(
                "about",
                CustomerRecords,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            )),
            // Their picture: its file is in their folder of the blob store.
            personal(
                "avatar_id",
                SensoryData,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "avatar_type",
                SensoryData,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            // When they proved, by a mailed link, that the address is theirs.
            personal(
                "email_verified_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            // When they opted out of the sale and sharing of their personal information, and
            // when they asked to limit the use of their sensitive personal information.
            personal(
                "sale_opt_out_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "sensitive_limit_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            // They unlinked single sign-on, or reset their password: linking by address is off.
            personal(
                "identity_links_refused",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "two_factor",
        description: "A person's second factor for signing in: the TOTP seed their \
                      authenticator app shares, encrypted under the instance's master key, and \
                      the last time step whose code was used.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            personal(
                "user_id",
                Identifiers,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            // A secret: reported as held, never disclosed.
            personal(
                "secret",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "nonce",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "enabled_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "last_step",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "recovery_codes",
        description: "Single-use codes that stand in for the second factor when the \
                      authenticator is lost; stored only as keyed hashes.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            personal(
                "user_id",
                Identifiers,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "code_hash",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "used_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "external_identities",
        description: "Accounts linked to an identity provider (OpenID Connect): the \
                      provider and its identifier for the person; the provider's tokens are \
                      not kept.",
        source: Source::IdentityProvider,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("issuer"),
            personal(
                "subject",
                Identifiers,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "user_id",
                Identifiers,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "privacy_requests",
        description: "The record of every privacy request: when it came, what it asked, how, \
                      its deadlines, and how and when it was answered; kept 24 months to prove \
                      compliance.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            personal(
                "user_id",
                Identifiers,
                LegalCompliance,
                LegalRecordMonths(24),
                Deidentify,
            ),
            personal(
                "kind",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "state",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            key("law"),
            personal(
                "manner",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "received_at",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "acknowledge_by",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "respond_by",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "extended_to",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "extended",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "denial_reason",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "responded_at",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            personal(
                "updated_at",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            // The community whose admins answer it; none: the operator.
            key("community_id"),
            // What a correction asks: the person's own words and values, cleared when the
            // request closes and on erasure.
            personal(
                "details",
                Identifiers,
                LegalCompliance,
                REQUEST_RECORD,
                Tombstone,
            ),
            personal(
                "answer",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            // An admin's words to the requester may name them: cleared on erasure.
            personal(
                "note",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Tombstone,
            ),
            personal(
                "beyond_quota",
                InternetActivity,
                LegalCompliance,
                REQUEST_RECORD,
                Keep(REQUEST_REASON),
            ),
            // Hearth's own words on why a step failed.
            key("failure"),
        ],
    },
    // Outgoing webhooks: the URL, its key and what it receives are the community's settings;
    // the admin who set one up is named while they have an account.
    Table {
        name: "webhooks",
        description: "Outgoing webhooks a community's admins set up: where chosen channels' \
                      new messages are sent, and whether the recipient is a service provider \
                      or a third party.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("created_by")]),
        columns: &[
            key("id"),
            key("community_id"),
            key("name"),
            key("url"),
            // The key that signs what is sent: the community's, never a person's.
            key("secret"),
            key("channel_ids"),
            key("recipient"),
            key("attestation"),
            personal(
                "created_by",
                Identifiers,
                ProvideService,
                WhileCommunityExists,
                Deidentify,
            ),
            key("created_at"),
            key("dispatched_through"),
            key("removed_at"),
        ],
    },
    // Whom each webhook ever received data of: erasure reads it to tell every recipient,
    // then deletes it with the person.
    Table {
        name: "webhook_reached",
        description: "Which outside recipients (webhooks) were sent something of yours, and \
                      when last: they are told when your data is deleted.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("webhook_id"),
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "last_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    // What was sent where: a message by id, with its author while they have an account (the
    // erasure of whom tells each recipient, then deletes these rows), or such a notice.
    Table {
        name: "webhook_deliveries",
        description: "What each webhook was sent and when: a message of yours, by its id, or \
                      the notice that your data is to be deleted.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[PersonLink::Column("author_id")]),
        columns: &[
            key("id"),
            key("webhook_id"),
            key("event"),
            // A message's id, or an erased account's former id: the one id the law lets
            // outlive it, to prove its recipients were told.
            key("object_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                Days(30),
                DeleteRow,
            ),
            key("request_id"),
            key("state"),
            key("attempts"),
            key("status_code"),
            key("error"),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                Days(30),
                DeleteRow,
            ),
            personal(
                "delivered_at",
                InternetActivity,
                ProvideService,
                Days(30),
                DeleteRow,
            ),
        ],
    },
    // A legal hold names its person while they have an account, and by their former id
    // after: the hold is why their held messages outlive the erasure. Released, it goes with
    // what it kept. Who placed it is in the audit log.
    Table {
        name: "legal_holds",
        description: "Legal holds a community's admins placed on a person's messages there, \
                      with the reason: what is held stays through an erasure until released.",
        source: Source::OtherMembers,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            key("community_id"),
            personal(
                "user_id",
                Identifiers,
                LegalCompliance,
                UntilDeleted,
                Deidentify,
            ),
            personal(
                "former_user_id",
                Identifiers,
                LegalCompliance,
                UntilDeleted,
                Keep(HOLD_REASON),
            ),
            personal(
                "reason",
                ProfessionalInformation,
                LegalCompliance,
                UntilDeleted,
                Keep(HOLD_REASON),
            ),
            key("set_at"),
        ],
    },
    // A community's privacy statement, every published version: the statement in force on
    // any day can be shown. Its text speaks of the community, not of a person; who published
    // it is kept while they have an account.
    Table {
        name: "privacy_statements",
        description: "The versions of a community's privacy statement, and who published each.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("published_by")]),
        columns: &[
            key("id"),
            key("community_id"),
            key("version"),
            // The community's text, which its admins may have signed with their names.
            personal(
                "body",
                CommunicationsContent,
                LegalCompliance,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            personal(
                "url",
                CommunicationsContent,
                LegalCompliance,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            personal(
                "published_by",
                Identifiers,
                LegalCompliance,
                WhileCommunityExists,
                Deidentify,
            ),
            key("published_at"),
        ],
    },
    // A member's acknowledgement of a version of a community's statement: the proof they
    // were told.
    Table {
        name: "statement_acknowledgements",
        description: "Which versions of a community's privacy statement you acknowledged, and \
                      when.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("statement_id"),
            personal(
                "user_id",
                Identifiers,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "acknowledged_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    // The platform's legal documents (terms, service level, data processing), every version:
    // the operator's text; who published it is kept while they have an account.
    Table {
        name: "legal_terms",
        description: "The versions of this Hearth's legal terms, and who published each.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("published_by")]),
        columns: &[
            key("id"),
            key("kind"),
            key("version"),
            key("body"),
            personal(
                "published_by",
                Identifiers,
                LegalCompliance,
                UntilDeleted,
                Deidentify,
            ),
            key("published_at"),
        ],
    },
    // A community's acceptance of a version of the legal terms: the record stays with the
    // community, no longer naming who accepted it once their account is gone.
    Table {
        name: "terms_acceptances",
        description: "Which versions of this Hearth's legal terms you accepted for a community \
                      you owned, and when.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("accepted_by")]),
        columns: &[
            key("terms_id"),
            key("community_id"),
            personal(
                "accepted_by",
                Identifiers,
                LegalCompliance,
                WhileCommunityExists,
                Deidentify,
            ),
            key("accepted_at"),
        ],
    },
    // What a hold kept of an erased person: their messages' text, sealed for no one, until
    // the hold is released.
    Table {
        name: "held_messages",
        description: "The text of messages a legal hold kept through an erasure.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Via {
            column: "hold_id",
            table: "legal_holds",
        }]),
        columns: &[
            personal(
                "hold_id",
                Identifiers,
                LegalCompliance,
                UntilDeleted,
                Keep(HOLD_REASON),
            ),
            key("message_id"),
            message_content(personal(
                "body",
                CommunicationsContent,
                LegalCompliance,
                UntilDeleted,
                Keep(HOLD_REASON),
            )),
        ],
    },
    // A copy of a person's data is theirs alone: the row and its file go when it lapses (a
    // week after it is ready) and when the person does.
    Table {
        name: "exports",
        description: "Copies of a person's data made for their access requests: what each \
                      covers, where it stands, and until when it can be downloaded (a week); \
                      the file and the row are deleted then.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            personal("user_id", Identifiers, ProvideService, EXPORT, DeleteRow),
            key("request_id"),
            key("state"),
            personal(
                "range_from",
                InternetActivity,
                ProvideService,
                EXPORT,
                DeleteRow,
            ),
            personal(
                "range_to",
                InternetActivity,
                ProvideService,
                EXPORT,
                DeleteRow,
            ),
            key("bytes"),
            key("sha256"),
            // Failures are told in plain words without personal data.
            key("error"),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                EXPORT,
                DeleteRow,
            ),
            personal(
                "ready_at",
                InternetActivity,
                ProvideService,
                EXPORT,
                DeleteRow,
            ),
            personal(
                "expires_at",
                InternetActivity,
                ProvideService,
                EXPORT,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "account_links",
        description: "Mailed links that confirm an email address, reset a forgotten \
                      password or ask a parent's consent to a child's joining a community; \
                      only a hash of each link's secret is kept, and a link is \
                      deleted when used or once it has expired.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            personal("user_id", Identifiers, Security, ACCOUNT_LINK, DeleteRow),
            key("purpose"),
            // The address the link was sent to: for a change of address, the new one; for a
            // child's joining, their parent's.
            personal("email", Identifiers, Security, ACCOUNT_LINK, DeleteRow),
            personal(
                "token_hash",
                AccountCredentials,
                Security,
                ACCOUNT_LINK,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                Security,
                ACCOUNT_LINK,
                DeleteRow,
            ),
            personal(
                "expires_at",
                InternetActivity,
                Security,
                ACCOUNT_LINK,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "sessions",
        description: "Signed-in browser sessions; only a hash of the cookie is stored.",
        source: Source::Device,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            personal(
                "token_hash",
                AccountCredentials,
                Security,
                SessionLifetime,
                DeleteRow,
            ),
            personal("user_id", Identifiers, Security, SessionLifetime, DeleteRow),
            personal(
                "created_at",
                InternetActivity,
                Security,
                SessionLifetime,
                DeleteRow,
            ),
            personal(
                "expires_at",
                InternetActivity,
                Security,
                SessionLifetime,
                DeleteRow,
            ),
            personal(
                "last_seen_at",
                InternetActivity,
                Security,
                SessionLifetime,
                DeleteRow,
            ),
            // "Firefox on Linux": a summary of the user agent, not the user agent.
            personal(
                "device",
                InternetActivity,
                Security,
                SessionLifetime,
                DeleteRow,
            ),
            // The network signed in from, shortened to an IPv4 /24 or an IPv6 /48.
            personal("network", Identifiers, Security, SessionLifetime, DeleteRow),
        ],
    },
    Table {
        name: "sign_in_throttles",
        description: "Sign-in attempts counted per account and network, neighbourhood or \
                      device, so guesses are slowed without locking the owner out; accounts, \
                      logins, networks and devices are stored only as keyed hashes.",
        source: Source::Device,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            // Keyed hashes (under the master key, kept apart from the database) of the
            // account or the login tried, and of the network, neighbourhood or device: still
            // identifiers, kept while they throttle (an hour) or trust (a session's lifetime
            // for a network, up to KNOWN_DEVICE_DAYS for a device).
            personal("subject", Identifiers, Security, SIGN_IN_METER, DeleteRow),
            personal("scope", Identifiers, Security, SIGN_IN_METER, DeleteRow),
            personal("user_id", Identifiers, Security, SIGN_IN_METER, DeleteRow),
            personal(
                "failures",
                InternetActivity,
                Security,
                SIGN_IN_METER,
                DeleteRow,
            ),
            personal(
                "blocked_until",
                InternetActivity,
                Security,
                SIGN_IN_METER,
                DeleteRow,
            ),
            personal(
                "trusted_until",
                InternetActivity,
                Security,
                SIGN_IN_METER,
                DeleteRow,
            ),
            personal(
                "updated_at",
                InternetActivity,
                Security,
                SIGN_IN_METER,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "api_tokens",
        description: "Personal API tokens; only a hash of each secret is stored.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            personal(
                "user_id",
                Identifiers,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "name",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "token_hash",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "last_used_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "revoked_at",
                InternetActivity,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "communities",
        description: "Communities and their settings.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("owner_id")]),
        columns: &[
            key("id"),
            personal(
                "slug",
                CommunicationsContent,
                ProvideService,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            personal(
                "name",
                CommunicationsContent,
                ProvideService,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            personal(
                "description",
                CommunicationsContent,
                ProvideService,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            key("join_policy"),
            // Whether its moderators and admins must sign in with a second factor.
            key("require_two_factor"),
            // The law its privacy requests follow, and the kinds an admin approves.
            key("privacy_law"),
            key("approved_requests"),
            // Whether an erased member's messages go or stay under "Deleted user".
            key("erased_messages"),
            // Where the statement tells people to write about their privacy: the community's
            // own address or page, which may be its owner's.
            personal(
                "privacy_contact",
                Identifiers,
                LegalCompliance,
                WhileCommunityExists,
                Keep(SHARED_TEXT_REASON),
            ),
            key("publish_request_metrics"),
            // The ages it admits and how it asks.
            key("age_question"),
            key("minimum_age"),
            // The youngest age admitted before the ages were narrowed, and until when.
            key("earlier_minimum_age"),
            key("earlier_ages_until"),
            personal(
                "owner_id",
                Identifiers,
                LegalCompliance,
                WhileCommunityExists,
                Keep(OWNER_REASON),
            ),
            key("created_at"),
            key("updated_at"),
        ],
    },
    Table {
        name: "community_members",
        description: "Who belongs to which community, in which role.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("community_id"),
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "role",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "joined_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            // Only the age group joining told, where the community asks: never a birth date.
            personal(
                "age_group",
                ProtectedCharacteristics,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            // The proof that a member aged 13 to 15 consented to joining, and whether they
            // themself allowed the sale and sharing of their personal information.
            personal(
                "minor_consent_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "sale_opt_in_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    // A parent's consent for their child under 13 to join a community: the proof the law asks
    // for, kept while the child has an account.
    Table {
        name: "parental_consents",
        description: "Your parent's consent to your joining a community while under 13: their \
                      address, when they confirmed it, and the hash of the link that withdraws \
                      it.",
        source: Source::Parent,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("community_id"),
            personal(
                "user_id",
                Identifiers,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "parent_email",
                Identifiers,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "confirmed_at",
                InternetActivity,
                LegalCompliance,
                WhileAccountExists,
                DeleteRow,
            ),
            // Only the hash of the secret of the parent's link that withdraws the consent.
            personal(
                "withdraw_hash",
                AccountCredentials,
                Security,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "invites",
        description: "Invitation links to communities.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("created_by")]),
        columns: &[
            key("id"),
            key("community_id"),
            key("code"),
            personal(
                "created_by",
                Identifiers,
                ProvideService,
                WhileCommunityExists,
                Deidentify,
            ),
            key("created_at"),
            key("expires_at"),
            key("max_uses"),
            key("uses"),
            key("revoked_at"),
        ],
    },
    Table {
        name: "channels",
        description: "Channels in communities, and direct conversations.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[
            PersonLink::Column("created_by"),
            PersonLink::InList("direct_key"),
        ]),
        columns: &[
            key("id"),
            key("community_id"),
            key("kind"),
            personal(
                "name",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                Keep(SHARED_TEXT_REASON),
            ),
            personal(
                "topic",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                Keep(SHARED_TEXT_REASON),
            ),
            // The participants of a direct conversation, as a list of their ids.
            personal(
                "direct_key",
                Identifiers,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            personal(
                "created_by",
                Identifiers,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            key("created_at"),
        ],
    },
    Table {
        name: "channel_members",
        description: "Who takes part in which channel or direct conversation.",
        source: Source::OtherMembers,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("channel_id"),
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "joined_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "channel_reads",
        description: "How far each member has read each channel, for unread counts.",
        source: Source::Device,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            key("channel_id"),
            personal(
                "last_read_id",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
            personal(
                "updated_at",
                InternetActivity,
                ProvideService,
                WhileAccountExists,
                DeleteRow,
            ),
        ],
    },
    // An erased person's messages become tombstones from "Deleted user": others' replies keep
    // their thread, and nothing of the person remains.
    Table {
        name: "messages",
        description: "Messages in channels, threads and direct conversations.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("author_id")]),
        columns: &[
            key("id"),
            key("channel_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            key("thread_root_id"),
            sealed(message_content(personal(
                "body",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                Tombstone,
            ))),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            personal(
                "edited_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            personal(
                "deleted_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            key("reply_count"),
        ],
    },
    // Revisions go with their message: deleting or erasing it deletes them. The link to the
    // author is only cleared if the account row goes first.
    Table {
        name: "message_edits",
        description: "Earlier versions of edited messages.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("author_id")]),
        columns: &[
            key("id"),
            key("message_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                Deidentify,
            ),
            sealed(message_content(personal(
                "body",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ))),
            personal(
                "replaced_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
        ],
    },
    // The search index's copy of each live message's text, in the clear (the index must read
    // it): it goes when the message is edited (replaced), deleted, or erased with its author.
    // SQLite's full-text index over it, like any index, is derived from this table.
    Table {
        name: "message_search",
        description: "The text of live messages, for full-text search (an index of messages).",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[PersonLink::Column("author_id")]),
        columns: &[
            key("message_id"),
            key("channel_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            message_content(personal(
                "body",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            )),
        ],
    },
    // The words an erasure takes out of SQLite's full-text index, between the erasure's
    // transaction and the batches right after it that take them out. Whose they were is not
    // kept (the person is gone); PostgreSQL leaves the table empty.
    Table {
        name: "search_purge",
        description: "The text of an erased person's messages, for the seconds it takes the \
                      search index to let go of it after the erasure.",
        source: Source::Hearth,
        subject: SubjectLink::AlreadyErased,
        columns: &[
            key("message_id"),
            message_content(personal(
                "body",
                CommunicationsContent,
                LegalCompliance,
                UntilIndexPurged,
                DeleteRow,
            )),
        ],
    },
    // Uploaded files go with their uploader and with their message. The bytes themselves are
    // in the blob store (uploads/<owner_id>/<id> under the data directory), removed with the
    // row: the file's content has the same category and sensitivity as its name.
    Table {
        name: "uploads",
        description: "Files attached to messages (the bytes are in the blob store, one folder \
                      per uploader); one never attached is swept after a day.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Column("owner_id")]),
        columns: &[
            key("id"),
            personal(
                "owner_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            key("channel_id"),
            key("message_id"),
            message_content(personal(
                "file_name",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            )),
            personal(
                "media_type",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            personal(
                "size",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "profile_fields",
        description: "The questions a community asks its members (custom profile fields), \
                      each with the privacy category its admin chose for the answers.",
        source: Source::OtherMembers,
        subject: SubjectLink::None,
        columns: &[
            key("id"),
            key("community_id"),
            key("label"),
            key("help"),
            key("kind"),
            key("choices"),
            key("required"),
            key("visibility"),
            key("category"),
            key("position"),
            key("created_at"),
            key("updated_at"),
        ],
    },
    Table {
        name: "profile_values",
        description: "Members' answers to their communities' profile fields, sealed; an \
                      answer goes when its member leaves the community.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("field_id"),
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                WhileMember,
                DeleteRow,
            ),
            key("community_id"),
            sealed(Column {
                sensitive: Sensitivity::AsProfileFieldDeclares,
                ..personal(
                    "value",
                    AsProfileFieldDeclares,
                    ProvideService,
                    WhileMember,
                    DeleteRow,
                )
            }),
            personal(
                "updated_at",
                InternetActivity,
                ProvideService,
                WhileMember,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "jobs",
        description: "Durable background work (mail, retention sweeps): what to do, for whom, \
                      when, and how it went; finished jobs are deleted after 30 days.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            key("id"),
            key("kind"),
            // What the job works on; for mail, the address and the message.
            personal(
                "payload",
                Identifiers,
                ProvideService,
                Days(JOB_RECORD_DAYS),
                DeleteRow,
            ),
            personal(
                "user_id",
                Identifiers,
                ProvideService,
                Days(JOB_RECORD_DAYS),
                DeleteRow,
            ),
            // Callers may build keys from what they are about (an address to verify, say).
            personal(
                "dedupe_key",
                Identifiers,
                ProvideService,
                Days(JOB_RECORD_DAYS),
                DeleteRow,
            ),
            key("state"),
            key("run_at"),
            key("every_ms"),
            key("attempts"),
            key("max_attempts"),
            key("lease_owner"),
            key("lease_until"),
            // Handlers describe failures without personal data, but an error from a mail
            // server may quote an address: kept and erased like the payload.
            personal(
                "last_error",
                InternetActivity,
                ProvideService,
                Days(JOB_RECORD_DAYS),
                DeleteRow,
            ),
            key("created_at"),
            key("updated_at"),
        ],
    },
    // An entry names people twice: who acted, and, for joins, removals, role changes and
    // failed sign-ins, whom it was done to. Erasing either de-identifies the entry rather than
    // deleting it: it stays a record of what the other person (an admin, say) did, and of
    // compliance, for its 24 months, with no one's id left in it.
    Table {
        name: "audit_log",
        description: "Who did what to which object, and when, by id only.",
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[
            PersonLink::Column("actor_id"),
            PersonLink::ColumnWhen {
                column: "object_id",
                kind_column: "object_kind",
                kind: "user",
            },
        ]),
        columns: &[
            key("id"),
            personal(
                "at",
                InternetActivity,
                LegalCompliance,
                LegalRecordMonths(24),
                Keep(AUDIT_REASON),
            ),
            personal(
                "actor_id",
                Identifiers,
                LegalCompliance,
                LegalRecordMonths(24),
                Deidentify,
            ),
            personal(
                "action",
                InternetActivity,
                LegalCompliance,
                LegalRecordMonths(24),
                Keep(AUDIT_REASON),
            ),
            key("object_kind"),
            personal(
                "object_id",
                Identifiers,
                LegalCompliance,
                LegalRecordMonths(24),
                Deidentify,
            ),
            key("community_id"),
        ],
    },
    // Each row says that someone posted, edited or deleted a message in a channel, and when:
    // activity, kept only as long as live updates need it.
    Table {
        name: "events",
        description: "The change feed every node tails to push live updates.",
        // Message events name the message (and through it its author); membership events
        // name the person who joined or left.
        source: Source::Hearth,
        subject: SubjectLink::Columns(&[
            PersonLink::Via {
                column: "object_id",
                table: "messages",
            },
            PersonLink::ColumnWhen {
                column: "object_id",
                kind_column: "kind",
                kind: "member.joined",
            },
            PersonLink::ColumnWhen {
                column: "object_id",
                kind_column: "kind",
                kind: "member.left",
            },
        ]),
        columns: &[
            key("seq"),
            personal(
                "channel_id",
                InternetActivity,
                ProvideService,
                Days(EVENTS_DAYS),
                DeleteRow,
            ),
            personal(
                "kind",
                InternetActivity,
                ProvideService,
                Days(EVENTS_DAYS),
                DeleteRow,
            ),
            personal(
                "object_id",
                InternetActivity,
                ProvideService,
                Days(EVENTS_DAYS),
                DeleteRow,
            ),
            personal(
                "at",
                InternetActivity,
                ProvideService,
                Days(EVENTS_DAYS),
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "post_idempotency",
        description: "Idempotency keys of recent posts, so a retried post is not posted twice.",
        source: Source::Device,
        subject: SubjectLink::Columns(&[USER]),
        columns: &[
            personal("user_id", Identifiers, ProvideService, Days(1), DeleteRow),
            personal(
                "idempotency_key",
                InternetActivity,
                ProvideService,
                Days(1),
                DeleteRow,
            ),
            // A hash of the channel, the thread and the text: it can confirm a guessed text.
            personal(
                "request_hash",
                CommunicationsContent,
                ProvideService,
                Days(1),
                DeleteRow,
            ),
            personal(
                "message_id",
                InternetActivity,
                ProvideService,
                Days(1),
                DeleteRow,
            ),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                Days(1),
                DeleteRow,
            ),
        ],
    },
    // What verifying a request from the public form collected: the person's address (one
    // already on record, for an account), an agent's name, address and permission. It goes
    // when the request closes.
    Table {
        name: "request_verifications",
        description: "What verifying a privacy request made on the public form collected: the \
                      address its link went to and, for an authorized agent, their name, \
                      address and the person's signed permission; deleted when the request \
                      closes.",
        source: Source::Person,
        subject: SubjectLink::Columns(&[PersonLink::Via {
            column: "request_id",
            table: "privacy_requests",
        }]),
        columns: &[
            personal(
                "request_id",
                Identifiers,
                LegalCompliance,
                UntilRequestCloses,
                DeleteRow,
            ),
            personal(
                "email",
                Identifiers,
                LegalCompliance,
                UntilRequestCloses,
                DeleteRow,
            ),
            personal(
                "agent_name",
                Identifiers,
                LegalCompliance,
                UntilRequestCloses,
                DeleteRow,
            ),
            personal(
                "agent_email",
                Identifiers,
                LegalCompliance,
                UntilRequestCloses,
                DeleteRow,
            ),
            personal(
                "permission",
                CustomerRecords,
                LegalCompliance,
                UntilRequestCloses,
                DeleteRow,
            ),
            key("expires_at"),
            key("created_at"),
        ],
    },
    // The suppression list: keyed hashes of erased people's identifiers. No hash can be turned
    // back into the identifier, nor linked to anyone without being handed the identifier, so
    // the list names no one; it is what keeps an erased person erased.
    Table {
        name: "erased_identifiers",
        description: "Keyed hashes of erased people's usernames, addresses and identity-provider \
                      subjects, so that nothing brings their data back under them.",
        source: Source::Hearth,
        subject: SubjectLink::None,
        columns: &[key("digest"), key("kind"), key("erased_at")],
    },
    Table {
        name: "instance_key_check",
        description: "A check value of the instance's master key (not the key), so that a \
                      node holding another key refuses to start.",
        source: Source::Hearth,
        subject: SubjectLink::None,
        columns: &[key("id"), key("key_check"), key("created_at")],
    },
    Table {
        name: "generated_statements",
        description: "When each privacy statement written from the catalog last changed, by \
                      the digest of its text.",
        source: Source::Hearth,
        subject: SubjectLink::None,
        columns: &[key("scope"), key("digest"), key("changed_at")],
    },
    Table {
        name: "event_sequence",
        description: "The events feed's counter, which numbers events in commit order.",
        source: Source::Hearth,
        subject: SubjectLink::None,
        columns: &[key("id"), key("last")],
    },
];

/// How long a sign-in meter is kept at most: while it trusts a device that signed in.
const SIGN_IN_METER: Retention = Retention::Days(crate::sign_in_throttle::KNOWN_DEVICE_DAYS);

/// Days the events feed is kept: far longer than any node or client needs to catch up (after
/// that they reload through the API), short enough that it is no history of anyone's activity.
const EVENTS_DAYS: u32 = 7;

/// How long the record of a privacy request is kept: 24 months (Reg. §7101(a)).
const REQUEST_RECORD: Retention = Retention::LegalRecordMonths(24);

/// Why a request's record outlives the erasure of its person (Reg. §7101, §7022(e)).
const REQUEST_REASON: &str = "record of the request kept 24 months (Cal. Code Regs. tit. 11, 7101)";

/// How long a mailed account link is kept at most: the longest a link lives (an address
/// confirmation; a password reset lives an hour). Used or expired links are deleted sooner.
const ACCOUNT_LINK: Retention = Retention::Days(ACCOUNT_LINK_DAYS);

/// Days a copy of a person's data is offered for download once it is ready.
pub const EXPORT_DAYS: u32 = 7;

/// How long a copy of a person's data is kept: until its offer lapses.
const EXPORT: Retention = Retention::Days(EXPORT_DAYS);

/// Days an address confirmation link works.
pub const ACCOUNT_LINK_DAYS: u32 = 3;

/// Days a finished job's row is kept, to show operators what ran and how it went.
pub const JOB_RECORD_DAYS: u32 = 30;

/// The declared table of this name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The table whose rows are the people themselves: erasing a person ends by deleting their row
/// of it, after every other step (which find the person's rows through links to it).
pub const PERSON_TABLE: &str = "users";

/// What one step of erasing a person does to the rows a link selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureAction {
    /// The rows go: the table has columns whose erasure is [`Erasure::DeleteRow`].
    DeleteRows,
    /// The rows stay with these columns set to null: their [`Erasure::Tombstone`] columns,
    /// and the link itself where it is [`Erasure::Deidentify`].
    Clear(Vec<&'static str>),
}

/// One step of erasing a person: what to do to the rows of `table` that `link` ties to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureStep {
    /// The table.
    pub table: &'static str,
    /// The link that selects the person's rows.
    pub link: PersonLink,
    /// What happens to them.
    pub action: ErasureAction,
}

/// The erasure plan, derived from the catalog: for every link of every table to a person,
/// what erasing them does to the rows it selects. Links through another table come first
/// (they find the person through that table's own links, which later steps may clear), and
/// the person's own row ([`PERSON_TABLE`]) last. A link whose column is kept
/// ([`Erasure::Keep`]) clears nothing: the schema refuses to delete the person while such a
/// row names them.
pub fn erasure_plan() -> Vec<ErasureStep> {
    let mut steps: Vec<ErasureStep> = TABLES
        .iter()
        .flat_map(|table| {
            table
                .subject
                .links()
                .iter()
                .filter_map(move |&link| erasure_step(table, link))
        })
        .collect();
    steps.sort_by_key(|step| match (step.link, step.table) {
        (PersonLink::Via { .. }, _) => 0,
        (_, PERSON_TABLE) => 2,
        _ => 1,
    });
    steps
}

fn erasure_step(table: &'static Table, link: PersonLink) -> Option<ErasureStep> {
    let deletes_rows = table
        .columns
        .iter()
        .any(|c| c.erasure == Erasure::DeleteRow);
    let action = if deletes_rows {
        ErasureAction::DeleteRows
    } else {
        let link_erasure = table.column(link.column()).map(|c| c.erasure);
        let cleared: Vec<&'static str> = table
            .columns
            .iter()
            .filter(|c| {
                c.erasure == Erasure::Tombstone
                    || (c.name == link.column() && link_erasure == Some(Erasure::Deidentify))
            })
            .map(|c| c.name)
            .collect();
        if cleared.is_empty() {
            return None;
        }
        ErasureAction::Clear(cleared)
    };
    Some(ErasureStep {
        table: table.name,
        link,
        action,
    })
}

/// What erasing a person leaves behind, and why: the exceptions an erasure's answer lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAfterErasure {
    /// The table.
    pub table: &'static str,
    /// What its rows are, in words.
    pub what: &'static str,
    /// Why rows of it stay.
    pub reason: &'static str,
}

/// Why a row kept for others no longer names its person.
const DEIDENTIFIED_REASON: &str =
    "kept for the others it concerns, with nothing left that names you (shown as \"Deleted user\")";

/// The exceptions to erasure, derived from the catalog: every table whose rows about a
/// person stay (de-identified, as tombstones, or kept for a reason of law), with the reason.
/// A table whose rows the erasure deletes is not listed.
pub fn kept_after_erasure() -> Vec<KeptAfterErasure> {
    TABLES
        .iter()
        .filter(|table| !table.subject.links().is_empty())
        .filter(|table| {
            !table
                .columns
                .iter()
                .any(|c| c.erasure == Erasure::DeleteRow)
        })
        // Rows that name the person only through a kept link (a community they own) refuse
        // the erasure until handed on: none is left when it is done.
        .filter(|table| {
            table.subject.links().iter().any(|link| {
                !matches!(
                    table.column(link.column()).map(|c| c.erasure),
                    Some(Erasure::Keep(_))
                )
            })
        })
        .filter_map(|table| {
            let kept_for_law = table.columns.iter().find_map(|c| match c.erasure {
                Erasure::Keep(reason) if c.category != Category::NotPersonal => Some(reason),
                _ => None,
            });
            let deidentified = table
                .columns
                .iter()
                .any(|c| matches!(c.erasure, Erasure::Deidentify | Erasure::Tombstone));
            let reason = kept_for_law.or(deidentified.then_some(DEIDENTIFIED_REASON))?;
            Some(KeptAfterErasure {
                table: table.name,
                what: table.description,
                reason,
            })
        })
        .collect()
}

/// Differences between a live schema, given as (table, column) pairs, and the catalog.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SchemaDrift {
    /// Columns the live schema has and the catalog lacks.
    pub undeclared: Vec<String>,
    /// Columns the catalog declares and the live schema lacks.
    pub missing: Vec<String>,
}

impl SchemaDrift {
    /// Whether schema and catalog agree.
    pub fn is_empty(&self) -> bool {
        self.undeclared.is_empty() && self.missing.is_empty()
    }
}

/// Compares a live schema with the catalog, both ways.
pub fn drift<'a>(live: impl IntoIterator<Item = (&'a str, &'a str)>) -> SchemaDrift {
    let live: std::collections::BTreeSet<(String, String)> = live
        .into_iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    let declared: std::collections::BTreeSet<(String, String)> = TABLES
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .map(|c| (t.name.to_string(), c.name.to_string()))
        })
        .collect();
    SchemaDrift {
        undeclared: live
            .difference(&declared)
            .map(|(t, c)| format!("{t}.{c}"))
            .collect(),
        missing: declared
            .difference(&live)
            .map(|(t, c)| format!("{t}.{c}"))
            .collect(),
    }
}

/// A foreign key of the live schema, as the database reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKey<'a> {
    /// The table holding the key.
    pub table: &'a str,
    /// The column holding the key.
    pub column: &'a str,
    /// The table it references.
    pub references: &'a str,
    /// What the database does when the referenced row is deleted.
    pub on_delete: OnDelete,
}

/// Foreign keys to people's accounts that disagree with the catalog. Each must be a declared
/// person link of its table, and must do, when the account row goes, what erasure declares for
/// its column (delete: cascade; de-identify: set null; keep: refuse).
pub fn link_drift<'a>(keys: impl IntoIterator<Item = ForeignKey<'a>>) -> Vec<String> {
    keys.into_iter()
        .filter(|key| key.references == "users")
        .filter_map(|key| {
            let name = format!("{}.{}", key.table, key.column);
            let Some(table) = table(key.table) else {
                return Some(format!("{name}: its table is not in the catalog"));
            };
            let declared = table
                .subject
                .links()
                .iter()
                .any(|link| matches!(link, PersonLink::Column(c) if *c == key.column));
            if !declared {
                return Some(format!(
                    "{name}: references users but is not a person link of {}",
                    key.table
                ));
            }
            let erasure = table.column(key.column).map(|c| c.erasure);
            let expected = erasure.and_then(Erasure::on_person_deleted);
            (expected != Some(key.on_delete)).then(|| {
                format!(
                    "{name}: ON DELETE {:?} in the schema, but the catalog's erasure is {erasure:?}",
                    key.on_delete
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exceptions_to_erasure_name_the_request_record_and_the_audit_log_with_reasons() {
        let kept = kept_after_erasure();
        let reason_of = |table: &str| kept.iter().find(|k| k.table == table).map(|k| k.reason);
        assert_eq!(reason_of("privacy_requests"), Some(REQUEST_REASON));
        assert_eq!(reason_of("audit_log"), Some(AUDIT_REASON));
        assert_eq!(reason_of("messages"), Some(DEIDENTIFIED_REASON));
        // What erasure deletes is no exception.
        for gone in [
            "sessions",
            "api_tokens",
            "uploads",
            "message_search",
            "users",
        ] {
            assert_eq!(reason_of(gone), None, "{gone}");
        }
    }

    #[test]
    fn tables_and_columns_are_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for t in TABLES {
            assert!(seen.insert(t.name), "table {} declared twice", t.name);
            let mut cols = std::collections::HashSet::new();
            for c in t.columns {
                assert!(cols.insert(c.name), "{}.{} declared twice", t.name, c.name);
            }
        }
    }

    #[test]
    fn subject_links_name_declared_columns_and_tables() {
        for t in TABLES {
            for link in t.subject.links() {
                let column = t.column(link.column());
                assert!(
                    column.is_some_and(|c| c.category != Category::NotPersonal),
                    "{}.{} links to a person but is not declared personal",
                    t.name,
                    link.column()
                );
                match *link {
                    PersonLink::Column(_) | PersonLink::InList(_) => {}
                    PersonLink::ColumnWhen { kind_column, .. } => {
                        assert!(t.column(kind_column).is_some(), "{}.{kind_column}", t.name);
                    }
                    PersonLink::Via { table: other, .. } => {
                        let other = table(other);
                        assert!(other.is_some_and(|o| !o.subject.links().is_empty()));
                    }
                }
            }
        }
    }

    #[test]
    fn every_table_with_personal_columns_says_whose_they_are() {
        for t in TABLES {
            let personal = t
                .columns
                .iter()
                .any(|c| c.category != Category::NotPersonal);
            let whose = !t.subject.links().is_empty() || t.subject == SubjectLink::AlreadyErased;
            assert_eq!(personal, whose, "{}", t.name);
        }
    }

    #[test]
    fn the_audit_log_names_people_as_actors_and_as_objects() {
        let audit = table("audit_log").map(|t| t.subject.links());
        let columns: Vec<&str> = audit
            .unwrap_or_default()
            .iter()
            .map(|l| l.column())
            .collect();
        assert_eq!(columns, ["actor_id", "object_id"]);
        let object = table("audit_log").and_then(|t| t.column("object_id"));
        assert!(object.is_some_and(|c| c.category == Category::Identifiers
            && c.retention == Retention::LegalRecordMonths(24)));
    }

    #[test]
    fn message_contents_are_sensitive_in_private_conversations_only() {
        for (table_name, column) in [("messages", "body"), ("message_edits", "body")] {
            let sensitive = table(table_name)
                .and_then(|t| t.column(column))
                .map(|c| c.sensitive);
            let sensitive = sensitive.unwrap_or(Sensitivity::No);
            assert!(sensitive.in_channel(ChannelKind::Direct), "{table_name}");
            assert!(sensitive.in_channel(ChannelKind::Private), "{table_name}");
            assert!(!sensitive.in_channel(ChannelKind::Public), "{table_name}");
        }
        let credential = table("users").and_then(|t| t.column("password_hash"));
        assert!(credential.is_some_and(|c| c.sensitive.in_channel(ChannelKind::Public)));
    }

    #[test]
    fn sessions_and_events_have_a_retention_that_ends_whole_rows() {
        let rows = |name| table(name).and_then(Table::row_retention);
        assert_eq!(rows("sessions"), Some(Retention::SessionLifetime));
        assert_eq!(rows("events"), Some(Retention::Days(EVENTS_DAYS)));
        assert_eq!(rows("messages"), Some(Retention::UntilDeleted));
        assert_eq!(rows("audit_log"), Some(Retention::LegalRecordMonths(24)));
    }

    #[test]
    fn erasing_a_person_tombstones_their_messages_and_deletes_their_revisions() {
        let plan = erasure_plan();
        let step = |table: &str| {
            plan.iter()
                .find(|s| s.table == table)
                .map(|s| s.action.clone())
        };
        assert_eq!(
            step("messages"),
            Some(ErasureAction::Clear(vec!["author_id", "body"]))
        );
        assert_eq!(step("message_edits"), Some(ErasureAction::DeleteRows));
        assert_eq!(step("communities"), None, "owners are refused, not erased");
        let audit: Vec<_> = plan.iter().filter(|s| s.table == "audit_log").collect();
        assert_eq!(audit.len(), 2, "as actor and as object: {audit:?}");
        assert_eq!(plan.last().map(|s| s.table), Some(PERSON_TABLE));
        let first_direct = plan
            .iter()
            .position(|s| !matches!(s.link, PersonLink::Via { .. }));
        let last_via = plan
            .iter()
            .rposition(|s| matches!(s.link, PersonLink::Via { .. }));
        assert!(last_via < first_direct, "{plan:?}");
    }

    fn key<'a>(table: &'a str, column: &'a str, on_delete: &str) -> ForeignKey<'a> {
        ForeignKey {
            table,
            column,
            references: "users",
            on_delete: OnDelete::parse(on_delete),
        }
    }

    #[test]
    fn links_that_do_what_erasure_declares_agree() {
        let keys = [
            key("sessions", "user_id", "CASCADE"),
            key("messages", "author_id", "SET NULL"),
            key("communities", "owner_id", "NO ACTION"),
            key("communities", "owner_id", "RESTRICT"),
        ];
        assert_eq!(link_drift(keys), Vec::<String>::new());
    }

    #[test]
    fn a_link_that_deletes_what_erasure_keeps_is_caught() {
        let drift = link_drift([
            key("messages", "author_id", "CASCADE"),
            key("communities", "owner_id", "SET NULL"),
            key("channels", "community_id", "CASCADE"),
            key("messages", "thread_root_id", "CASCADE"),
        ]);
        assert_eq!(drift.len(), 4, "{drift:?}");
        assert!(drift[0].starts_with("messages.author_id: ON DELETE Cascade"));
        assert!(drift[3].contains("not a person link"));
    }

    #[test]
    fn personal_columns_say_what_erasure_does() {
        for t in TABLES {
            for c in t.columns {
                let personal = c.category != Category::NotPersonal;
                let applies = c.erasure != Erasure::NotApplicable;
                assert_eq!(personal, applies, "{}.{}", t.name, c.name);
            }
        }
    }

    #[test]
    fn drift_reports_both_directions() {
        let d = drift([("users", "id"), ("users", "shoe_size")]);
        assert!(d.undeclared.contains(&"users.shoe_size".to_string()));
        assert!(d.missing.contains(&"users.email".to_string()));
    }
}
