//! Capabilities and per-plugin limits over real sockets: a plugin calling
//! imports its manifest does not declare gets `denied` (and says so), its
//! verdicts that need undeclared capabilities are refused while messages
//! keep flowing through the rest of the chain, the operator can narrow a
//! shipped plugin, and per-plugin limits stop only their plugin.

use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const CLIENT: &str = "jabber:client";

async fn server(args: &[&str], plugins: &[(&str, &str)]) -> TestServer {
    let srv = TestServer::start_with_plugins(args, plugins).await;
    srv.add_user("romeo", "pw").await;
    srv.add_user("juliet", "pw").await;
    srv
}

async fn login(srv: &TestServer, user: &str, resource: &str) -> Client {
    let mut c = Client::login(srv.addr, DOMAIN, user, "pw", Some(resource)).await.unwrap();
    c.ignore_presence();
    c
}

fn body(el: &El) -> String {
    el.child("body", CLIENT).map(|b| b.text.clone()).unwrap_or_default()
}

/// The next stanza `c` receives after everything it sent before was
/// processed must be the pong: nothing else was sent to it meanwhile.
async fn nothing_else_for(c: &mut Client) {
    c.send_raw("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").await.unwrap();
    let next = c.recv().await.unwrap();
    assert_eq!((next.name.as_str(), next.attr("id")), ("iq", Some("sync")), "unexpected {next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overreaching_plugin_sees_denied_and_messages_still_flow() {
    let srv = server(&["--sm-plugins=-amp,+overreach,+message"], &[("overreach.wasm", "overreach")]).await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    let mut romeo = login(&srv, "romeo", "orchard").await;

    // Every gated call it made came back as an error result it could read.
    romeo.send_message("juliet@localhost", "chat", "p1", "probe").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!((err.attr("id"), err.attr("type")), (Some("p1"), Some("error")), "{err}");
    let shown = err.to_string();
    assert!(shown.contains("not-allowed"), "{shown}");
    assert!(
        shown.contains(
            "sessions=denied(sessions) recipient-exists=denied(sessions) config=denied(config) \
             amp-conditions=denied(amp-conditions) evaluate=denied(amp-conditions)"
        ),
        "{shown}"
    );

    // Verdicts needing undeclared capabilities are refused: `message`
    // delivers each as if `overreach` had passed, nothing is stored,
    // redirected to romeo or forged to him.
    for (i, trigger) in ["store", "deliver", "send"].into_iter().enumerate() {
        romeo.send_message("juliet@localhost", "chat", &format!("o{i}"), trigger).await.unwrap();
        let got = juliet.recv().await.unwrap();
        assert_eq!((got.attr("id"), body(&got)), (Some(format!("o{i}").as_str()), trigger.to_owned()));
        nothing_else_for(&mut romeo).await;
    }
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 0);
    let chain = srv.server.services.plugins.chain();
    let denials = chain.denials("overreach").unwrap();
    assert_eq!((denials.calls(), denials.verdicts()), (5, 3));

    // The server is unaffected: plain messages, a new session, a ping.
    romeo.send_message("juliet@localhost", "chat", "plain", "hello").await.unwrap();
    assert_eq!(body(&juliet.recv().await.unwrap()), "hello");
    let mut other = login(&srv, "romeo", "garden").await;
    nothing_else_for(&mut other).await;
    nothing_else_for(&mut juliet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_can_withhold_a_capability_from_a_shipped_plugin() {
    // amp without offline-store: it still routes, but cannot store.
    let caps = "--sess-man/plugins-conf/amp/capabilities=sessions,config,amp-conditions,deliver,send";
    let srv = server(&[caps], &[]).await;
    let info = srv.server.services.plugins.chain().plugins()[0].clone();
    assert_eq!(
        (info.id.as_str(), info.granted.to_string()),
        ("amp", "sessions,config,amp-conditions,deliver,send".into())
    );
    let mut romeo = login(&srv, "romeo", "orchard").await;

    // Juliet is offline: amp's store verdict is refused, the host answers.
    romeo.send_message("juliet@localhost", "chat", "off", "for later").await.unwrap();
    let err = romeo.recv().await.unwrap();
    assert_eq!((err.attr("id"), err.attr("type")), (Some("off"), Some("error")), "{err}");
    assert!(err.to_string().contains("service-unavailable"), "{err}");
    assert_eq!(srv.server.services.offline.count("juliet@localhost").await.unwrap(), 0);

    // Online delivery is untouched, and nothing was kept for her.
    let mut juliet = login(&srv, "juliet", "balcony").await;
    juliet.send_presence(None).await.unwrap();
    nothing_else_for(&mut juliet).await;
    romeo.send_message("juliet@localhost", "chat", "on", "now").await.unwrap();
    assert_eq!(body(&juliet.recv().await.unwrap()), "now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_capability_in_the_configuration_stops_the_start() {
    let err = TestServer::try_start(&["--sess-man/plugins-conf/amp/capabilities=sessions,roster"]).await.err().unwrap();
    assert!(err.contains("sess-man/plugins-conf/amp/capabilities: \"roster\" is not a capability"), "{err}");
    let err = TestServer::try_start(&["--plugin-memory-mb=8", "--sess-man/plugins-conf/amp/memory-mb=9"])
        .await
        .err()
        .unwrap();
    assert!(err.contains("sess-man/plugins-conf/amp/memory-mb: 9 is above --plugin-memory-mb=8"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_limits_stop_only_their_plugin() {
    let args = [
        "--sm-plugins=-amp,+fault-spin,+fault-hog,+message",
        // Server-wide: generous. Per plugin: tight.
        "--plugin-deadline-ms=30000",
        "--sess-man/plugins-conf/fault-spin/deadline-ms=20",
        "--sess-man/plugins-conf/fault-hog/memory-mb=2",
        "--sess-man/plugins-conf/fault-hog/pool-size=1",
    ];
    let plugins = [("fault-spin.wasm", "fault-spin"), ("fault-hog.wasm", "fault-hog")];
    let srv = server(&args, &plugins).await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut nurse = login(&srv, "juliet", "chamber").await;

    for (round, trigger) in ["spin", "hog", "spin", "hog"].into_iter().enumerate() {
        let id = format!("bad{round}");
        romeo.send_message("juliet@localhost/balcony", "chat", &id, trigger).await.unwrap();
        let err = romeo.recv().await.unwrap();
        assert_eq!((err.attr("id"), err.attr("type")), (Some(id.as_str()), Some("error")), "{err}");
        assert!(err.to_string().contains("internal-server-error"), "{err}");
        // The plugins after it and other sessions keep working.
        romeo.send_message("juliet@localhost/balcony", "chat", "ok", "after").await.unwrap();
        assert_eq!(body(&juliet.recv().await.unwrap()), "after");
        nothing_else_for(&mut nurse).await;
    }
}
