//! XEP-0079 §9 (Security Considerations): the `--amp-security-level` setting, in Tigase's
//! spelling, and what each level means for rules that could reveal presence (amp.md D15).

use std::fmt;

/// How the server guards against AMP rules that reveal the recipient's presence to a sender
/// who is not subscribed to it. A rule is "leaky" if its condition depends on presence
/// (`deliver`, `expire-at`, `match-resource`, and custom conditions that do not declare
/// themselves presence-safe); `drop` never leaks, since nothing goes back to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmpSecurityLevel {
    /// XEP-0079 §9 option c (RECOMMENDED, Tigase's default): a leaky rule with alert, error
    /// or notify is accepted only from the recipient's own account or from a contact the
    /// recipient's roster shares presence with (subscription `from` or `both`).
    #[default]
    Strict,
    /// Option b: a leaky rule with alert, error or notify is always refused, so no roster
    /// is ever read; cheap, but it refuses rules that STRICT would allow.
    Performance,
    /// No check: every rule is accepted even if it reveals presence.
    None,
}

impl AmpSecurityLevel {
    /// Every level, in the order `--help` lists them.
    pub const ALL: [AmpSecurityLevel; 3] =
        [AmpSecurityLevel::Strict, AmpSecurityLevel::Performance, AmpSecurityLevel::None];

    /// The level as Tigase writes it: `STRICT`, `PERFORMANCE` or `NONE`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmpSecurityLevel::Strict => "STRICT",
            AmpSecurityLevel::Performance => "PERFORMANCE",
            AmpSecurityLevel::None => "NONE",
        }
    }

    /// Parses a level case-insensitively, as operators may write `strict` or `Strict`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("{text:?} is not a security level"))
    }
}

impl fmt::Display for AmpSecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively_and_print_upper_case() {
        for level in AmpSecurityLevel::ALL {
            let name = level.as_str();
            assert_eq!(AmpSecurityLevel::parse(name), Ok(level));
            assert_eq!(AmpSecurityLevel::parse(&name.to_lowercase()), Ok(level));
            assert_eq!(level.to_string(), name);
        }
        assert_eq!(AmpSecurityLevel::parse("Performance"), Ok(AmpSecurityLevel::Performance));
        assert_eq!(AmpSecurityLevel::default(), AmpSecurityLevel::Strict);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["FAST", "", "STRICT ", "strictly", "0"] {
            assert_eq!(AmpSecurityLevel::parse(bad), Err(format!("{bad:?} is not a security level")));
        }
    }
}
