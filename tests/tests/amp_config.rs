//! amp.md section A over real sockets: the Tigase configuration lines of
//! the seeds (`--sm-plugins=…amp…`, `--amp-security-level`, `--amp-repo-uri`,
//! `sess-man/plugins-conf/amp/amp-jid`, `…/store-limit`), given on the
//! command line and in an `init.properties` file passed with `--config`,
//! each checked by what the running server then does — not by reading the
//! parsed configuration back.

mod amp_support;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amp_support::{AMP, CLIENT, DISCO_INFO, Outcome, STANZAS, collect, login, probe, stored};
use wasmpp::store::Db;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::{DOMAIN, TestServer};

const ALERT: &str = "<rule condition='deliver' value='direct' action='alert'/>";

fn amp(rule: &str) -> String {
    format!("<amp xmlns='{AMP}'>{rule}</amp>")
}

/// How a running server treats AMP, as seen by its clients.
#[derive(Debug, PartialEq)]
struct Behaviour {
    /// An alert from juliet's own other session.
    same_account: Outcome,
    /// An alert from romeo, who has no roster relation with juliet.
    stranger: Outcome,
}

const STRICT: Behaviour = Behaviour { same_account: Outcome::Fired, stranger: Outcome::Refused };
const PERFORMANCE: Behaviour = Behaviour { same_account: Outcome::Refused, stranger: Outcome::Refused };
const NONE: Behaviour = Behaviour { same_account: Outcome::Fired, stranger: Outcome::Fired };

/// Sends a met `deliver=direct` alert from `from` to `to`, whose session
/// is `recipient`.
async fn alert(from: &mut Client, from_jid: &str, to: &str, recipient: &mut Client, id: &str) -> Outcome {
    probe(from, from_jid, to, Some(recipient), ALERT, id).await
}

/// Checks a started server: a plain message is delivered, a met `drop`
/// rule is accepted (silence), and the alerts behave as `expected`.
async fn check(srv: &TestServer, expected: Behaviour, case: &str) {
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = login(srv, "romeo", "orchard").await;
    let mut balcony = login(srv, "juliet", "balcony").await;
    let mut chamber = login(srv, "juliet", "chamber").await;

    romeo.send_message("juliet@localhost/balcony", "chat", "p1", "plain").await.unwrap();
    assert!(collect(&mut romeo).await.is_empty(), "{case}");
    let got = collect(&mut balcony).await;
    assert_eq!(got.len(), 1, "{case}: the plain message: {got:?}");
    assert_eq!((got[0].attr("id"), got[0].find_text("body")), (Some("p1"), Some("plain")), "{case}");

    let drop = amp("<rule condition='deliver' value='direct' action='drop'/>");
    romeo
        .send_raw(&format!("<message to='juliet@localhost/balcony' id='d1'><body>x</body>{drop}</message>"))
        .await
        .unwrap();
    assert!(collect(&mut romeo).await.is_empty(), "{case}: drop is accepted and silent");
    assert!(collect(&mut balcony).await.is_empty(), "{case}: dropped");

    let same_account =
        alert(&mut chamber, "juliet@localhost/chamber", "juliet@localhost/balcony", &mut balcony, "a1").await;
    let stranger = alert(&mut romeo, "romeo@localhost/orchard", "juliet@localhost/balcony", &mut balcony, "a2").await;
    assert_eq!(Behaviour { same_account, stranger }, expected, "{case}");
}

/// Whether the AMP service answers disco#info at `jid`.
async fn service_at(srv: &TestServer, jid: &str) -> bool {
    // Several probes may run on one server: the account may exist already.
    let _ = srv.server.services.users.create("prober@localhost", "pw", 4096).await;
    let mut c = login(srv, "prober", "probe").await;
    let iq = c.iq("get", Some(jid), &format!("<query xmlns='{DISCO_INFO}'/>")).await.unwrap();
    let answered = iq.attr("type") == Some("result");
    if answered {
        let identity = iq.find("query/identity").unwrap_or_else(|| panic!("{iq}"));
        assert_eq!(identity.attr("category"), Some("component"), "{iq}");
        assert!(iq.find("query").unwrap().children.iter().any(|f| f.attr("var") == Some(AMP)), "{iq}");
    }
    c.close().await.unwrap();
    answered
}

