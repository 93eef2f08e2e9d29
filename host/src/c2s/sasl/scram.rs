//! RFC 5802 (SCRAM) and RFC 7677 (SCRAM-SHA-256): the server side, sans-IO.
//!
//! The exchange is three typed states, each consumed by the next step, so a
//! message can only be answered once and in order:
//! [`parse_client_first`] → [`ClientFirst::server_first`] →
//! [`ServerFirst::client_final`]. Channel binding (`-PLUS`) is not offered.

use std::fmt;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::SaslFailure;
use super::credentials::ct_eq;
pub use super::credentials::{ScramCredentials, ScramHash};

/// Iteration count advertised for unknown users. It should equal the count
/// real accounts are created with, or it would tell an attacker which
/// usernames exist; [`ClientFirst::with_decoy_iterations`] overrides it.
pub const DECOY_ITERATIONS: u32 = 4096;

/// A parsed client-first-message (RFC 5802 §7), waiting for the caller to
/// look up `username` and check `authzid`.
pub struct ClientFirst {
    /// The SASLprepped, `=2C`/`=3D`-decoded username.
    pub username: String,
    /// The decoded authorization identity, when the client sent `a=`.
    pub authzid: Option<String>,
    hash: ScramHash,
    gs2_header: String,
    bare: String,
    client_nonce: String,
    decoy_iterations: u32,
}

/// The server's state after sending server-first-message: everything needed
/// to check the proof in client-final-message.
pub struct ServerFirst {
    hash: ScramHash,
    gs2_header: String,
    nonce: String,
    /// `client-first-message-bare "," server-first-message`, the first two
    /// thirds of AuthMessage.
    auth_prefix: String,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
    known_user: bool,
}

impl fmt::Debug for ClientFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFirst")
            .field("username", &self.username)
            .field("authzid", &self.authzid)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServerFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerFirst").field("hash", &self.hash).finish_non_exhaustive()
    }
}

/// Parses client-first-message. `n,,` and `y,,` are accepted (we offer no
/// `-PLUS` variant, so `y` is no downgrade); `p=` and the mandatory-extension
/// marker `m=` must fail the exchange (RFC 5802 §6, §5.1).
pub fn parse_client_first(hash: ScramHash, msg: &[u8]) -> Result<ClientFirst, SaslFailure> {
    use SaslFailure::MalformedRequest as Bad;
    let msg = std::str::from_utf8(msg).map_err(|_| Bad)?;
    let (flag, rest) = msg.split_once(',').ok_or(Bad)?;
    if flag != "n" && flag != "y" {
        return Err(Bad);
    }
    let (authz, bare) = rest.split_once(',').ok_or(Bad)?;
    let authzid = match authz {
        "" => None,
        a => Some(decode_saslname(a.strip_prefix("a=").ok_or(Bad)?)?),
    };
    let gs2_header = msg[..flag.len() + authz.len() + 2].to_owned();

    let mut attrs = bare.split(',');
    let user = attrs.next().and_then(|a| a.strip_prefix("n=")).ok_or(Bad)?;
    let client_nonce = attrs.next().and_then(|a| a.strip_prefix("r=")).ok_or(Bad)?;
    if !is_nonce(client_nonce) || !attrs.all(is_extension) {
        return Err(Bad);
    }
    let username = stringprep::saslprep(&decode_saslname(user)?).map_err(|_| Bad)?.into_owned();
    if username.is_empty() {
        return Err(Bad);
    }
    Ok(ClientFirst {
        username,
        authzid,
        hash,
        gs2_header,
        bare: bare.to_owned(),
        client_nonce: client_nonce.to_owned(),
        decoy_iterations: DECOY_ITERATIONS,
    })
}

impl ClientFirst {
    /// Sets the iteration count advertised when the user is unknown, so it can
    /// follow the configured count for new accounts.
    pub fn with_decoy_iterations(mut self, iterations: u32) -> Self {
        self.decoy_iterations = iterations.max(1);
        self
    }

    /// Answers with server-first-message. With `creds == None` (no such user)
    /// the answer carries a decoy salt that is stable per username for the
    /// life of the process, so the reply looks the same as for a real
    /// account; the exchange then fails at [`ServerFirst::client_final`].
    pub fn server_first(self, creds: Option<&ScramCredentials>) -> (Vec<u8>, ServerFirst) {
        let server_nonce = B64.encode(rand::random::<[u8; 18]>());
        self.server_first_with_nonce(creds, &server_nonce)
    }

