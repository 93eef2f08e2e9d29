//! RFC 6120 §6.4: the SASL exchange over the stream — `<auth/>`,
//! `<challenge/>`/`<response/>` rounds, `<success/>` or `<failure/>`.
//! The mechanisms themselves (sans-IO) live in `sasl`.

use super::C2sError;
use super::sasl::plain::parse_plain;
use super::sasl::scram::{ScramHash, parse_client_first};
use super::sasl::{Mechanism, SaslFailure, failure_element};
use super::stream::Stream;
use crate::config::Config;
use crate::services::Services;
use crate::xml::Element;
use crate::xmpp::{BareJid, ns};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// The result of one `<auth/>` exchange.
pub enum AuthOutcome {
    /// Authenticated as this account; `<success/>` was sent.
    Success(BareJid),
    /// A `<failure/>` was sent; the client may try again.
    Failed,
}

/// Mechanisms offered, strongest first. PLAIN exposes the password to the
/// server and to anyone on the wire, so it needs TLS unless configured.
pub fn offered(cfg: &Config, tls: bool) -> Vec<Mechanism> {
    let mut m = vec![Mechanism::ScramSha256, Mechanism::ScramSha1];
    if tls || cfg.sasl_plain_without_tls {
        m.push(Mechanism::Plain);
    }
    m
}

/// Runs one SASL exchange started by `auth`.
pub async fn authenticate(
    stream: &mut Stream,
    svc: &Services,
    auth: &Element,
    domain: &str,
) -> Result<AuthOutcome, C2sError> {
    let outcome = exchange(stream, svc, auth, domain).await?;
    svc.metrics.authentication(outcome.is_ok());
    match outcome {
        Ok((jid, additional)) => {
            let mut success = Element::new("success", ns::SASL);
            if let Some(data) = additional {
                success = success.with_text(B64.encode(data));
            }
            stream.send_el(&success).await?;
            Ok(AuthOutcome::Success(jid))
        }
        Err(failure) => {
            tracing::info!(condition = failure.as_str(), "authentication failed");
            stream.send_el(&failure_element(failure, None)).await?;
            Ok(AuthOutcome::Failed)
        }
    }
}

type Exchange = Result<(BareJid, Option<Vec<u8>>), SaslFailure>;

async fn exchange(stream: &mut Stream, svc: &Services, auth: &Element, domain: &str) -> Result<Exchange, C2sError> {
    let Some(mech) = auth.attr("mechanism").and_then(Mechanism::from_name) else {
        return Ok(Err(SaslFailure::InvalidMechanism));
    };
    if !offered(&svc.config, stream.tls).contains(&mech) {
        return Ok(Err(if mech == Mechanism::Plain {
            SaslFailure::EncryptionRequired
        } else {
            SaslFailure::InvalidMechanism
        }));
    }
    let initial = match decode(&auth.text()) {
        Ok(d) => d,
        Err(f) => return Ok(Err(f)),
    };
    // RFC 6120 §6.4.2: no initial response → an empty challenge asks for it.
    let first = match initial {
        Some(d) => d,
        None => match challenge(stream, &[]).await? {
            Ok(d) => d,
            Err(f) => return Ok(Err(f)),
        },
    };
    let hash = match mech {
        Mechanism::Plain => return Ok(plain(svc, &first, domain).await),
        Mechanism::ScramSha1 => ScramHash::Sha1,
        Mechanism::ScramSha256 => ScramHash::Sha256,
    };
    let client_first = match parse_client_first(hash, &first) {
        Ok(c) => c,
        Err(f) => return Ok(Err(f)),
    };
    let jid = match account(&client_first.username, client_first.authzid.as_deref(), domain) {
        Ok(j) => j,
        Err(f) => return Ok(Err(f)),
    };
    let creds = match svc.users.credentials(jid.as_str()).await {
        Ok(c) => c.map(|c| if hash == ScramHash::Sha1 { c.sha1 } else { c.sha256 }),
        Err(e) => {
            tracing::error!(error = %e, "credential lookup failed");
            return Ok(Err(SaslFailure::TemporaryAuthFailure));
        }
    };
    // Unknown users are shown the configured iteration count, like real ones.
    let client_first = client_first.with_decoy_iterations(svc.config.scram_iterations);
    let (server_first, state) = client_first.server_first(creds.as_ref());
    let client_final = match challenge(stream, &server_first).await? {
        Ok(d) => d,
        Err(f) => return Ok(Err(f)),
    };
    Ok(state.client_final(&client_final).map(|server_final| (jid, Some(server_final))))
}

