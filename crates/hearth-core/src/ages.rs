//! Minors: the ages a community admits, how it asks, and what each age group needs before it
//! joins. Only the age group is ever kept, never a birth date.
//!
//! Under 13 a parent consents (or the community refuses them); 13 to 15 consent themselves
//! and are opted out of the sale and sharing of their personal information unless they opt
//! in (Civ. Code §1798.120(c)); 16 and over join as anyone does.

use crate::DomainError;
use time::{Date, Month};

/// How a community asks a joining member's age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeQuestion {
    /// It does not ask.
    None,
    /// It asks the birth date, and keeps only the age group.
    BirthDate,
    /// It asks which age group they are in.
    Bracket,
}

impl AgeQuestion {
    /// The stable code stored and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            AgeQuestion::None => "none",
            AgeQuestion::BirthDate => "birth_date",
            AgeQuestion::Bracket => "bracket",
        }
    }

    /// The question a code names.
    pub fn parse(code: &str) -> Result<AgeQuestion, DomainError> {
        match code {
            "none" => Ok(AgeQuestion::None),
            "birth_date" => Ok(AgeQuestion::BirthDate),
            "bracket" => Ok(AgeQuestion::Bracket),
            _ => Err(DomainError::invalid(
                "age_question",
                "must be none, birth_date or bracket",
            )),
        }
    }
}

/// The youngest age a community admits: 0 admits children under 13 with a parent's consent.
pub const MINIMUM_AGES: [u8; 4] = [0, 13, 16, 18];

/// Checks a community's minimum age.
pub fn minimum_age(age: i64) -> Result<u8, DomainError> {
    MINIMUM_AGES
        .into_iter()
        .find(|m| i64::from(*m) == age)
        .ok_or_else(|| DomainError::invalid("minimum_age", "must be 0, 13, 16 or 18"))
}

/// The age group a member is in, all that is kept of their age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgeGroup {
    /// Under 13.
    Under13,
    /// 13, 14 or 15.
    From13To15,
    /// 16 or 17.
    From16To17,
    /// 18 or over.
    Adult,
}

impl AgeGroup {
    /// Every group, youngest first.
    pub const ALL: [AgeGroup; 4] = [
        AgeGroup::Under13,
        AgeGroup::From13To15,
        AgeGroup::From16To17,
        AgeGroup::Adult,
    ];

    /// The stable code stored and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            AgeGroup::Under13 => "under_13",
            AgeGroup::From13To15 => "13_15",
            AgeGroup::From16To17 => "16_17",
            AgeGroup::Adult => "18_plus",
        }
    }

    /// The group as a form offers it.
    pub fn label(self) -> &'static str {
        match self {
            AgeGroup::Under13 => "Under 13",
            AgeGroup::From13To15 => "13 to 15",
            AgeGroup::From16To17 => "16 or 17",
            AgeGroup::Adult => "18 or over",
        }
    }

    /// The group a code names.
    pub fn parse(code: &str) -> Result<AgeGroup, DomainError> {
        AgeGroup::ALL
            .into_iter()
            .find(|g| g.code() == code)
            .ok_or_else(|| {
                DomainError::invalid("age_group", "must be under_13, 13_15, 16_17 or 18_plus")
            })
    }

    /// The youngest age in the group.
    pub fn youngest(self) -> u8 {
        match self {
            AgeGroup::Under13 => 0,
            AgeGroup::From13To15 => 13,
            AgeGroup::From16To17 => 16,
            AgeGroup::Adult => 18,
        }
    }

    /// The group of someone born on `birth`, on `today`.
    pub fn on(birth: Date, today: Date) -> Result<AgeGroup, DomainError> {
        if birth > today {
            return Err(DomainError::invalid("birth_date", "is in the future"));
        }
        let mut age = today.year() - birth.year();
        if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
            age -= 1;
        }
        if age > 130 {
            return Err(DomainError::invalid("birth_date", "is too long ago"));
        }
        Ok(match age {
            ..13 => AgeGroup::Under13,
            13..16 => AgeGroup::From13To15,
            16..18 => AgeGroup::From16To17,
            _ => AgeGroup::Adult,
        })
    }

    /// Whether the law holds the sale and sharing of this group's personal information until
    /// they (or a parent) opt in.
    pub fn needs_opt_in_to_sale(self) -> bool {
        self < AgeGroup::From16To17
    }
}

