//! The command line: `wasmpp-load SCENARIO [--key=value | --key value]…`.
//!
//! Hand-written rather than a framework so that every option, its default and
//! its meaning sit in one table ([`OPTIONS`]) that also prints `--help`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// What a run exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// XEP-0077 registration of the users.
    Register,
    /// Repeated full logins.
    Login,
    /// Many authenticated sessions held open.
    Idle,
    /// Pairs exchanging chat messages.
    Chat,
    /// Messages to offline users, then their flush on login.
    Offline,
    /// Chat with XEP-0079 rules on every message.
    Amp,
}

impl Scenario {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Register => "register",
            Scenario::Login => "login",
            Scenario::Idle => "idle",
            Scenario::Chat => "chat",
            Scenario::Offline => "offline",
            Scenario::Amp => "amp",
        }
    }

    fn parse(s: &str) -> Result<Scenario> {
        [Scenario::Register, Scenario::Login, Scenario::Idle, Scenario::Chat, Scenario::Offline, Scenario::Amp]
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| anyhow!("unknown scenario {s:?} (register, login, idle, chat, offline, amp)"))
    }
}

/// RFC 6120 §5: whether to negotiate STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Always; fail if the server does not offer it.
    On,
    /// Never (the server must allow plaintext).
    Off,
    /// When offered.
    Auto,
}

/// Every setting of one run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Scenario to run.
    pub scenario: Scenario,
    /// Server address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// XMPP domain (stream `to`, JIDs).
    pub domain: String,
    /// STARTTLS policy.
    pub tls: TlsMode,
    /// SASL mechanism.
    pub mechanism: String,
    /// Accounts `{prefix}0 … {prefix}{users-1}` (register, login, idle).
    pub users: u32,
    /// Password of every account.
    pub password: String,
    /// Local part prefix of the accounts.
    pub prefix: String,
    /// Sender/receiver pairs (chat, amp, offline): pair i is users 2i → 2i+1.
    pub pairs: u32,
    /// Messages in flight per sender (chat, amp) or per stored batch (offline).
    pub window: u32,
    /// Bytes of `<body/>` text.
    pub body_size: usize,
    /// Total messages per second across all senders; 0 = closed loop.
    pub rate: u32,
    /// Measured time.
    pub duration: Duration,
    /// Traffic before measuring starts.
    pub warmup: Duration,
    /// Bound on each of setup and drain.
    pub timeout: Duration,
    /// Upper bound on operations (logins, registrations); 0 = `users`.
    pub count: u64,
    /// Messages per offline pair.
    pub messages: u32,
    /// Connections set up at once.
    pub concurrency: u32,
    /// Server process to sample VmRSS from (idle).
    pub server_pid: Option<u32>,
    /// Worker threads of the tool's runtime.
    pub threads: usize,
    /// Print one JSON line per run on stdout.
    pub json: bool,
    /// No progress line.
    pub quiet: bool,
}

/// `(name, default, help)`; the order is the `--help` order.
pub const OPTIONS: &[(&str, &str, &str)] = &[
    ("host", "127.0.0.1", "server address"),
    ("port", "5222", "server c2s port"),
    ("domain", "localhost", "XMPP domain of the accounts"),
    ("tls", "auto", "STARTTLS: on, off or auto (when offered)"),
    ("mechanism", "auto", "SASL mechanism: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, or auto (the first of those offered)"),
    ("users", "100", "accounts PREFIX0..PREFIX(N-1) for register, login, idle"),
    ("password", "load-password", "password of every account"),
    ("prefix", "user", "local part prefix of the accounts"),
    ("pairs", "10", "sender->receiver pairs for chat, amp, offline (users 2i -> 2i+1)"),
    ("window", "10", "messages outstanding per sender (closed loop)"),
    ("body-size", "200", "bytes of <body/> text"),
    ("rate", "0", "total messages/s, paced; 0 = closed loop"),
    ("duration", "10s", "measured time (s, ms, m suffixes)"),
    ("warmup", "1s", "traffic before measuring"),
    ("timeout", "30s", "bound on set-up and on drain, each"),
    ("count", "0", "bound on logins/registrations (0 = users)"),
    ("messages", "1000", "messages per offline pair"),
    ("concurrency", "50", "connections set up at once"),
    ("server-pid", "", "pid of the server, to report VmRSS per idle connection"),
    ("threads", "1", "worker threads of the tool (one keeps it cheap beside a server on the same machine)"),
    ("json", "false", "also print one JSON line per run"),
    ("quiet", "false", "no progress line on stderr"),
];

