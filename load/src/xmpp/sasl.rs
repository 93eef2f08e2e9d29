//! RFC 6120 §6.4 SASL negotiation, client side, with the mechanisms of the
//! `sasl` crate (SCRAM-SHA-256 RFC 7677, SCRAM-SHA-1 RFC 5802, PLAIN RFC 4616).
//! No channel binding (`n,,`): the tool does not assume the server offers -PLUS.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sasl::client::Mechanism;
use sasl::client::mechanisms::{Plain, Scram};
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials};

use super::ns;
use crate::net::Conn;
use crate::xml::El;

fn mechanism(name: &str, user: &str, password: &str) -> Result<Box<dyn Mechanism + Send>> {
    let creds =
        Credentials::default().with_username(user).with_password(password).with_channel_binding(ChannelBinding::None);
    let err = |e: sasl::client::MechanismError| anyhow!("SASL client: {e}");
    Ok(match name {
        "SCRAM-SHA-256" => Box::new(Scram::<Sha256>::from_credentials(creds).map_err(err)?),
        "SCRAM-SHA-1" => Box::new(Scram::<Sha1>::from_credentials(creds).map_err(err)?),
        "PLAIN" => Box::new(Plain::from_credentials(creds).map_err(err)?),
        other => bail!("unsupported mechanism {other}"),
    })
}

/// Runs one exchange to `<success/>`; a `<failure/>` is an error naming its
/// condition. The caller restarts the stream afterwards.
pub async fn authenticate(conn: &mut Conn, name: &str, user: &str, password: &str) -> Result<()> {
    let mut m = mechanism(name, user, password)?;
    let initial = m.initial();
    let initial = if initial.is_empty() { "=".to_owned() } else { B64.encode(initial) };
    conn.send(&format!("<auth xmlns='{}' mechanism='{name}'>{initial}</auth>", ns::SASL)).await?;
    loop {
        let el = conn.element().await?;
        match el.name.as_str() {
            "challenge" => {
                let resp = m.response(&decode(&el)?).map_err(|e| anyhow!("SASL {name}: {e}"))?;
                conn.send(&format!("<response xmlns='{}'>{}</response>", ns::SASL, B64.encode(resp))).await?;
            }
            "success" => {
                return m.success(&decode(&el)?).map_err(|e| anyhow!("SASL {name}: bad server proof: {e}"));
            }
            "failure" => bail!("SASL failure for {user}: {}", el.condition().unwrap_or("(no condition)")),
            other => bail!("unexpected <{other}/> during SASL"),
        }
    }
}

fn decode(el: &El) -> Result<Vec<u8>> {
    let t = el.text.trim();
    if t.is_empty() || t == "=" {
        return Ok(Vec::new());
    }
    B64.decode(t).with_context(|| format!("bad base64 in <{}>", el.name))
}
