//! RFC 6120 §6 SASL and §7 resource binding, client side, plus the one-call login.
//!
//! The mechanisms come from the `sasl` crate (xmpp-rs), not from the server, so a
//! SCRAM bug in the server cannot be mirrored by the client that tests it.

use std::fmt;
use std::net::SocketAddr;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sasl::client::Mechanism;
use sasl::client::mechanisms::{Plain, Scram};
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials};

use super::{Client, ns};
use crate::xml::escape;

/// The SASL mechanisms the tests exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    /// RFC 7677.
    ScramSha256,
    /// RFC 5802.
    ScramSha1,
    /// RFC 4616.
    Plain,
}

impl Mech {
    /// The IANA mechanism name sent in `<auth mechanism=…>`.
    pub fn name(self) -> &'static str {
        match self {
            Mech::ScramSha256 => "SCRAM-SHA-256",
            Mech::ScramSha1 => "SCRAM-SHA-1",
            Mech::Plain => "PLAIN",
        }
    }

    fn client(self, user: &str, password: &str) -> Result<Box<dyn Mechanism + Send>> {
        // No channel binding: `n,,` (the test server may or may not offer -PLUS).
        let creds = Credentials::default()
            .with_username(user)
            .with_password(password)
            .with_channel_binding(ChannelBinding::None);
        let mech: Box<dyn Mechanism + Send> = match self {
            Mech::ScramSha256 => Box::new(Scram::<Sha256>::from_credentials(creds).map_err(sasl_err)?),
            Mech::ScramSha1 => Box::new(Scram::<Sha1>::from_credentials(creds).map_err(sasl_err)?),
            Mech::Plain => Box::new(Plain::from_credentials(creds).map_err(sasl_err)?),
        };
        Ok(mech)
    }
}

fn sasl_err(e: sasl::client::MechanismError) -> anyhow::Error {
    anyhow!("SASL client: {e}")
}

/// Why authentication did not succeed: the server's `<failure/>` is kept apart so tests
/// can assert on its condition (`not-authorized`, `invalid-mechanism`, …).
#[derive(Debug)]
pub enum AuthError {
    /// The server answered `<failure/>` (RFC 6120 §6.5).
    Failure {
        /// Name of the defined condition element.
        condition: String,
        /// Content of `<text/>`, if any.
        text: Option<String>,
    },
    /// Anything else: I/O, timeout, protocol violation, bad server signature.
    Other(anyhow::Error),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Failure { condition, text } => {
                write!(f, "SASL failure: {condition}")?;
                match text {
                    Some(t) => write!(f, " ({t})"),
                    None => Ok(()),
                }
            }
            AuthError::Other(e) => write!(f, "authentication error: {e:#}"),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<anyhow::Error> for AuthError {
    fn from(e: anyhow::Error) -> AuthError {
        AuthError::Other(e)
    }
}

fn decode(el: &crate::xml::El) -> Result<Vec<u8>> {
    let t = el.text.trim();
    if t.is_empty() || t == "=" {
        return Ok(Vec::new());
    }
    B64.decode(t).with_context(|| format!("bad base64 in <{}>", el.name))
}

impl Client {
    /// Runs one SASL exchange (RFC 6120 §6.4) and, on success, restarts the stream.
    pub async fn authenticate(&mut self, mech: Mech, user: &str, password: &str) -> Result<(), AuthError> {
        let mut m = mech.client(user, password)?;
        let initial = m.initial();
        let initial = if initial.is_empty() { "=".to_owned() } else { B64.encode(initial) };
        self.send_raw(&format!("<auth xmlns='{}' mechanism='{}'>{initial}</auth>", ns::SASL, mech.name())).await?;
        loop {
            let el = self.recv_negotiation().await?;
            if el.ns != ns::SASL {
                return Err(anyhow!("unexpected during SASL: {el}").into());
            }
            match el.name.as_str() {
                "challenge" => {
                    let resp = m.response(&decode(&el)?).map_err(sasl_err)?;
                    self.send_raw(&format!("<response xmlns='{}'>{}</response>", ns::SASL, B64.encode(resp))).await?;
                }
                "success" => {
                    m.success(&decode(&el)?).map_err(sasl_err)?;
                    self.open_stream().await?;
                    return Ok(());
                }
                "failure" => {
                    let condition =
                        el.children.iter().find(|c| c.name != "text").map(|c| c.name.clone()).unwrap_or_default();
                    let text = el.child("text", ns::SASL).map(|t| t.text.clone());
                    return Err(AuthError::Failure { condition, text });
                }
                _ => return Err(anyhow!("unexpected during SASL: {el}").into()),
            }
        }
    }

    /// Binds a resource (RFC 6120 §7), or lets the server pick one with `None`; then
    /// establishes a legacy session if the server requires it. Returns the full JID.
    pub async fn bind(&mut self, resource: Option<&str>) -> Result<String> {
        let inner = resource.map(|r| format!("<resource>{}</resource>", escape(r))).unwrap_or_default();
        let reply = self.iq("set", None, &format!("<bind xmlns='{}'>{inner}</bind>", ns::BIND)).await?;
        if reply.attr("type") != Some("result") {
            bail!("bind failed: {reply}");
        }
        let jid = reply
            .child("bind", ns::BIND)
            .and_then(|b| b.child("jid", ns::BIND))
            .map(|j| j.text.trim().to_owned())
            .ok_or_else(|| anyhow!("bind result without <jid/>: {reply}"))?;
        if self.features().session_required() {
            let reply = self.iq("set", None, &format!("<session xmlns='{}'/>", ns::SESSION)).await?;
            if reply.attr("type") != Some("result") {
                bail!("session establishment failed: {reply}");
            }
        }
        self.jid = Some(jid.clone());
        Ok(jid)
    }

    /// Connects, upgrades to TLS when offered, authenticates with SCRAM-SHA-256, binds,
    /// and sends initial presence. A ping round trip follows, so that when this returns
    /// the server has processed the presence (the session is available); the server's
    /// echo of our own presence, if it came before the ping reply, is dropped.
    pub async fn login(
        addr: SocketAddr,
        domain: &str,
        user: &str,
        password: &str,
        resource: Option<&str>,
    ) -> Result<Client> {
        let mut c = Client::connect(addr, domain).await?;
        if c.features().starttls {
            c.starttls().await?;
        }
        c.authenticate(Mech::ScramSha256, user, password).await?;
        let jid = c.bind(resource).await?;
        c.send_presence(None).await?;
        c.iq("get", Some(domain), "<ping xmlns='urn:xmpp:ping'/>").await.context("ping after initial presence")?;
        c.queue.retain(|el| !(el.name == "presence" && el.attr("from") == Some(jid.as_str())));
        Ok(c)
    }
}
