//! Hot reload from the admins' side (issue 5): broken components dropped
//! into the plugin directory are rejected with a log line and a command
//! note naming the file and the reason while the old version serves on,
//! and the XEP-0050 commands `reload-plugins` and `set-sm-plugins` (admins
//! only) reload and change the chain at run time with the start-up rules.

mod reload_support;

use std::time::Duration;

use reload_support::{
    AMP, COMMANDS, DATA_FORMS, DISCO_INFO, DISCO_ITEMS, NEXT, command, drop_in, features, log_lines_with, logs, note,
    report_where,
};
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

async fn login(srv: &TestServer, user: &str) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some("r")).await.unwrap();
    c.ignore_presence();
    c
}

async fn server() -> (TestServer, Client, Client, Client) {
    let srv = TestServer::start(&["--admins=admin@localhost"]).await;
    for user in ["admin", "romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let (admin, romeo, juliet) = (login(&srv, "admin").await, login(&srv, "romeo").await, login(&srv, "juliet").await);
    (srv, admin, romeo, juliet)
}

/// Romeo sends `xml` (a message with id `id`); whether Juliet got it.
async fn delivered(romeo: &mut Client, juliet: &mut Client, id: &str, xml: &str) -> bool {
    romeo.send_raw(xml).await.unwrap();
    romeo.sync().await.unwrap();
    juliet.sync().await.unwrap();
    let mut got = Vec::new();
    while let Some(el) = juliet.recv_timeout(Duration::ZERO).await.unwrap() {
        got.push(el);
    }
    got.iter().any(|el| el.name == "message" && el.attr("id") == Some(id))
}

/// A chat message whose XEP-0079 rule drops it when it can be delivered
/// directly: dropped while `amp` serves, delivered when `<amp>` is ignored.
fn drop_if_direct(id: &str) -> String {
    format!(
        "<message to='juliet@{DOMAIN}' type='chat' id='{id}'><body>hi</body>\
         <amp xmlns='{AMP}'><rule condition='deliver' value='direct' action='drop'/></amp></message>"
    )
}

fn plain(id: &str) -> String {
    format!("<message to='juliet@{DOMAIN}' type='chat' id='{id}'><body>hi</body></message>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_components_are_rejected_and_the_old_version_serves_on() {
    logs();
    let (srv, mut admin, mut romeo, mut juliet) = server().await;
    let mut reports = srv.server.services.reloader.subscribe();
    let plugins = srv.data_dir().join("plugins");
    let file = plugins.join("amp.wasm").display().to_string();
    let running = srv.server.services.plugins.chain().plugins()[0].clone();

    let cases = [
        ("bad-api.wasm", "9.0.0"),
        ("trap-init.wasm", "manifest() failed: trap"),
        ("bad-manifest.wasm", "its manifest calls it \"bad-manifest\""),
    ];
    for (n, (built, reason)) in cases.into_iter().enumerate() {
        reports.borrow_and_update();
        drop_in(&plugins, built, "amp.wasm");
        let report = report_where(&mut reports, |r| r.rejections().any(|c| c.to_string().contains(reason))).await;
        assert!(report.published && !report.changed_anything(), "{built}: {report}");

        // The log names the file and the reason.
        let lines = log_lines_with(&["plugin component rejected", &file, reason]);
        assert!(!lines.is_empty(), "{built}: no log line with {file} and {reason}");

        // So does the admin's command note, and amp still serves.
        let (kind, text) = note(&command(&mut admin, "reload-plugins", "execute", None).await);
        assert_eq!(kind, "warn", "{text}");
        let rejection = format!("plugin amp: rejected {file}: ");
        assert!(text.contains(&rejection), "{built}: {text}");
        assert!(text.contains(reason), "{built}: {text}");
        assert!(text.contains(&format!("amp {} keeps serving", running.version)), "{text}");
        assert_eq!(srv.server.services.plugins.chain().plugins()[0], running);
        assert!(!delivered(&mut romeo, &mut juliet, &format!("d{n}"), &drop_if_direct(&format!("d{n}"))).await);
        assert!(delivered(&mut romeo, &mut juliet, &format!("p{n}"), &plain(&format!("p{n}"))).await);
        let features = features(&mut romeo).await;
        assert!(features.iter().any(|f| f == AMP) && !features.iter().any(|f| f == NEXT), "{features:?}");
    }

    // A good component under the same name is taken at once.
    reports.borrow_and_update();
    drop_in(&plugins, "amp-next.wasm", "amp.wasm");
    report_where(&mut reports, |r| r.changed_anything()).await;
    assert!(features(&mut romeo).await.iter().any(|f| f == NEXT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_sm_plugins_turns_amp_off_and_on_at_run_time() {
    let (_srv, mut admin, mut romeo, mut juliet) = server().await;
    assert!(features(&mut admin).await.iter().any(|f| f == COMMANDS));

    // Stage one: the form, holding the value in force (none: the default).
    let reply = command(&mut admin, "set-sm-plugins", "execute", None).await;
    let form = reply.find("command/x").unwrap_or_else(|| panic!("no form in {reply}"));
    assert_eq!((form.ns.as_str(), form.attr("type")), (DATA_FORMS, Some("form")), "{reply}");
    assert_eq!(reply.find("command").unwrap().attr("status"), Some("executing"));
    let field = form.children.iter().find(|f| f.attr("var") == Some("sm-plugins")).expect("the sm-plugins field");
    assert_eq!(field.find_text("value"), Some(""));

    // Stage two: amp off, message + msgoffline on.
    let (kind, text) =
        note(&command(&mut admin, "set-sm-plugins", "complete", Some("-amp,+message,+msgoffline")).await);
    assert_eq!(kind, "info", "{text}");
    assert!(text.contains("plugin amp") && text.contains(": removed"), "{text}");
    assert!(text.ends_with(&format!("chain: message {v}, msgoffline {v}", v = env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(!features(&mut romeo).await.iter().any(|f| f == AMP));
    assert!(delivered(&mut romeo, &mut juliet, "a1", &drop_if_direct("a1")).await, "<amp> is ignored without amp");

    // The start-up rules apply: toggles change the default chain (amp), so
    // +message asks for amp beside message, which is refused; nothing changes.
    let reply = command(&mut admin, "set-sm-plugins", "complete", Some("+message")).await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply}");
    assert!(reply.find("error/bad-payload").is_some_and(|e| e.ns == COMMANDS), "{reply}");
    let text = reply.find_text("error/text").unwrap_or_default();
    assert!(text.contains("\"amp\" and \"message\" cannot both be enabled"), "{text}");
    let reply = command(&mut admin, "set-sm-plugins", "complete", Some("+nosuch")).await;
    assert!(reply.find_text("error/text").unwrap_or_default().contains("unknown plugin \"nosuch\""), "{reply}");
    assert!(!features(&mut romeo).await.iter().any(|f| f == AMP));

    // The form shows the value in force; back to the default chain.
    let reply = command(&mut admin, "set-sm-plugins", "execute", None).await;
    assert_eq!(reply.find_text("command/x/field/value"), Some("-amp,+message,+msgoffline"), "{reply}");
    let (_, text) = note(&command(&mut admin, "set-sm-plugins", "complete", Some("")).await);
    assert!(text.ends_with(&format!("chain: amp {}", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(features(&mut romeo).await.iter().any(|f| f == AMP));
    assert!(!delivered(&mut romeo, &mut juliet, "a2", &drop_if_direct("a2")).await, "amp drops it again");
    assert!(delivered(&mut romeo, &mut juliet, "a3", &plain("a3")).await);
}

fn command_items(reply: &El) -> Vec<String> {
    let query = reply.child("query", DISCO_ITEMS).unwrap_or_else(|| panic!("no items in {reply}"));
    query.children.iter().filter_map(|i| i.attr("node")).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_see_and_run_the_commands() {
    let (_srv, mut admin, mut romeo, _juliet) = server().await;
    let items = format!("<query xmlns='{DISCO_ITEMS}' node='{COMMANDS}'/>");
    let listed = admin.iq("get", Some(DOMAIN), &items).await.unwrap();
    assert_eq!(command_items(&listed), ["reload-plugins", "set-sm-plugins"]);
    let listed = romeo.iq("get", Some(DOMAIN), &items).await.unwrap();
    assert!(command_items(&listed).is_empty(), "{listed}");
    // XEP-0050 §2.3: what a command node is, for admins only.
    let info = format!("<query xmlns='{DISCO_INFO}' node='reload-plugins'/>");
    let answer = admin.iq("get", Some(DOMAIN), &info).await.unwrap();
    let identity = answer.find("query/identity").unwrap_or_else(|| panic!("no identity in {answer}"));
    assert_eq!((identity.attr("category"), identity.attr("type")), (Some("automation"), Some("command-node")));
    let answer = romeo.iq("get", Some(DOMAIN), &info).await.unwrap();
    assert!(answer.find("error/forbidden").is_some(), "{answer}");

    for node in ["reload-plugins", "set-sm-plugins"] {
        let reply = command(&mut romeo, node, "execute", Some("-amp")).await;
        assert_eq!(reply.attr("type"), Some("error"), "{reply}");
        assert!(reply.find("error/forbidden").is_some(), "{reply}");
    }
    assert!(features(&mut romeo).await.iter().any(|f| f == AMP), "nothing changed");

    // Commands an admin may not run are refused the XEP-0050 way.
    let reply = command(&mut admin, "shutdown", "execute", None).await;
    assert!(reply.find("error/item-not-found").is_some(), "{reply}");
    let reply = command(&mut admin, "reload-plugins", "next", None).await;
    assert!(reply.find("error/bad-action").is_some(), "{reply}");
    let reply = command(&mut admin, "set-sm-plugins", "cancel", None).await;
    assert_eq!(reply.find("command").and_then(|c| c.attr("status")), Some("canceled"), "{reply}");
}
