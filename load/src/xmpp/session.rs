//! RFC 6120 §4.3 stream negotiation, client side: open the stream, STARTTLS
//! (§5) as configured, SASL (§6), resource binding (§7), the legacy session
//! when a server still requires it, then initial presence (RFC 6121 §4.2).

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};

use super::{ns, sasl};
use crate::args::{Options, TlsMode};
use crate::net::Conn;
use crate::xml::{El, escape};

/// Where and how to connect: the parts of [`Options`] every connection needs.
#[derive(Clone, Debug)]
pub struct Target {
    /// Resolved server address.
    pub addr: SocketAddr,
    /// Domain the stream is opened to.
    pub domain: String,
    /// STARTTLS policy.
    pub tls: TlsMode,
    /// SASL mechanism name.
    pub mechanism: String,
    /// Password of every account.
    pub password: String,
    /// Account local part prefix.
    pub prefix: String,
    /// Initial read buffer per connection.
    pub buffer: usize,
}

impl Target {
    /// Resolves `--host`/`--port` once.
    pub async fn from_options(o: &Options) -> Result<Target> {
        let addr = tokio::net::lookup_host((o.host.as_str(), o.port))
            .await
            .with_context(|| format!("resolving {}", o.host))?
            .next()
            .with_context(|| format!("{} has no address", o.host))?;
        Ok(Target {
            addr,
            domain: o.domain.clone(),
            tls: o.tls,
            mechanism: o.mechanism.clone(),
            password: o.password.clone(),
            prefix: o.prefix.clone(),
            buffer: 8 * 1024,
        })
    }

    /// Local part of account `i`.
    pub fn user(&self, i: u32) -> String {
        format!("{}{i}", self.prefix)
    }

    /// Bare JID of account `i`.
    pub fn jid(&self, i: u32) -> String {
        format!("{}{i}@{}", self.prefix, self.domain)
    }
}

/// The `<stream:features/>` facts negotiation branches on (RFC 6120 §4.3.2).
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// STARTTLS offered.
    pub starttls: bool,
    /// SASL mechanisms offered.
    pub mechanisms: Vec<String>,
    /// XEP-0077 registration advertised.
    pub register: bool,
    /// RFC 3921 session establishment required (offered without `<optional/>`).
    pub session_required: bool,
}

impl Features {
    /// Reads the features element.
    pub fn parse(el: &El) -> Features {
        Features {
            starttls: el.child("starttls").is_some(),
            mechanisms: el
                .child("mechanisms")
                .map(|m| m.children.iter().map(|c| c.text.trim().to_owned()).collect())
                .unwrap_or_default(),
            register: el.child("register").is_some(),
            session_required: el.child("session").is_some_and(|s| s.child("optional").is_none()),
        }
    }
}

/// Whether to announce availability after binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Stay unavailable (senders that need no incoming messages).
    None,
    /// Send `<presence/>` and return at once (offline flush starts right away).
    Send,
    /// Send `<presence/>`, then a ping round trip, so the server has processed it.
    Confirm,
}

/// Opens a stream and negotiates TLS: the connection is ready for SASL or
/// registration. Returns the features of the (possibly encrypted) stream.
pub async fn open(t: &Target) -> Result<(Conn, Features)> {
    let mut conn = Conn::connect(t.addr, t.buffer).await?;
    let mut features = restart(&mut conn, &t.domain).await?;
    let use_tls = match t.tls {
        TlsMode::On if !features.starttls => bail!("--tls=on but the server does not offer STARTTLS"),
        TlsMode::On => true,
        TlsMode::Auto => features.starttls,
        TlsMode::Off => false,
    };
    if use_tls {
        conn.send(&format!("<starttls xmlns='{}'/>", ns::TLS)).await?;
        let reply = conn.element().await?;
        if reply.name != "proceed" {
            bail!("STARTTLS refused ({})", reply.name);
        }
        conn.upgrade(&t.domain).await?;
        features = restart(&mut conn, &t.domain).await?;
    }
    Ok((conn, features))
}

/// Sends a stream header (RFC 6120 §4.7) and reads the server's header and features.
pub async fn restart(conn: &mut Conn, domain: &str) -> Result<Features> {
    conn.restart();
    conn.send(&format!(
        "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xml:lang='en' \
         xmlns='{}' xmlns:stream='{}'>",
        escape(domain),
        ns::CLIENT,
        ns::STREAM
    ))
    .await?;
    conn.header().await?;
    let features = conn.element().await?;
    if features.name != "features" {
        bail!("expected <stream:features/>, got <{}>", features.name);
    }
    Ok(Features::parse(&features))
}

