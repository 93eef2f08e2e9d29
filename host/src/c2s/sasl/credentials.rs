//! RFC 5802 §3: SCRAM key derivation (SaltedPassword, StoredKey, ServerKey).
//!
//! This is what the user store keeps instead of a password, and what PLAIN
//! checks a password against, so every mechanism shares one credential.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The hash function under a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Output length in bytes, which is also the length of every key and proof.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// `HMAC(key, data)`.
    pub(super) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha1 => run::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, data),
        }
    }

    /// `H(data)`.
    pub(super) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// `Hi(password, salt, i)`, which is PBKDF2 with HMAC of this hash.
    pub(super) fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0; self.output_len()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
        }
        out
    }
}

/// The per-account, per-hash secret a SCRAM server keeps. Knowing it lets
/// one verify a client but not impersonate it, nor recover the password
/// without a dictionary attack slowed by `iterations`.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    /// Random salt, unique per account and per hash.
    pub salt: Vec<u8>,
    /// PBKDF2 iteration count (RFC 5802 §5.1 `i`).
    pub iterations: u32,
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Derives credentials from a password. The password is SASLprepped as a
    /// query string (RFC 5802 §2.2); one SASLprep rejects is used as given,
    /// exactly as a client that cannot prepare it would. An iteration count
    /// of 0 is raised to the RFC minimum of 1.
    pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> Self {
        let iterations = iterations.max(1);
        let prepared = stringprep::saslprep(password).unwrap_or(Cow::Borrowed(password));
        let salted = hash.hi(prepared.as_bytes(), salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramCredentials {
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.digest(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }

    /// Derives credentials with a fresh random 16-byte salt.
    pub fn generate(hash: ScramHash, password: &str, iterations: u32) -> Self {
        Self::derive(hash, password, &rand::random::<[u8; 16]>(), iterations)
    }

    /// True when `password` produces these credentials: how PLAIN is checked.
    /// The comparison is constant-time.
    pub fn verify_password(&self, hash: ScramHash, password: &str) -> bool {
        let other = Self::derive(hash, password, &self.salt, self.iterations);
        ct_eq(&other.stored_key, &self.stored_key) & ct_eq(&other.server_key, &self.server_key)
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("salt_len", &self.salt.len())
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_the_hash() {
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let c = ScramCredentials::generate(hash, "pencil", 1);
            assert_eq!(c.salt.len(), 16);
            assert_eq!(c.stored_key.len(), hash.output_len());
            assert_eq!(c.server_key.len(), hash.output_len());
        }
    }

    #[test]
    fn generate_uses_fresh_salts() {
        let a = ScramCredentials::generate(ScramHash::Sha256, "pencil", 1);
        let b = ScramCredentials::generate(ScramHash::Sha256, "pencil", 1);
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.stored_key, b.stored_key);
    }

    #[test]
    fn verify_password_accepts_only_the_password() {
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let c = ScramCredentials::generate(hash, "pencil", 16);
            assert!(c.verify_password(hash, "pencil"));
            assert!(!c.verify_password(hash, "pencil "));
            assert!(!c.verify_password(hash, "Pencil"));
            assert!(!c.verify_password(hash, ""));
        }
    }

    #[test]
    fn password_is_saslprepped() {
        // U+00A0 NO-BREAK SPACE maps to a space under SASLprep (RFC 4013 §2.1).
        let c = ScramCredentials::derive(ScramHash::Sha256, "a b", b"salt", 2);
        assert!(c.verify_password(ScramHash::Sha256, "a\u{a0}b"));
        // A prohibited character is used verbatim rather than refused.
        let c = ScramCredentials::derive(ScramHash::Sha256, "a\u{7}b", b"salt", 2);
        assert!(c.verify_password(ScramHash::Sha256, "a\u{7}b"));
    }

    #[test]
    fn zero_iterations_become_one() {
        let zero = ScramCredentials::derive(ScramHash::Sha1, "p", b"s", 0);
        assert_eq!(zero, ScramCredentials::derive(ScramHash::Sha1, "p", b"s", 1));
    }

    #[test]
    fn debug_redacts_keys() {
        let c = ScramCredentials::derive(ScramHash::Sha1, "p", b"s", 1);
        let dbg = format!("{c:?}");
        assert!(dbg.contains("<redacted>") && dbg.contains("iterations: 1"), "{dbg}");
        assert!(!dbg.contains(&format!("{:?}", c.stored_key)), "{dbg}");
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
