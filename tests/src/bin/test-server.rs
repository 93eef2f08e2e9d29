//! A wasmpp server in its own process, for tests that must kill it
//! (SIGKILL) and start it again: the same configuration flags as `wasmpp`,
//! and one line `listening <addr>` on stdout once it accepts connections.

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
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {}", server.addrs[0]).unwrap();
    out.flush().unwrap();
    drop(out);
    std::future::pending::<()>().await;
}
