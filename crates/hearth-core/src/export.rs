//! What a copy of a person's data holds, derived from the data catalog: one kind of data per
//! table that links rows to people, every declared column of it, each value shown as it is,
//! opened (sealed text), or reported as held without being disclosed (credentials). Links to
//! other people are left out, so that one person's copy holds nothing of another's identity.
//! Each kind has a versioned JSON Schema, generated here too.

use crate::catalog::{self, Category, Column, PersonLink, Table};

/// The version of the export's format; each schema's name and id carry it.
pub const FORMAT_VERSION: u32 = 1;

/// What a value that is held but never disclosed (a password hash, a two-factor seed) reads
/// as in a copy.
pub const HELD_NOT_DISCLOSED: &str = "(held, not disclosed)";

/// What a link to someone other than the person reads as in their copy.
pub const ANOTHER_PERSON: &str = "(another person)";

/// Tables whose values are copies of another table's, kept to serve a feature (the search
/// index); their rows are in the copy as the table they copy, not twice.
pub const DERIVED: &[(&str, &str)] = &[("message_search", "messages")];

/// The column that dates each row of the tables a date range applies to: what a person
/// wrote and did. Account-wide data (the account, profile answers, settings, sessions) is in
/// every copy, whatever the range: it is the person's current record.
const DATED: &[(&str, &str)] = &[
    ("messages", "created_at"),
    ("message_edits", "replaced_at"),
    ("uploads", "created_at"),
    ("audit_log", "at"),
    ("events", "at"),
    ("privacy_requests", "received_at"),
];

/// How a column's value appears in a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// As stored.
    Value,
    /// Opened through the sealing seam, as the person wrote it.
    Opened,
    /// As [`HELD_NOT_DISCLOSED`] when there is a value: a credential, whose disclosure would
    /// only help someone who stole the copy.
    Held,
    /// A link to a person: shown when it is them, as [`ANOTHER_PERSON`] otherwise.
    Link(PersonLink),
}

/// One kind of data in a copy: a table, and the column a date range filters it by.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The table.
    pub table: &'static Table,
    /// The column that dates its rows, if a range applies to it.
    pub dated_by: Option<&'static str>,
}

impl Kind {
    /// The file name of its data (without the `data/` or `csv/` folder): `messages.json`.
    pub fn name(&self) -> &'static str {
        self.table.name
    }

    /// How each column is shown, in declaration order.
    pub fn columns(&self) -> impl Iterator<Item = (&'static Column, Shown)> + '_ {
        self.table
            .columns
            .iter()
            .map(move |column| (column, shown(self.table, column)))
    }

    /// The path of its schema inside the copy.
    pub fn schema_path(&self) -> String {
        format!("schemas/{}.v{FORMAT_VERSION}.schema.json", self.table.name)
    }

    /// The schema's identifier, versioned.
    pub fn schema_id(&self) -> String {
        format!("urn:hearth:export:v{FORMAT_VERSION}:{}", self.table.name)
    }

    /// The JSON Schema its data file follows.
    pub fn schema(&self) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        for (column, shown) in self.columns() {
            let how = match shown {
                Shown::Value | Shown::Opened => "",
                Shown::Held => " Held, never disclosed.",
                Shown::Link(_) => " Your id, or \"(another person)\".",
            };
            let description = if column.category == Category::NotPersonal {
                format!("Not personal: {}.{how}", column.category.label())
            } else {
                format!(
                    "{}; for {}; kept {}.{how}",
                    column.category.label(),
                    purpose_words(column.purpose),
                    retention_words(column.retention)
                )
            };
            properties.insert(
                column.name.to_string(),
                serde_json::json!({ "type": ["string", "null"], "description": description }),
            );
        }
        let required: Vec<&str> = self.table.columns.iter().map(|c| c.name).collect();
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": self.schema_id(),
            "title": self.table.name,
            "description": self.table.description,
            "type": "object",
            "required": ["kind", "schema", "rows"],
            "additionalProperties": false,
            "properties": {
                "kind": { "const": self.table.name },
                "schema": { "const": self.schema_id() },
                "description": { "type": "string" },
                "rows": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": required,
                        "additionalProperties": false,
                        "properties": properties,
                    },
                },
            },
        })
    }
}

/// A CSV cell as a spreadsheet should show it: text that a spreadsheet would run as a formula
/// (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not a plain number)
/// is given a leading apostrophe, so that opening a copy or a log runs nothing planted in it.
/// The JSON beside the CSV keeps every value exactly.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && value.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// Every kind of data a copy holds, in catalog order.
pub fn kinds() -> Vec<Kind> {
    catalog::TABLES
        .iter()
        .filter(|table| !table.subject.links().is_empty())
        .filter(|table| !DERIVED.iter().any(|(derived, _)| *derived == table.name))
        .map(|table| Kind {
            table,
            dated_by: DATED
                .iter()
                .find(|(name, _)| *name == table.name)
                .map(|(_, column)| *column),
        })
        .collect()
}

