//! RFC 6120 §5 STARTTLS, client side: the byte transport before and after the upgrade.
//!
//! The test server presents a self-signed certificate, so the verifier here accepts
//! any certificate. It still checks the handshake signatures, so a broken server-side
//! TLS setup is caught. TEST-ONLY: never use this verifier outside the test suite.

use std::io;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The socket under the XML stream, plain or TLS-wrapped.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only seen while the TCP stream is moved into the TLS handshake.
    Upgrading,
}

impl Transport {
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf).await,
            Transport::Tls(s) => s.read(buf).await,
            Transport::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Transport::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Transport::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Half-closes our side (with a TLS close_notify when encrypted).
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown().await,
            Transport::Tls(s) => s.shutdown().await,
            Transport::Upgrading => Ok(()),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Runs the TLS handshake over the plain socket (RFC 6120 §5.4.3.3).
    pub(crate) async fn upgrade(self, domain: &str) -> Result<Transport> {
        let Transport::Plain(tcp) = self else {
            bail!("STARTTLS on a stream that is not plain TCP");
        };
        let name = ServerName::try_from(domain.to_owned())
            .with_context(|| format!("{domain} is not a valid TLS server name"))?;
        let tls = connector()?.connect(name, tcp).await.context("TLS handshake failed")?;
        Ok(Transport::Tls(Box::new(tls)))
    }
}

fn connector() -> Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Accepts every certificate chain and name, but verifies handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
