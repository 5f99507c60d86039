//! Custom profile fields: questions a community's admins ask its members (text, long text,
//! checkbox, date or one of several choices), each optional or required, shown to members or
//! to admins only. A required checkbox is how a community collects a consent at join. Every
//! field carries the privacy category its admin chose, so that export, erasure and the
//! privacy statement can treat its answers like any catalogued column.

use crate::catalog::Category;
use crate::error::DomainError;
use crate::ids::{CommunityId, ProfileFieldId};
use crate::validate;
use serde::{Deserialize, Serialize};

/// Most fields one community may define.
pub const MAX_FIELDS: usize = 30;
/// Most choices a single-choice field offers.
pub const MAX_CHOICES: usize = 30;
/// Longest explanation under a field.
pub const MAX_HELP_CHARS: usize = 300;
/// Longest answer to a text field.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest answer to a long-text field.
pub const MAX_LONG_TEXT_CHARS: usize = 2_000;

/// What kind of answer a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines of text.
    LongText,
    /// Ticked or not; a required one must be ticked (a consent).
    Checkbox,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the field's choices.
    Choice,
}

impl FieldKind {
    /// Every kind, in the order the admin page offers them.
    pub const ALL: &'static [FieldKind] = &[
        FieldKind::Text,
        FieldKind::LongText,
        FieldKind::Checkbox,
        FieldKind::Date,
        FieldKind::Choice,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// How the admin page names it.
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "Text",
            FieldKind::LongText => "Long text",
            FieldKind::Checkbox => "Checkbox",
            FieldKind::Date => "Date",
            FieldKind::Choice => "Single choice",
        }
    }
}

/// Who sees a member's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldVisibility {
    /// Every member of the community.
    Members,
    /// The member themself and the community's admins.
    Admins,
}

impl FieldVisibility {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldVisibility::Members => "members",
            FieldVisibility::Admins => "admins",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "members" => Some(FieldVisibility::Members),
            "admins" => Some(FieldVisibility::Admins),
            _ => None,
        }
    }
}

/// A field as defined, checked: what an admin creates or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDefinition {
    /// The question, as members see it.
    pub label: String,
    /// A line of explanation under it; may be empty.
    pub help: String,
    /// What kind of answer it takes.
    pub kind: FieldKind,
    /// The choices of a single-choice field; empty for the others.
    pub choices: Vec<String>,
    /// Whether joining needs an answer (for a checkbox: a tick).
    pub required: bool,
    /// Who sees the answers.
    pub visibility: FieldVisibility,
    /// The privacy category of the answers.
    pub category: Category,
}

/// A community's custom profile field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfileField {
    /// The field id.
    pub id: ProfileFieldId,
    /// The community that asks it.
    pub community_id: CommunityId,
    /// The question, as members see it.
    pub label: String,
    /// A line of explanation under it; may be empty.
    pub help: String,
    /// What kind of answer it takes.
    pub kind: FieldKind,
    /// The choices of a single-choice field; empty for the others.
    pub choices: Vec<String>,
    /// Whether joining needs an answer (for a checkbox: a tick).
    pub required: bool,
    /// Who sees the answers.
    pub visibility: FieldVisibility,
    /// The privacy category of the answers.
    pub category: Category,
    /// Whether the answers are sensitive personal information (from the category).
    pub sensitive: bool,
    /// Its place in the form: fields are asked in this order.
    pub position: i64,
}

impl ProfileField {
    /// The field with this definition.
    pub fn new(
        id: ProfileFieldId,
        community_id: CommunityId,
        definition: FieldDefinition,
        position: i64,
    ) -> Self {
        Self {
            id,
            community_id,
            sensitive: definition.category.always_sensitive(),
            label: definition.label,
            help: definition.help,
            kind: definition.kind,
            choices: definition.choices,
            required: definition.required,
            visibility: definition.visibility,
            category: definition.category,
            position,
        }
    }
}

/// One member's answer to one field, with the field, as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfileAnswer {
    /// The field answered.
    pub field_id: ProfileFieldId,
    /// Its question.
    pub label: String,
    /// Its kind.
    pub kind: FieldKind,
    /// Who may see it.
    pub visibility: FieldVisibility,
    /// The answer: the text, `true` for a ticked checkbox, `YYYY-MM-DD` for a date.
    pub value: String,
}

