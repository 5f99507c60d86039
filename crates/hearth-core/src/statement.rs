//! The privacy statement a community starts from (Civ. 1798.130(a)(5), Reg. §7011): written
//! from the data catalog and the community's own settings, so that every category collected,
//! with its sources, purposes and retention, every recipient and every right is in it without
//! anyone typing them, and a new catalogued column appears in it without a change here. The
//! statement is Markdown: the owner may publish it as it is, or edit it first.

use crate::ages::Unfilled;
use crate::catalog::Purpose;
use crate::catalog::{Category, Table};
use crate::know::{HeldCategory, categories_held_but, purposes_of};
use crate::requests::{KindMetrics, LawProfile, RequestKind, Span};
use std::fmt::Write;

/// Whom a community's data goes to beyond Hearth itself: a webhook's recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The name the community gave it.
    pub name: String,
    /// Whether it is bound by a contract as a service provider (else a third party).
    pub service_provider: bool,
}

/// What becomes of a member's messages when they delete their account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagesAfterErasure {
    /// Their text goes; replies keep their place.
    Removed,
    /// They stay, shown as by "Deleted user".
    Kept,
    /// Each community chooses (the instance's own statement).
    AsEachCommunityChooses,
}

/// What the statement says beyond the catalog: the community's own facts.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Whose statement it is: the community's name.
    pub business: &'a str,
    /// How to reach whoever answers privacy questions (an address or a page), if given.
    pub contact: Option<&'a str>,
    /// The law the community answers under.
    pub law: LawProfile,
    /// The categories its custom profile fields declare.
    pub profile_categories: &'a [Category],
    /// Its webhooks' recipients.
    pub recipients: &'a [Recipient],
    /// What becomes of a member's messages when they delete their account.
    pub messages_after_erasure: MessagesAfterErasure,
    /// The kinds of request its admins look at before they are carried out.
    pub approved_kinds: &'a [RequestKind],
    /// The youngest age it admits, if it sets one.
    pub minimum_age: Option<u8>,
    /// The catalog's columns it leaves unfilled (such as the age columns where it asks no
    /// age): the statement does not claim them.
    pub unfilled: &'a [Unfilled],
    /// Whether children under 13 admitted with a parent's consent under an earlier policy
    /// may still be members, though it admits none now.
    pub children_from_before: bool,
    /// Last year's request figures, when the owner publishes them.
    pub metrics: Option<(i32, &'a [KindMetrics])>,
    /// The day this version is dated (ISO 8601).
    pub updated: &'a str,
}

/// The address of each page the statement points to.
pub const MY_PRIVACY: &str = "/privacy";
/// The request form for those without an account.
pub const REQUEST_FORM: &str = "/privacy/request";
/// The page of privacy choices (opt out of sale and sharing, limit sensitive data).
pub const CHOICES: &str = "/privacy/choices";

