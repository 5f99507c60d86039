//! Who is calling: resolved from a session cookie or an API token before any use case runs.

use hearth_core::{TokenId, UserId};

/// How the caller proved who they are.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; carries the hash of its secret so it can be ended.
    Session(Vec<u8>),
    /// A personal API token.
    Token(TokenId),
    /// The command line on the server itself.
    Console,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub user: UserId,
    /// How it signed in.
    pub credential: Credential,
    /// Held to reading and looking after their own account until they confirm their email
    /// address (see [`crate::UnconfirmedAccounts::ReadOnly`]).
    pub read_only: bool,
}

// Hand-written so that a stray `{:?}` never prints the hash of a session secret.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Session(_) => f.write_str("Session(..)"),
            Credential::Token(id) => f.debug_tuple("Token").field(id).finish(),
            Credential::Console => f.write_str("Console"),
        }
    }
}
