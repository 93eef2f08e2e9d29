//! XEP-0050 Ad-Hoc Commands for the administrators (`--admins`): the
//! admin's way to hot-reload plugins on a running server (`crate::reload`).
//!
//! - `reload-plugins`: one stage; reloads what changed on disk.
//! - `set-sm-plugins`: two stages; the first answers a XEP-0004 form with
//!   one field, `sm-plugins`, holding the `--sm-plugins` value in force,
//!   the submitted form applies the new value with the start-up rules.
//!
//! Both complete with a note listing, per component, what was loaded or
//! rejected and why, then the chain that serves. Only admins see the
//! commands in disco (§2.2) and may run them; others get `<forbidden/>`.
//! The commands keep no session state: the submitted form carries all of
//! it, so `sessionid` is only echoed.

use super::Session;
use crate::reload::{ReloadReport, Trigger};
use crate::services::Services;
use crate::xml::Element;
use crate::xmpp::iq::{self, IqType};
use crate::xmpp::{Condition, StanzaError, ns};

/// Node of the command that reloads what changed on disk.
pub const RELOAD_PLUGINS: &str = "reload-plugins";
/// Node of the command that changes `--sm-plugins`.
pub const SET_SM_PLUGINS: &str = "set-sm-plugins";
/// The form field of `set-sm-plugins`.
const FIELD: &str = "sm-plugins";

/// Every command, with its human name.
const COMMANDS: &[(&str, &str)] =
    &[(RELOAD_PLUGINS, "Reload plugins"), (SET_SM_PLUGINS, "Set the session-manager plugins")];

/// The reply to `iq` if it is an ad-hoc commands request to the server:
/// disco of the commands node or of a command, or an execution. `None`
/// for anything else.
pub async fn handle(
    svc: &Services,
    session: &Session,
    iq: &Element,
    kind: IqType,
    payload: &Element,
) -> Option<Element> {
    let admin = is_admin(svc, session);
    let node = payload.attr("node");
    let reply = match (kind, payload.ns.as_str(), payload.name.as_str()) {
        (IqType::Get, ns::DISCO_ITEMS, "query") if node == Some(ns::COMMANDS) => {
            iq::result(iq, Some(items(svc, admin)))
        }
        (IqType::Get, ns::DISCO_INFO, "query") if node.is_some_and(is_command) => {
            if admin {
                iq::result(iq, Some(command_info(node.unwrap_or_default())))
            } else {
                iq::error(iq, &StanzaError::new(Condition::Forbidden))
            }
        }
        (IqType::Set, ns::COMMANDS, "command") if !admin => {
            error(iq, Condition::Forbidden, None, "only the server's administrators (--admins) may run commands")
        }
        (IqType::Set, ns::COMMANDS, "command") => execute(svc, session, iq, payload).await,
        _ => return None,
    };
    Some(reply)
}

/// Whether the session's account is listed in `--admins`.
fn is_admin(svc: &Services, session: &Session) -> bool {
    let own = session.key.jid.to_bare();
    svc.config.admins.iter().any(|admin| jid::BareJid::new(admin).is_ok_and(|a| a == own))
}

fn is_command(node: &str) -> bool {
    COMMANDS.iter().any(|(n, _)| *n == node)
}

/// §2.2: the commands node lists every command to admins, none to others.
fn items(svc: &Services, admin: bool) -> Element {
    let mut query = Element::new("query", ns::DISCO_ITEMS).with_attr("node", ns::COMMANDS);
    let server = svc.config.default_domain();
    for (node, name) in COMMANDS.iter().filter(|_| admin) {
        query.push_child(
            Element::new("item", ns::DISCO_ITEMS)
                .with_attr("jid", server)
                .with_attr("node", *node)
                .with_attr("name", *name),
        );
    }
    query
}

/// §2.3: what a command node is.
fn command_info(node: &str) -> Element {
    let name = COMMANDS.iter().find(|(n, _)| *n == node).map_or(node, |(_, name)| name);
    Element::new("query", ns::DISCO_INFO)
        .with_attr("node", node)
        .with_child(
            Element::new("identity", ns::DISCO_INFO)
                .with_attr("category", "automation")
                .with_attr("type", "command-node")
                .with_attr("name", name),
        )
        .with_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", ns::COMMANDS))
        .with_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", ns::DATA_FORMS))
}