/// The statement, as Markdown, from the catalog's `tables` and the community's `facts`.
pub fn generate(tables: &[&'static Table], facts: &Facts<'_>) -> String {
    let categories = categories_held_but(tables, facts.profile_categories, facts.unfilled);
    let third_parties: Vec<&Recipient> = facts
        .recipients
        .iter()
        .filter(|r| !r.service_provider)
        .collect();
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_statement(&mut out, &categories, &third_parties, facts);
    out
}

fn write_statement(
    out: &mut String,
    categories: &[HeldCategory],
    third_parties: &[&Recipient],
    facts: &Facts<'_>,
) -> std::fmt::Result {
    let business = one_line(facts.business);
    writeln!(out, "# Privacy statement of {business}\n")?;
    writeln!(out, "Last updated: {}\n", facts.updated)?;
    writeln!(
        out,
        "This statement says what personal information {business} collects about you on \
         Hearth, where it comes from, why, how long it is kept, who receives it, and how to \
         use your rights over it. Requests are answered within the deadlines of the {}.\n",
        law_name(facts.law)
    )?;

    writeln!(out, "## What we collect, where it comes from, and why\n")?;
    for held in categories {
        let sensitive = if held.sensitive {
            " (sensitive personal information)"
        } else {
            ""
        };
        writeln!(out, "### {}{sensitive}\n", held.category.label())?;
        let sources: Vec<&str> = held.sources.iter().map(|s| s.label()).collect();
        writeln!(out, "- **Where it comes from:** {}", join_unique(&sources))?;
        let purposes: Vec<&str> = held.purposes.iter().map(|p| p.label()).collect();
        writeln!(out, "- **Why:** {}", join_unique(&purposes))?;
        let kept: Vec<&str> = held.retention.iter().map(String::as_str).collect();
        writeln!(out, "- **How long:** {}", join_unique(&kept))?;
        writeln!(out, "- **Found in:**")?;
        let mut found: Vec<&str> = Vec::new();
        for description in &held.found_in {
            let what = first_sentence(description);
            if !found.contains(&what) {
                found.push(what);
                writeln!(out, "  - {what}")?;
            }
        }
        writeln!(out)?;
    }
    let after_erasure = match facts.messages_after_erasure {
        MessagesAfterErasure::Kept => {
            "When you delete your account, this community keeps your messages, shown as by \
             \"Deleted user\" and linked to no one, so that conversations stay readable."
        }
        MessagesAfterErasure::Removed => {
            "When you delete your account, the text of your messages goes with it; replies \
             keep their place."
        }
        MessagesAfterErasure::AsEachCommunityChooses => {
            "When you delete your account, each community either deletes the text of your \
             messages there or keeps them, shown as by \"Deleted user\" and linked to no one, \
             as its own privacy statement says."
        }
    };
    writeln!(out, "{after_erasure}\n")?;

    let sensitive: Vec<&str> = categories
        .iter()
        .filter(|h| h.sensitive)
        .map(|h| h.category.label())
        .collect();
    writeln!(out, "## Sensitive personal information\n")?;
    if sensitive.is_empty() {
        writeln!(out, "We collect no sensitive personal information.\n")?;
    } else {
        let beyond = if third_parties.is_empty() {
            "We use them only to provide the service you ask for, keep it secure, and as the \
             law requires, and draw no inferences about you from them."
        } else {
            "We use them to provide the service you ask for, keep it secure, and as the law \
             requires, and draw no inferences about you from them; but the messages of the \
             channels this community sends to third parties (below) may include them."
        };
        writeln!(
            out,
            "Of the above, these are sensitive personal information: {}. {beyond} You may \
             limit their use to what the service needs: \
             [Limit the Use of My Sensitive Personal Information]({CHOICES}).\n",
            sensitive.join(", ")
        )?;
    }

    writeln!(out, "## Who receives it\n")?;
    writeln!(
        out,
        "- **Other members** of the channels and conversations you write in, and of this \
         community (your name, picture and profile answers)."
    )?;
    writeln!(
        out,
        "- **The mail relay** that carries the messages Hearth sends you (a service provider)."
    )?;
    writeln!(
        out,
        "- **The identity provider** you chose to sign in with, if you did (only that you \
         signed in)."
    )?;
    for recipient in facts.recipients {
        let role = if recipient.service_provider {
            "a service provider, bound by contract to use them only for this community"
        } else {
            "a third party"
        };
        writeln!(
            out,
            "- **{}** receives the messages of some channels: {role}.",
            one_line(&recipient.name)
        )?;
    }
    writeln!(out)?;

    writeln!(out, "## Sale and sharing\n")?;
    if third_parties.is_empty() {
        writeln!(
            out,
            "{business} does not sell your personal information, and does not share it for \
             cross-context behavioural advertising. You may still record your choice: \
             [Do Not Sell or Share My Personal Information]({CHOICES}).\n"
        )?;
    } else {
        let names: Vec<String> = third_parties.iter().map(|r| one_line(&r.name)).collect();
        writeln!(
            out,
            "{business} shares the messages of some channels with third parties ({}). You can \
             opt out, and they then receive nothing of yours: [Do Not Sell or Share My \
             Personal Information]({CHOICES}).\n",
            names.join(", ")
        )?;
    }
    writeln!(
        out,
        "Your browser's Global Privacy Control signal counts as a request to opt out: it is \
         recorded on your account, and stays when a later visit lacks it.\n"
    )?;

    writeln!(out, "## Your rights and how to use them\n")?;
    writeln!(
        out,
        "Signed in, use [My privacy]({MY_PRIVACY}); without an account, or for someone else, \
         use the [request form]({REQUEST_FORM})."
    )?;
    for kind in RequestKind::ALL {
        let review = if facts.approved_kinds.contains(&kind) {
            format!(" The admins of {business} look at it before it is carried out.")
        } else {
            String::new()
        };
        writeln!(
            out,
            "- **{}:** {}{review} {}",
            right_name(kind),
            right_words(kind),
            deadline_words(facts.law, kind)
        )?;
    }
    writeln!(
        out,
        "- **Not to be treated differently:** using any of these rights costs you no feature \
         of the community, no permission, and no different price.\n"
    )?;

    if facts.law == LawProfile::Gdpr {
        write_gdpr(out, categories, third_parties, facts)?;
    }

    writeln!(out, "## How we verify it is you\n")?;
    writeln!(
        out,
        "Signed in, your session is enough to learn what we hold; a copy, a deletion or a \
         correction asks for your password again (and your second factor if you use one). \
         Without signing in, we send a link to the email address on your account and ask \
         nothing new of you. A request to opt out or to limit needs no verification.\n"
    )?;

    writeln!(out, "## Authorised agents\n")?;
    writeln!(
        out,
        "Someone you authorise may ask for you on the [request form]({REQUEST_FORM}), with \
         your signed permission. We then ask you to confirm a request to know, copy, delete \
         or correct.\n"
    )?;

    writeln!(out, "## Children\n")?;
    match facts.minimum_age {
        Some(age) => {
            let teens = "Members aged 13 to 15 tick their own consent to join, and their \
                         personal information is not sold or shared unless they allow it \
                         themselves.";
            match age {
                0 => writeln!(
                    out,
                    "{business} asks its members' age when they join, and keeps only their \
                     age group, never a birth date. A child under 13 joins only once a parent \
                     or guardian consents through a link mailed to them; the parent's address \
                     and the time are kept as the record, and a child's personal information \
                     is never sold or shared. A second link mailed to the parent lets them \
                     download a copy of everything the child's account holds, and withdraw the \
                     consent at any time, which deletes the child's account. {teens}\n"
                )?,
                13 => writeln!(
                    out,
                    "{business} admits members aged 13 and over. It asks their age when they \
                     join and keeps only their age group, never a birth date; it refuses \
                     younger children and keeps nothing of a refused join. {teens}\n"
                )?,
                _ => writeln!(
                    out,
                    "{business} admits members aged {age} and over. It asks their age when \
                     they join and keeps only their age group, never a birth date; it refuses \
                     anyone younger and keeps nothing of a refused join.\n"
                )?,
            }
        }
        None => writeln!(
            out,
            "{business} does not ask its members their age, and sets no age below which it \
             refuses them.\n"
        )?,
    }
    if facts.children_from_before {
        writeln!(
            out,
            "Children under 13 who joined earlier, with a parent's consent, may still be \
             members: their parents' consents are kept as the record, their personal \
             information is never sold or shared, and their parents may still withdraw \
             consent through the link mailed to them.\n"
        )?;
    }

    if let Some((year, lines)) = facts.metrics {
        writeln!(out, "## Requests answered in {year}\n")?;
        for line in lines {
            let median = line
                .median_days
                .map_or_else(|| "none answered".to_string(), |d| format!("{d:.1} days"));
            let denied: u32 = line.denied.iter().map(|(_, n)| n).sum();
            writeln!(
                out,
                "- **{}:** {} received, {} complied with in whole or in part, {denied} refused; \
                 median time to answer: {median}.",
                right_name(line.kind),
                line.received,
                line.complied_in_whole + line.complied_in_part,
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## Contact\n")?;
    match facts.contact {
        Some(contact) => writeln!(
            out,
            "Questions about this statement or your information: {}.",
            one_line(contact)
        )?,
        None => writeln!(
            out,
            "Questions about this statement or your information: ask an admin of {business}, \
             or use the [request form]({REQUEST_FORM})."
        )?,
    }
    Ok(())
}

/// What the GDPR asks a statement to say beyond the rights it shares with the other laws
/// (Art. 13): the legal basis of each purpose, the rights only it gives, what is required, and
/// that nothing significant is decided automatically.
fn write_gdpr(
    out: &mut String,
    categories: &[HeldCategory],
    third_parties: &[&Recipient],
    facts: &Facts<'_>,
) -> std::fmt::Result {
    writeln!(out, "## Legal basis\n")?;
    for purpose in purposes_of(categories) {
        let basis = match purpose {
            Purpose::ProvideService => {
                "performing the agreement you make when you join (GDPR Article 6(1)(b))"
            }
            Purpose::Security => {
                "our legitimate interest in keeping accounts and the service safe from abuse \
                 (Article 6(1)(f)), which you may object to"
            }
            Purpose::LegalCompliance => {
                "the legal obligations we are under to answer and record privacy requests \
                 (Article 6(1)(c))"
            }
            Purpose::Structural => continue,
        };
        writeln!(out, "- **{}:** {basis}.", purpose.label())?;
    }
    if !facts.profile_categories.is_empty() {
        writeln!(
            out,
            "- **Your answers to the community's profile questions:** for a question it \
             requires to join, performing the agreement you make when you join (Article \
             6(1)(b)); for an optional one, your consent (Article 6(1)(a)), withdrawn by \
             clearing the answer."
        )?;
    }
    let special: Vec<&str> = categories
        .iter()
        .filter(|h| h.category.gdpr_special())
        .map(|h| h.category.label())
        .collect();
    if !special.is_empty() {
        writeln!(
            out,
            "- **Special categories** ({}): your explicit consent (Article 9(2)(a)), given by \
             answering the question that asks it; withdraw it by clearing the answer or, where \
             the community requires one, by leaving the community. Withdrawing does not undo \
             what was done before.",
            special.join(", ")
        )?;
    }
    if !third_parties.is_empty() {
        writeln!(
            out,
            "- **Sending some channels' messages to the third parties named above:** the \
             community's legitimate interest in what each does for it (Article 6(1)(f)); you \
             may object, and opting out of sale and sharing stops it for you. Write nothing of \
             a special category in those channels unless you consent to its being sent."
        )?;
    }
    writeln!(out)?;
    writeln!(out, "## Also under the GDPR\n")?;
    writeln!(
        out,
        "- **To restrict and to object:** you may ask {} to restrict the use of your personal \
         information, or object to its use for legitimate interests, by writing to the \
         contact at the end of this statement.\n\
         - **To complain:** you may lodge a complaint with a data protection supervisory \
         authority, in particular where you live, work, or think the law was broken.\n\
         - **What is required:** a username, an email address and a password (or a sign-in \
         through an identity provider) are needed to have an account. To join, a community may require answers to its profile questions \
         and, where it asks, your age (and under 13, a parent's address). Everything else you \
         give is your choice.\n\
         - **No automated decisions:** no decision with legal or similarly significant \
         effects on you is made by automated means alone (Article 22).\n\
         - **Transfers:** Hearth sends your personal information to no one but the recipients \
         this statement names, someone you authorise to ask for you, and, for a member under \
         13, the parent who consented; where a recipient is outside the European Economic \
         Area, ask the contact for the safeguards that cover it.\n",
        one_line(facts.business)
    )?;
    Ok(())
}

/// The name of the law, as the statement says it follows it.
fn law_name(law: LawProfile) -> &'static str {
    match law {
        LawProfile::Ccpa => {
            "California Consumer Privacy Act, as amended by the California Privacy Rights Act"
        }
        LawProfile::Gdpr => "General Data Protection Regulation",
        LawProfile::Virginia => "Virginia Consumer Data Protection Act",
        LawProfile::Colorado => "Colorado Privacy Act",
    }
}

/// A right's name, as the statement lists it.
pub fn right_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Know => "To know",
        RequestKind::Access => "To a copy",
        RequestKind::Delete => "To delete",
        RequestKind::Correct => "To correct",
        RequestKind::OptOut => "To opt out of sale and sharing",
        RequestKind::Limit => "To limit the use of sensitive personal information",
    }
}

fn right_words(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Know => {
            "ask which categories of your personal information we hold, where they came from, \
             why, and who received them."
        }
        RequestKind::Access => {
            "download everything we hold about you, as JSON and CSV with your files, readable \
             offline."
        }
        RequestKind::Delete => {
            "have your account and your personal information deleted, except what the law \
             makes us keep (we say what and why)."
        }
        RequestKind::Correct => "have inaccurate information about you corrected.",
        RequestKind::OptOut => "stop any sale or sharing of your personal information.",
        RequestKind::Limit => {
            "limit the use of your sensitive personal information to what the service needs."
        }
    }
}