    fn server_first_with_nonce(self, creds: Option<&ScramCredentials>, server_nonce: &str) -> (Vec<u8>, ServerFirst) {
        let decoy;
        let (creds, known_user) = match creds {
            Some(c) => (c, true),
            None => {
                decoy = decoy_credentials(self.hash, &self.username, self.decoy_iterations);
                (&decoy, false)
            }
        };
        let nonce = format!("{}{server_nonce}", self.client_nonce);
        let msg = format!("r={nonce},s={},i={}", B64.encode(&creds.salt), creds.iterations);
        let state = ServerFirst {
            hash: self.hash,
            gs2_header: self.gs2_header,
            nonce,
            auth_prefix: format!("{},{msg}", self.bare),
            stored_key: creds.stored_key.clone(),
            server_key: creds.server_key.clone(),
            known_user,
        };
        (msg.into_bytes(), state)
    }
}

impl ServerFirst {
    /// Checks client-final-message and returns server-final-message (`v=…`).
    /// Syntax errors are `malformed-request`, undecodable base64 is
    /// `incorrect-encoding`; a wrong channel-binding echo, nonce or proof is
    /// `not-authorized`, as is any proof for an unknown user.
    pub fn client_final(self, msg: &[u8]) -> Result<Vec<u8>, SaslFailure> {
        use SaslFailure::{IncorrectEncoding, MalformedRequest as Bad, NotAuthorized};
        let msg = std::str::from_utf8(msg).map_err(|_| Bad)?;
        let (without_proof, proof) = msg.rsplit_once(",p=").ok_or(Bad)?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs.next().and_then(|a| a.strip_prefix("c=")).ok_or(Bad)?;
        let nonce = attrs.next().and_then(|a| a.strip_prefix("r=")).ok_or(Bad)?;
        if proof.contains(',') || !attrs.all(is_extension) {
            return Err(Bad);
        }
        let cbind = B64.decode(cbind).map_err(|_| IncorrectEncoding)?;
        let proof = B64.decode(proof).map_err(|_| IncorrectEncoding)?;
        if proof.len() != self.hash.output_len() {
            return Err(Bad);
        }
        if cbind != self.gs2_header.as_bytes() || nonce != self.nonce {
            return Err(NotAuthorized);
        }

        let auth_message = format!("{},{without_proof}", self.auth_prefix);
        let signature = self.hash.hmac(&self.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let proof_ok = ct_eq(&self.hash.digest(&client_key), &self.stored_key);
        if !(proof_ok & self.known_user) {
            return Err(NotAuthorized);
        }
        let server_signature = self.hash.hmac(&self.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

/// Credentials for a user that does not exist: derived from a per-process
/// secret so the salt repeats for the same name (a changing salt would give
/// the game away) and cannot be predicted from outside.
fn decoy_credentials(hash: ScramHash, username: &str, iterations: u32) -> ScramCredentials {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(rand::random);
    let label = |what: &str| format!("{what}\0{hash:?}\0{username}");
    let salt = ScramHash::Sha256.hmac(secret, label("salt").as_bytes());
    let stored = ScramHash::Sha256.hmac(secret, label("stored").as_bytes());
    let server = ScramHash::Sha256.hmac(secret, label("server").as_bytes());
    ScramCredentials {
        salt: salt[..16].to_vec(),
        iterations,
        stored_key: stored[..hash.output_len()].to_vec(),
        server_key: server[..hash.output_len()].to_vec(),
    }
}

/// Decodes a saslname (RFC 5802 §7): `=2C` is `,`, `=3D` is `=`, and any other
/// `=` is a syntax error.
fn decode_saslname(s: &str) -> Result<String, SaslFailure> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        out.push(match rest.get(i + 1..i + 3) {
            Some("2C") => ',',
            Some("3D") => '=',
            _ => return Err(SaslFailure::MalformedRequest),
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(SaslFailure::MalformedRequest);
    }
    Ok(out)
}

/// RFC 5802 §7 `c-nonce`: printable ASCII except `,`, at least one character.
fn is_nonce(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// An optional extension `attr=value` with a single-letter attribute other
/// than the reserved `m`, which we do not support.
fn is_extension(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[0] != b'm' && b[1] == b'='
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one exchange with an injected server nonce, returning the two
    /// server messages (or the failure) as strings.
    fn exchange(
        hash: ScramHash,
        creds: Option<&ScramCredentials>,
        first: &str,
        server_nonce: &str,
        last: &str,
    ) -> (String, Result<String, SaslFailure>) {
        let cf = parse_client_first(hash, first.as_bytes()).unwrap();
        let (sf_msg, sf) = cf.server_first_with_nonce(creds, server_nonce);
        let fin = sf.client_final(last.as_bytes());
        (String::from_utf8(sf_msg).unwrap(), fin.map(|v| String::from_utf8(v).unwrap()))
    }

    fn rfc5802_creds() -> ScramCredentials {
        let salt = B64.decode("QSXCR+Q6sek8bf92").unwrap();
        ScramCredentials::derive(ScramHash::Sha1, "pencil", &salt, 4096)
    }

    const SHA1_FIRST: &str = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    const SHA1_SNONCE: &str = "3rfcNHYJY1ZVvWVs7j";
    const SHA1_FINAL: &str = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";

    #[test]
    fn rfc5802_sha1_exchange() {
        let creds = rfc5802_creds();
        let (sf, fin) = exchange(ScramHash::Sha1, Some(&creds), SHA1_FIRST, SHA1_SNONCE, SHA1_FINAL);
        assert_eq!(sf, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
        assert_eq!(fin.unwrap(), "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    }

    #[test]
    fn rfc7677_sha256_exchange() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let creds = ScramCredentials::derive(ScramHash::Sha256, "pencil", &salt, 4096);
        let snonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let last = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                    p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let (sf, fin) = exchange(ScramHash::Sha256, Some(&creds), first, snonce, last);
        assert_eq!(sf, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
        assert_eq!(fin.unwrap(), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn wrong_password_is_not_authorized() {
        let salt = B64.decode("QSXCR+Q6sek8bf92").unwrap();
        let creds = ScramCredentials::derive(ScramHash::Sha1, "pen", &salt, 4096);
        let (_, fin) = exchange(ScramHash::Sha1, Some(&creds), SHA1_FIRST, SHA1_SNONCE, SHA1_FINAL);
        assert_eq!(fin, Err(SaslFailure::NotAuthorized));
    }

    #[test]
    fn tampered_nonce_or_binding_is_not_authorized() {
        let creds = rfc5802_creds();
        let nonce = SHA1_FINAL.replace("Vs7j", "Vs7k");
        let yflag = SHA1_FINAL.replace("c=biws", "c=eSws");
        for last in [nonce, yflag] {
            assert_ne!(last, SHA1_FINAL);
            let (_, fin) = exchange(ScramHash::Sha1, Some(&creds), SHA1_FIRST, SHA1_SNONCE, &last);
            assert_eq!(fin, Err(SaslFailure::NotAuthorized), "{last}");
        }
    }

    /// A minimal SCRAM client: builds client-final-message for `password`.
    fn client_final_for(hash: ScramHash, password: &str, first: &str, server_first: &str) -> String {
        let mut parts = first.splitn(3, ',');
        let gs2 = format!("{},{},", parts.next().unwrap(), parts.next().unwrap());
        let bare = parts.next().unwrap();
        let field = |k: &str| server_first.split(',').find_map(|a| a.strip_prefix(k)).unwrap().to_owned();
        let salt = B64.decode(field("s=")).unwrap();
        let salted = hash.hi(password.as_bytes(), &salt, field("i=").parse().unwrap());
        let client_key = hash.hmac(&salted, b"Client Key");
        let without_proof = format!("c={},r={}", B64.encode(gs2), field("r="));
        let auth = format!("{bare},{server_first},{without_proof}");
        let sig = hash.hmac(&hash.digest(&client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(sig).map(|(k, s)| k ^ s).collect();
        format!("{without_proof},p={}", B64.encode(proof))
    }

    fn run(hash: ScramHash, creds: Option<&ScramCredentials>, first: &str, pw: &str) -> Result<Vec<u8>, SaslFailure> {
        let (sf_msg, sf) = parse_client_first(hash, first.as_bytes()).unwrap().server_first(creds);
        let last = client_final_for(hash, pw, first, std::str::from_utf8(&sf_msg).unwrap());
        sf.client_final(last.as_bytes())
    }

    #[test]
    fn y_flag_authzid_and_extensions_succeed() {
        let creds = ScramCredentials::generate(ScramHash::Sha256, "pw", 2);
        let first = "y,a=admin=3Dx@example.com,n=us=2Cer,r=abc,x=ext";
        let cf = parse_client_first(ScramHash::Sha256, first.as_bytes()).unwrap();
        assert_eq!(cf.username, "us,er");
        assert_eq!(cf.authzid.as_deref(), Some("admin=x@example.com"));
        let fin = run(ScramHash::Sha256, Some(&creds), first, "pw").unwrap();
        assert!(fin.starts_with(b"v="));
        let sha1 = ScramCredentials::generate(ScramHash::Sha1, "pw", 2);
        assert!(run(ScramHash::Sha1, Some(&sha1), "n,,n=u,r=n0nce", "pw").is_ok());
    }

    #[test]
    fn unknown_user_is_indistinguishable_until_the_end() {
        let creds = ScramCredentials::generate(ScramHash::Sha256, "pw", DECOY_ITERATIONS);
        let first = |user: &str| format!("n,,n={user},r=abc");
        let sf = |user: &str, creds: Option<&ScramCredentials>| {
            let cf = parse_client_first(ScramHash::Sha256, first(user).as_bytes()).unwrap();
            String::from_utf8(cf.server_first(creds).0).unwrap()
        };
        let shape = |msg: &str| {
            let salt = msg.split(",s=").nth(1).unwrap().split(',').next().unwrap().to_owned();
            (msg.len(), salt.len(), msg.rsplit(',').next().unwrap().to_owned())
        };
        let ghost = sf("ghost", None);
        assert_eq!(shape(&ghost), shape(&sf("real", Some(&creds))));
        // Stable per username, different between usernames.
        let salt = |m: &str| m.split(",s=").nth(1).unwrap().split(',').next().unwrap().to_owned();
        assert_eq!(salt(&ghost), salt(&sf("ghost", None)));
        assert_ne!(salt(&ghost), salt(&sf("ghost2", None)));
        // Even a well-formed final message fails, with the same condition as a bad password.
        assert_eq!(run(ScramHash::Sha256, None, &first("ghost"), "pw"), Err(SaslFailure::NotAuthorized));
        assert_eq!(run(ScramHash::Sha256, Some(&creds), &first("real"), "bad"), Err(SaslFailure::NotAuthorized));
    }

    #[test]
    fn decoy_iterations_follow_configuration() {
        let cf = parse_client_first(ScramHash::Sha1, b"n,,n=ghost,r=abc").unwrap();
        let (msg, _) = cf.with_decoy_iterations(10_000).server_first(None);
        assert!(msg.ends_with(b",i=10000"));
    }

    #[test]
    fn client_first_syntax_errors() {
        let bad = [
            &b""[..],
            b"n,,n=user",                  // no nonce
            b"n,,r=abc,n=user",            // attributes out of order
            b"x,,n=user,r=abc",            // unknown gs2 flag
            b"p=tls-unique,,n=user,r=abc", // channel binding requested
            b"n,z=bob,n=user,r=abc",       // authzid without a=
            b"n,a=,n=user,r=abc",          // empty authzid
            b"n,,m=ext,n=user,r=abc",      // mandatory extension
            b"n,,n=,r=abc",                // empty username
            b"n,,n=us=2Ger,r=abc",         // bad saslname escape
            b"n,,n=user=,r=abc",           // truncated escape
            b"n,,n=user,r=",               // empty nonce
            b"n,,n=user,r=a\x7fb",         // non-printable nonce
            b"n,,n=user,r=abc,junk",       // extension without a value
            b"n,,n=user,r=abc,m=x",        // m= is never an optional extension
            b"n,,n=\xff,r=abc",            // not UTF-8
            b"n,,n=a\xc2\xa0\x07,r=abc",   // SASLprep prohibits a control character
            b"n,,",
        ];
        for msg in bad {
            let got = parse_client_first(ScramHash::Sha1, msg).map(|_| ());
            assert_eq!(got, Err(SaslFailure::MalformedRequest), "{}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn username_is_saslprepped() {
        let cf = parse_client_first(ScramHash::Sha1, "n,,n=a\u{a0}b\u{ad},r=x".as_bytes()).unwrap();
        assert_eq!(cf.username, "a b");
    }

    #[test]
    fn client_final_syntax_errors() {
        use SaslFailure::{IncorrectEncoding, MalformedRequest};
        let nonce = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
        let proof = "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
        let cases = [
            (format!("c=biws,r={nonce}"), MalformedRequest),               // no proof
            (format!("r={nonce},c=biws,p={proof}"), MalformedRequest),     // out of order
            (format!("c=biws,p={proof}"), MalformedRequest),               // no nonce
            (format!("c=biws,r={nonce},p={proof},x=1"), MalformedRequest), // proof not last
            (format!("c=biws,r={nonce},junk,p={proof}"), MalformedRequest),
            (format!("c=biws,r={nonce},p=AAAA"), MalformedRequest), // proof too short
            (format!("c=bi!s,r={nonce},p={proof}"), IncorrectEncoding),
            (format!("c=biws,r={nonce},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts"), IncorrectEncoding),
            ("c=biws,r=\u{ff}".to_owned(), MalformedRequest),
        ];
        for (last, want) in cases {
            let (_, fin) = exchange(ScramHash::Sha1, Some(&rfc5802_creds()), SHA1_FIRST, SHA1_SNONCE, &last);
            assert_eq!(fin, Err(want), "{last}");
        }
        let (_, sf) = parse_client_first(ScramHash::Sha1, SHA1_FIRST.as_bytes()).unwrap().server_first(None);
        assert_eq!(sf.client_final(b"c=biws\xff"), Err(MalformedRequest));
    }
}
