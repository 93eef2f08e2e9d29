//! Builds the guest plugins (`wit/` world `xmpp:sm/sm-plugin@0.2.1`) as
//! `wasm32-wasip2` components during every `cargo build`/`run`/`test` of the
//! host, so a fresh checkout needs no extra step.
//!
//! A nested `cargo build --profile guest` writes to `<target>/guest` (its own
//! lock, so it cannot deadlock with the outer build), `message.wasm` is
//! copied to `OUT_DIR` for `include_bytes!`, and every built component is
//! copied as `<package>.wasm` into `OUT_DIR/guests` (`WASMPP_GUEST_DIR`).
//!
//! The hot-reload fixtures that reuse a shipped plugin as a library
//! ([`REUSING`]) get a second nested build in `<target>/guest-next`: built
//! as their dependency, the shipped crate has its component export turned
//! off, and in one build (one target directory) that would both unify with
//! the shipped component's features and overwrite its `.wasm`.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WASM_TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";
/// Guest packages; each package name is also its plugin id (for the
/// `amp-condition` components `body-contains` and `fault-condition`, only
/// the file name: a condition is named by what it declares; the hot-reload
/// fixtures `bad-api`, `trap-init` and `bad-manifest` are dropped in under
/// another plugin's name).
const GUESTS: &[&str] = &[
    "amp",
    "message",
    "msgoffline",
    "fault-trap",
    "fault-spin",
    "fault-hog",
    "fanout-ghost",
    "overreach",
    "body-contains",
    "fault-condition",
    "bad-api",
    "trap-init",
    "bad-manifest",
];
/// Hot-reload fixtures that depend on a shipped plugin crate (with its
/// `export` feature off); dropped in as `message.wasm` and `amp.wasm`.
const REUSING: &[&str] = &["message-next", "amp-next"];
/// Guests embedded in the binary.
const EMBEDDED: &[&str] = &["amp", "message", "msgoffline"];

fn main() {
    if let Err(msg) = run() {
        eprintln!("error: building the wasm guest plugins failed\n{msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let workspace = manifest_dir.parent().ok_or("host/ has no parent directory")?.to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    for watched in ["wit", "guest-sdk", "plugins", "tests/plugins", "migrations", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    ensure_wasm_target(&workspace)?;
    let target = outer_target_dir(&out_dir)?;
    let guest_dir = out_dir.join("guests");
    std::fs::create_dir_all(&guest_dir).map_err(|e| format!("cannot create {}: {e}", guest_dir.display()))?;
    for (packages, target_dir) in [(GUESTS, target.join("guest")), (REUSING, target.join("guest-next"))] {
        build_guests(&workspace, &target_dir, packages)?;
        let built = target_dir.join(WASM_TARGET).join(PROFILE);
        for id in packages {
            let from = built.join(format!("{}.wasm", id.replace('-', "_")));
            copy(&from, &guest_dir.join(format!("{id}.wasm")))?;
            if EMBEDDED.contains(id) {
                copy(&from, &out_dir.join(format!("{id}.wasm")))?;
            }
        }
    }
    println!("cargo:rustc-env=WASMPP_GUEST_DIR={}", guest_dir.display());
    Ok(())
}

/// `rustup target add wasm32-wasip2` when rustup manages the toolchain and
/// lacks it: `RUSTUP_AUTO_INSTALL=0` means rust-toolchain.toml will not.
fn ensure_wasm_target(workspace: &Path) -> Result<(), String> {
    let listed = Command::new("rustup").args(["target", "list", "--installed"]).current_dir(workspace).output();
    let installed = match listed {
        Ok(out) if out.status.success() => out.stdout,
        // No rustup (distro toolchain): the nested build reports a missing target.
        _ => return Ok(()),
    };
    if String::from_utf8_lossy(&installed).lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    let out = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run `rustup target add {WASM_TARGET}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`rustup target add {WASM_TARGET}` failed; install the target by hand and rebuild\n{}",
            output_text(&out)
        ));
    }
    println!("cargo:warning=installed the {WASM_TARGET} target with rustup (needed for the guest plugins)");
    Ok(())
}

/// The outer build's target directory, from
/// `OUT_DIR = <target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`, so a
/// custom `CARGO_TARGET_DIR` is honoured.
fn outer_target_dir(out_dir: &Path) -> Result<PathBuf, String> {
    let profile_dir = out_dir.ancestors().nth(3).ok_or_else(|| format!("unexpected OUT_DIR {}", out_dir.display()))?;
    let mut target = profile_dir.parent().ok_or_else(|| format!("unexpected OUT_DIR {}", out_dir.display()))?;
    if let (Some(triple), Some(name)) = (env::var_os("TARGET"), target.file_name())
        && name == triple
        && let Some(parent) = target.parent()
    {
        target = parent;
    }
    Ok(target.to_path_buf())
}

fn build_guests(workspace: &Path, target_dir: &Path, packages: &[&str]) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(workspace)
        .args(["build", "--profile", PROFILE, "--target", WASM_TARGET, "--manifest-path"])
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for id in packages {
        cmd.args(["-p", id]);
    }
    for (key, _) in env::vars_os() {
        if leaks_into_nested_build(&key) {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if !out.status.success() {
        let hint = format!("(is the {WASM_TARGET} target installed? `rustup target add {WASM_TARGET}`)");
        return Err(format!("nested `cargo build --target {WASM_TARGET}` failed {hint}\n{}", output_text(&out)));
    }
    Ok(())
}

/// Variables the outer cargo sets for this build script (or the user set for
/// the host build) that would change what the nested build does: target,
/// profile, flags, wrappers (clippy-driver), jobserver. Registry, network
/// and home settings are kept.
fn leaks_into_nested_build(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else { return false };
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"];
    const DROP: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "MAKEFLAGS",
        "MFLAGS",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_LINKER",
    ];
    if key.starts_with("CARGO") {
        return !KEEP.iter().any(|k| key.starts_with(k));
    }
    DROP.contains(&key) || key.starts_with("DEP_")
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to).map(drop).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn output_text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