/// Reads a birth date written `YYYY-MM-DD`, as a date input sends it.
pub fn birth_date(raw: &str) -> Result<Date, DomainError> {
    let bad = || DomainError::invalid("birth_date", "must be a date written YYYY-MM-DD");
    let mut parts = raw.trim().splitn(3, '-');
    let mut next = || parts.next().ok_or_else(bad);
    let (year, month, day) = (next()?, next()?, next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u8 = month.parse().map_err(|_| bad())?;
    let day: u8 = day.parse().map_err(|_| bad())?;
    let month = Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

/// What joining needs of someone in `group`, in a community admitting `minimum` and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// They are younger than the community admits.
    Refused,
    /// A parent's consent, confirmed by mail.
    ParentsConsent,
    /// Their own consent, a box they tick.
    OwnConsent,
    /// Nothing more.
    Admitted,
}

/// What joining needs of `group` where `minimum` is the youngest age admitted.
pub fn admission(minimum: u8, group: AgeGroup) -> Admission {
    if group.youngest() < minimum {
        return Admission::Refused;
    }
    match group {
        AgeGroup::Under13 => Admission::ParentsConsent,
        AgeGroup::From13To15 => Admission::OwnConsent,
        AgeGroup::From16To17 | AgeGroup::Adult => Admission::Admitted,
    }
}

/// A catalog column, or a whole table (no column), that nothing fills.
pub type Unfilled = (&'static str, Option<&'static str>);

/// What a community's age policy leaves unfilled, so that its statement and join notice do
/// not claim to collect it: no age group where it asks no age; no consent of a member aged 13
/// to 15 (nor their opt-in to sale) where none joins; no parent's consent where no child under
/// 13 does.
pub fn unfilled_by(question: AgeQuestion, minimum: u8) -> Vec<Unfilled> {
    let asks = question != AgeQuestion::None;
    let mut unfilled = Vec::new();
    if !asks {
        unfilled.push(("community_members", Some("age_group")));
    }
    if !asks || minimum > AgeGroup::From13To15.youngest() {
        unfilled.push(("community_members", Some("minor_consent_at")));
        unfilled.push(("community_members", Some("sale_opt_in_at")));
    }
    if !asks || minimum > AgeGroup::Under13.youngest() {
        unfilled.push(("parental_consents", None));
    }
    unfilled
}

/// How long a statement names what an earlier, wider age policy collected: the law asks it
/// to disclose what was collected in the preceding 12 months.
pub const EARLIER_AGES_DAYS: i64 = 365;

/// The youngest age admitted across a narrowing: what an earlier policy admitting from
/// `earlier` (while still within the last 12 months) and the one narrowed from (`was`,
/// asking ages) together collected.
pub fn widest_minimum(was: u8, earlier: Option<u8>) -> u8 {
    earlier.map_or(was, |earlier| earlier.min(was))
}

/// Whether going from `before` to `after` (each a question and the youngest age admitted)
/// stops collecting something `before` collected.
pub fn narrows(before: (AgeQuestion, u8), after: (AgeQuestion, u8)) -> bool {
    let (was, now) = (
        unfilled_by(before.0, before.1),
        unfilled_by(after.0, after.1),
    );
    now.iter().any(|column| !was.contains(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        birth_date(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn the_age_group_turns_on_the_birthday() {
        let today = date("2026-11-28");
        assert_eq!(
            AgeGroup::on(date("2013-11-29"), today),
            Ok(AgeGroup::Under13)
        );
        assert_eq!(
            AgeGroup::on(date("2013-11-28"), today),
            Ok(AgeGroup::From13To15)
        );
        assert_eq!(
            AgeGroup::on(date("2010-11-29"), today),
            Ok(AgeGroup::From13To15)
        );
        assert_eq!(
            AgeGroup::on(date("2010-11-28"), today),
            Ok(AgeGroup::From16To17)
        );
        assert_eq!(AgeGroup::on(date("2008-11-28"), today), Ok(AgeGroup::Adult));
        assert!(AgeGroup::on(date("2027-01-01"), today).is_err());
        assert!(AgeGroup::on(date("1800-01-01"), today).is_err());
    }

    #[test]
    fn birth_dates_are_read_strictly() {
        assert!(birth_date("2012-02-29").is_ok());
        for bad in [
            "2013-02-29",
            "13-01-01",
            "2013-1-01",
            "2013/01/01",
            "",
            "2013-01-01-01",
        ] {
            assert!(birth_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_group_needs_what_the_law_asks() {
        assert_eq!(admission(0, AgeGroup::Under13), Admission::ParentsConsent);
        assert_eq!(admission(13, AgeGroup::Under13), Admission::Refused);
        assert_eq!(admission(13, AgeGroup::From13To15), Admission::OwnConsent);
        assert_eq!(admission(16, AgeGroup::From13To15), Admission::Refused);
        assert_eq!(admission(16, AgeGroup::From16To17), Admission::Admitted);
        assert_eq!(admission(18, AgeGroup::From16To17), Admission::Refused);
        assert_eq!(admission(18, AgeGroup::Adult), Admission::Admitted);
        assert!(AgeGroup::From13To15.needs_opt_in_to_sale());
        assert!(!AgeGroup::From16To17.needs_opt_in_to_sale());
        for group in AgeGroup::ALL {
            assert_eq!(AgeGroup::parse(group.code()), Ok(group));
        }
    }

    #[test]
    fn narrowing_is_stopping_to_collect_something() {
        use AgeQuestion::{BirthDate, Bracket, None};
        assert!(narrows((Bracket, 0), (Bracket, 13)));
        assert!(narrows((Bracket, 13), (Bracket, 16)));
        assert!(narrows((BirthDate, 18), (None, 0)));
        assert!(!narrows((Bracket, 16), (Bracket, 18)));
        assert!(!narrows((None, 0), (Bracket, 18)));
        assert!(!narrows((Bracket, 13), (BirthDate, 0)));
        assert_eq!(widest_minimum(13, Some(0)), 0);
        assert_eq!(widest_minimum(13, Option::None), 13);
    }
}
