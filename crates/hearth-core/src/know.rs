//! The answer to a request to know (Civ. 1798.110, 1798.115): which categories of personal
//! information are held about the person, where each came from, why it is kept, for how
//! long, and whether any was sold or shared. It is worked out from the data catalog and the
//! kinds of data actually held about the person, so a new column is answered for without a
//! change here.

use crate::ages::Unfilled;
use crate::catalog::{Category, Purpose, Retention, Source, Table};
use std::collections::BTreeSet;

/// One category of personal information held about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCategory {
    /// The category.
    pub category: Category,
    /// Whether any of it is sensitive personal information (1798.140(ae)).
    pub sensitive: bool,
    /// Where it came from.
    pub sources: Vec<Source>,
    /// Why it is kept.
    pub purposes: Vec<Purpose>,
    /// How long, in plain words, one line per distinct period.
    pub retention: Vec<String>,
    /// The kinds of data it is found in, as the catalog describes each table.
    pub found_in: Vec<&'static str>,
    /// Whether any of it was sold or shared.
    pub sold_or_shared: bool,
}

/// The categories held about a person, given the catalog tables that hold rows about them
/// and the categories of the custom profile fields they answered. Categories come in the
/// order a privacy statement lists them.
pub fn categories_held(
    held: &[&'static Table],
    profile_categories: &[Category],
) -> Vec<HeldCategory> {
    categories_held_but(held, profile_categories, &[])
}

/// [`categories_held`], leaving out the columns (or whole tables) nothing fills.
pub fn categories_held_but(
    held: &[&'static Table],
    profile_categories: &[Category],
    unfilled: &[Unfilled],
) -> Vec<HeldCategory> {
    let mut found: Vec<HeldCategory> = Vec::new();
    for table in held {
        for column in table.columns {
            let empty = |(t, c): &Unfilled| *t == table.name && c.is_none_or(|c| c == column.name);
            if unfilled.iter().any(empty) {
                continue;
            }
            let categories: Vec<Category> = match column.category {
                Category::NotPersonal => continue,
                Category::AsProfileFieldDeclares => profile_categories.to_vec(),
                category => vec![category],
            };
            for category in categories {
                let entry = match found.iter_mut().position(|h| h.category == category) {
                    Some(at) => &mut found[at],
                    None => {
                        found.push(HeldCategory {
                            category,
                            sensitive: false,
                            sources: Vec::new(),
                            purposes: Vec::new(),
                            retention: Vec::new(),
                            found_in: Vec::new(),
                            sold_or_shared: false,
                        });
                        let last = found.len() - 1;
                        &mut found[last]
                    }
                };
                entry.sensitive |= category.always_sensitive() || column.sensitive.ever();
                entry.sold_or_shared |= column.sold_or_shared;
                push_new(&mut entry.sources, table.source);
                push_new(&mut entry.purposes, column.purpose);
                push_new(&mut entry.retention, retention_words(column.retention));
                push_new(&mut entry.found_in, table.description);
            }
        }
    }
    for entry in &mut found {
        entry.sources.sort();
        entry.purposes.sort();
    }
    let order = |c: Category| Category::ALL.iter().position(|x| *x == c);
    found.sort_by_key(|h| order(h.category));
    found
}

/// The purposes, across every category, without repeats.
pub fn purposes_of(held: &[HeldCategory]) -> Vec<Purpose> {
    held.iter()
        .flat_map(|h| h.purposes.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A retention period in plain words.
pub fn retention_words(retention: Retention) -> String {
    match retention {
        Retention::WhileAccountExists => "Until you delete your account".into(),
        Retention::UntilDeleted => "Until you (or a moderator) delete it, or your account".into(),
        Retention::Days(1) => "1 day".into(),
        Retention::Days(days) => format!("{days} days"),
        Retention::SessionLifetime => "Until you sign out or the sign-in expires".into(),
        Retention::WhileCommunityExists => "As long as the community exists".into(),
        Retention::WhileMember => "While you belong to the community".into(),
        Retention::LegalRecordMonths(months) => {
            format!("{months} months, as the law asks of the record")
        }
        Retention::UntilRequestCloses => "Until your request is answered".into(),
        Retention::UntilIndexPurged => "Seconds after your data is deleted".into(),
    }
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, TABLES};

    #[test]
    fn every_category_of_the_tables_held_is_listed_with_its_sources() {
        let held: Vec<&'static Table> = ["users", "messages", "sessions", "profile_values"]
            .iter()
            .filter_map(|name| catalog::table(name))
            .collect();
        let answer = categories_held(&held, &[Category::Health]);
        let categories: Vec<Category> = answer.iter().map(|h| h.category).collect();
        assert!(categories.contains(&Category::Identifiers));
        assert!(categories.contains(&Category::CommunicationsContent));
        assert!(categories.contains(&Category::AccountCredentials));
        // A profile field's own category is the one listed.
        assert!(categories.contains(&Category::Health));
        assert!(!categories.contains(&Category::AsProfileFieldDeclares));
        assert!(!categories.contains(&Category::NotPersonal));
        let content = answer
            .iter()
            .find(|h| h.category == Category::CommunicationsContent);
        assert!(content.is_some_and(|c| c.sensitive && c.sources.contains(&Source::Person)));
        let credentials = answer
            .iter()
            .find(|h| h.category == Category::AccountCredentials);
        assert!(credentials.is_some_and(|c| c.sensitive));
        // Listed in the catalog's order, each once.
        let mut sorted = categories.clone();
        sorted.sort_by_key(|c| Category::ALL.iter().position(|x| x == c));
        sorted.dedup();
        assert_eq!(categories, sorted);
    }

    #[test]
    fn nothing_held_answers_nothing_and_every_table_can_be_answered_for() {
        assert!(categories_held(&[], &[]).is_empty());
        let all: Vec<&'static Table> = TABLES.iter().collect();
        let answer = categories_held(&all, &[]);
        assert!(
            answer
                .iter()
                .all(|h| !h.sources.is_empty() && !h.purposes.is_empty())
        );
        assert!(
            answer.iter().all(|h| !h.sold_or_shared),
            "Hearth sells nothing"
        );
        assert!(!purposes_of(&answer).is_empty());
    }
}
