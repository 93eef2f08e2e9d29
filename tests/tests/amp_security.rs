//! XEP-0079 §9 (R59–R61) as ruling D15, over real sockets: the three
//! `--amp-security-level`s against every kind of sender, with the roster
//! relations set up over XMPP (RFC 6121 §3 subscriptions), for a recipient
//! online and offline (after a restart, so the roster can only come from
//! the database).
//!
//! A leaky rule (every defined condition) with alert, error or notify is
//! accepted under STRICT only from the recipient's own account or from a
//! contact her roster lists with subscription `from` or `both`; under
//! PERFORMANCE never; under NONE always. `drop` is accepted everywhere. A
//! refusal is `not-acceptable` + `<invalid-rules>` listing the refused rules,
//! and the message is neither delivered nor stored.

mod amp_support;

use amp_support::{
    AMP, Outcome, Refusal, assert_event, assert_refusal, clear, collect, login, parse, probe, rules_of, stored,
};
use wasmpp_tests::client::{Client, ROSTER};
use wasmpp_tests::server::TestServer;
use wasmpp_tests::xml::El;

const JULIET: &str = "juliet@localhost";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    Strict,
    Performance,
    None,
}

/// A sender and what juliet's roster says about it.
#[derive(Debug, Clone, Copy)]
struct Sender {
    user: &'static str,
    resource: &'static str,
    /// Juliet's roster gives it `from` or `both`, or it is juliet herself.
    may_see: bool,
    what: &'static str,
}

/// Everyone but juliet herself; their relations are set up by [`relations`].
const OTHERS: [Sender; 6] = [
    Sender { user: "romeo", resource: "orchard", may_see: true, what: "subscription from" },
    Sender { user: "mercutio", resource: "street", may_see: true, what: "subscription both" },
    Sender { user: "benvolio", resource: "square", may_see: false, what: "subscription to" },
    Sender { user: "tybalt", resource: "alley", may_see: false, what: "subscription none (roster item)" },
    Sender { user: "paris", resource: "church", may_see: false, what: "pending-in (unanswered request)" },
    Sender { user: "nurse", resource: "kitchen", may_see: false, what: "no relation at all" },
];

const SAME_ACCOUNT: Sender = Sender { user: "juliet", resource: "balcony", may_see: true, what: "the same account" };

const ACTIONS: [&str; 4] = ["alert", "drop", "error", "notify"];

/// Leaky rules and whether each is met: juliet online (a session
/// `chamber`), then offline (bare JID, so the message would be stored).
const ONLINE_RULES: [(&str, &str, bool); 5] = [
    ("deliver", "direct", true),
    ("match-resource", "any", true),
    ("expire-at", "2001-01-01T00:00:00Z", true),
    ("deliver", "stored", false),
    ("expire-at", "2999-01-01T00:00:00Z", false),
];
const OFFLINE_RULES: [(&str, &str, bool); 5] = [
    ("deliver", "stored", true),
    ("match-resource", "exact", true),
    ("expire-at", "2001-01-01T00:00:00Z", true),
    ("deliver", "direct", false),
    ("expire-at", "2999-01-01T00:00:00Z", false),
];

fn accepted(level: Level, sender: &Sender, action: &str) -> bool {
    action == "drop"
        || match level {
            Level::Strict => sender.may_see,
            Level::Performance => false,
            Level::None => true,
        }
}

async fn server(level: &str) -> TestServer {
    let srv = TestServer::start(&[&format!("--amp-security-level={level}")]).await;
    for user in ["juliet", "romeo", "mercutio", "benvolio", "tybalt", "paris", "nurse"] {
        srv.add_user(user, "pw").await;
    }
    srv
}

/// `a` asks `b` for a subscription (RFC 6121 §3.1.1) and `b` approves
/// (§3.1.5); each step is handled before the next.
async fn subscribe(a: &mut Client, a_bare: &str, b: &mut Client, b_bare: &str) {
    a.send_presence_to(b_bare, Some("subscribe")).await.unwrap();
    a.sync().await.unwrap();
    b.send_presence_to(a_bare, Some("subscribed")).await.unwrap();
    b.sync().await.unwrap();
}

