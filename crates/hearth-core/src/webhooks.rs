//! Outgoing webhooks, as the law sees them: every recipient is a service provider (which
//! processes data for the community under a contract whose words are on record) or a third
//! party. Sending a member's messages to a third party is a sale or sharing, so it stops the
//! moment they opt out (Civ. 1798.120, 1798.135); their sensitive personal information (the
//! contents of private channels) reaches a third party only while they have not limited its
//! use (1798.121). A service provider receives what the service needs either way
//! (Reg. §7027(m)(1)).

/// Who receives a webhook's deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// Processes data on the community's behalf under a contract (Civ. 1798.140(ag)).
    ServiceProvider,
    /// Anyone else.
    ThirdParty,
}

impl Recipient {
    /// The stable code stored and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            Recipient::ServiceProvider => "service_provider",
            Recipient::ThirdParty => "third_party",
        }
    }

    /// The recipient a code names.
    pub fn parse(code: &str) -> Option<Self> {
        [Recipient::ServiceProvider, Recipient::ThirdParty]
            .into_iter()
            .find(|r| r.code() == code)
    }

    /// The recipient in words.
    pub fn label(self) -> &'static str {
        match self {
            Recipient::ServiceProvider => "service provider",
            Recipient::ThirdParty => "third party",
        }
    }
}

/// The author's choices that decide what a recipient may receive of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthorChoices {
    /// Opted out of the sale and sharing of their personal information.
    pub sale_opt_out: bool,
    /// Limited the use of their sensitive personal information.
    pub sensitive_limit: bool,
}

/// Whether `recipient` may receive a message whose author made `choices`; `sensitive` when
/// the message is sensitive personal information (in a private channel).
pub fn may_receive(recipient: Recipient, choices: AuthorChoices, sensitive: bool) -> bool {
    match recipient {
        Recipient::ServiceProvider => true,
        Recipient::ThirdParty => !(choices.sale_opt_out || (sensitive && choices.sensitive_limit)),
    }
}

/// Checks a webhook's address: `http` or `https`, a host, no credentials in it, and at most
/// 2,000 characters. Returns why not, in words.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let url = url.trim();
    if url.len() > 2000 {
        return Err("is too long");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("must name a host");
    }
    if authority.contains('@') {
        return Err("must not carry a user name or password");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_party_receives_nothing_of_who_opted_out_and_no_sensitive_data_of_who_limited() {
        let none = AuthorChoices::default();
        let opted_out = AuthorChoices {
            sale_opt_out: true,
            ..none
        };
        let limited = AuthorChoices {
            sensitive_limit: true,
            ..none
        };
        use Recipient::*;
        assert!(may_receive(ThirdParty, none, false));
        assert!(may_receive(ThirdParty, none, true));
        assert!(!may_receive(ThirdParty, opted_out, false));
        assert!(may_receive(ThirdParty, limited, false));
        assert!(!may_receive(ThirdParty, limited, true));
        for choices in [none, opted_out, limited] {
            for sensitive in [false, true] {
                assert!(may_receive(ServiceProvider, choices, sensitive));
            }
        }
        for r in [ServiceProvider, ThirdParty] {
            assert_eq!(Recipient::parse(r.code()), Some(r));
        }
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_url("https://hooks.example.org/in?x=1").is_ok());
        assert!(check_url("http://127.0.0.1:9000/").is_ok());
        assert!(check_url("ftp://example.org").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://user:pw@example.org/").is_err());
        assert!(check_url("https://example.org/a b").is_err());
    }
}
