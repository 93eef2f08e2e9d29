//! RFC 6120 §5 STARTTLS: the server's certificate and the rustls acceptor.
//!
//! With no certificate configured, a self-signed one for the virtual hosts is
//! generated on first start and kept in `<data-dir>/tls/`, so restarts keep the
//! same key and clients that pinned it keep working.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// The file holds no usable PEM certificate or key.
    #[error("{path}: {what}")]
    Pem { path: PathBuf, what: &'static str },
    /// Certificate generation failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate/key pair.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the certificate came from, for the start-up log.
#[derive(Debug, Clone)]
pub struct TlsSource {
    /// The certificate file.
    pub cert: PathBuf,
    /// True when wasmpp generated it.
    pub generated: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::File { path: path.to_owned(), source })
}

fn write(path: &Path, data: &[u8]) -> Result<(), TlsError> {
    let io = |source| TlsError::File { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, data).map_err(|source| TlsError::File { path: path.to_owned(), source })
}

/// Builds the acceptor from configured PEM files, or from the generated
/// certificate in `data_dir`.
pub fn acceptor(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
    hosts: &[String],
) -> Result<(TlsAcceptor, TlsSource), TlsError> {
    let (cert_path, key_path, generated) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_owned(), k.to_owned(), false),
        _ => {
            let dir = data_dir.join("tls");
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !c.exists() || !k.exists() {
                let generated = rcgen::generate_simple_self_signed(hosts.to_vec())?;
                write(&c, generated.cert.pem().as_bytes())?;
                write(&k, generated.signing_key.serialize_pem().as_bytes())?;
                restrict_permissions(&k);
            }
            (c, k, true)
        }
    };
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut read(&cert_path)?.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::File { path: cert_path.clone(), source })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: cert_path, what: "no PEM certificate found" });
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut read(&key_path)?.as_slice())
        .map_err(|source| TlsError::File { path: key_path.clone(), source })?
        .ok_or_else(|| TlsError::Pem { path: key_path.clone(), what: "no PEM private key found" })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok((TlsAcceptor::from(Arc::new(config)), TlsSource { cert: cert_path, generated }))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let (_, src) = acceptor(None, None, dir.path(), &["example.com".into()]).unwrap();
        assert!(src.generated);
        let first = std::fs::read(&src.cert).unwrap();
        let (_, src2) = acceptor(None, None, dir.path(), &["example.com".into()]).unwrap();
        assert_eq!(first, std::fs::read(&src2.cert).unwrap());
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("nope.pem");
        let Err(err) = acceptor(Some(&c), Some(&c), dir.path(), &[]) else { panic!("a missing file must fail") };
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }
}