/// Sends a challenge and waits for the `<response/>` (or `<abort/>`).
async fn challenge(stream: &mut Stream, data: &[u8]) -> Result<Result<Vec<u8>, SaslFailure>, C2sError> {
    stream.send_el(&Element::new("challenge", ns::SASL).with_text(B64.encode(data))).await?;
    let el = stream.next_element().await?;
    Ok(match (el.ns.as_str(), el.name.as_str()) {
        (ns::SASL, "response") => decode(&el.text()).map(Option::unwrap_or_default),
        (ns::SASL, "abort") => Err(SaslFailure::Aborted),
        _ => Err(SaslFailure::MalformedRequest),
    })
}

/// RFC 6120 §6.4.2: absent text is "no data", `=` is empty data.
fn decode(text: &str) -> Result<Option<Vec<u8>>, SaslFailure> {
    match text.trim() {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        t => B64.decode(t).map(Some).map_err(|_| SaslFailure::IncorrectEncoding),
    }
}

/// The account a SASL username names. Some clients send the bare JID as the
/// username; either way it must be on this stream's domain. An authzid, when
/// given, must name the same account (no proxy authorization).
fn account(username: &str, authzid: Option<&str>, domain: &str) -> Result<BareJid, SaslFailure> {
    let jid =
        if username.contains('@') { BareJid::new(username) } else { BareJid::new(&format!("{username}@{domain}")) }
            .map_err(|_| SaslFailure::NotAuthorized)?;
    if jid.node().is_none() || !jid.domain().as_str().eq_ignore_ascii_case(domain) {
        return Err(SaslFailure::NotAuthorized);
    }
    if let Some(z) = authzid.filter(|z| !z.is_empty()) {
        match BareJid::new(z) {
            Ok(z) if z == jid => {}
            _ => return Err(SaslFailure::InvalidAuthzid),
        }
    }
    Ok(jid)
}

async fn plain(svc: &Services, data: &[u8], domain: &str) -> Exchange {
    let p = parse_plain(data)?;
    let jid = account(&p.authcid, p.authzid.as_deref(), domain)?;
    let creds = svc.users.credentials(jid.as_str()).await.map_err(|e| {
        tracing::error!(error = %e, "credential lookup failed");
        SaslFailure::TemporaryAuthFailure
    })?;
    match creds {
        Some(c) if c.sha256.verify_password(ScramHash::Sha256, &p.password) => Ok((jid, None)),
        _ => Err(SaslFailure::NotAuthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_accepts_localpart_or_bare_jid_on_our_domain_only() {
        assert_eq!(account("Juliet", None, "example.com").unwrap().as_str(), "juliet@example.com");
        assert_eq!(account("juliet@example.com", None, "example.com").unwrap().as_str(), "juliet@example.com");
        assert_eq!(account("juliet@other.org", None, "example.com"), Err(SaslFailure::NotAuthorized));
        assert_eq!(account("juliet", Some("romeo@example.com"), "example.com"), Err(SaslFailure::InvalidAuthzid));
        assert!(account("juliet", Some("juliet@example.com"), "example.com").is_ok());
    }

    #[test]
    fn decode_distinguishes_absent_empty_and_bad() {
        assert_eq!(decode(""), Ok(None));
        assert_eq!(decode("="), Ok(Some(vec![])));
        assert_eq!(decode("AGE="), Ok(Some(vec![0, b'a'])));
        assert_eq!(decode("!!"), Err(SaslFailure::IncorrectEncoding));
    }
}
