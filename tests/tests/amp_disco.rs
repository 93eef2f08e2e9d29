//! XEP-0079 §2.1.1 and §8 discovery over real sockets (R7, R8, R10, R12,
//! R58, X5): the root disco#info, the `http://jabber.org/protocol/amp` node,
//! the AMP service JID (`sess-man/plugins-conf/amp/amp-jid`) in disco#info
//! and disco#items, and the stream feature; then all of it gone with
//! `--sm-plugins=-amp,+message,+msgoffline`, where `<amp>` is carried but
//! never acted on.

mod amp_support;

use std::collections::BTreeSet;

use amp_support::{AMP, AMP_FEATURE, DISCO_INFO, DISCO_ITEMS, STANZAS, assert_same, collect, login, parse, stored};
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};
use wasmpp_tests::xml::El;

const AMP_OFF: &str = "--sm-plugins=-amp,+message,+msgoffline";

/// The eight features of the AMP node (R12): the namespace, the four
/// actions and the three conditions, nothing else.
fn node_features() -> BTreeSet<String> {
    let mut f: BTreeSet<String> =
        ["alert", "drop", "error", "notify"].iter().map(|a| format!("{AMP}?action={a}")).collect();
    f.extend(["deliver", "expire-at", "match-resource"].iter().map(|c| format!("{AMP}?condition={c}")));
    f.insert(AMP.to_owned());
    f
}

fn features(query: &El) -> Vec<String> {
    query
        .children
        .iter()
        .filter(|c| c.is("feature", DISCO_INFO))
        .filter_map(|c| c.attr("var"))
        .map(String::from)
        .collect()
}

/// A disco#info get to `to` (optionally at `node`): the reply IQ.
async fn info(c: &mut Client, to: &str, node: Option<&str>) -> El {
    let node = node.map(|n| format!(" node='{n}'")).unwrap_or_default();
    c.iq("get", Some(to), &format!("<query xmlns='{DISCO_INFO}'{node}/>")).await.unwrap()
}

/// The result's `<query/>`, after checking the IQ is a result from `to`.
#[track_caller]
fn result_query<'a>(iq: &'a El, to: &str, ns: &str) -> &'a El {
    assert_eq!(iq.attr("type"), Some("result"), "{iq}");
    assert_eq!(iq.attr("from"), Some(to), "{iq}");
    iq.child("query", ns).unwrap_or_else(|| panic!("no <query xmlns='{ns}'>: {iq}"))
}

/// The defined condition of an error IQ.
#[track_caller]
fn error_condition(iq: &El) -> String {
    assert_eq!(iq.attr("type"), Some("error"), "{iq}");
    let error = iq.find("error").unwrap_or_else(|| panic!("{iq}"));
    error.children.iter().find(|c| c.ns == STANZAS).map(|c| c.name.clone()).unwrap_or_else(|| panic!("{iq}"))
}

async fn items(c: &mut Client) -> Vec<String> {
    let iq = c.iq("get", Some(DOMAIN), &format!("<query xmlns='{DISCO_ITEMS}'/>")).await.unwrap();
    let q = result_query(&iq, DOMAIN, DISCO_ITEMS);
    q.children.iter().filter(|c| c.is("item", DISCO_ITEMS)).filter_map(|c| c.attr("jid")).map(String::from).collect()
}