/// The seeds' single lines (amp.md section A), each with the behaviour it
/// must give; the amp-jid line is written without `--` in a file, as the
/// seeds do.
const LINES: [(&str, Behaviour); 10] = [
    ("--sm-plugins=amp,-message,-msgoffline", STRICT),
    ("--sm-plugins=+amp,-message,-msgoffline", STRICT),
    ("--amp-security-level=STRICT", STRICT),
    ("--amp-security-level=strict", STRICT),
    ("--amp-security-level=PERFORMANCE", PERFORMANCE),
    ("--amp-security-level=performance", PERFORMANCE),
    ("--amp-security-level=Performance", PERFORMANCE),
    ("--amp-security-level=NONE", NONE),
    ("--amp-security-level=none", NONE),
    ("--sess-man/plugins-conf/amp/amp-jid=amp@localhost", STRICT),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_lines_on_the_command_line() {
    for (line, expected) in LINES {
        let srv = TestServer::start(&[line]).await;
        check(&srv, expected, line).await;
        assert!(service_at(&srv, "amp@localhost").await, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_lines_in_an_init_properties_file() {
    for (line, expected) in LINES {
        let line = if line.contains("plugins-conf") { line.trim_start_matches('-') } else { line };
        let (_dir, flag) = properties(&format!("# one seed line\n{line}\n"));
        let srv = TestServer::start(&[&flag]).await;
        check(&srv, expected, line).await;
        assert!(service_at(&srv, "amp@localhost").await, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_security_level_is_a_config_error() {
    for value in ["FAST", "", "STRICTLY"] {
        let line = format!("--amp-security-level={value}");
        let err = TestServer::try_start(&[&line]).await.err().unwrap_or_else(|| panic!("{line} started"));
        assert!(err.contains("--amp-security-level"), "{line}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_jid_line_moves_the_service() {
    let srv = TestServer::start(&["--sess-man/plugins-conf/amp/amp-jid=router@localhost"]).await;
    assert!(service_at(&srv, "router@localhost").await);
    assert!(!service_at(&srv, "amp@localhost").await);
    check(&srv, STRICT, "amp-jid=router@localhost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_together_with_message_or_msgoffline_does_not_start() {
    for line in [
        "--sm-plugins=+amp,+message",
        "--sm-plugins=+amp,+msgoffline",
        "--sm-plugins=amp,message",
        "--sm-plugins=+message,+msgoffline",
    ] {
        let err = TestServer::try_start(&[line]).await.err().unwrap_or_else(|| panic!("{line} started"));
        assert!(err.contains("--sm-plugins"), "{line}: {err}");
        assert!(err.contains("twice"), "{line}: the error says why: {err}");
    }
}

/// Writes `text` as `init.properties` in a fresh directory.
fn properties(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("init.properties");
    std::fs::write(&path, text).unwrap();
    let flag = format!("--config={}", path.display());
    (dir, flag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_block_in_an_init_properties_file() {
    let amp_db = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}", amp_db.path().join("amp.db").display());
    let (_dir, flag) = properties(&format!(
        "# the seeds' example, verbatim but for the domain and database\n\
         --sm-plugins=amp,-message,-msgoffline\n\
         --amp-repo-uri={uri}\n\
         --amp-security-level=STRICT\n\
         sess-man/plugins-conf/amp/amp-jid=amp@localhost\n"
    ));
    let srv = TestServer::start(&[&flag]).await;
    check(&srv, STRICT, "seed block").await;
    assert!(service_at(&srv, "amp@localhost").await);
    // The repository line took effect: a stored AMP message is in amp.db.
    stores_in(&srv, &uri).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_default_values_in_an_init_properties_file_take_effect() {
    let (_dir, flag) = properties(
        "--sm-plugins=+amp,-message,-msgoffline\n\
         --amp-security-level=none\n\
         sess-man/plugins-conf/amp/amp-jid=router@localhost\n",
    );
    let srv = TestServer::start(&[&flag]).await;
    check(&srv, NONE, "file: none").await;
    assert!(service_at(&srv, "router@localhost").await);
    assert!(!service_at(&srv, "amp@localhost").await);

    let (_dir, flag) = properties("--amp-security-level=PERFORMANCE\n");
    let srv = TestServer::start(&[&flag]).await;
    check(&srv, PERFORMANCE, "file: PERFORMANCE").await;

    let (_dir, flag) = properties("sess-man/plugins-conf/amp/store-limit=2\n");
    let srv = TestServer::start(&[&flag]).await;
    third_message_bounces(&srv).await;

    let (_dir, flag) = properties("# AMP and the message plugin together\n--sm-plugins=+amp,+message\n");
    let err = TestServer::try_start(&[&flag]).await.err().expect("amp with message started");
    assert!(err.contains("--sm-plugins") && err.contains("twice"), "{err}");
}

/// With `store-limit=2`: romeo's third AMP message to the offline juliet
/// bounces with Tigase's wording; another sender is not affected (the
/// limit is per sender → recipient pair).
async fn third_message_bounces(srv: &TestServer) {
    for user in ["romeo", "juliet", "nurse"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = login(srv, "romeo", "orchard").await;
    // Not met for an offline recipient, and accepted at every level.
    let rule = amp("<rule condition='deliver' value='direct' action='drop'/>");
    for i in 1..=3 {
        let xml = format!("<message to='juliet@localhost' id='q{i}' type='chat'><body>n{i}</body>{rule}</message>");
        romeo.send_raw(&xml).await.unwrap();
        let got = collect(&mut romeo).await;
        if i < 3 {
            assert!(got.is_empty(), "message {i}: {got:?}");
            continue;
        }
        assert_eq!(got.len(), 1, "{got:?}");
        let bounce = &got[0];
        assert_eq!(bounce.attr("type"), Some("error"), "{bounce}");
        assert_eq!(bounce.attr("id"), Some("q3"), "{bounce}");
        assert_eq!(bounce.attr("from"), Some("juliet@localhost"), "{bounce}");
        assert_eq!(bounce.attr("to"), Some("romeo@localhost/orchard"), "{bounce}");
        let error = bounce.child("error", CLIENT).unwrap_or_else(|| panic!("{bounce}"));
        assert_eq!(error.attr("type"), Some("cancel"), "{bounce}");
        assert!(error.child("service-unavailable", STANZAS).is_some(), "{bounce}");
        let text = error.child("text", STANZAS).map(|t| t.text.as_str());
        assert_eq!(text, Some("Offline messages queue is full"), "{bounce}");
    }
    assert_eq!(stored(srv, "juliet@localhost").await, (2, 0));
    let mut nurse = login(srv, "nurse", "kitchen").await;
    nurse.send_raw(&format!("<message to='juliet@localhost' id='n1'><body>n</body>{rule}</message>")).await.unwrap();
    assert!(collect(&mut nurse).await.is_empty());
    assert_eq!(stored(srv, "juliet@localhost").await, (3, 0));
    // Juliet gets the three, in order.
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let ids: Vec<String> = collect(&mut juliet).await.iter().filter_map(|m| m.attr("id")).map(String::from).collect();
    assert_eq!(ids, ["q1", "q2", "n1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_limit_line_bounces_the_third_message() {
    let srv = TestServer::start(&["--sess-man/plugins-conf/amp/store-limit=2"]).await;
    third_message_bounces(&srv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_limit_zero_is_unlimited() {
    let srv = TestServer::start(&["--sess-man/plugins-conf/amp/store-limit=0"]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let rule = amp("<rule condition='deliver' value='direct' action='drop'/>");
    for i in 1..=150 {
        romeo
            .send_raw(&format!("<message to='juliet@localhost' id='u{i}'><body>n</body>{rule}</message>"))
            .await
            .unwrap();
    }
    assert!(collect(&mut romeo).await.is_empty(), "no bounce");
    assert_eq!(stored(&srv, "juliet@localhost").await, (150, 0), "more than the default of 100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_amp_repo_uri_stops_the_start() {
    for uri in ["nosuch://x/y", "jdbc:oracle://h/db?user=u"] {
        let line = format!("--amp-repo-uri={uri}");
        let err = TestServer::try_start(&[&line]).await.err().unwrap_or_else(|| panic!("{line} started"));
        assert!(err.contains("amp-repo-uri"), "{line}: {err}");
    }
}

/// A name no other test run uses, for tables shared between runs.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// An AMP message to an offline user (a rule that does not fire) lands in
/// the database at `native_uri`, not in the user database, and is
/// delivered at login, after which the row is gone.
async fn stores_in(srv: &TestServer, native_uri: &str) {
    let (romeo, juliet) = (unique("romeo"), unique("juliet"));
    let juliet_bare = format!("{juliet}@localhost");
    srv.add_user(&romeo, "pw").await;
    srv.add_user(&juliet, "pw").await;
    let amp_db = Db::connect(native_uri).await.unwrap().amp();
    assert_eq!(amp_db.count(&juliet_bare).await.unwrap(), 0);

    let mut sender = login(srv, &romeo, "orchard").await;
    // Same account is not needed: drop is accepted at every level.
    let rule = amp("<rule condition='deliver' value='direct' action='drop'/>");
    let xml = format!("<message to='{juliet_bare}' id='r1' type='chat'><body>kept</body>{rule}</message>");
    sender.send_raw(&xml).await.unwrap();
    assert!(collect(&mut sender).await.is_empty(), "not met: no event");
    assert_eq!(amp_db.count(&juliet_bare).await.unwrap(), 1, "in the --amp-repo-uri database");
    assert_eq!(stored(srv, &juliet_bare).await, (1, 0), "the server's AMP store is that database");
    // The user database holds no AMP row (nor, typically, an AMP table).
    let user_db = Db::connect(&format!("sqlite://{}", srv.data_dir().join("wasmpp.db").display())).await.unwrap();
    assert!(matches!(user_db.amp().count(&juliet_bare).await, Ok(0) | Err(_)));

    let mut c = Client::login(srv.addr, DOMAIN, &juliet, "pw", Some("balcony")).await.unwrap();
    c.ignore_presence();
    let got = collect(&mut c).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].attr("id"), got[0].find_text("body")), (Some("r1"), Some("kept")));
    let copy = got[0].child("amp", AMP).unwrap_or_else(|| panic!("{}", got[0]));
    assert_eq!(copy.attr("from"), Some(format!("{romeo}@localhost/orchard").as_str()), "{copy}");
    // Rows go once the client has the message; bounded wait for that.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while amp_db.count(&juliet_bare).await.unwrap() != 0 {
        assert!(tokio::time::Instant::now() < deadline, "the delivered row stayed in {native_uri}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_repo_uri_sqlite_is_a_separate_database() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite://{}", dir.path().join("amp.db").display());
    let srv = TestServer::start(&[&format!("--amp-repo-uri={uri}")]).await;
    assert!(!same_file(&srv.data_dir().join("wasmpp.db"), &dir.path().join("amp.db")));
    stores_in(&srv, &uri).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_repo_uri_sqlite_in_memory() {
    let srv = TestServer::start(&["--amp-repo-uri=sqlite::memory:"]).await;
    for user in ["romeo", "juliet"] {
        srv.add_user(user, "pw").await;
    }
    let mut romeo = login(&srv, "romeo", "orchard").await;
    let rule = amp("<rule condition='deliver' value='direct' action='drop'/>");
    romeo.send_raw(&format!("<message to='juliet@localhost' id='m1'><body>mem</body>{rule}</message>")).await.unwrap();
    assert!(collect(&mut romeo).await.is_empty());
    assert_eq!(stored(&srv, "juliet@localhost").await, (1, 0));
    let user_db = Db::connect(&format!("sqlite://{}", srv.data_dir().join("wasmpp.db").display())).await.unwrap();
    assert!(matches!(user_db.amp().count("juliet@localhost").await, Ok(0) | Err(_)), "not in the user database");
    let mut juliet = Client::login(srv.addr, DOMAIN, "juliet", "pw", Some("balcony")).await.unwrap();
    juliet.ignore_presence();
    let got = collect(&mut juliet).await;
    assert_eq!(got.iter().filter_map(|m| m.find_text("body")).collect::<Vec<_>>(), ["mem"], "{got:?}");
}

fn same_file(a: &Path, b: &Path) -> bool {
    a.canonicalize().ok() == b.canonicalize().ok()
}

/// `mysql://user[:password]@host[:port]/db` in the seeds' JDBC form, with
/// a `password` parameter (empty if the URL has none) when `password` is
/// set, as the seeds write it for MySQL.
fn jdbc(native: &str, sub: &str, password: bool) -> String {
    let rest = native.split_once("://").map(|(_, r)| r).expect("a URL");
    let (auth, location) = rest.split_once('@').expect("a user in the URL");
    let (user, pw) = auth.split_once(':').map_or((auth, None), |(u, p)| (u, Some(p)));
    match (pw, password) {
        (Some(pw), _) => format!("jdbc:{sub}://{location}?user={user}&password={pw}"),
        (None, true) => format!("jdbc:{sub}://{location}?user={user}&password="),
        (None, false) => format!("jdbc:{sub}://{location}?user={user}"),
    }
}

async fn over_jdbc(var: &str, sub: &str, password: bool) {
    let Some(native) = std::env::var(var).ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipping: {var} is not set");
        return;
    };
    // The seeds' JDBC form, then the native one.
    for uri in [jdbc(&native, sub, password), native.clone()] {
        let srv = TestServer::start(&[&format!("--amp-repo-uri={uri}")]).await;
        stores_in(&srv, &native).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_repo_uri_jdbc_mysql() {
    over_jdbc("WASMPP_TEST_MYSQL_URL", "mysql", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_repo_uri_jdbc_postgresql() {
    over_jdbc("WASMPP_TEST_POSTGRES_URL", "postgresql", false).await;
}

#[test]
fn jdbc_form_of_the_test_urls() {
    let mysql = jdbc("mysql://root@127.0.0.1:3306/test", "mysql", true);
    assert_eq!(mysql, "jdbc:mysql://127.0.0.1:3306/test?user=root&password=");
    let postgres = jdbc("postgres://postgres@127.0.0.1:5432/test", "postgresql", false);
    assert_eq!(postgres, "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    assert_eq!(jdbc("mysql://u:p@h/db", "mysql", false), "jdbc:mysql://h/db?user=u&password=p");
}