fn deadline_words(law: LawProfile, kind: RequestKind) -> String {
    let rules = law.rules(kind);
    let extension = rules
        .extension
        .map(|e| format!(" (once extended by up to {}, with notice)", span_words(e)))
        .unwrap_or_default();
    format!("We answer within {}{extension}.", span_words(rules.respond))
}

fn span_words(span: Span) -> String {
    match span {
        Span::BusinessDays(n) => format!("{n} business days"),
        Span::Days(n) => format!("{n} days"),
        Span::Months(1) => "one month".into(),
        Span::Months(n) => format!("{n} months"),
    }
}

/// A table's description up to its first full stop: the statement's "what".
fn first_sentence(description: &str) -> &str {
    match description.find(". ") {
        Some(end) => &description[..end],
        None => description.trim_end_matches('.'),
    }
}

fn join_unique(items: &[&str]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item);
        }
    }
    seen.join("; ")
}

/// Text an owner typed, on one line and without Markdown's own characters, so that a name
/// cannot add a heading or a link to the statement.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .filter(|c| {
            !matches!(
                c,
                '[' | ']' | '(' | ')' | '#' | '*' | '_' | '`' | '<' | '>' | '|' | '\\'
            )
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// One line of a notice at collection (Civ. 1798.100(a), Reg. §7012): a category a form
/// collects, why, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLine {
    /// The category's name.
    pub category: &'static str,
    /// Whether it is sensitive personal information.
    pub sensitive: bool,
    /// Why, in plain words.
    pub purposes: String,
    /// How long, in plain words.
    pub retention: String,
}

