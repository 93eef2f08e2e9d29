//! A wasmpp server in its own process, for tests that must kill it
//! (SIGKILL) and start it again, or send it SIGHUP: the same configuration
//! flags and signals as `wasmpp`, one line `listening <addr>` on stdout
//! once it accepts connections, and one line `reloaded <chain>` after each
//! plugin reload.

use std::io::Write;
use wasmpp::config::{Command, parse_args};

#[tokio::main]
async fn main() {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(c)) => c,
        Ok(_) => panic!("test-server only serves"),
        Err(e) => panic!("{e}"),
    };
    let server = wasmpp::server::start(config).await.expect("server starts");
    let reloader = server.services.reloader.clone();
    wasmpp::reload::on_hangup(reloader.clone()).expect("SIGHUP handler");
    let mut reports = reloader.subscribe();
    say(&format!("listening {}", server.addrs[0]));
    while reports.changed().await.is_ok() {
        if let Some(report) = reports.borrow_and_update().clone() {
            say(&format!("reloaded {}", report.chain.join(", ")));
        }
    }
    std::future::pending::<()>().await;
}

/// One line to the test; one that stopped reading is no reason to stop.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