/// How `column` of `table` is shown in a copy.
pub fn shown(table: &Table, column: &Column) -> Shown {
    if column.category == Category::AccountCredentials {
        return Shown::Held;
    }
    if let Some(link) = table
        .subject
        .links()
        .iter()
        .find(|link| link.column() == column.name && !matches!(link, PersonLink::Via { .. }))
    {
        return Shown::Link(*link);
    }
    if column.sealed {
        Shown::Opened
    } else {
        Shown::Value
    }
}

/// Shows the value of a link column for the person with id `person`: theirs, or not.
pub fn show_link(link: PersonLink, value: &str, kind_value: Option<&str>, person: &str) -> String {
    match link {
        PersonLink::InList(_) => value
            .split(',')
            .map(|id| if id == person { id } else { ANOTHER_PERSON })
            .collect::<Vec<_>>()
            .join(","),
        PersonLink::ColumnWhen { kind, .. } if kind_value != Some(kind) => value.to_string(),
        PersonLink::Column(_) | PersonLink::ColumnWhen { .. } | PersonLink::Via { .. } => {
            if value == person {
                value.to_string()
            } else {
                ANOTHER_PERSON.to_string()
            }
        }
    }
}

fn purpose_words(purpose: catalog::Purpose) -> &'static str {
    match purpose {
        catalog::Purpose::ProvideService => "providing the service you use",
        catalog::Purpose::Security => "keeping accounts and the service secure",
        catalog::Purpose::LegalCompliance => "proving compliance with privacy law",
        catalog::Purpose::Structural => "the structure of the data",
    }
}

fn retention_words(retention: catalog::Retention) -> String {
    use catalog::Retention::*;
    match retention {
        WhileAccountExists => "while the account exists".into(),
        UntilDeleted => "until deleted, or the account is".into(),
        Days(days) => format!("{days} days"),
        SessionLifetime => "while the sign-in lasts".into(),
        WhileCommunityExists => "while the community exists".into(),
        WhileMember => "while a member of the community".into(),
        LegalRecordMonths(months) => format!("{months} months, as the law asks"),
        UntilRequestCloses => "until the request is answered".into(),
        UntilIndexPurged => "seconds, until the search index lets go of it".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_made_text_and_numbers_stay_numbers() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"https://x\")"),
            "'=HYPERLINK(\"https://x\")"
        );
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("+1 555 cmd"), "'+1 555 cmd");
        assert_eq!(csv_cell("\tX"), "'\tX");
        assert_eq!(csv_cell("-12.5"), "-12.5");
        assert_eq!(csv_cell("hello = world"), "hello = world");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn every_table_about_people_is_a_kind_or_derived_from_one() {
        let kinds: Vec<&str> = kinds().iter().map(Kind::name).collect();
        for table in catalog::TABLES {
            if table.subject.links().is_empty() {
                assert!(!kinds.contains(&table.name), "{}", table.name);
                continue;
            }
            let derived = DERIVED.iter().find(|(d, _)| *d == table.name);
            match derived {
                Some((_, from)) => assert!(kinds.contains(from), "{} copies {from}", table.name),
                None => assert!(kinds.contains(&table.name), "{}", table.name),
            }
        }
    }

    #[test]
    fn dated_kinds_name_a_declared_personal_column() {
        for (table, column) in DATED {
            let column = catalog::table(table).and_then(|t| t.column(column));
            assert!(
                column.is_some_and(|c| c.category != Category::NotPersonal),
                "{table}"
            );
        }
    }

    #[test]
    fn credentials_are_held_not_shown_and_sealed_text_is_opened() {
        let shown_as = |table: &str, name: &str| {
            let table = catalog::table(table);
            table.and_then(|t| t.column(name).map(|c| shown(t, c)))
        };
        assert_eq!(shown_as("users", "password_hash"), Some(Shown::Held));
        assert_eq!(shown_as("users", "email"), Some(Shown::Value));
        assert!(matches!(shown_as("users", "id"), Some(Shown::Link(_))));
        assert_eq!(shown_as("messages", "body"), Some(Shown::Opened));
    }

    #[test]
    fn links_show_the_person_and_hide_everyone_else() {
        let list = PersonLink::InList("participants");
        assert_eq!(
            show_link(list, "7,9", None, "9"),
            format!("{ANOTHER_PERSON},9")
        );
        let actor = PersonLink::Column("actor_id");
        assert_eq!(show_link(actor, "9", None, "9"), "9");
        assert_eq!(show_link(actor, "8", None, "9"), ANOTHER_PERSON);
        let object = PersonLink::ColumnWhen {
            column: "object_id",
            kind_column: "object_kind",
            kind: "user",
        };
        // The id of a message is no one's identity.
        assert_eq!(show_link(object, "8", Some("message"), "9"), "8");
        assert_eq!(show_link(object, "8", Some("user"), "9"), ANOTHER_PERSON);
    }

    #[test]
    fn each_schema_requires_every_column_and_names_its_version() {
        for kind in kinds() {
            let schema = kind.schema();
            let required = &schema["properties"]["rows"]["items"]["required"];
            assert_eq!(
                required.as_array().map(Vec::len),
                Some(kind.table.columns.len())
            );
            assert!(kind.schema_id().ends_with(kind.name()));
            assert!(kind.schema_path().contains(".v1."));
        }
    }
}