/// Checks a definition an admin wrote.
pub fn definition(
    label: &str,
    help: &str,
    kind: FieldKind,
    choices: &[String],
    required: bool,
    visibility: FieldVisibility,
    category: Category,
) -> Result<FieldDefinition, DomainError> {
    let label = validate::name("label", label)?;
    let help = validate::one_line("help", help, MAX_HELP_CHARS)?;
    if !Category::for_profile_fields().any(|c| c == category) {
        return Err(DomainError::invalid(
            "category",
            "must be a category of personal information; profiles never ask for credentials",
        ));
    }
    // Sensitive personal information is for the admins who collect it, never on display to
    // the whole community.
    if category.always_sensitive() && visibility == FieldVisibility::Members {
        return Err(DomainError::invalid(
            "visibility",
            "answers of a sensitive category are seen by the member and the admins only",
        ));
    }
    let choices = match kind {
        FieldKind::Choice => checked_choices(choices)?,
        _ if choices.iter().any(|c| !c.trim().is_empty()) => {
            return Err(DomainError::invalid(
                "choices",
                "only a single-choice field has choices",
            ));
        }
        _ => Vec::new(),
    };
    Ok(FieldDefinition {
        label,
        help,
        kind,
        choices,
        required,
        visibility,
        category,
    })
}