/// §4: runs one stage of a command for an admin.
async fn execute(svc: &Services, session: &Session, iq: &Element, command: &Element) -> Element {
    let node = command.attr("node").unwrap_or_default();
    if !is_command(node) {
        return error(iq, Condition::ItemNotFound, None, &format!("no command {node:?} here"));
    }
    let action = command.attr("action").unwrap_or("execute");
    if !matches!(action, "execute" | "complete" | "cancel" | "next" | "prev") {
        return error(iq, Condition::BadRequest, Some("malformed-action"), &format!("unknown action {action:?}"));
    }
    let sessionid = command.attr("sessionid").map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned);
    let reply = |status: &str| {
        Element::new("command", ns::COMMANDS)
            .with_attr("node", node)
            .with_attr("sessionid", sessionid.as_str())
            .with_attr("status", status)
    };
    if action == "cancel" {
        return iq::result(iq, Some(reply("canceled")));
    }
    if matches!(action, "next" | "prev") {
        return error(iq, Condition::BadRequest, Some("bad-action"), "these commands have no next or previous stage");
    }
    let admin = Trigger::Admin(session.key.jid.to_bare().to_string());
    let report = if node == RELOAD_PLUGINS {
        svc.reloader.reload(admin).await
    } else {
        match submitted(command) {
            Some(text) => svc.reloader.set_sm_plugins(&text, admin).await,
            None if action == "execute" => {
                let form = form(&svc.reloader.sm_plugins().await);
                let actions = Element::new("actions", ns::COMMANDS)
                    .with_attr("execute", "complete")
                    .with_child(Element::new("complete", ns::COMMANDS));
                return iq::result(iq, Some(reply("executing").with_child(actions).with_child(form)));
            }
            None => {
                let text = format!("the submitted form has no {FIELD} field");
                return error(iq, Condition::BadRequest, Some("bad-payload"), &text);
            }
        }
    };
    match report {
        Ok(report) => iq::result(iq, Some(reply("completed").with_child(note(&report)))),
        // Toggles that do not resolve (a bad value, or a plugin gone): the
        // payload cannot be accepted, and nothing changed.
        Err(e) => error(iq, Condition::BadRequest, Some("bad-payload"), &format!("{}: {}", e.key, e.message)),
    }
}

/// The `set-sm-plugins` form (XEP-0004 §3.1), filled with `current`.
fn form(current: &str) -> Element {
    let field = Element::new("field", ns::DATA_FORMS)
        .with_attr("var", FIELD)
        .with_attr("type", "text-single")
        .with_attr("label", "--sm-plugins")
        .with_child(Element::new("value", ns::DATA_FORMS).with_text(current));
    Element::new("x", ns::DATA_FORMS)
        .with_attr("type", "form")
        .with_child(Element::new("title", ns::DATA_FORMS).with_text("Session-manager plugins"))
        .with_child(Element::new("instructions", ns::DATA_FORMS).with_text(
            "Changes to the default chain, as in --sm-plugins: +id adds a plugin (or moves it to the end), \
             -id removes it; empty means the default chain.",
        ))
        .with_child(field)
}

/// The `sm-plugins` value of a submitted form; an empty field is `""`.
fn submitted(command: &Element) -> Option<String> {
    let form = command.child("x", ns::DATA_FORMS).filter(|x| x.attr("type") == Some("submit"))?;
    let field = form.elements().find(|f| f.is("field", ns::DATA_FORMS) && f.attr("var") == Some(FIELD))?;
    Some(field.child("value", ns::DATA_FORMS).map(Element::text).unwrap_or_default())
}

/// §3.4 note: `info` when everything loaded, `warn` when something was
/// rejected or the chain did not change.
fn note(report: &ReloadReport) -> Element {
    let kind = if report.published && report.rejections().next().is_none() { "info" } else { "warn" };
    Element::new("note", ns::COMMANDS).with_attr("type", kind).with_text(report.to_string())
}

/// An IQ error with XEP-0050's specific condition (§4.6) and a text.
fn error(iq: &Element, condition: Condition, specific: Option<&str>, text: &str) -> Element {
    let mut reply = iq::error(iq, &StanzaError::new(condition).with_text(text));
    if let (Some(specific), Some(error)) = (specific, reply.child_mut("error", ns::CLIENT)) {
        error.push_child(Element::new(specific, ns::COMMANDS));
    }
    reply
}
