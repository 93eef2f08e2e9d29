//! RFC 6120 §5-§7 and XEP-0077 over a real socket: STARTTLS, each SASL
//! mechanism succeeding and failing, the attempt limit, registration.

use std::time::Duration;
use wasmpp_tests::client::{AuthError, Client, Mech};
use wasmpp_tests::server::{DOMAIN, TestServer};

fn condition(e: AuthError) -> String {
    match e {
        AuthError::Failure { condition, .. } => condition,
        AuthError::Other(e) => panic!("expected a SASL failure, got {e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mechanism_logs_in_with_the_right_password_and_fails_with_a_wrong_one() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("juliet", "r0m3o!").await;
    for mech in [Mech::ScramSha256, Mech::ScramSha1, Mech::Plain] {
        let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
        assert!(c.features().starttls_required, "TLS is required by default");
        c.starttls().await.unwrap();
        for m in ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
            assert!(c.features().mechanisms.iter().any(|x| x == m), "{m} offered after TLS");
        }
        let err = c.authenticate(mech, "juliet", "wrong").await.unwrap_err();
        assert_eq!(condition(err), "not-authorized", "{mech:?} with a wrong password");
        c.authenticate(mech, "juliet", "r0m3o!").await.unwrap_or_else(|e| panic!("{mech:?}: {e}"));
        let jid = c.bind(Some("balcony")).await.unwrap();
        assert_eq!(jid, "juliet@localhost/balcony");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_fails_like_a_wrong_password() {
    let srv = TestServer::start(&[]).await;
    for mech in [Mech::ScramSha256, Mech::ScramSha1, Mech::Plain] {
        let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
        c.starttls().await.unwrap();
        let err = c.authenticate(mech, "nobody", "x").await.unwrap_err();
        assert_eq!(condition(err), "not-authorized");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_before_starttls_is_refused_when_tls_is_required() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    assert!(c.features().mechanisms.is_empty(), "no SASL offered before TLS");
    let err = c.authenticate(Mech::ScramSha256, "romeo", "pw").await.unwrap_err();
    assert_eq!(condition(err), "encryption-required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_streams_when_allowed_offer_scram_but_not_plain() {
    let srv = TestServer::start(&["--tls-required=false"]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    assert!(!c.features().starttls_required);
    assert!(!c.features().mechanisms.iter().any(|m| m == "PLAIN"));
    let err = c.authenticate(Mech::Plain, "romeo", "pw").await.unwrap_err();
    assert_eq!(condition(err), "encryption-required");
    c.authenticate(Mech::ScramSha1, "romeo", "pw").await.unwrap();
    c.bind(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_failures_close_the_stream_with_policy_violation() {
    let srv = TestServer::start(&["--sasl-max-attempts=2"]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    c.starttls().await.unwrap();
    assert_eq!(condition(c.authenticate(Mech::ScramSha256, "romeo", "bad").await.unwrap_err()), "not-authorized");
    let second = c.authenticate(Mech::ScramSha256, "romeo", "bad").await;
    assert!(second.is_err());
    assert_eq!(c.expect_stream_error().await.unwrap(), "policy-violation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_band_registration_creates_an_account_that_can_log_in() {
    let srv = TestServer::start(&["--registration=true"]).await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    c.starttls().await.unwrap();
    assert!(c.features().register);
    let form = c.iq("get", None, "<query xmlns='jabber:iq:register'/>").await.unwrap();
    assert_eq!(form.attr("type"), Some("result"));
    let set = "<query xmlns='jabber:iq:register'><username>mercutio</username><password>queen mab</password></query>";
    assert_eq!(c.iq("set", None, set).await.unwrap().attr("type"), Some("result"));
    let again = c.iq("set", None, set).await.unwrap();
    assert_eq!(again.attr("type"), Some("error"));
    assert!(again.to_string().contains("conflict"), "{again}");
    let m = Client::login(srv.addr, DOMAIN, "mercutio", "queen mab", None).await.unwrap();
    assert!(m.jid().unwrap().starts_with("mercutio@localhost/"));
    m.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_off_by_default() {
    let srv = TestServer::start(&[]).await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    c.starttls().await.unwrap();
    assert!(!c.features().register);
    let set = "<query xmlns='jabber:iq:register'><username>tybalt</username><password>x</password></query>";
    let r = c.iq("set", None, set).await.unwrap();
    assert!(r.to_string().contains("service-unavailable"), "{r}");
    assert!(!srv.server.services.users.exists("tybalt@localhost").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stanzas_before_authentication_are_not_authorized() {
    let srv = TestServer::start(&[]).await;
    let mut c = Client::connect(srv.addr, DOMAIN).await.unwrap();
    c.send_raw("<message to='a@localhost'><body>hi</body></message>").await.unwrap();
    assert_eq!(c.expect_stream_error().await.unwrap(), "not-authorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_bound_client_stays_connected_and_closes_cleanly() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("romeo", "pw").await;
    let mut c = Client::login(srv.addr, DOMAIN, "romeo", "pw", Some("orchard")).await.unwrap();
    c.expect_silence(Duration::from_millis(200)).await.unwrap();
    let ping = c.iq("get", Some(DOMAIN), "<ping xmlns='urn:xmpp:ping'/>").await.unwrap();
    assert_eq!(ping.attr("type"), Some("result"));
    c.close().await.unwrap();
}
