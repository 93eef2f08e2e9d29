use super::*;
use crate::types::{DeliverValue, StanzaKind};
use crate::{amp_conditions, log, server, sessions};

const JULIET: &str = "juliet@localhost";
const CHAT: &str =
    "<message from='romeo@localhost/orchard' to='Juliet@localhost' type='chat'><body>hi</body></message>";

/// Declares every capability; logs from its manifest.
struct Everything;

impl Plugin for Everything {
    fn manifest() -> Manifest {
        log::info("manifest of everything");
        Manifest::new("everything", "1.0.0", &[StanzaKind::Message]).with_capabilities(&Capability::ALL)
    }

    fn process(stanza: &Stanza) -> Verdict {
        log::debug(&format!("to {:?}", stanza.to_bare()));
        Verdict::Pass
    }
}

/// Declares nothing beyond its stanza, the log and the clock.
struct Nothing;

impl Plugin for Nothing {
    fn manifest() -> Manifest {
        // Config may be read while the manifest is built, declared or not.
        let limit = server::config("limit").expect("config at load");
        Manifest::new("nothing", limit.as_deref().unwrap_or("1.0.0"), &[StanzaKind::Message])
    }

    fn process(_stanza: &Stanza) -> Verdict {
        Verdict::Pass
    }
}

struct Shouting;

impl AmpCondition for Shouting {
    fn declare() -> ConditionInfo {
        ConditionInfo { name: "shouting".into(), presence_safe: true, per_hop: true }
    }
    fn validate(value: &str) -> bool {
        value == "yes"
    }
    fn evaluate(_value: &str, message: &MessageInfo, _disposition: &Disposition) -> bool {
        message.body.as_deref().is_some_and(|b| b.chars().all(|c| !c.is_lowercase()))
    }
}

#[test]
fn sessions_answer_from_the_accounts_for_the_addressee() {
    let host = MockHost::new()
        .sessions(JULIET, &[ResourceInfo::new("balcony", 1, true)])
        .account("nurse@localhost")
        .stanza_xml(CHAT);
    host.run::<Everything, _>(|s| {
        assert_eq!(s.to_bare().as_deref(), Some(JULIET), "the address is normalised");
        assert_eq!(sessions::resources(JULIET).unwrap(), [ResourceInfo::new("balcony", 1, true)]);
        assert_eq!(sessions::resources("nurse@localhost").unwrap(), []);
        assert_eq!(sessions::resources("tybalt@localhost").unwrap(), []);
        assert_eq!(sessions::recipient_exists(), Ok(true));
        assert_eq!(sessions::recipient_is_remote(), Ok(false));
        assert_eq!(sessions::sender_may_see_presence(), Ok(false));
    });
    let to_nobody = MockHost::new().account("nurse@localhost").stanza_xml("<message to='tybalt@localhost'/>");
    assert_eq!(to_nobody.run::<Everything, _>(|_| sessions::recipient_exists()), Ok(false));
}

#[test]
fn the_addressee_is_the_five_answers_in_one() {
    let sessions_of = |xml: &str| {
        let host = MockHost::new().sessions(JULIET, &[ResourceInfo::new("balcony", 1, true)]).stanza_xml(xml);
        host.run::<Everything, _>(|s| {
            let to = sessions::addressee().unwrap();
            assert_eq!(to.to_bare, s.to_bare());
            assert_eq!(to.to_resource, s.to_resource());
            assert_eq!(to.exists, sessions::recipient_exists().unwrap());
            assert_eq!(to.remote, sessions::recipient_is_remote().unwrap());
            to
        })
    };
    let to = sessions_of("<message to='juliet@localhost/balcony'/>");
    assert_eq!(
        (to.to_resource.as_deref(), to.sessions.as_slice()),
        (Some("balcony"), &[ResourceInfo::new("balcony", 1, true)][..])
    );
    let to = sessions_of("<message to='tybalt@localhost'/>");
    assert!(!to.exists && to.sessions.is_empty());
    let denied = MockHost::new().stanza_xml(CHAT).run::<Nothing, _>(|_| sessions::addressee());
    assert_eq!(denied.unwrap_err().capability, Capability::Sessions);
}

#[test]
fn presence_visibility_is_answered_only_for_amp_messages() {
    let amp = "<message to='juliet@localhost'><amp xmlns='http://jabber.org/protocol/amp'/></message>";
    let may = |xml: &str| {
        let host = MockHost::new().sender_may_see_presence(true).stanza_xml(xml);
        host.run::<Everything, _>(|_| sessions::sender_may_see_presence())
    };
    assert_eq!(may(amp), Ok(true));
    assert_eq!(may(CHAT), Ok(false));
}

