//! The `wasmpp` binary: `wasmpp [--key=value…]` serves; `adduser`, `deluser`
//! and `passwd` manage accounts in the configured user database; `plugin
//! check FILE` runs the plugin load checks on one component; `plugin new
//! NAME` creates a plugin crate.

use anyhow::{Context, bail};
use std::io::{BufRead, Write};
use wasmpp::config::{self, Command, Config};
use wasmpp::server;
use wasmpp::store::StoreError;
use wasmpp::xmpp::BareJid;

/// mimalloc rather than glibc's malloc: a stanza's bytes are allocated on
/// the sender's worker thread and freed on the recipient's, and glibc
/// serialises such frees on the allocating arena's lock. Profiled under
/// the `amp` load scenario, that lock's futex wake-ups and the allocator
/// itself took about a quarter of the server's CPU (issue 6). Built
/// without its transparent-huge-page advice (`no_thp`): with it, the
/// server held 10.1 KiB per idle connection instead of 7.6.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cmd = match config::parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wasmpp: {e}");
            eprintln!("Try `wasmpp --help`.");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cmd) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasmpp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cmd: Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cmd {
        Command::Help => print!("{}", config::help_text()),
        Command::PluginCheck { config, file } => {
            // The server's own load path on one file: no database, no network.
            let report = server::plugin_host(&config)?.check_file(&file)?;
            print!("{report}");
        }
        Command::PluginNew { name, dir, sdk } => {
            print!("{}", wasmpp::toolkit::new::create(&name, dir.as_deref(), sdk.as_deref())?);
        }
        Command::Version => println!("wasmpp {}", env!("CARGO_PKG_VERSION")),
        Command::Serve(config) => {
            init_tracing(&config);
            runtime.block_on(serve(config))?;
        }
        Command::AddUser { config, jid, password } => {
            let jid = account(&config, &jid)?;
            let password = password_or_prompt(password)?;
            runtime.block_on(async {
                let users = server::open_user_db(&config).await?.users();
                match users.create(jid.as_str(), &password, config.scram_iterations).await {
                    Err(StoreError::Conflict) => bail!("{jid} already exists"),
                    r => r.with_context(|| format!("creating {jid}")),
                }
            })?;
            println!("created {jid}");
        }
        Command::DelUser { config, jid } => {
            let jid = account(&config, &jid)?;
            runtime.block_on(async {
                let db = server::open_user_db(&config).await?;
                match db.users().delete(jid.as_str()).await {
                    Err(StoreError::NotFound) => bail!("{jid} does not exist"),
                    r => r.with_context(|| format!("deleting {jid}"))?,
                }
                // The account's roster and waiting messages go with it.
                db.roster().delete_all(jid.as_str()).await.with_context(|| format!("deleting the roster of {jid}"))?;
                db.offline().delete_all(jid.as_str()).await.with_context(|| format!("deleting messages for {jid}"))?;
                let amp = server::open_amp_db(&config, &db).await?;
                amp.amp().delete_all(jid.as_str()).await.with_context(|| format!("deleting AMP messages for {jid}"))
            })?;
            println!("deleted {jid}");
        }
        Command::Passwd { config, jid, password } => {
            let jid = account(&config, &jid)?;
            let password = password_or_prompt(password)?;
            runtime.block_on(async {
                let users = server::open_user_db(&config).await?.users();
                match users.set_password(jid.as_str(), &password, config.scram_iterations).await {
                    Err(StoreError::NotFound) => bail!("{jid} does not exist"),
                    r => r.with_context(|| format!("changing the password of {jid}")),
                }
            })?;
            println!("password changed for {jid}");
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = server::start(config).await?;
    #[cfg(unix)]
    wasmpp::reload::on_hangup(server.services.reloader.clone()).context("installing the SIGHUP handler")?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    // Offline messages already queued are committed before the runtime
    // goes; their senders were not answered yet, and will not be told
    // anything that is not true.
    server.stop_listening();
    server.services.offline.close().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(config.tracing_filter()));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(true).init();
}

/// The account's bare JID, normalised, on one of the served domains.
fn account(config: &Config, given: &str) -> anyhow::Result<BareJid> {
    let jid = BareJid::new(given).with_context(|| format!("{given:?} is not a valid JID"))?;
    if jid.node().is_none() {
        bail!("{given:?} has no username part");
    }
    let domain = jid.domain().as_str();
    if !config.virt_hosts.iter().any(|h| h.eq_ignore_ascii_case(domain)) {
        bail!("{domain} is not served here (--virt-hosts={})", config.virt_hosts.join(","));
    }
    Ok(jid)
}

/// The password from the command line, or one line read from standard input.
fn password_or_prompt(given: Option<String>) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    eprint!("password: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        bail!("empty password");
    }
    Ok(p)
}
