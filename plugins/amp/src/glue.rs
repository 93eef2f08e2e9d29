//! The WASM glue: gathers the facts the pure stages need from the host
//! (the stanza's `<amp>`, the recipient's sessions, the clock, the
//! configuration, the custom conditions) and turns their answers into
//! effects. Nothing here decides; every decision is a call into the
//! modules listed in the crate docs.
//!
//! A `<message/>` without `<amp>` is routed and stored exactly as the
//! `message` + `msgoffline` pair would: the same SDK routing and the same
//! SDK offline policy, into the same plain offline store. A stored message
//! that carries rules goes to the AMP store (`store-amp`), indexed by its
//! next expiry, and comes back to [`Amp::recheck`] when that passes.

use std::cell::OnceCell;

use wasmpp_guest_sdk::packed::PackedElement;
use wasmpp_guest_sdk::routing::{self, Route};
use wasmpp_guest_sdk::{
    Capability, Condition as ErrorCondition, ConditionInfo, DeliverValue as WitDeliver, Denied,
    Disposition as WitDisposition, Effect, KeptFate, Manifest, MessageType, Plugin, Recheck as WitRecheck, Stanza,
    StanzaKind, Verdict, amp_conditions, log, offline, server, sessions,
};

use crate::datetime::Timestamp;
use crate::events::{self, Original, Reply};
use crate::node::Node;
use crate::ns;
use crate::request::{self, AmpRequest, Origin, Policy};
use crate::resolver::{self, Context, Hop, Outcome};
use crate::rules::{CustomConditions, Declaration, DeliverValue, Rule};
use crate::security::SecurityLevel;
use crate::strategy::{self, Disposition, Offline, Recipient, Undelivered};

/// The plugin; stateless, so any warm instance can serve any stanza.
pub struct Amp;

impl Plugin for Amp {
    fn manifest() -> Manifest {
        let custom = amp_conditions::declared().unwrap_or_else(|denied| {
            log::warn(&format!("custom AMP conditions not listed: {denied}"));
            Vec::new()
        });
        // Routing (sessions, deliver), both offline stores, events (send),
        // the security level and AMP address (config), custom conditions.
        let mut m = Manifest::new("amp", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message, StanzaKind::Presence])
            .with_capabilities(&[
                Capability::Sessions,
                Capability::Config,
                Capability::AmpConditions,
                Capability::Deliver,
                Capability::OfflineStore,
                Capability::Send,
            ]);
        // XEP-0160 §5 (amp stores offline messages, X5) and R7, R8, R12: the
        // `?action=`/`?condition=` features belong to the AMP node, which
        // the host answers from the features named `{node}?…`.
        m.features.push("msgoffline".to_owned());
        m.features.extend(ns::node_features(custom.iter().map(|c| c.name.as_str())));
        m
    }

    fn process(stanza: &Stanza) -> Verdict {
        match stanza.kind() {
            // Without the sessions view nothing can be routed: the rest of
            // the chain (or the host) decides.
            StanzaKind::Message => message(stanza).unwrap_or_else(|denied| {
                log::warn(&format!("cannot route: {denied}"));
                Verdict::Pass
            }),
            StanzaKind::Presence => offline::presence_verdict(stanza),
            StanzaKind::Iq => Verdict::Pass,
        }
    }

    fn recheck(stanza: &Stanza) -> WitRecheck {
        recheck_stored(stanza)
    }
}

#[cfg(feature = "export")]
wasmpp_guest_sdk::export_plugin!(Amp);

fn message(stanza: &Stanza) -> Result<Verdict, Denied> {
    // One host call for the address, the account and its sessions.
    let to = sessions::addressee()?;
    if to.remote {
        return Ok(remote(stanza));
    }
    let Some(bare) = to.to_bare else { return Ok(Verdict::Pass) };
    let to_resource = to.to_resource;
    let ty = stanza.message_type();
    let route = routing::route(ty, to_resource.as_deref(), to.exists, &to.sessions);
    Ok(match amp_of(stanza) {
        Some(amp) if request::should_evaluate(ty == MessageType::Error, &amp, Origin::LocalClient) => {
            with_rules(stanza, ty, amp, &bare, to_resource.as_deref(), route)
        }
        _ => plain(stanza, &bare, route),
    })
}

/// `message` + `msgoffline` behaviour, from the same SDK functions.
fn plain(stanza: &Stanza, bare: &str, route: Route) -> Verdict {
    match route {
        Route::Deliver(resources) => Verdict::Handled(deliveries(bare, &resources)),
        Route::Offline if !offline::storable(stanza.message_type()) => Verdict::Drop,
        Route::Offline if offline::disposable(stanza) => Verdict::Drop,
        Route::Offline => Verdict::Handled(vec![Effect::StoreOffline]),
        Route::Refuse => Verdict::bounce(ErrorCondition::ServiceUnavailable),
        Route::Ignore => Verdict::Drop,
    }
}