/// `--help` text.
pub fn usage() -> String {
    let mut s = String::from(
        "usage: wasmpp-load SCENARIO [--key=value]...\n\
         scenarios: register, login, idle, chat, offline, amp\n\noptions (default):\n",
    );
    for (name, default, help) in OPTIONS {
        let d = if default.is_empty() { String::new() } else { format!(" ({default})") };
        s.push_str(&format!("  --{name:<12} {help}{d}\n"));
    }
    s
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Options>> {
    let mut scenario = None;
    let mut values: Vec<(&str, String)> = OPTIONS.iter().map(|(k, d, _)| (*k, d.to_string())).collect();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(None);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            if scenario.is_some() {
                bail!("unexpected argument {arg:?}");
            }
            scenario = Some(Scenario::parse(&arg)?);
            continue;
        };
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None if matches!(flag, "json" | "quiet") => (flag.to_owned(), "true".to_owned()),
            None => (flag.to_owned(), it.next().ok_or_else(|| anyhow!("--{flag} needs a value"))?),
        };
        let slot = values.iter_mut().find(|(k, _)| *k == key).ok_or_else(|| anyhow!("unknown option --{key}"))?;
        slot.1 = value;
    }
    let get = |k: &str| values.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    let num = |k: &str| -> Result<u64> { get(k).parse().with_context(|| format!("--{k}: not a number")) };
    let dur = |k: &str| parse_duration(get(k)).with_context(|| format!("--{k}"));
    let flag = |k: &str| parse_bool(get(k)).with_context(|| format!("--{k}"));
    let o = Options {
        scenario: scenario.ok_or_else(|| anyhow!("no scenario given\n{}", usage()))?,
        host: get("host").to_owned(),
        port: num("port")?.try_into().context("--port")?,
        domain: get("domain").to_owned(),
        tls: match get("tls") {
            "on" | "true" => TlsMode::On,
            "off" | "false" => TlsMode::Off,
            "auto" => TlsMode::Auto,
            other => bail!("--tls: expected on, off or auto, got {other:?}"),
        },
        mechanism: match get("mechanism").to_ascii_uppercase().as_str() {
            m @ ("AUTO" | "SCRAM-SHA-256" | "SCRAM-SHA-1" | "PLAIN") => m.to_owned(),
            other => bail!("--mechanism: unsupported {other:?}"),
        },
        users: num("users")?.try_into().context("--users")?,
        password: get("password").to_owned(),
        prefix: get("prefix").to_owned(),
        pairs: num("pairs")?.try_into().context("--pairs")?,
        window: num("window")?.try_into().context("--window")?,
        body_size: num("body-size")?.try_into().context("--body-size")?,
        rate: num("rate")?.try_into().context("--rate")?,
        duration: dur("duration")?,
        warmup: dur("warmup")?,
        timeout: dur("timeout")?,
        count: num("count")?,
        messages: num("messages")?.try_into().context("--messages")?,
        concurrency: num("concurrency")?.try_into().context("--concurrency")?,
        server_pid: match get("server-pid") {
            "" => None,
            p => Some(p.parse().context("--server-pid")?),
        },
        threads: num("threads")?.try_into().context("--threads")?,
        json: flag("json")?,
        quiet: flag("quiet")?,
    };
    check(&o)?;
    Ok(Some(o))
}

fn check(o: &Options) -> Result<()> {
    if o.users == 0 || o.pairs == 0 || o.window == 0 || o.concurrency == 0 || o.messages == 0 || o.threads == 0 {
        bail!("--users, --pairs, --window, --concurrency, --messages and --threads must be at least 1");
    }
    if o.duration.is_zero() || o.timeout.is_zero() {
        bail!("--duration and --timeout must be positive");
    }
    Ok(())
}

/// `10`, `10s`, `250ms`, `2m`, `1.5s`: a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| anyhow!("{s:?} is not a duration (10s, 250ms, 2m)"))?;
    if !(v.is_finite() && v >= 0.0) {
        bail!("{s:?} is not a duration");
    }
    Ok(Duration::from_secs_f64(v * scale))
}

fn parse_bool(s: &str) -> Result<bool> {
    match s {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        other => bail!("expected true or false, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Option<Options>> {
        parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn defaults_and_both_value_styles() {
        let o = args("chat --pairs=100 --window 20 --tls off --json --rate=1000").unwrap().unwrap();
        assert_eq!(o.scenario, Scenario::Chat);
        assert_eq!((o.pairs, o.window, o.rate, o.tls, o.json), (100, 20, 1000, TlsMode::Off, true));
        assert_eq!((o.host.as_str(), o.port, o.domain.as_str()), ("127.0.0.1", 5222, "localhost"));
        assert_eq!(o.duration, Duration::from_secs(10));
        assert_eq!(o.mechanism, "AUTO");
        assert_eq!((o.server_pid, o.threads), (None, 1));
        let o = args("idle --server-pid=42 --mechanism=plain --quiet").unwrap().unwrap();
        assert_eq!((o.server_pid, o.mechanism.as_str(), o.quiet), (Some(42), "PLAIN", true));
    }

    #[test]
    fn mistakes_are_reported() {
        for bad in [
            "",
            "dance",
            "chat login",
            "chat --nope=1",
            "chat --pairs=x",
            "chat --port=70000",
            "chat --tls=maybe",
            "chat --mechanism=DIGEST-MD5",
            "chat --window=0",
            "chat --threads=0",
            "chat --duration=forever",
            "chat --pairs",
        ] {
            assert!(args(bad).is_err(), "{bad:?} should fail");
        }
        assert!(args("chat --help").unwrap().is_none());
        assert!(usage().contains("--server-pid"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "s", "-1s", "1h", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