/// Sets up juliet's roster over XMPP and checks the result; returns the
/// senders' sessions, in the order of [`OTHERS`].
async fn relations(srv: &TestServer) -> Vec<Client> {
    let mut juliet = login(srv, "juliet", "balcony").await;
    let mut senders = Vec::new();
    for s in OTHERS {
        senders.push(login(srv, s.user, s.resource).await);
    }
    let bare = |i: usize| format!("{}@localhost", OTHERS[i].user);
    // romeo → juliet approved: juliet's roster has romeo with `from`.
    subscribe(&mut senders[0], &bare(0), &mut juliet, JULIET).await;
    // mercutio ↔ juliet: `both`.
    subscribe(&mut senders[1], &bare(1), &mut juliet, JULIET).await;
    subscribe(&mut juliet, JULIET, &mut senders[1], &bare(1)).await;
    // juliet → benvolio approved: juliet's roster has benvolio with `to`.
    subscribe(&mut juliet, JULIET, &mut senders[2], &bare(2)).await;
    // tybalt is a plain roster item of juliet's, subscription none.
    let r = juliet.roster_set("<item jid='tybalt@localhost' name='Tybalt'/>").await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    // paris asks, juliet never answers.
    senders[4].send_presence_to(JULIET, Some("subscribe")).await.unwrap();
    senders[4].sync().await.unwrap();

    let roster = juliet.roster_get(None).await.unwrap();
    let items = roster.child("query", ROSTER).unwrap_or_else(|| panic!("{roster}"));
    let subscription =
        |jid: &str| items.children.iter().find(|i| i.attr("jid") == Some(jid)).and_then(|i| i.attr("subscription"));
    assert_eq!(subscription("romeo@localhost"), Some("from"), "{roster}");
    assert_eq!(subscription("mercutio@localhost"), Some("both"), "{roster}");
    assert_eq!(subscription("benvolio@localhost"), Some("to"), "{roster}");
    assert_eq!(subscription("tybalt@localhost"), Some("none"), "{roster}");
    assert!(matches!(subscription("paris@localhost"), None | Some("none")), "{roster}");
    assert_eq!(subscription("nurse@localhost"), None, "{roster}");
    juliet.close().await.unwrap();
    for c in senders.iter_mut() {
        collect(c).await;
    }
    senders
}

/// Counts messages so every case has its own id.
struct Run {
    level: Level,
    n: usize,
}

impl Run {
    /// Sends one leaky rule from `sender` to `to` and checks the outcome
    /// against D15 and, when accepted, against the rule's effect.
    #[allow(clippy::too_many_arguments)]
    async fn case(
        &mut self,
        srv: &TestServer,
        sender: &Sender,
        client: &mut Client,
        to: &str,
        mut recipient: Option<&mut Client>,
        (condition, value, met): (&str, &str, bool),
        action: &str,
    ) {
        self.n += 1;
        let id = format!("s{}", self.n);
        let from = format!("{}@localhost/{}", sender.user, sender.resource);
        let where_ = if recipient.is_some() { "online" } else { "offline" };
        let case =
            format!("{:?}, {} ({}), juliet {where_}: {condition}={value} {action}", self.level, from, sender.what);
        let amp_xml =
            format!("<amp xmlns='{AMP}'><rule condition='{condition}' value='{value}' action='{action}'/></amp>");
        client
            .send_raw(&format!("<message to='{to}' id='{id}' type='chat'><body>secret</body>{amp_xml}</message>"))
            .await
            .unwrap();
        let to_sender = collect(client).await;
        let to_recipient = match recipient.as_deref_mut() {
            Some(r) => collect(r).await,
            None => Vec::new(),
        };
        let (amp_rows, plain_rows) = stored(srv, JULIET).await;
        clear(srv, JULIET).await;
        let sent = parse(&amp_xml);
        let rule = rules_of(&sent).remove(0);

        if !accepted(self.level, sender, action) {
            assert_eq!(to_sender.len(), 1, "{case}: refused, got {to_sender:?}");
            assert_refusal(&to_sender[0], &from, Some(&id), &sent, Refusal::InvalidRules, &[rule]);
            assert!(to_recipient.is_empty(), "{case}: refused yet delivered: {to_recipient:?}");
            assert_eq!((amp_rows, plain_rows), (0, 0), "{case}: refused yet stored");
            return;
        }
        let fired = met;
        let takes_default = !fired || action == "notify";
        if fired && action != "drop" {
            assert_eq!(to_sender.len(), 1, "{case}: the event, got {to_sender:?}");
            assert_event(&to_sender[0], &from, &id, to, action, &rule);
        } else {
            assert!(to_sender.is_empty(), "{case}: accepted, nothing to tell: {to_sender:?}");
        }
        match (takes_default, recipient.is_some()) {
            (true, true) => {
                assert_eq!(to_recipient.len(), 1, "{case}: delivered, got {to_recipient:?}");
                assert_eq!(to_recipient[0].find_text("body"), Some("secret"), "{case}");
                assert_eq!(to_recipient[0].attr("id"), Some(id.as_str()), "{case}");
            }
            (true, false) => assert_eq!(amp_rows + plain_rows, 1, "{case}: stored"),
            (false, _) => {
                assert!(to_recipient.is_empty(), "{case}: discarded, got {to_recipient:?}");
                assert_eq!((amp_rows, plain_rows), (0, 0), "{case}: discarded, yet stored");
            }
        }
    }
}