async fn one_user(args: &[&str]) -> (TestServer, Client) {
    let srv = TestServer::start(args).await;
    srv.add_user("romeo", "pw").await;
    let c = login(&srv, "romeo", "orchard").await;
    (srv, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_info_lists_amp_and_msgoffline_but_no_action_or_condition() {
    let (_srv, mut c) = one_user(&[]).await;
    let iq = info(&mut c, DOMAIN, None).await;
    let f = features(result_query(&iq, DOMAIN, DISCO_INFO));
    assert!(f.iter().any(|x| x == AMP), "R7: {iq}");
    assert!(f.iter().any(|x| x == "msgoffline"), "X5: {iq}");
    let node_only: Vec<&String> = f.iter().filter(|x| x.contains("?action=") || x.contains("?condition=")).collect();
    assert!(node_only.is_empty(), "the ?action=/?condition= features belong to the node: {node_only:?}");
    assert_eq!(f.iter().filter(|x| *x == AMP).count(), 1, "listed once: {iq}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amp_node_lists_exactly_the_supported_actions_and_conditions() {
    let (_srv, mut c) = one_user(&[]).await;
    let iq = info(&mut c, DOMAIN, Some(AMP)).await;
    let q = result_query(&iq, DOMAIN, DISCO_INFO);
    assert_eq!(q.attr("node"), Some(AMP), "R10: the node is echoed: {iq}");
    let f = features(q);
    assert_eq!(f.len(), 8, "no duplicates, nothing else: {f:?}");
    assert_eq!(f.into_iter().collect::<BTreeSet<_>>(), node_features(), "{iq}");
    // Another node is not there.
    let iq = info(&mut c, DOMAIN, Some("http://jabber.org/protocol/amp#nonexistent")).await;
    assert_eq!(error_condition(&iq), "item-not-found");
}

/// The AMP service answers disco#info as a component with the node's
/// features, and the server lists it in disco#items.
async fn check_service(c: &mut Client, jid: &str) {
    let iq = info(c, jid, None).await;
    let q = result_query(&iq, jid, DISCO_INFO);
    let identities: Vec<&El> = q.children.iter().filter(|c| c.is("identity", DISCO_INFO)).collect();
    assert_eq!(identities.len(), 1, "{iq}");
    assert_eq!(identities[0].attr("category"), Some("component"), "{iq}");
    let f = features(q);
    let amp: BTreeSet<String> = f.iter().filter(|x| x.starts_with(AMP)).cloned().collect();
    assert_eq!(amp, node_features(), "{iq}");
    assert_eq!(f.iter().filter(|x| x.starts_with(AMP)).count(), 8, "no duplicates: {iq}");
    assert!(f.iter().any(|x| x == DISCO_INFO), "{iq}");
    let listed = items(c).await;
    assert_eq!(listed.iter().filter(|j| *j == jid).count(), 1, "disco#items: {listed:?}");
    // The AMP node is also answered at the service.
    let iq = info(c, jid, Some(AMP)).await;
    let q = result_query(&iq, jid, DISCO_INFO);
    assert_eq!(q.attr("node"), Some(AMP), "{iq}");
    assert_eq!(features(q).into_iter().collect::<BTreeSet<_>>(), node_features(), "{iq}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amp_service_answers_at_its_default_jid() {
    let (_srv, mut c) = one_user(&[]).await;
    check_service(&mut c, "amp@localhost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amp_service_answers_at_a_configured_jid_and_only_there() {
    let (_srv, mut c) = one_user(&["--sess-man/plugins-conf/amp/amp-jid=router@localhost"]).await;
    check_service(&mut c, "router@localhost").await;
    let iq = info(&mut c, "amp@localhost", None).await;
    assert_eq!(iq.attr("type"), Some("error"), "the default address is not the service any more: {iq}");
    let listed = items(&mut c).await;
    assert_eq!(listed, ["router@localhost"], "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_feature_is_offered_after_authentication() {
    let (_srv, c) = one_user(&[]).await;
    let f = &c.features().raw;
    let amp: Vec<&El> = f.children.iter().filter(|x| x.is("amp", AMP_FEATURE)).collect();
    assert_eq!(amp.len(), 1, "R58: {f}");
    assert!(amp[0].children.is_empty() && amp[0].attrs.is_empty(), "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_amp_nothing_is_advertised() {
    let (_srv, mut c) = one_user(&[AMP_OFF]).await;
    let iq = info(&mut c, DOMAIN, None).await;
    let f = features(result_query(&iq, DOMAIN, DISCO_INFO));
    assert!(!f.iter().any(|x| x.starts_with(AMP)), "{iq}");
    assert!(f.iter().any(|x| x == "msgoffline"), "msgoffline still stores: {iq}");
    assert_eq!(error_condition(&info(&mut c, DOMAIN, Some(AMP)).await), "item-not-found");
    let iq = info(&mut c, "amp@localhost", None).await;
    assert_eq!(iq.attr("type"), Some("error"), "no AMP service: {iq}");
    assert!(items(&mut c).await.is_empty());
    assert!(c.features().raw.child("amp", AMP_FEATURE).is_none(), "{}", c.features().raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_amp_rules_are_carried_but_never_acted_on() {
    let srv = TestServer::start(&[AMP_OFF]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    // A rule that would fire (alert) and an invalid one (would be refused).
    let amp = format!(
        "<amp xmlns='{AMP}'><rule condition='deliver' value='direct' action='alert'/>\
         <rule condition='deliver' value='bogus' action='error'/></amp>"
    );
    let xml = format!("<message to='juliet@localhost' id='o1' type='chat'><body>secret</body>{amp}</message>");
    romeo.send_raw(&xml).await.unwrap();
    assert!(collect(&mut romeo).await.is_empty(), "no event, no error");
    let got = collect(&mut juliet).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].find_text("body"), Some("secret"));
    assert_same(got[0].child("amp", AMP).unwrap(), &parse(&amp), "the <amp> unchanged (no from/to added)");

    // Offline: stored as a plain message, not in the AMP store, no event;
    // delivered with its <amp> untouched at the next login.
    juliet.close().await.unwrap();
    let amp = format!("<amp xmlns='{AMP}'><rule condition='deliver' value='stored' action='alert'/></amp>");
    let xml = format!("<message to='juliet@localhost' id='o2' type='chat'><body>later</body>{amp}</message>");
    romeo.send_raw(&xml).await.unwrap();
    assert!(collect(&mut romeo).await.is_empty(), "no event");
    assert_eq!(stored(&srv, "juliet@localhost").await, (0, 1));
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let got = collect(&mut juliet).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].attr("id"), got[0].find_text("body")), (Some("o2"), Some("later")));
    assert_same(got[0].child("amp", AMP).unwrap(), &parse(&amp), "the <amp> unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amp_jid_on_another_domain_is_answered_where_it_is_listed() {
    let (_srv, mut c) = one_user(&["--sess-man/plugins-conf/amp/amp-jid=amp@your-domain.tld"]).await;
    check_service(&mut c, "amp@your-domain.tld").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_amp_jid_is_on_the_first_virtual_host() {
    let (_srv, mut c) = one_user(&["--virt-hosts=localhost,chat.example"]).await;
    check_service(&mut c, "amp@localhost").await;
    let iq = info(&mut c, "amp@chat.example", None).await;
    assert_eq!(iq.attr("type"), Some("error"), "only one service: {iq}");
    let (_srv, mut c) =
        one_user(&["--virt-hosts=localhost,chat.example", "--sess-man/plugins-conf/amp/amp-jid=amp@chat.example"])
            .await;
    check_service(&mut c, "amp@chat.example").await;
}
