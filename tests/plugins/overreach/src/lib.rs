//! Capability fixture: a plugin that declares no capabilities and uses
//! them anyway, triggered by the message body:
//! - `probe`: calls every gated import and bounces `not-allowed` with a
//!   text listing what each call answered (`sessions=denied(sessions) …`),
//!   so a test sees exactly what the plugin saw;
//! - `store`: asks for `store-offline`;
//! - `deliver`: delivers the message back to its sender (a redirect);
//! - `send`: sends a forged message to the sender;
//!
//! anything else passes. A verdict the host refuses leaves the message to
//! the rest of the chain.

use wasmpp_guest_sdk::{
    Condition, DeliverValue, Denied, Disposition, Effect, Manifest, Plugin, Stanza, StanzaError, StanzaKind, Verdict,
    amp_conditions, server, sessions,
};

/// Reaches for what it was not granted.
pub struct Overreach;

impl Plugin for Overreach {
    fn manifest() -> Manifest {
        Manifest::new("overreach", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
    }

    fn process(stanza: &Stanza) -> Verdict {
        match stanza.body().as_deref() {
            Some("probe") => {
                let text = probe(stanza);
                Verdict::Bounce(StanzaError::new(Condition::NotAllowed).with_text(text))
            }
            Some("store") => Verdict::Handled(vec![Effect::StoreOffline]),
            Some("deliver") => Verdict::Handled(vec![Effect::Deliver(stanza.from())]),
            Some("send") => {
                let forged =
                    format!("<message to='{}' from='admin@localhost'><body>forged</body></message>", stanza.from());
                Verdict::Handled(vec![Effect::Send(forged)])
            }
            _ => Verdict::Pass,
        }
    }
}

/// What each gated import answered, one `name=answer` per import.
fn probe(stanza: &Stanza) -> String {
    let bare = stanza.to_bare().unwrap_or_default();
    let disposition = Disposition { deliver: DeliverValue::Direct, resources: Vec::new() };
    [
        ("sessions", describe(sessions::resources(&bare).map(|r| r.len()))),
        ("recipient-exists", describe(sessions::recipient_exists())),
        ("config", describe(server::config("anything"))),
        ("amp-conditions", describe(amp_conditions::declared().map(|c| c.len()))),
        ("evaluate", describe(amp_conditions::evaluate("x", "y", &disposition))),
    ]
    .iter()
    .map(|(name, answer)| format!("{name}={answer}"))
    .collect::<Vec<_>>()
    .join(" ")
}

fn describe<T: std::fmt::Debug>(answer: Result<T, Denied>) -> String {
    match answer {
        Ok(value) => format!("ok({value:?})"),
        Err(denied) => format!("denied({})", denied.capability.name()),
    }
}

wasmpp_guest_sdk::export_plugin!(Overreach);
