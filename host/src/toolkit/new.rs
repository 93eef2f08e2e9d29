//! `wasmpp plugin new NAME`: a plugin crate that builds, tests and loads as
//! it is, for an author to change.
//!
//! The files are the templates in `template/` (real files, embedded at
//! compile time) with the name, the Rust type and the SDK's path filled in.
//! The crate depends on the guest SDK by path: by default the `guest-sdk/`
//! of the checkout this `wasmpp` was built from (`CARGO_MANIFEST_DIR/..`,
//! known at compile time), so the crate and the server share one contract
//! version; `--sdk=PATH` names another checkout's.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

const CARGO_TOML: &str = include_str!("template/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("template/lib.rs.tmpl");
const README_MD: &str = include_str!("template/README.md.tmpl");
const GITIGNORE: &str = include_str!("template/gitignore.tmpl");

/// Longest accepted name: it becomes a file name, a crate name, a config key.
const MAX_NAME: usize = 64;

/// Why no crate was created.
#[derive(Debug, Error)]
pub enum NewError {
    /// NAME cannot be a plugin id and a crate name at once.
    #[error("{name:?} cannot be a plugin name: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The target directory is there already; nothing was written.
    #[error("{} already exists; choose another NAME or --dir=PATH", .0.display())]
    Exists(PathBuf),
    /// The SDK is not where it was expected.
    #[error("no wasmpp guest SDK at {}: {reason}; pass --sdk=PATH (the guest-sdk/ of a wasmpp checkout)", path.display())]
    Sdk {
        /// Where it was looked for.
        path: PathBuf,
        /// What was found there instead.
        reason: String,
    },
    /// Writing the crate failed (what was written is removed again).
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// What `plugin new` made, and what to do next (its `Display`).
#[derive(Debug)]
pub struct Created {
    /// The plugin id (= NAME).
    pub name: String,
    /// The crate's directory, as given (or `./NAME`).
    pub dir: PathBuf,
    /// The SDK the crate depends on, absolute.
    pub sdk: PathBuf,
}

impl Created {
    /// Where `cargo build --release --target wasm32-wasip2` puts the component.
    pub fn component(&self) -> PathBuf {
        Path::new("target/wasm32-wasip2/release").join(format!("{}.wasm", crate_name(&self.name)))
    }
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, wasm) = (&self.name, self.component());
        writeln!(f, "created plugin {name} in {} (guest SDK {})", self.dir.display(), self.sdk.display())?;
        writeln!(f, "next:")?;
        writeln!(f, "  cd {}", self.dir.display())?;
        writeln!(f, "  cargo test                                     # unit tests, natively, with the mock host")?;
        writeln!(f, "  cargo build --release --target wasm32-wasip2   # the component")?;
        writeln!(f, "  wasmpp plugin check {}", wasm.display())?;
        writeln!(f, "  cp {} <plugin-dir>/{name}.wasm", wasm.display())?;
        writeln!(f, "  wasmpp --sm-plugins=-amp,+{name},+amp --sess-man/plugins-conf/{name}/word=montague")
    }
}

/// Creates the crate for plugin `name` in `dir` (default `./name`), which
/// must not exist yet, depending on the SDK at `sdk` (default: this
/// checkout's). On failure nothing is left behind.
pub fn create(name: &str, dir: Option<&Path>, sdk: Option<&Path>) -> Result<Created, NewError> {
    check_name(name).map_err(|reason| NewError::InvalidName { name: name.to_owned(), reason })?;
    let sdk = find_sdk(sdk)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.symlink_metadata().is_ok() {
        return Err(NewError::Exists(dir));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // create_dir, not create_dir_all: it fails if someone else made it meanwhile.
    std::fs::create_dir(&dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => NewError::Exists(dir.clone()),
        _ => NewError::Io { path: dir.clone(), source },
    })?;
    let written = render(name, &sdk).into_iter().try_for_each(|(file, text)| {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))
    });
    if let Err(e) = written {
        // The directory is ours (it did not exist): remove the half-made crate.
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(Created { name: name.to_owned(), dir, sdk })
}

/// The crate's files, relative path and text.
pub fn render(name: &str, sdk: &Path) -> Vec<(&'static str, String)> {
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name(name))
            .replace("{{Type}}", &type_name(name))
            .replace("{{sdk}}", &toml_string_body(&sdk.to_string_lossy()))
            .replace("{{rust_version}}", env!("CARGO_PKG_RUST_VERSION"))
    };
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("README.md", fill(README_MD)),
        (".gitignore", fill(GITIGNORE)),
    ]
}

/// The SDK given, or this checkout's; absolute, and checked to be the SDK.
fn find_sdk(given: Option<&Path>) -> Result<PathBuf, NewError> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|p| p.join("guest-sdk")).unwrap_or_default(),
    };
    let fail = |reason: String| NewError::Sdk { path: path.clone(), reason };
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| fail(format!("cannot read Cargo.toml ({e})")))?;
    if !text.lines().any(|l| l.trim() == r#"name = "wasmpp-guest-sdk""#) {
        return Err(fail("its Cargo.toml is not the wasmpp-guest-sdk package".into()));
    }
    path.canonicalize().map_err(|e| fail(e.to_string()))
}

/// A plugin id the server accepts in `--sm-plugins` that is also a crate
/// name cargo accepts: `[a-z][a-z0-9_-]*`, not a Rust keyword or a name
/// cargo or the SDK reserves.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return Err("it must start with a lowercase letter (a-z)".into());
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')) {
        return Err(format!("{c:?} is not allowed (use a-z, 0-9, - and _)"));
    }
    if name.len() > MAX_NAME {
        return Err(format!("it is longer than {MAX_NAME} characters"));
    }
    const RESERVED: &[&str] = &[
        // Rust keywords (the crate name is an identifier) and names cargo refuses.
        "abstract",
        "as",
        "async",
        "await",
        "become",
        "box",
        "break",
        "const",
        "continue",
        "crate",
        "do",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "final",
        "fn",
        "for",
        "gen",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "macro",
        "match",
        "mod",
        "move",
        "mut",
        "override",
        "priv",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "try",
        "type",
        "typeof",
        "unsafe",
        "unsized",
        "use",
        "virtual",
        "where",
        "while",
        "yield",
        "alloc",
        "core",
        "std",
        "test",
        "proc_macro",
        "build",
        "deps",
        "examples",
        "incremental",
        "wasmpp_guest_sdk",
    ];
    if RESERVED.contains(&crate_name(name).as_str()) {
        return Err("it is reserved by Rust, cargo or the SDK".into());
    }
    Ok(())
}

/// The Rust crate name: `-` is `_`, as cargo does for the library.
fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The plugin's type: `word-filter` → `WordFilter`, or with `Plugin`
/// appended where that would shadow a name the template imports.
fn type_name(name: &str) -> String {
    let camel: String = name
        .split(['-', '_'])
        .flat_map(|part| {
            let mut cs = part.chars();
            cs.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(cs)
        })
        .collect();
    const IMPORTED: &[&str] = &[
        "Capability",
        "Condition",
        "Manifest",
        "MessageType",
        "Plugin",
        "Stanza",
        "StanzaError",
        "StanzaKind",
        "Verdict",
        "MockHost",
        "Level",
    ];
    match IMPORTED.contains(&camel.as_str()) {
        true => format!("{camel}Plugin"),
        false => camel,
    }
}

/// `text` escaped for the inside of a TOML basic string `"…"`.
fn toml_string_body(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if c.is_control() => format!("\\u{:04X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
#[path = "new_tests.rs"]
mod tests;
