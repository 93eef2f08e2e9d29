//! RFC 6121 from the client's side: roster requests, subscription stanzas,
//! and waiting for the pushes and presence the server sends back.

use anyhow::{Result, bail};

use super::Client;
use crate::xml::{El, escape};

/// The roster namespace (RFC 6121 §2).
pub const ROSTER: &str = "jabber:iq:roster";

impl Client {
    /// A roster get (§2.1.3), with a cached version when given (§2.6.2);
    /// returns the `result` or `error` IQ.
    pub async fn roster_get(&mut self, ver: Option<&str>) -> Result<El> {
        let ver = ver.map(|v| format!(" ver='{}'", escape(v))).unwrap_or_default();
        self.iq("get", None, &format!("<query xmlns='{ROSTER}'{ver}/>")).await
    }

    /// A roster set (§2.1.5) carrying the given `<item/>` XML (or several,
    /// for error tests); returns the `result` or `error` IQ.
    pub async fn roster_set(&mut self, items: &str) -> Result<El> {
        self.iq("set", None, &format!("<query xmlns='{ROSTER}'>{items}</query>")).await
    }

    /// Sends a presence stanza of `kind` (subscribe, subscribed, …, or
    /// "probe", "unavailable") to `to`.
    pub async fn send_presence_to(&mut self, to: &str, kind: Option<&str>) -> Result<()> {
        let kind = kind.map(|k| format!(" type='{}'", escape(k))).unwrap_or_default();
        self.send_raw(&format!("<presence to='{}'{kind}/>", escape(to))).await
    }

    /// A ping round trip: everything the server did for what this client
    /// sent before has been queued to every recipient once it returns.
    pub async fn sync(&mut self) -> Result<()> {
        let pong = self.iq("get", None, "<ping xmlns='urn:xmpp:ping'/>").await?;
        match pong.attr("type") {
            Some("result") => Ok(()),
            _ => bail!("ping failed: {pong}"),
        }
    }

    /// The next stanza, which must be a roster push (§2.1.6); it is
    /// acknowledged and its single `<item/>` returned.
    pub async fn recv_push(&mut self) -> Result<El> {
        let el = self.recv().await?;
        let item = match el.child("query", ROSTER) {
            Some(q) if el.name == "iq" && el.attr("type") == Some("set") && el.attr("from").is_none() => {
                match q.children.as_slice() {
                    [item] if item.name == "item" => item.clone(),
                    _ => bail!("a roster push carries exactly one item: {el}"),
                }
            }
            _ => bail!("expected a roster push, got {el}"),
        };
        let id = el.attr("id").unwrap_or_default();
        self.send_raw(&format!("<iq type='result' id='{}'/>", escape(id))).await?;
        Ok(item)
    }

    /// The next stanza, which must be a presence of `kind` (`None`:
    /// available) from `from`.
    pub async fn recv_presence(&mut self, from: &str, kind: Option<&str>) -> Result<El> {
        let el = self.recv().await?;
        if el.name != "presence" || el.attr("from") != Some(from) || el.attr("type") != kind {
            bail!("expected presence type={kind:?} from {from}, got {el}");
        }
        Ok(el)
    }
}
