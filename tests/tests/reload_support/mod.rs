//! What the hot-reload end-to-end files share: dropping a built component
//! into a directory the way an operator would, disco#info, waiting for the
//! server's reload reports, the admins' XEP-0050 commands, and the
//! server's log lines.
//!
//! Each test file uses part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmpp::plugin::{Change, GUEST_DIR};
use wasmpp::reload::ReloadReport;
use wasmpp_tests::client::Client;
use wasmpp_tests::server::DOMAIN;
use wasmpp_tests::xml::{El, escape};

/// The disco feature only the `-next` fixtures declare.
pub const NEXT: &str = "urn:wasmpp:test:next";
pub const AMP: &str = "http://jabber.org/protocol/amp";
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
pub const DATA_FORMS: &str = "jabber:x:data";
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// Puts the built component `built` into `dir` as `name`: written beside
/// it under a name the server ignores, then renamed into place.
pub fn drop_in(dir: &Path, built: &str, name: &str) {
    let staged = dir.join(format!(".{name}.part"));
    std::fs::copy(Path::new(GUEST_DIR).join(built), &staged).unwrap();
    std::fs::rename(&staged, dir.join(name)).unwrap();
}

/// The features of the server's disco#info.
pub async fn features(c: &mut Client) -> Vec<String> {
    let query = format!("<query xmlns='{DISCO_INFO}'/>");
    let info = c.iq("get", Some(DOMAIN), &query).await.unwrap();
    assert_eq!(info.attr("type"), Some("result"), "{info}");
    let query = info.child("query", DISCO_INFO).unwrap();
    query.children.iter().filter_map(|f| f.attr("var")).map(str::to_owned).collect()
}

/// Waits for the next reload report in which `pick` holds. Bounded, so a
/// reload that never comes fails the test instead of hanging it.
pub async fn report_where(
    reports: &mut tokio::sync::watch::Receiver<Option<Arc<ReloadReport>>>,
    pick: impl Fn(&ReloadReport) -> bool,
) -> Arc<ReloadReport> {
    let wait = async {
        loop {
            reports.changed().await.expect("the reloader is gone");
            if let Some(report) = reports.borrow_and_update().clone().filter(|r| pick(r)) {
                return report;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("a matching reload report")
}

/// Whether `report` loaded version 2 (a `-next` fixture) of plugin `id`.
pub fn loaded_next(report: &ReloadReport, id: &str) -> bool {
    report
        .plugins
        .iter()
        .any(|c| matches!(c, Change::Loaded { name, version, .. } if name == id && version.starts_with("2.")))
}

/// Runs an ad-hoc command stage: `node` with `action` and an optional
/// submitted `sm-plugins` value; returns the IQ reply.
pub async fn command(c: &mut Client, node: &str, action: &str, sm_plugins: Option<&str>) -> El {
    let form = sm_plugins
        .map(|v| {
            format!(
                "<x xmlns='{DATA_FORMS}' type='submit'><field var='sm-plugins'><value>{}</value></field></x>",
                escape(v)
            )
        })
        .unwrap_or_default();
    let payload = format!("<command xmlns='{COMMANDS}' node='{node}' action='{action}'>{form}</command>");
    c.iq("set", Some(DOMAIN), &payload).await.unwrap()
}

/// The note of a completed command, which must be there.
pub fn note(reply: &El) -> (String, String) {
    assert_eq!(reply.attr("type"), Some("result"), "{reply}");
    let command = reply.child("command", COMMANDS).unwrap_or_else(|| panic!("no command in {reply}"));
    assert_eq!(command.attr("status"), Some("completed"), "{reply}");
    let note = command.child("note", COMMANDS).unwrap_or_else(|| panic!("no note in {reply}"));
    (note.attr("type").unwrap_or_default().to_owned(), note.text.clone())
}

/// The server's log, from the first call on: this test binary's tracing
/// output goes to memory (and to stderr when `RUST_LOG` is set).
pub fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let echo = std::env::var_os("RUST_LOG").is_some();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || Tee { sink: sink.clone(), echo })
            .init();
        logs
    })
}

/// The log lines that contain every one of `words`.
pub fn log_lines_with(words: &[&str]) -> Vec<String> {
    let logs = logs().lock().unwrap();
    String::from_utf8_lossy(&logs).lines().filter(|l| words.iter().all(|w| l.contains(w))).map(str::to_owned).collect()
}

struct Tee {
    sink: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sink.lock().unwrap().extend_from_slice(buf);
        if self.echo {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