fn checked_choices(raw: &[String]) -> Result<Vec<String>, DomainError> {
    let given: Vec<&str> = raw
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    // Counted before anything else is done with them: a form may send thousands.
    if !(2..=MAX_CHOICES).contains(&given.len()) {
        return Err(DomainError::invalid(
            "choices",
            format!("a single-choice field offers 2 to {MAX_CHOICES} choices"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut choices = Vec::with_capacity(given.len());
    for choice in given {
        let choice = validate::name("choices", choice)?;
        if !seen.insert(choice.to_lowercase()) {
            return Err(DomainError::invalid(
                "choices",
                "must differ from each other",
            ));
        }
        choices.push(choice);
    }
    Ok(choices)
}

/// What redefining `old` as `new` does to the answers given so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redefinition {
    /// They stay: the question still means what it meant when they were given.
    KeepsAnswers,
    /// They all go, and members are asked again: the answers would now answer another
    /// question, be shown to more people than they were given for, or be kept as another
    /// kind of personal information; or, for a checkbox, stand for agreeing to words the
    /// member never saw.
    VoidsAnswers,
    /// Those that are one of these choices, no longer offered, go.
    DropsChoices(Vec<String>),
}

/// What redefining `old` as `new` does to its answers.
pub fn redefinition(old: &ProfileField, new: &FieldDefinition) -> Redefinition {
    let widened =
        old.visibility == FieldVisibility::Admins && new.visibility == FieldVisibility::Members;
    // Another question makes the answers answers to something else; for a checkbox (a
    // consent), so do other words under it.
    let reworded =
        old.label != new.label || (old.kind == FieldKind::Checkbox && old.help != new.help);
    if widened || old.category != new.category || reworded {
        return Redefinition::VoidsAnswers;
    }
    let dropped: Vec<String> = old
        .choices
        .iter()
        .filter(|c| !new.choices.contains(c))
        .cloned()
        .collect();
    if dropped.is_empty() {
        Redefinition::KeepsAnswers
    } else {
        Redefinition::DropsChoices(dropped)
    }
}

/// Checks one answer to `field`; `None` is no answer (an empty text, an unticked box).
pub fn answer(field: &ProfileField, raw: &str) -> Result<Option<String>, DomainError> {
    let raw = raw.replace("\r\n", "\n");
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let refused = |why: &str| DomainError::invalid("profile", format!("{}: {why}", field.label));
    let value = match field.kind {
        FieldKind::Text => validate::one_line("profile", raw, MAX_TEXT_CHARS).map_err(|_| {
            refused(&format!(
                "must be one line of at most {MAX_TEXT_CHARS} characters"
            ))
        })?,
        FieldKind::LongText => validate::several_lines("profile", raw, MAX_LONG_TEXT_CHARS)
            .map_err(|_| refused(&format!("must be at most {MAX_LONG_TEXT_CHARS} characters")))?,
        FieldKind::Checkbox => match raw {
            "true" | "on" | "yes" => "true".to_string(),
            "false" | "off" | "no" => return Ok(None),
            _ => return Err(refused("must be true or false")),
        },
        FieldKind::Date => date(raw).ok_or_else(|| refused("must be a date, YYYY-MM-DD"))?,
        FieldKind::Choice => field
            .choices
            .iter()
            .find(|c| c.as_str() == raw)
            .cloned()
            .ok_or_else(|| refused("must be one of its choices"))?,
    };
    Ok(Some(value))
}

/// A `YYYY-MM-DD` date between 1850 and 2200 that exists on the calendar.
fn date(raw: &str) -> Option<String> {
    let mut parts = raw.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    let month: u8 = m.parse().ok()?;
    let day: u8 = d.parse().ok()?;
    if !(1850..=2200).contains(&year) {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()?;
    Some(raw.to_string())
}

/// How many of a community's fields a set of answers covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Joining: every required field must be answered.
    Joining,
    /// Changing some answers later: unnamed fields stay as they are, but a required one may
    /// not be cleared.
    Changing,
}

/// Checks a member's answers against their community's fields. Returns, for each field
/// named (for [`Coverage::Joining`], for every field), its checked answer or `None` to clear.
pub fn answers(
    fields: &[ProfileField],
    given: &[(ProfileFieldId, String)],
    coverage: Coverage,
) -> Result<Vec<(ProfileFieldId, Option<String>)>, DomainError> {
    for (id, _) in given {
        if !fields.iter().any(|f| f.id == *id) {
            return Err(DomainError::invalid(
                "profile",
                "names a field this community does not ask",
            ));
        }
        if given.iter().filter(|(other, _)| other == id).count() > 1 {
            return Err(DomainError::invalid("profile", "answers a field twice"));
        }
    }
    let mut checked = Vec::new();
    for field in fields {
        let raw = given.iter().find(|(id, _)| *id == field.id).map(|(_, v)| v);
        if raw.is_none() && coverage == Coverage::Changing {
            continue;
        }
        let value = answer(field, raw.map_or("", String::as_str))?;
        if value.is_none() && field.required {
            let why = if field.kind == FieldKind::Checkbox {
                "must be ticked"
            } else {
                "must be answered"
            };
            return Err(DomainError::invalid(
                "profile",
                format!("{}: {why}", field.label),
            ));
        }
        checked.push((field.id, value));
    }
    Ok(checked)
}

/// Whether a reader sees answers of this visibility: members see members' fields; the member
/// themself and the community's admins see all.
pub fn visible_to(visibility: FieldVisibility, reader_is_self_or_admin: bool) -> bool {
    reader_is_self_or_admin || visibility == FieldVisibility::Members
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, required: bool, choices: &[&str]) -> ProfileField {
        ProfileField {
            id: ProfileFieldId(1),
            community_id: CommunityId(1),
            label: "Question".into(),
            help: String::new(),
            kind,
            choices: choices.iter().map(|c| c.to_string()).collect(),
            required,
            visibility: FieldVisibility::Members,
            category: Category::ProtectedCharacteristics,
            sensitive: false,
            position: 0,
        }
    }

    #[test]
    fn definitions_check_their_choices_and_category() -> Result<(), DomainError> {
        let choice = |choices: &[&str]| {
            definition(
                "Pronouns",
                "",
                FieldKind::Choice,
                &choices.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                false,
                FieldVisibility::Members,
                Category::ProtectedCharacteristics,
            )
        };
        assert_eq!(
            choice(&["she", " he ", "", "they"])?.choices,
            ["she", "he", "they"]
        );
        assert!(choice(&["only"]).is_err());
        assert!(choice(&["Same", "same"]).is_err());
        let many: Vec<String> = (0..=MAX_CHOICES).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(choice(&many).is_err());
        let text_with_choices = definition(
            "Name",
            "",
            FieldKind::Text,
            &["a".into()],
            false,
            FieldVisibility::Members,
            Category::Identifiers,
        );
        assert!(text_with_choices.is_err());
        for category in [Category::AccountCredentials, Category::NotPersonal] {
            let refused = definition(
                "Password",
                "",
                FieldKind::Text,
                &[],
                false,
                FieldVisibility::Admins,
                category,
            );
            assert!(refused.is_err());
        }
        let health = |visibility| {
            definition(
                "Allergies",
                "",
                FieldKind::LongText,
                &[],
                false,
                visibility,
                Category::Health,
            )
        };
        assert!(health(FieldVisibility::Members).is_err());
        let health = health(FieldVisibility::Admins)?;
        let field = ProfileField::new(ProfileFieldId(2), CommunityId(1), health, 0);
        assert!(field.sensitive);
        Ok(())
    }

    #[test]
    fn answers_are_checked_by_kind() -> Result<(), DomainError> {
        let date = field(FieldKind::Date, false, &[]);
        assert_eq!(answer(&date, "2011-02-28")?.as_deref(), Some("2011-02-28"));
        assert!(answer(&date, "2011-02-30").is_err());
        assert!(answer(&date, "11-02-28").is_err());
        assert!(answer(&date, "1200-01-01").is_err());
        let choice = field(FieldKind::Choice, false, &["red", "blue"]);
        assert_eq!(answer(&choice, "blue")?.as_deref(), Some("blue"));
        assert!(answer(&choice, "green").is_err());
        let checkbox = field(FieldKind::Checkbox, false, &[]);
        assert_eq!(answer(&checkbox, "on")?.as_deref(), Some("true"));
        assert_eq!(answer(&checkbox, "false")?, None);
        assert!(answer(&checkbox, "maybe").is_err());
        let text = field(FieldKind::Text, false, &[]);
        assert!(answer(&text, "two\nlines").is_err());
        assert_eq!(answer(&text, "  ")?, None);
        let long = field(FieldKind::LongText, false, &[]);
        assert_eq!(
            answer(&long, "two\r\nlines")?.as_deref(),
            Some("two\nlines")
        );
        Ok(())
    }

    #[test]
    fn a_required_checkbox_must_be_ticked_to_join() -> Result<(), DomainError> {
        let consent = field(FieldKind::Checkbox, true, &[]);
        let fields = [consent];
        assert!(answers(&fields, &[], Coverage::Joining).is_err());
        assert!(
            answers(
                &fields,
                &[(ProfileFieldId(1), "false".into())],
                Coverage::Joining
            )
            .is_err()
        );
        let ticked = answers(
            &fields,
            &[(ProfileFieldId(1), "on".into())],
            Coverage::Joining,
        )?;
        assert_eq!(ticked, [(ProfileFieldId(1), Some("true".to_string()))]);
        // A later change that leaves the field alone keeps the tick; clearing it is refused.
        assert_eq!(answers(&fields, &[], Coverage::Changing)?, []);
        assert!(
            answers(
                &fields,
                &[(ProfileFieldId(1), String::new())],
                Coverage::Changing
            )
            .is_err()
        );
        assert!(
            answers(
                &fields,
                &[(ProfileFieldId(9), "x".into())],
                Coverage::Changing
            )
            .is_err()
        );
        Ok(())
    }

    #[test]
    fn a_redefinition_that_changes_what_answers_meant_voids_them() -> Result<(), DomainError> {
        let consent = field(FieldKind::Checkbox, true, &[]);
        let same = |f: &ProfileField| FieldDefinition {
            label: f.label.clone(),
            help: f.help.clone(),
            kind: f.kind,
            choices: f.choices.clone(),
            required: f.required,
            visibility: f.visibility,
            category: f.category,
        };
        assert_eq!(
            redefinition(&consent, &same(&consent)),
            Redefinition::KeepsAnswers
        );
        let reworded = FieldDefinition {
            label: "I agree to something else".into(),
            ..same(&consent)
        };
        assert_eq!(
            redefinition(&consent, &reworded),
            Redefinition::VoidsAnswers
        );
        let mut hidden = field(FieldKind::Text, false, &[]);
        hidden.visibility = FieldVisibility::Admins;
        let shown = FieldDefinition {
            visibility: FieldVisibility::Members,
            ..same(&hidden)
        };
        assert_eq!(redefinition(&hidden, &shown), Redefinition::VoidsAnswers);
        let renamed = FieldDefinition {
            label: "Renamed".into(),
            ..same(&hidden)
        };
        assert_eq!(redefinition(&hidden, &renamed), Redefinition::VoidsAnswers);
        let explained = FieldDefinition {
            help: "Only if you like".into(),
            ..same(&hidden)
        };
        assert_eq!(
            redefinition(&hidden, &explained),
            Redefinition::KeepsAnswers
        );
        let recategorised = FieldDefinition {
            category: Category::Inferences,
            ..same(&hidden)
        };
        assert_eq!(
            redefinition(&hidden, &recategorised),
            Redefinition::VoidsAnswers
        );
        let colours = field(FieldKind::Choice, false, &["red", "blue", "green"]);
        let fewer = FieldDefinition {
            choices: vec!["red".into(), "green".into(), "teal".into()],
            ..same(&colours)
        };
        assert_eq!(
            redefinition(&colours, &fewer),
            Redefinition::DropsChoices(vec!["blue".into()])
        );
        Ok(())
    }

    #[test]
    fn admins_only_answers_are_hidden_from_other_members() {
        assert!(visible_to(FieldVisibility::Members, false));
        assert!(!visible_to(FieldVisibility::Admins, false));
        assert!(visible_to(FieldVisibility::Admins, true));
    }
}