fn deliveries(bare: &str, resources: &[String]) -> Vec<Effect> {
    resources.iter().map(|r| Effect::Deliver(format!("{bare}/{r}"))).collect()
}

/// Who sent a message to whom, as events and refusals echo it (D1).
struct Envelope {
    from: String,
    to: String,
    id: Option<String>,
}

impl Envelope {
    fn of(stanza: &Stanza, default_to: &str) -> Self {
        Envelope { from: stanza.from(), to: stanza.to().unwrap_or_else(|| default_to.to_owned()), id: stanza.id() }
    }

    /// For a local addressee, whose address `sessions.addressee` already
    /// gave: one host call fewer than [`Envelope::of`].
    fn local(stanza: &Stanza, bare: &str, to_resource: Option<&str>) -> Self {
        let to = match to_resource {
            Some(resource) => format!("{bare}/{resource}"),
            None => bare.to_owned(),
        };
        Envelope { from: stanza.from(), to, id: stanza.id() }
    }

    fn reply(&self) -> Reply<'_> {
        Reply { server: domain_of(&self.from), to: &self.from, id: self.id.as_deref() }
    }
}

/// An accepted request after evaluation: the default disposition, the
/// outcome, and the event (if any) already as an effect.
struct Evaluation {
    request: AmpRequest,
    disposition: Disposition,
    outcome: Outcome,
    effects: Vec<Effect>,
}

/// XEP-0079 §2.2.1–§2.2.3 at the sender's edge: validate every rule (the
/// refusal is the whole answer), then work out the default disposition
/// (only now: it may cost host calls) and evaluate the rules against it.
fn evaluate(
    env: &Envelope,
    amp: Node,
    policy: Policy,
    may_see_presence: impl FnOnce() -> bool,
    to_resource: Option<&str>,
    disposition: impl FnOnce() -> Disposition,
) -> Result<Evaluation, Verdict> {
    let custom = HostConditions::load();
    let request =
        request::validate(env.id.as_deref(), amp, &custom, policy, may_see_presence).map_err(|rejection| {
            log::debug(&format!("AMP request refused: {rejection}"));
            Verdict::Handled(vec![send(events::rejection(env.reply(), &rejection))])
        })?;
    let disposition = disposition();
    let ctx = Context { now: now(), to_resource, hop: Hop::Edge };
    // Only a custom condition needs the WIT copy of the disposition.
    let wit_disposition = OnceCell::new();
    let outcome = resolver::resolve(&request, &disposition, &ctx, |name, value| {
        custom.evaluate(name, value, wit_disposition.get_or_init(|| to_wit(&disposition)))
    });
    let mut effects = Vec::new();
    if let (Some(action), Some(i)) = (outcome.event(), outcome.fired()) {
        let original = Original { from: &env.from, to: &env.to };
        effects.extend(events::event(env.reply(), action, original, &request.rules[i].raw).map(send));
    }
    Ok(Evaluation { request, disposition, outcome, effects })
}

fn verdict(effects: Vec<Effect>) -> Verdict {
    if effects.is_empty() { Verdict::Drop } else { Verdict::Handled(effects) }
}

