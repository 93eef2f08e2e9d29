//! The `wasmpp-load` binary: parse the command line, run one scenario, print
//! the summary table (and the JSON line with `--json`), exit 0 when the run
//! was clean, 1 when it failed, 2 when the server does not support it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = match wasmpp_load::args::parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{}", wasmpp_load::args::usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("wasmpp-load: {e:#}");
            return ExitCode::from(64);
        }
    };
    let fds = wasmpp_load::raise_fd_limit();
    let needed = (opts.users.max(opts.pairs * 2) as u64) + 64;
    if fds < needed {
        eprintln!("wasmpp-load: warning: open-file limit {fds} may be too low for {needed} sockets (ulimit -n)");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(opts.threads).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasmpp-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(wasmpp_load::run(&opts)) {
        Ok(report) => {
            print!("{}", report.table());
            if opts.json {
                println!("{}", report.json());
            }
            ExitCode::from(report.status.exit_code() as u8)
        }
        Err(e) => {
            eprintln!("wasmpp-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}