async fn every_sender_and_rule(level: Level, flag: &str) {
    let srv = server(flag).await;
    let mut senders = relations(&srv).await;
    let mut run = Run { level, n: 0 };

    // Juliet online: one session `chamber`, addressed by her bare JID.
    let mut chamber = login(&srv, "juliet", "chamber").await;
    for (sender, client) in OTHERS.iter().zip(senders.iter_mut()) {
        for rule in ONLINE_RULES {
            for action in ACTIONS {
                run.case(&srv, sender, client, JULIET, Some(&mut chamber), rule, action).await;
            }
        }
    }
    // Her own other session writes to `chamber`.
    let mut balcony = login(&srv, "juliet", "balcony").await;
    for rule in ONLINE_RULES {
        for action in ACTIONS {
            let to = "juliet@localhost/chamber";
            run.case(&srv, &SAME_ACCOUNT, &mut balcony, to, Some(&mut chamber), rule, action).await;
        }
    }
    assert!(collect(&mut balcony).await.is_empty());

    // Juliet offline, after a restart: nothing of her roster is cached.
    for c in senders.into_iter().chain([chamber, balcony]) {
        c.close().await.unwrap();
    }
    let srv = srv.restart().await;
    let mut senders = Vec::new();
    for s in OTHERS {
        senders.push(login(&srv, s.user, s.resource).await);
    }
    for (sender, client) in OTHERS.iter().zip(senders.iter_mut()) {
        for rule in OFFLINE_RULES {
            for action in ACTIONS {
                run.case(&srv, sender, client, JULIET, None, rule, action).await;
            }
        }
    }
    assert_eq!(run.n, (6 + 1) * 5 * 4 + 6 * 5 * 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_accepts_leaky_rules_only_from_subscribed_senders_and_the_same_account() {
    every_sender_and_rule(Level::Strict, "STRICT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_refuses_every_leaky_rule_that_answers_the_sender() {
    every_sender_and_rule(Level::Performance, "PERFORMANCE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_accepts_every_rule_from_everyone() {
    every_sender_and_rule(Level::None, "NONE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_is_the_default() {
    let srv = TestServer::start(&[]).await;
    for user in ["juliet", "nurse"] {
        srv.add_user(user, "pw").await;
    }
    let mut nurse = login(&srv, "nurse", "kitchen").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    let xml = format!("<amp xmlns='{AMP}'><rule condition='deliver' value='direct' action='alert'/></amp>");
    nurse.send_raw(&format!("<message to='{JULIET}' id='d1'><body>secret</body>{xml}</message>")).await.unwrap();
    let got = collect(&mut nurse).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let sent = parse(&xml);
    assert_refusal(&got[0], "nurse@localhost/kitchen", Some("d1"), &sent, Refusal::InvalidRules, &rules_of(&sent));
    assert!(collect(&mut juliet).await.is_empty());
    // The same rule from her own account is accepted (the alert fires).
    let mut chamber = login(&srv, "juliet", "chamber").await;
    chamber.send_raw(&format!("<message to='{JULIET}/balcony' id='d2'><body>x</body>{xml}</message>")).await.unwrap();
    let got = collect(&mut chamber).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_event(&got[0], "juliet@localhost/chamber", "d2", "juliet@localhost/balcony", "alert", &rules_of(&sent)[0]);
}

/// Sends `rules` from `client` to juliet (online) and returns what it got.
async fn send_rules(client: &mut Client, id: &str, rules: &[&str]) -> (El, Vec<El>) {
    let xml = format!("<amp xmlns='{AMP}'>{}</amp>", rules.concat());
    client
        .send_raw(&format!("<message to='{JULIET}' id='{id}' type='chat'><body>secret</body>{xml}</message>"))
        .await
        .unwrap();
    (parse(&xml), collect(client).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_refused_rules_are_listed_and_the_first_offender_decides() {
    for (flag, user, resource) in [("STRICT", "nurse", "kitchen"), ("PERFORMANCE", "romeo", "orchard")] {
        let srv = server(flag).await;
        let mut senders = relations(&srv).await;
        let sender = OTHERS.iter().position(|s| s.user == user).unwrap();
        let client = &mut senders[sender];
        let from = format!("{user}@localhost/{resource}");
        let mut juliet = login(&srv, "juliet", "chamber").await;

        // drop is never leaky; the three others are listed, in order.
        let rules = [
            "<rule condition='deliver' value='direct' action='drop'/>",
            "<rule condition='deliver' value='stored' action='alert'/>",
            "<rule condition='expire-at' value='2999-01-01T00:00:00Z' action='notify'/>",
            "<rule condition='match-resource' value='other' action='error'/>",
        ];
        let (sent, got) = send_rules(client, "l1", &rules).await;
        assert_eq!(got.len(), 1, "{flag}: {got:?}");
        let all = rules_of(&sent);
        assert_refusal(&got[0], &from, Some("l1"), &sent, Refusal::InvalidRules, &all[1..]);

        // D7: a security refusal first → not-acceptable, the unsupported
        // action after it is not listed.
        let rules = [
            "<rule condition='deliver' value='direct' action='alert'/>",
            "<rule condition='deliver' value='direct' action='explode'/>",
            "<rule condition='deliver' value='bogus' action='drop'/>",
        ];
        let (sent, got) = send_rules(client, "l2", &rules).await;
        assert_eq!(got.len(), 1, "{flag}: {got:?}");
        let all = rules_of(&sent);
        let listed = [all[0].clone(), all[2].clone()];
        assert_refusal(&got[0], &from, Some("l2"), &sent, Refusal::InvalidRules, &listed);

        // An unsupported action first → bad-request listing only it.
        let rules = [
            "<rule condition='deliver' value='direct' action='explode'/>",
            "<rule condition='deliver' value='direct' action='alert'/>",
        ];
        let (sent, got) = send_rules(client, "l3", &rules).await;
        assert_eq!(got.len(), 1, "{flag}: {got:?}");
        let all = rules_of(&sent);
        assert_refusal(&got[0], &from, Some("l3"), &sent, Refusal::UnsupportedActions, &all[..1]);

        // Only drop rules: accepted; the first met one drops silently.
        let rules = [
            "<rule condition='deliver' value='stored' action='drop'/>",
            "<rule condition='match-resource' value='any' action='drop'/>",
        ];
        let (_, got) = send_rules(client, "l4", &rules).await;
        assert!(got.is_empty(), "{flag}: {got:?}");
        assert!(collect(&mut juliet).await.is_empty(), "{flag}: dropped");
        assert_eq!(stored(&srv, JULIET).await, (0, 0));
    }
}

const DIRECT_ALERT: &str = "<rule condition='deliver' value='direct' action='alert'/>";
const STORED_ALERT: &str = "<rule condition='deliver' value='stored' action='alert'/>";
const ROMEO: &str = "romeo@localhost";
const ORCHARD: &str = "romeo@localhost/orchard";

/// Romeo's met alert to juliet (online: her session `balcony`; offline: her
/// bare JID, stored).
async fn romeo_alert(romeo: &mut Client, juliet: Option<&mut Client>, id: &str) -> Outcome {
    let rule = if juliet.is_some() { DIRECT_ALERT } else { STORED_ALERT };
    probe(romeo, ORCHARD, JULIET, juliet, rule, id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_follows_roster_changes_while_the_recipient_is_online() {
    let srv = server("STRICT").await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    juliet.roster_get(None).await.unwrap();
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c1").await, Outcome::Refused, "no relation yet");

    subscribe(&mut romeo, ROMEO, &mut juliet, JULIET).await;
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c2").await, Outcome::Fired, "approved: from");

    // Juliet cancels romeo's subscription (RFC 6121 §3.2): from → none.
    juliet.send_presence_to(ROMEO, Some("unsubscribed")).await.unwrap();
    juliet.sync().await.unwrap();
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c3").await, Outcome::Refused, "cancelled by juliet");

    subscribe(&mut romeo, ROMEO, &mut juliet, JULIET).await;
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c4").await, Outcome::Fired, "approved again");

    // Romeo unsubscribes himself (§3.3): juliet's item goes from → none.
    romeo.send_presence_to(JULIET, Some("unsubscribe")).await.unwrap();
    romeo.sync().await.unwrap();
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c5").await, Outcome::Refused, "unsubscribed by romeo");

    subscribe(&mut romeo, ROMEO, &mut juliet, JULIET).await;
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c6").await, Outcome::Fired, "approved a third time");

    // Juliet removes him from her roster (§2.5).
    let r = juliet.roster_set("<item jid='romeo@localhost' subscription='remove'/>").await.unwrap();
    assert_eq!(r.attr("type"), Some("result"), "{r}");
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "c7").await, Outcome::Refused, "removed from her roster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_follows_roster_changes_while_the_recipient_is_offline() {
    let srv = server("STRICT").await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    subscribe(&mut romeo, ROMEO, &mut juliet, JULIET).await;
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    assert_eq!(romeo_alert(&mut romeo, Some(&mut juliet), "f1").await, Outcome::Fired);
    juliet.close().await.unwrap();
    collect(&mut romeo).await;
    assert_eq!(romeo_alert(&mut romeo, None, "f2").await, Outcome::Fired, "offline, still from");
    assert_eq!(stored(&srv, JULIET).await, (0, 0), "the alert discards");

    // While she is offline, romeo unsubscribes: her item becomes none.
    romeo.send_presence_to(JULIET, Some("unsubscribe")).await.unwrap();
    romeo.sync().await.unwrap();
    collect(&mut romeo).await;
    assert_eq!(romeo_alert(&mut romeo, None, "f3").await, Outcome::Refused, "offline, unsubscribed");
    assert_eq!(stored(&srv, JULIET).await.0, 0, "refused: not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_compares_prepared_jids() {
    let srv = server("STRICT").await;
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let mut juliet = login(&srv, "juliet", "balcony").await;
    subscribe(&mut romeo, ROMEO, &mut juliet, JULIET).await;
    collect(&mut romeo).await;
    collect(&mut juliet).await;
    // RFC 7622: the localpart and domain are case-insensitive.
    for (to, id) in [("Juliet@localhost", "j1"), ("JULIET@LOCALHOST", "j2")] {
        let xml = format!("<amp xmlns='{AMP}'>{DIRECT_ALERT}</amp>");
        romeo.send_raw(&format!("<message to='{to}' id='{id}'><body>x</body>{xml}</message>")).await.unwrap();
        let got = collect(&mut romeo).await;
        assert_eq!(got.len(), 1, "{to}: {got:?}");
        assert_eq!(
            got[0].find("amp").and_then(|a| a.attr("status")),
            Some("alert"),
            "{to}: accepted and fired: {}",
            got[0]
        );
        assert!(collect(&mut juliet).await.is_empty(), "{to}");
    }
    // Juliet to herself, spelled differently: the same account.
    let mut chamber = login(&srv, "juliet", "chamber").await;
    let xml = format!("<amp xmlns='{AMP}'>{DIRECT_ALERT}</amp>");
    chamber
        .send_raw(&format!("<message to='JULIET@localhost/balcony' id='j3'><body>x</body>{xml}</message>"))
        .await
        .unwrap();
    let got = collect(&mut chamber).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].find("amp").and_then(|a| a.attr("status")), Some("alert"), "{}", got[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_refuses_leaky_rules_to_a_nonexistent_account_without_a_bounce() {
    let srv = server("STRICT").await;
    let mut nurse = login(&srv, "nurse", "kitchen").await;
    let rule = "<rule condition='deliver' value='none' action='alert'/>";
    let outcome = probe(&mut nurse, "nurse@localhost/kitchen", "nobody@localhost", None, rule, "n1").await;
    assert_eq!(outcome, Outcome::Refused, "nobody's roster lists the nurse");
    // drop is accepted: no event, and the drop replaces the bounce.
    let xml = format!("<amp xmlns='{AMP}'><rule condition='deliver' value='none' action='drop'/></amp>");
    nurse.send_raw(&format!("<message to='nobody@localhost' id='n2'><body>x</body>{xml}</message>")).await.unwrap();
    let got = collect(&mut nurse).await;
    assert!(got.is_empty(), "{got:?}");
}