/// XEP-0079 §2.2 for a message from a local client to a local account:
/// evaluate, then act (§2.2.4).
fn with_rules(
    stanza: &Stanza,
    ty: MessageType,
    amp: Node,
    bare: &str,
    to_resource: Option<&str>,
    route: Route,
) -> Verdict {
    let env = Envelope::local(stanza, bare, to_resource);
    let from_bare = env.from.split('/').next().unwrap_or_default();
    let policy = Policy { level: security_level(), same_account: from_bare == bare };
    let disposition = || {
        // Only a message routed offline asks the store's question: it
        // costs up to three host calls, and every other route ignores it.
        let offline = match route {
            Route::Offline => Offline::decide(true, || !offline::storable(ty) || offline::disposable(stanza)),
            _ => Offline::Store,
        };
        strategy::default_disposition(Recipient::Local { route: &route, offline })
    };
    // Unknown (denied) counts as "may not see": the safe reading of D15.
    let may_see = || sessions::sender_may_see_presence().unwrap_or(false);
    let Evaluation { request, disposition, outcome, mut effects } =
        match evaluate(&env, amp, policy, may_see, to_resource, disposition) {
            Ok(evaluation) => evaluation,
            Err(refused) => return refused,
        };
    if !outcome.takes_default() {
        // Alert, drop and error discard the message (R41, R42, R44).
        return Verdict::Handled(effects);
    }
    // D9: the recipient's copy carries `from`/`to` on its `<amp>`.
    match disposition {
        Disposition::Direct(resources) => {
            effects.push(Effect::ReplaceChild(delivered_copy(stanza, &request, &env)));
            effects.extend(deliveries(bare, &resources));
        }
        Disposition::Stored => {
            let mut copy = request.delivered_copy(&env.from, &env.to);
            // X7, D18: a notify that fired at receipt does not fire again.
            let kept: Vec<Rule> = request
                .rules
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != outcome.fired())
                .map(|(_, r)| r.clone())
                .collect();
            copy.children = kept.iter().map(|r| r.raw.to_node(ns::AMP)).collect();
            effects.push(Effect::ReplaceChild(copy.to_xml()));
            effects.push(Effect::StoreAmp(resolver::next_expiry(&kept).map(to_ms)));
        }
        Disposition::None(Undelivered::Silent) => {}
        // A local recipient is never routed on, forwarded or gatewayed (D17).
        Disposition::None(Undelivered::Bounce) | Disposition::NextHop | Disposition::Forward | Disposition::Gateway => {
            effects.push(Effect::Bounce(wasmpp_guest_sdk::StanzaError::new(ErrorCondition::ServiceUnavailable)))
        }
    }
    verdict(effects)
}

/// D9: the recipient's `<amp>`, every rule kept. The host builds it from
/// the stanza's own (validation kept all of it but `status`/`from`/`to`),
/// so it needs no XML written here nor parsed there; the request's own
/// serialisation is the same element, should the host not answer.
fn delivered_copy(stanza: &Stanza, request: &AmpRequest, env: &Envelope) -> String {
    let drop = ["status".to_owned(), "from".to_owned(), "to".to_owned()];
    let add = [("from".to_owned(), env.from.clone()), ("to".to_owned(), env.to.clone())];
    stanza
        .child_copy("amp", ns::AMP, "rule", &drop, &add)
        .unwrap_or_else(|| request.delivered_copy_xml(&env.from, &env.to))
}

/// An AMP message for another server (R13: this is the sender's edge
/// server). The rules are validated and evaluated against `NextHop`
/// (`deliver=direct`, R30); then, since no next server here is known to
/// support AMP (no server-to-server links), the sender is told so (R23,
/// R24) instead of the message being routed on.
fn remote(stanza: &Stanza) -> Verdict {
    let Some(amp) = amp_of(stanza) else { return Verdict::Pass };
    if !request::should_evaluate(stanza.message_type() == MessageType::Error, &amp, Origin::LocalClient) {
        return Verdict::Pass;
    }
    let env = Envelope::of(stanza, "");
    // No roster of a remote account to consult: STRICT refuses leaky rules.
    let policy = Policy { level: security_level(), same_account: false };
    let to_resource = stanza.to_resource();
    let Evaluation { request, outcome, mut effects, .. } =
        match evaluate(&env, amp, policy, || false, to_resource.as_deref(), || Disposition::NextHop) {
            Ok(evaluation) => evaluation,
            Err(refused) => return refused,
        };
    if outcome.takes_default() {
        effects.push(send(events::service_unavailable(env.reply(), request.clean())));
    }
    verdict(effects)
}

/// D18: a stored message whose expiry came. Its `<amp>` holds the rules
/// kept at receipt; only `expire-at` can fire now (X7).
fn recheck_stored(stanza: &Stanza) -> WitRecheck {
    let discard = |events| WitRecheck { events, fate: KeptFate::Discard };
    let Some(amp) = amp_of(stanza) else {
        log::warn("a stored AMP message without <amp> was rechecked; discarded");
        return discard(Vec::new());
    };
    let custom = HostConditions::load();
    let rules: Vec<Rule> =
        amp.children.iter().filter(|c| c.is("rule", ns::AMP)).filter_map(|c| Rule::parse(c, &custom).ok()).collect();
    let result = resolver::recheck(rules, now());
    let sender = stanza.from();
    let id = stanza.id();
    let reply = Reply { server: domain_of(&sender), to: &sender, id: id.as_deref() };
    let original = Original { from: amp.attr("from").unwrap_or(&sender), to: amp.attr("to").unwrap_or_default() };
    let mut sent: Vec<String> = Vec::new();
    for rule in &result.notified {
        sent.extend(events::event(reply, crate::rules::Action::Notify, original, &rule.raw).map(|n| to_stanza_xml(&n)));
    }
    if let Some(rule) = &result.discarded_by {
        sent.extend(events::event(reply, rule.action, original, &rule.raw).map(|n| to_stanza_xml(&n)));
        return discard(sent);
    }
    let mut kept = amp.clone();
    kept.children = result.remaining.iter().map(|r| r.raw.to_node(ns::AMP)).collect();
    let next = resolver::next_expiry(&result.remaining).map(to_ms);
    WitRecheck { events: sent, fate: KeptFate::Keep((kept.to_xml(), next)) }
}