/// The notice shown on a form before it collects anything: each category the form's tables
/// (`tables`, but for what stays `unfilled`) and the profile fields it asks
/// (`profile_categories`) store, with why and for how long, from the catalog.
pub fn notice_at_collection(
    tables: &[&'static Table],
    profile_categories: &[Category],
    unfilled: &[Unfilled],
) -> Vec<NoticeLine> {
    categories_held_but(tables, profile_categories, unfilled)
        .into_iter()
        .map(|held| {
            let purposes: Vec<&str> = held.purposes.iter().map(|p| p.label()).collect();
            let kept: Vec<&str> = held.retention.iter().map(String::as_str).collect();
            NoticeLine {
                category: held.category.label(),
                sensitive: held.sensitive,
                purposes: join_unique(&purposes),
                retention: join_unique(&kept),
            }
        })
        .collect()
}

/// Every right the statement must name, in the words it names them: a check that a statement
/// (generated, or edited by its owner) still tells people how to use each.
pub fn rights_named(statement: &str) -> Vec<RequestKind> {
    RequestKind::ALL
        .into_iter()
        .filter(|kind| statement.contains(right_name(*kind)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{
        Column, Erasure, Purpose, Retention, Sensitivity, Source, SubjectLink, TABLES,
    };
    use crate::know::categories_held;

    fn facts<'a>(recipients: &'a [Recipient]) -> Facts<'a> {
        Facts {
            business: "Garden Club",
            contact: Some("privacy@garden.example"),
            law: LawProfile::Ccpa,
            profile_categories: &[],
            recipients,
            messages_after_erasure: MessagesAfterErasure::Removed,
            approved_kinds: &[RequestKind::Delete],
            minimum_age: None,
            unfilled: &[],
            children_from_before: false,
            metrics: None,
            updated: "2026-11-27",
        }
    }

    fn all_tables() -> Vec<&'static Table> {
        TABLES.iter().collect()
    }

    #[test]
    fn a_new_communitys_statement_names_every_category_in_use_and_every_right() {
        let statement = generate(&all_tables(), &facts(&[]));
        for held in categories_held(&all_tables(), &[]) {
            assert!(
                statement.contains(held.category.label()),
                "{} is missing",
                held.category.label()
            );
            for retention in &held.retention {
                assert!(statement.contains(retention.as_str()), "{retention}");
            }
        }
        assert_eq!(rights_named(&statement), RequestKind::ALL.to_vec());
        assert!(statement.contains("Not to be treated differently"));
        assert!(statement.contains("does not sell"));
        assert!(statement.contains("Last updated: 2026-11-27"));
        assert!(statement.contains("privacy@garden.example"));
        assert!(statement.contains("45 days"));
        assert!(statement.contains("The admins of Garden Club look at it"));
        assert!(statement.contains(REQUEST_FORM) && statement.contains(CHOICES));
    }

    #[test]
    fn what_a_communitys_age_policy_leaves_unfilled_is_not_claimed() {
        use crate::ages::{AgeQuestion, unfilled_by};
        let protected = Category::ProtectedCharacteristics.label();
        let parents = "Your parent's consent";
        let no_ages = unfilled_by(AgeQuestion::None, 0);
        let statement = generate(
            &all_tables(),
            &Facts {
                unfilled: &no_ages,
                ..facts(&[])
            },
        );
        assert!(!statement.contains(protected) && !statement.contains(parents));
        // A profile field of that category is collected all the same.
        let asked = [Category::ProtectedCharacteristics];
        let statement = generate(
            &all_tables(),
            &Facts {
                unfilled: &no_ages,
                profile_categories: &asked,
                ..facts(&[])
            },
        );
        assert!(statement.contains(protected) && !statement.contains(parents));
        let teens = unfilled_by(AgeQuestion::Bracket, 13);
        let statement = generate(
            &all_tables(),
            &Facts {
                unfilled: &teens,
                ..facts(&[])
            },
        );
        assert!(statement.contains(protected) && !statement.contains(parents));
        let children = unfilled_by(AgeQuestion::BirthDate, 0);
        assert!(children.is_empty());
        let statement = generate(
            &all_tables(),
            &Facts {
                unfilled: &children,
                ..facts(&[])
            },
        );
        assert!(statement.contains(protected) && statement.contains(parents));
    }

    #[test]
    fn a_catalogued_column_of_a_new_category_is_listed_without_a_change_here() {
        static COLUMNS: [Column; 1] = [Column {
            name: "home_town",
            category: Category::Geolocation,
            purpose: Purpose::ProvideService,
            retention: Retention::Days(90),
            sensitive: Sensitivity::No,
            sold_or_shared: false,
            erasure: Erasure::DeleteRow,
            sealed: false,
        }];
        static TABLE: Table = Table {
            name: "where_members_live",
            description: "The town a member says they live in. Shown on their profile.",
            source: Source::Person,
            subject: SubjectLink::Columns(&[]),
            columns: &COLUMNS,
        };
        let before = generate(&all_tables(), &facts(&[]));
        assert!(!before.contains(Category::Geolocation.label()));
        let mut tables = all_tables();
        tables.push(&TABLE);
        let after = generate(&tables, &facts(&[]));
        assert!(after.contains(Category::Geolocation.label()), "{after}");
        assert!(after.contains("The town a member says they live in"));
        assert!(after.contains("90 days"));
    }

    #[test]
    fn third_parties_are_named_with_the_way_to_opt_out_and_owner_text_adds_no_markup() {
        let recipients = [
            Recipient {
                name: "Archive Ltd".into(),
                service_provider: true,
            },
            Recipient {
                name: "Ads [Inc](javascript:x)\n# Heading".into(),
                service_provider: false,
            },
        ];
        let statement = generate(&all_tables(), &facts(&recipients));
        assert!(statement.contains(
            "**Archive Ltd** receives the messages of some channels: a service provider"
        ));
        assert!(statement.contains(
            "shares the messages of some channels with third parties (Ads Incjavascript:x  Heading)"
        ));
        assert!(!statement.contains("does not sell"));
        assert!(!statement.contains("\n# Heading"));
    }

    #[test]
    fn a_notice_at_collection_names_what_a_form_stores_and_nothing_else() {
        let users: Vec<&'static Table> = ["users", "profile_values"]
            .iter()
            .filter_map(|name| crate::catalog::table(name))
            .collect();
        let notice = notice_at_collection(&users, &[Category::Health], &[]);
        let named: Vec<&str> = notice.iter().map(|l| l.category).collect();
        assert!(named.contains(&Category::Identifiers.label()));
        assert!(named.contains(&Category::AccountCredentials.label()));
        assert!(named.contains(&Category::Health.label()));
        assert!(!named.contains(&Category::CommunicationsContent.label()));
        let health = notice
            .iter()
            .find(|l| l.category == Category::Health.label());
        assert!(health.is_some_and(|l| l.sensitive && !l.purposes.is_empty()));
        assert!(notice.iter().all(|l| !l.retention.is_empty()));
    }

    #[test]
    fn the_law_sets_the_deadlines_and_metrics_appear_when_published() {
        let lines = [KindMetrics {
            kind: RequestKind::Delete,
            received: 12,
            complied_in_whole: 9,
            complied_in_part: 1,
            denied: vec![(crate::requests::DenialReason::CannotVerify, 2)],
            open: 0,
            median_days: Some(3.5),
            mean_days: Some(4.0),
        }];
        let mut gdpr = facts(&[]);
        gdpr.law = LawProfile::Gdpr;
        gdpr.metrics = Some((2025, &lines));
        let statement = generate(&all_tables(), &gdpr);
        assert!(statement.contains("within one month (once extended by up to 2 months"));
        assert!(statement.contains("General Data Protection Regulation"));
        assert!(statement.contains("## Legal basis") && statement.contains("Article 6(1)(b)"));
        assert!(statement.contains("supervisory authority"));
        // Account credentials are sensitive under the CCPA, not a special category.
        assert!(!statement.contains("Special categories"));
        let religion = [Category::ReligiousOrPhilosophicalBeliefs];
        let asked = generate(
            &all_tables(),
            &Facts {
                profile_categories: &religion,
                ..gdpr.clone()
            },
        );
        assert!(
            asked.contains("- **Special categories** (Religious"),
            "{asked}"
        );
        let ccpa = generate(&all_tables(), &facts(&[]));
        assert!(!ccpa.contains("## Legal basis") && !ccpa.contains("supervisory authority"));
        assert!(statement.contains("## Requests answered in 2025"));
        assert!(statement.contains(
            "- **To delete:** 12 received, 10 complied with in whole or in part, 2 refused; \
             median time to answer: 3.5 days."
        ));
    }
}
