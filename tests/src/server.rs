//! A real wasmpp server on 127.0.0.1:0 for one test: its own data directory
//! (SQLite database, generated TLS certificate, plugin directory), the
//! shipped plugins, and whatever extra configuration the test passes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;
use tempfile::TempDir;
use wasmpp::config::{Command, parse_args};
use wasmpp::server::{RunningServer, start};

/// The domain every test server serves.
pub const DOMAIN: &str = "localhost";

/// A started server and the directory it lives in.
pub struct TestServer {
    /// The c2s address to connect to.
    pub addr: SocketAddr,
    /// The running server.
    pub server: RunningServer,
    dir: TempDir,
    args: Vec<String>,
}

static TRACING: Once = Once::new();

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=wasmpp=debug`).
fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

impl TestServer {
    /// Starts a server with the defaults plus `args` (`--key=value` strings).
    pub async fn start(args: &[&str]) -> TestServer {
        Self::try_start(args).await.unwrap_or_else(|e| panic!("server failed to start: {e}"))
    }

    /// Like [`TestServer::start`], returning the start-up error.
    pub async fn try_start(args: &[&str]) -> Result<TestServer, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, args, &[]).await
    }

    /// Starts with extra plugin components copied into the plugin directory
    /// first: `(file name in the build's guest dir, plugin id)`.
    pub async fn start_with_plugins(args: &[&str], plugins: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, args, plugins).await.unwrap_or_else(|e| panic!("server failed to start: {e}"))
    }

    async fn start_in(dir: TempDir, args: &[&str], plugins: &[(&str, &str)]) -> Result<TestServer, String> {
        init_tracing();
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).map_err(|e| e.to_string())?;
        for (file, id) in plugins {
            let src = PathBuf::from(wasmpp::plugin::GUEST_DIR).join(file);
            std::fs::copy(&src, plugin_dir.join(format!("{id}.wasm")))
                .map_err(|e| format!("copying {}: {e}", src.display()))?;
        }
        let mut all = vec![
            format!("--virt-hosts={DOMAIN}"),
            "--c2s-ports=0".into(),
            "--c2s-address=127.0.0.1".into(),
            format!("--data-dir={}", dir.path().display()),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let config = match parse_args(all).map_err(|e| e.to_string())? {
            Command::Serve(c) => c,
            _ => return Err("not a serve command".into()),
        };
        let server = start(config).await.map_err(|e| e.to_string())?;
        let args = args.iter().map(|a| a.to_string()).collect();
        Ok(TestServer { addr: server.addrs[0], server, dir, args })
    }

    /// Stops this server and starts a new one on the same data directory
    /// (database, certificate, plugins) with the same arguments; clients of
    /// the old one should be closed first.
    pub async fn restart(self) -> TestServer {
        let TestServer { server, dir, args, .. } = self;
        drop(server);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start_in(dir, &args, &[]).await.unwrap_or_else(|e| panic!("server failed to restart: {e}"))
    }

    /// Creates an account `user@localhost`.
    pub async fn add_user(&self, user: &str, password: &str) {
        let jid = format!("{user}@{DOMAIN}");
        self.server.services.users.create(&jid, password, 4096).await.expect("create user");
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}