fn send(event: Node) -> Effect {
    Effect::Send(to_stanza_xml(&event))
}

fn to_stanza_xml(event: &Node) -> String {
    event.to_xml_within(ns::CLIENT)
}

/// The domain part of a JID (events come from the sender's server, D1).
fn domain_of(jid: &str) -> &str {
    let no_resource = jid.split('/').next().unwrap_or_default();
    no_resource.rsplit('@').next().unwrap_or(no_resource)
}

/// `--amp-security-level`, handed to the plugin by the host; STRICT when
/// unset, unreadable or not granted (the safe reading of D15). Read once
/// per instance, not per AMP message: a plugin's configuration is fixed for
/// an instance's life (`server.config`).
fn security_level() -> SecurityLevel {
    thread_local! {
        static LEVEL: OnceCell<SecurityLevel> = const { OnceCell::new() };
    }
    let read = || server::config("security-level").ok().flatten().and_then(|v| v.parse().ok());
    LEVEL.with(|level| *level.get_or_init(|| read().unwrap_or(SecurityLevel::Strict)))
}

fn now() -> Timestamp {
    let ms = server::now_ms();
    Timestamp::from_unix(ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as u32)
}

/// Rounded up: the sweeper wakes at a millisecond when the rule is met.
fn to_ms(t: Timestamp) -> i64 {
    t.unix_secs() * 1000 + i64::from(t.subsec_nanos().div_ceil(1_000_000))
}

/// The message's `<amp>` with its `<rule/>` children, all the codec reads
/// (other children and text are dropped by validation anyway), in one
/// packed host call rather than a guest allocation per string.
fn amp_of(stanza: &Stanza) -> Option<Node> {
    let packed = stanza.child_attrs("amp", ns::AMP, "rule")?;
    let owned = |e: PackedElement<'_>| e.attrs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let mut elements = packed.elements();
    let mut amp = Node::new("amp", ns::AMP);
    amp.attrs = elements.next().map(owned).unwrap_or_default();
    amp.children = elements.map(|rule| Node { attrs: owned(rule), ..Node::new("rule", ns::AMP) }).collect();
    Some(amp)
}

fn to_wit(d: &Disposition) -> WitDisposition {
    let deliver = match d.deliver() {
        DeliverValue::Direct => WitDeliver::Direct,
        DeliverValue::Forward => WitDeliver::Forward,
        DeliverValue::Gateway => WitDeliver::Gateway,
        DeliverValue::None => WitDeliver::None,
        DeliverValue::Stored => WitDeliver::Stored,
    };
    let resources = match d {
        Disposition::Direct(r) => r.clone(),
        _ => Vec::new(),
    };
    WitDisposition { deliver, resources }
}

/// The host's `amp-condition` components, listed at most once per message
/// and only when a rule names a condition XEP-0079 does not define. Without
/// the `amp-conditions` grant there are none: a rule naming one is then
/// refused as unsupported, as for a condition the server has not loaded.
struct HostConditions(OnceCell<Vec<ConditionInfo>>);

impl HostConditions {
    fn load() -> Self {
        HostConditions(OnceCell::new())
    }

    fn declared(&self) -> &[ConditionInfo] {
        self.0.get_or_init(|| amp_conditions::declared().unwrap_or_default())
    }

    fn evaluate(&self, name: &str, value: &str, disposition: &WitDisposition) -> bool {
        amp_conditions::evaluate(name, value, disposition).unwrap_or(false)
    }
}

impl CustomConditions for HostConditions {
    fn declaration(&self, name: &str) -> Option<Declaration> {
        let c = self.declared().iter().find(|c| c.name == name)?;
        Some(Declaration { reveals_presence: !c.presence_safe, per_hop: c.per_hop })
    }

    fn accepts(&self, name: &str, value: &str) -> bool {
        amp_conditions::validate(name, value).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_milliseconds() {
        assert_eq!(domain_of("alice@example.com/a1"), "example.com");
        assert_eq!(domain_of("example.com"), "example.com");
        assert_eq!(to_ms(Timestamp::from_unix(10, 500_500_000)), 10_501);
        assert_eq!(to_ms(Timestamp::from_unix(10, 0)), 10_000);
    }
}
