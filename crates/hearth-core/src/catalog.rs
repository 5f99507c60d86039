//! The data catalog: every table and column Hearth stores, declared once, with what it means
//! under privacy law. Export, erasure, correction, retention and the privacy statement are
//! derived from here, and a test fails when the live schema and this catalog disagree.

/// The CCPA category of personal information a column holds (Cal. Civ. Code 1798.140(v)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Not personal information: keys, flags and counters that identify no one by themselves.
    NotPersonal,
    /// Names, aliases, account names, email addresses, online identifiers.
    Identifiers,
    /// Records of interaction with the service: sign-ins, tokens, activity.
    InternetActivity,
    /// What a person wrote or shared: the content of their communications.
    CommunicationsContent,
    /// Account credentials (sensitive personal information under 1798.140(ae)(1)(B)).
    AccountCredentials,
}

impl Category {
    /// The category's name as a privacy statement lists it.
    pub fn label(self) -> &'static str {
        match self {
            Category::NotPersonal => "Not personal information",
            Category::Identifiers => "Identifiers",
            Category::InternetActivity => "Internet or other electronic network activity",
            Category::CommunicationsContent => "Contents of communications",
            Category::AccountCredentials => "Account log-in credentials",
        }
    }
}

/// Why the column is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// How long the column is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Until the account is deleted.
    WhileAccountExists,
    /// Until the person (or a moderator) deletes it, or the account is deleted.
    UntilDeleted,
    /// A fixed number of days after it is written.
    Days(u32),
    /// As long as the community exists.
    WhileCommunityExists,
    /// Kept for a number of months to prove compliance, then deleted.
    LegalRecordMonths(u32),
}

/// What erasing the person does to the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Erasure {
    /// The row goes.
    DeleteRow,
    /// The value is replaced by a neutral one (the row stays for others' sake).
    Deidentify,
    /// Kept, for the reason given.
    Keep(&'static str),
    /// Nothing to do: the column holds no personal information.
    NotApplicable,
}

/// How a table's rows link to the person they are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectLink {
    /// The row is about the person whose id is in this column.
    Column(&'static str),
    /// Rows hold no personal information.
    None,
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
    /// Sensitive personal information (1798.140(ae)).
    pub sensitive: bool,
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
    /// Whose data a row is.
    pub subject: SubjectLink,
    /// Every column of the table.
    pub columns: &'static [Column],
}

const fn key(name: &'static str) -> Column {
    Column {
        name,
        category: Category::NotPersonal,
        purpose: Purpose::Structural,
        retention: Retention::UntilDeleted,
        sensitive: false,
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
        sensitive: matches!(category, Category::AccountCredentials),
        sold_or_shared: false,
        erasure,
        sealed: false,
    }
}

const fn sealed(mut column: Column) -> Column {
    column.sealed = true;
    column
}

use Category::*;
use Erasure::*;
use Purpose::*;
use Retention::*;

const AUDIT_REASON: &str = "record of compliance kept 24 months (Cal. Code Regs. tit. 11, 7101)";

/// Every table Hearth stores.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        description: "Accounts: who can sign in and how they appear to others.",
        subject: SubjectLink::Column("id"),
        columns: &[
            key("id"),
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
        ],
    },
    Table {
        name: "sessions",
        description: "Signed-in browser sessions; only a hash of the cookie is stored.",
        subject: SubjectLink::Column("user_id"),
        columns: &[
            personal(
                "token_hash",
                AccountCredentials,
                Security,
                Days(30),
                DeleteRow,
            ),
            personal("user_id", Identifiers, Security, Days(30), DeleteRow),
            personal(
                "created_at",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
            personal(
                "expires_at",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
            personal(
                "last_seen_at",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "sign_in_throttles",
        description: "Sign-in attempts counted per account and network, so guesses are slowed \
                      without locking the owner out; the network is stored only as a hash.",
        subject: SubjectLink::Column("user_id"),
        columns: &[
            personal("user_id", Identifiers, Security, Days(30), DeleteRow),
            // A hash of an IP address (or IPv6 /64) can be reversed by trying them all: it is
            // an identifier, kept only while it throttles or is trusted.
            personal("network", Identifiers, Security, Days(30), DeleteRow),
            personal("failures", InternetActivity, Security, Days(30), DeleteRow),
            personal(
                "blocked_until",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
            personal(
                "trusted_until",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
            personal(
                "updated_at",
                InternetActivity,
                Security,
                Days(30),
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "api_tokens",
        description: "Personal API tokens; only a hash of each secret is stored.",
        subject: SubjectLink::Column("user_id"),
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
        subject: SubjectLink::None,
        columns: &[
            key("id"),
            key("slug"),
            key("name"),
            key("description"),
            key("join_policy"),
            personal(
                "owner_id",
                Identifiers,
                LegalCompliance,
                WhileCommunityExists,
                Keep("the owner answers for the community until ownership passes on"),
            ),
            key("created_at"),
            key("updated_at"),
        ],
    },
    Table {
        name: "community_members",
        description: "Who belongs to which community, in which role.",
        subject: SubjectLink::Column("user_id"),
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
        ],
    },
    Table {
        name: "invites",
        description: "Invitation links to communities.",
        subject: SubjectLink::Column("created_by"),
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
        subject: SubjectLink::Column("created_by"),
        columns: &[
            key("id"),
            key("community_id"),
            key("kind"),
            key("name"),
            key("topic"),
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
        subject: SubjectLink::Column("user_id"),
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
        name: "messages",
        description: "Messages in channels, threads and direct conversations.",
        subject: SubjectLink::Column("author_id"),
        columns: &[
            key("id"),
            key("channel_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            key("thread_root_id"),
            sealed(personal(
                "body",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            )),
            personal(
                "created_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            personal(
                "edited_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            personal(
                "deleted_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            key("reply_count"),
        ],
    },
    Table {
        name: "message_edits",
        description: "Earlier versions of edited messages.",
        subject: SubjectLink::Column("author_id"),
        columns: &[
            key("id"),
            key("message_id"),
            personal(
                "author_id",
                Identifiers,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
            sealed(personal(
                "body",
                CommunicationsContent,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            )),
            personal(
                "replaced_at",
                InternetActivity,
                ProvideService,
                UntilDeleted,
                DeleteRow,
            ),
        ],
    },
    Table {
        name: "audit_log",
        description: "Who did what to which object, and when, by id only.",
        subject: SubjectLink::Column("actor_id"),
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
            key("object_id"),
            key("community_id"),
        ],
    },
    Table {
        name: "events",
        description: "The change feed every node tails to push live updates.",
        subject: SubjectLink::None,
        columns: &[
            key("seq"),
            key("channel_id"),
            key("kind"),
            key("object_id"),
            key("at"),
        ],
    },
    Table {
        name: "post_idempotency",
        description: "Idempotency keys of recent posts, so a retried post is not posted twice.",
        subject: SubjectLink::Column("user_id"),
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
    Table {
        name: "event_sequence",
        description: "The events feed's counter, which numbers events in commit order.",
        subject: SubjectLink::None,
        columns: &[key("id"), key("last")],
    },
];

/// The declared table of this name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_sold_or_shared() {
        assert!(
            TABLES
                .iter()
                .flat_map(|t| t.columns)
                .all(|c| !c.sold_or_shared)
        );
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
    fn subject_links_name_declared_columns() {
        for t in TABLES {
            if let SubjectLink::Column(col) = t.subject {
                assert!(t.columns.iter().any(|c| c.name == col), "{}.{col}", t.name);
            }
        }
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