#[test]
fn the_grant_is_what_the_manifest_declares_less_what_is_denied() {
    let host = MockHost::new().config("limit", "2.0.0").now_ms(42).stanza_xml(CHAT);
    assert_eq!(host.granted::<Everything>(), Capability::ALL);
    assert_eq!(host.granted::<Nothing>(), []);
    host.run::<Nothing, _>(|_| {
        let denied = |capability| Denied { capability };
        assert_eq!(sessions::resources(JULIET), Err(denied(Capability::Sessions)));
        assert_eq!(sessions::recipient_exists(), Err(denied(Capability::Sessions)));
        assert_eq!(server::config("limit"), Err(denied(Capability::Config)));
        assert_eq!(amp_conditions::declared(), Err(denied(Capability::AmpConditions)));
        assert_eq!(server::now_ms(), 42, "the clock needs no capability");
    });
    assert_eq!(host.run::<Everything, _>(|_| server::config("limit")), Ok(Some("2.0.0".into())));
    assert_eq!(host.manifest::<Nothing>().version, "2.0.0");

    let narrowed = MockHost::new().deny(Capability::Sessions).deny(Capability::Config).stanza_xml(CHAT);
    assert!(!narrowed.granted::<Everything>().contains(&Capability::Sessions));
    narrowed.run::<Everything, _>(|_| {
        assert_eq!(sessions::resources(JULIET), Err(Denied { capability: Capability::Sessions }));
        assert_eq!(amp_conditions::declared(), Ok(vec![]));
    });
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| narrowed.manifest::<Nothing>()))
        .expect_err("config denied at load");
    assert!(err.downcast_ref::<String>().is_some_and(|m| m.contains("config at load")));
}

#[test]
fn logs_are_kept_in_order_and_the_grant_lookup_logs_nothing() {
    let host = MockHost::new().stanza_xml(CHAT);
    assert_eq!(host.process::<Everything>(), Verdict::Pass);
    let logs = host.logs();
    assert_eq!(logs, [LogEntry { level: Level::Debug, message: "to Some(\"juliet@localhost\")".into() }]);
    host.manifest::<Everything>();
    assert_eq!(host.logs().last().map(|l| l.message.as_str()), Some("manifest of everything"));
}

#[test]
fn custom_conditions_are_asked_about_the_current_message() {
    let shout = "<message from='romeo@localhost/orchard' to='juliet@localhost'><body>HELLO!</body></message>";
    let host = MockHost::new().amp_condition::<Shouting>().stanza_xml(shout);
    let stored = Disposition { deliver: DeliverValue::Stored, resources: vec![] };
    host.run::<Everything, _>(|_| {
        assert_eq!(amp_conditions::declared().unwrap()[0].name, "shouting");
        assert_eq!(amp_conditions::validate("shouting", "yes"), Ok(true));
        assert_eq!(amp_conditions::validate("shouting", "no"), Ok(false));
        assert_eq!(amp_conditions::validate("whispering", "yes"), Ok(false));
        assert_eq!(amp_conditions::evaluate("shouting", "yes", &stored), Ok(true));
    });
    let calm = MockHost::new().amp_condition::<Shouting>().stanza_xml(CHAT);
    assert_eq!(calm.run::<Everything, _>(|_| amp_conditions::evaluate("shouting", "yes", &stored)), Ok(false));
}

#[test]
fn a_host_call_outside_a_mock_host_says_what_to_do() {
    let err = std::panic::catch_unwind(sessions::recipient_exists).expect_err("no host");
    let message = err.downcast_ref::<String>().expect("a message");
    assert!(message.contains("`sessions::recipient_exists`") && message.contains("MockHost"), "{message}");
    // A failed call does not leave its host behind for the next test.
    let host = MockHost::new().stanza_xml(CHAT);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| host.run::<Everything, _>(|_| panic!("boom"))));
    assert!(std::panic::catch_unwind(server::now_ms).is_err());
    // The stanza accessors need no host.
    assert_eq!(MockStanza::parse(CHAT).unwrap().stanza().body().as_deref(), Some("hi"));
}

#[test]
#[should_panic(expected = "no stanza to lend")]
fn process_without_a_stanza_says_so() {
    MockHost::new().process::<Everything>();
}
