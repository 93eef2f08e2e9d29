//! XEP-0077 §3.1 in-band registration of one account on an open stream
//! (after STARTTLS when the server wants it, before authentication).

use anyhow::Result;

use super::{ns, session};
use crate::net::Conn;
use crate::xml::escape;

/// What became of one registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new account.
    Created,
    /// `<conflict/>`: the account exists already (fine for set-up).
    Exists,
    /// Any other error, with its condition.
    Refused(String),
}

/// Registers `user` with `password`; `id` must be unique on the stream.
pub async fn register(conn: &mut Conn, id: &str, user: &str, password: &str) -> Result<Registered> {
    let payload = format!(
        "<query xmlns='{}'><username>{}</username><password>{}</password></query>",
        ns::REGISTER,
        escape(user),
        escape(password)
    );
    let reply = session::iq(conn, id, "set", None, &payload).await?;
    Ok(match reply.attr("type") {
        Some("result") => Registered::Created,
        _ => match reply.condition() {
            Some("conflict") => Registered::Exists,
            other => Registered::Refused(other.unwrap_or("(no condition)").to_owned()),
        },
    })
}