/// The mechanism to use: `wanted` if offered, or for `AUTO` the strongest
/// offered that the tool speaks (Prosody offers no SCRAM-SHA-256, and no
/// PLAIN without TLS, so a fixed default would fail against it).
fn choose_mechanism<'a>(wanted: &'a str, offered: &[String]) -> Option<&'a str> {
    let offers = |m: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(m));
    match wanted {
        "AUTO" => ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"].into_iter().find(|m| offers(m)),
        m => offers(m).then_some(m),
    }
}

/// Full login of `user`: open, authenticate, bind, presence as asked.
/// Returns the connection and the bound full JID.
pub async fn login(t: &Target, user: &str, presence: Presence) -> Result<(Conn, String)> {
    let (mut conn, features) = open(t).await?;
    let Some(mechanism) = choose_mechanism(&t.mechanism, &features.mechanisms) else {
        bail!("the server does not offer {} (offers {:?})", t.mechanism, features.mechanisms);
    };
    sasl::authenticate(&mut conn, mechanism, user, &t.password).await?;
    let features = restart(&mut conn, &t.domain).await?;
    let reply = iq(&mut conn, "bind", "set", None, &format!("<bind xmlns='{}'/>", ns::BIND)).await?;
    let jid = reply.child("bind").and_then(|b| b.child("jid")).map(|j| j.text.trim().to_owned());
    let Some(jid) = jid.filter(|_| reply.attr("type") == Some("result")) else {
        bail!("resource binding failed: {}", reply.condition().unwrap_or("no <jid/>"));
    };
    if features.session_required {
        let r = iq(&mut conn, "sess", "set", None, &format!("<session xmlns='{}'/>", ns::SESSION)).await?;
        if r.attr("type") != Some("result") {
            bail!("session establishment failed: {}", r.condition().unwrap_or("?"));
        }
    }
    match presence {
        Presence::None => {}
        Presence::Send => conn.send("<presence/>").await?,
        Presence::Confirm => {
            conn.send("<presence/>").await?;
            ping(&mut conn, &t.domain).await?;
        }
    }
    Ok((conn, jid))
}

/// XEP-0199 ping to the server; any reply (even an error) proves that
/// everything sent before it was processed.
pub async fn ping(conn: &mut Conn, domain: &str) -> Result<El> {
    iq(conn, "ping", "get", Some(domain), &format!("<ping xmlns='{}'/>", ns::PING)).await
}

/// Sends an IQ and waits for the reply with the same id; other stanzas that
/// arrive meanwhile (presence echoes) are skipped.
pub async fn iq(conn: &mut Conn, id: &str, kind: &str, to: Option<&str>, payload: &str) -> Result<El> {
    let to = to.map(|t| format!(" to='{}'", escape(t))).unwrap_or_default();
    conn.send(&format!("<iq type='{kind}' id='{id}'{to}>{payload}</iq>")).await?;
    loop {
        let el = conn.element().await?;
        if el.name == "iq" && el.attr("id") == Some(id) {
            return Ok(el);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_read_by_local_name() {
        let el = El::parse(
            b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\
              <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism> PLAIN </mechanism></mechanisms>\
              <register xmlns='http://jabber.org/features/iq-register'/>\
              <session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>",
        )
        .unwrap();
        let f = Features::parse(&el);
        assert!(f.starttls && f.register && f.session_required);
        assert_eq!(f.mechanisms, ["PLAIN"]);
        let el = El::parse(b"<features><session><optional/></session></features>").unwrap();
        let f = Features::parse(&el);
        assert!(!f.starttls && !f.register && !f.session_required && f.mechanisms.is_empty());
    }

    #[test]
    fn auto_takes_the_strongest_offered_mechanism() {
        let offered = |list: &[&str]| list.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        let prosody = offered(&["SCRAM-SHA-1"]);
        let wasmpp = offered(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"]);
        assert_eq!(choose_mechanism("AUTO", &prosody), Some("SCRAM-SHA-1"));
        assert_eq!(choose_mechanism("AUTO", &wasmpp), Some("SCRAM-SHA-256"));
        assert_eq!(choose_mechanism("AUTO", &offered(&["X-OAUTH2"])), None);
        assert_eq!(choose_mechanism("SCRAM-SHA-256", &prosody), None);
        assert_eq!(choose_mechanism("PLAIN", &offered(&["plain"])), Some("PLAIN"));
    }
}
