//! RFC 6120 §4–§7 negotiation exercised against a scripted fake server, so the client
//! flow is tested before (and independently of) the real wasmpp server. The fake's
//! SCRAM side is the `sasl` crate's server mechanism, its TLS side a throwaway
//! self-signed certificate that only the accept-anything client verifier takes.

use std::net::SocketAddr;

use anyhow::{Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sasl::common::scram::Sha256;
use sasl::common::{ChannelBinding, Identity};
use sasl::secret::Pbkdf2Sha256;
use sasl::server::mechanisms::Scram;
use sasl::server::{Mechanism, Provider, ProviderError, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream from='example.com' id='f1' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

struct Users;

impl Provider<Pbkdf2Sha256> for Users {
    fn provide(&self, id: &Identity) -> Result<Pbkdf2Sha256, ProviderError> {
        match id {
            Identity::Username(u) if u == "juliet" => Ok(Pbkdf2Sha256::derive("r0meo", b"fake-salt", 4096)?),
            _ => Err(ProviderError::AuthenticationFailed),
        }
    }
}
sasl::impl_validator_using_provider!(Users, Pbkdf2Sha256);

/// The server half of one connection: a socket plus our own stream reader.
struct Fake<S = TcpStream> {
    s: S,
    r: StreamReader,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Fake<S> {
    async fn next(&mut self) -> Result<Item> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(item) = self.r.next_item()? {
                return Ok(item);
            }
            let n = self.s.read(&mut buf).await?;
            if n == 0 {
                return Ok(Item::End);
            }
            self.r.push(&buf[..n]);
        }
    }

    async fn el(&mut self) -> Result<El> {
        match self.next().await? {
            Item::Element(el) => Ok(el),
            other => bail!("fake expected an element, got {other:?}"),
        }
    }

    async fn send(&mut self, xml: &str) -> Result<()> {
        Ok(self.s.write_all(xml.as_bytes()).await?)
    }

    /// Reads the client's header, answers with ours and `features`.
    async fn open(&mut self, features: &str) -> Result<()> {
        self.r.restart();
        let Item::Header(h) = self.next().await? else { bail!("no client header") };
        assert_eq!(h.attr("to"), Some("example.com"));
        // Split in two writes to exercise reassembly on the client.
        self.send(HEADER).await?;
        self.send(&format!("<stream:features>{features}</stream:features>")).await
    }

    /// SCRAM-SHA-256 via the `sasl` server mechanism; returns whether it succeeded.
    async fn sasl(&mut self) -> Result<bool> {
        let auth = self.el().await?;
        assert_eq!(auth.attr("mechanism"), Some("SCRAM-SHA-256"));
        // sasl 0.5's server rejects the gs2 flag `n` unless it is given some channel
        // binding; empty tls-unique data makes it accept `n,,` and compute `c=biws`.
        let mut mech = Scram::<Sha256, _>::new(Users, ChannelBinding::TlsUnique(Vec::new()));
        let mut payload = B64.decode(auth.text.trim())?;
        loop {
            match mech.respond(&payload) {
                Ok(Response::Proceed(ch)) => {
                    let xml = format!("<challenge xmlns='{}'>{}</challenge>", ns::SASL, B64.encode(ch));
                    self.send(&xml).await?;
                    payload = B64.decode(self.el().await?.text.trim())?;
                }
                Ok(Response::Success(_, data)) => {
                    let xml = format!("<success xmlns='{}'>{}</success>", ns::SASL, B64.encode(data));
                    self.send(&xml).await?;
                    return Ok(true);
                }
                Err(_) => {
                    let xml = format!("<failure xmlns='{}'><not-authorized/><text>no</text></failure>", ns::SASL);
                    self.send(&xml).await?;
                    return Ok(false);
                }
            }
        }
    }
}

async fn spawn(script: fn(Fake) -> FakeFuture) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        script(Fake { s, r: StreamReader::new() }).await.unwrap();
    });
    addr
}

type FakeFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

const SASL_FEATURES: &str = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
    <mechanism>SCRAM-SHA-256</mechanism></mechanisms>";

/// Full session: SASL, restart, bind, required session, presence, ping, messages, close.
fn full_session(mut f: Fake) -> FakeFuture {
    Box::pin(async move {
        f.open(SASL_FEATURES).await?;
        assert!(f.sasl().await?);
        f.open(
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>",
        )
        .await?;
        let bind = f.el().await?;
        assert_eq!(bind.find_text("bind/resource"), Some("balcony"));
        let id = bind.attr("id").unwrap().to_owned();
        f.send(&format!(
            "<iq type='result' id='{id}'><bind xmlns='{}'><jid>juliet@example.com/balcony</jid></bind></iq>",
            ns::BIND
        ))
        .await?;
        let session = f.el().await?;
        assert!(session.child("session", ns::SESSION).is_some());
        f.send(&format!("<iq type='result' id='{}'/>", session.attr("id").unwrap())).await?;
        assert!(f.el().await?.is("presence", ns::CLIENT));
        let ping = f.el().await?;
        assert!(ping.find("ping").is_some());
        f.send("<message from='romeo@example.com/x' type='chat'><body>early</body></message>").await?;
        f.send("<presence from='juliet@example.com/balcony'/>").await?;
        f.send(&format!("<iq type='result' id='{}' from='example.com'/>", ping.attr("id").unwrap())).await?;
        let msg = f.el().await?;
        f.send(&msg.to_string()).await?;
        assert_eq!(f.next().await?, Item::End);
        f.send("</stream:stream>").await
    })
}

#[tokio::test]
async fn login_messages_and_close_against_a_fake_server() {
    let addr = spawn(full_session).await;
    let mut c = Client::login(addr, "example.com", "juliet", "r0meo", Some("balcony")).await.unwrap();
    assert_eq!(c.jid(), Some("juliet@example.com/balcony"));
    assert!(!c.is_tls());
    let early = c.recv().await.unwrap();
    assert_eq!(early.find_text("body"), Some("early"));
    c.send_message("romeo@example.com", "chat", "m1", "a & <b>").await.unwrap();
    let echo = c.recv().await.unwrap();
    assert_eq!(echo.attr("id"), Some("m1"));
    assert_eq!(echo.find_text("body"), Some("a & <b>"));
    c.close().await.unwrap();
}

fn wrong_password(mut f: Fake) -> FakeFuture {
    Box::pin(async move {
        f.open(SASL_FEATURES).await?;
        assert!(!f.sasl().await?);
        Ok(())
    })
}

#[tokio::test]
async fn wrong_password_is_a_typed_failure() {
    let addr = spawn(wrong_password).await;
    let mut c = Client::connect(addr, "example.com").await.unwrap();
    assert_eq!(c.features().mechanisms, ["SCRAM-SHA-256"]);
    assert_eq!(c.stream_header().attr("id"), Some("f1"));
    match c.authenticate(Mech::ScramSha256, "juliet", "wrong").await {
        Err(AuthError::Failure { condition, text }) => {
            assert_eq!(condition, "not-authorized");
            assert_eq!(text.as_deref(), Some("no"));
        }
        other => panic!("expected a SASL failure, got {other:?}"),
    }
}

fn stream_error(mut f: Fake) -> FakeFuture {
    Box::pin(async move {
        f.open("").await?;
        f.el().await?;
        f.el().await?;
        f.send("<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>").await
    })
}

#[tokio::test]
async fn silence_timeouts_and_stream_errors() {
    let addr = spawn(stream_error).await;
    let mut c = Client::connect(addr, "example.com").await.unwrap();
    assert!(!c.features().starttls && !c.features().bind);
    c.expect_silence(Duration::from_millis(50)).await.unwrap();
    assert_eq!(c.recv_timeout(Duration::from_millis(10)).await.unwrap(), None);
    c.send_raw("<bogus/>").await.unwrap();
    // The error arrives while iq() waits: it is queued, and still found afterwards.
    let err = c.iq("get", None, "<ping xmlns='urn:xmpp:ping'/>").await;
    assert!(err.unwrap_err().to_string().contains("stream ended"));
    assert_eq!(c.expect_stream_error().await.unwrap(), "policy-violation");
}

/// Self-signed for CN/SAN `example.com`, generated once for these tests only.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUUxTgeEW06N2PIsxm2yDzPyUZ7bowCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLZXhhbXBsZS5jb20wIBcNMjYxMTIxMTI0OTQ2WhgPMjEyNjEw
MjgxMjQ5NDZaMBYxFDASBgNVBAMMC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAE+SpKTpBUaWL6aQVKjCNdwBm9H1uXD0ruHcxxmMOH/jdiG3Wi
PfGwvL+teAYT3xzUr5j0/4ONhD8rFnC5HffqkKNrMGkwHQYDVR0OBBYEFM8qATyE
BpHOu/22vxhC1MNY7EMFMB8GA1UdIwQYMBaAFM8qATyEBpHOu/22vxhC1MNY7EMF
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILZXhhbXBsZS5jb20wCgYIKoZI
zj0EAwIDSQAwRgIhALUq0+Xu0MSEREymhj7KX8AljH6RZRS9lS2cfa3VBHsoAiEA
88ffS4FkuUqid6/xkPzhlcsQ1liDgBQlx9UTasWDU9M=
-----END CERTIFICATE-----";
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHUhmeLO9QTCeY+UE
WOaAypgZkYQ88mfELVfSdJDs+tWhRANCAAT5KkpOkFRpYvppBUqMI13AGb0fW5cP
Su4dzHGYw4f+N2IbdaI98bC8v614BhPfHNSvmPT/g42EPysWcLkd9+qQ
-----END PRIVATE KEY-----";

fn acceptor() -> Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(CERT.as_bytes())?],
            PrivateKeyDer::from_pem_slice(KEY.as_bytes())?,
        )?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// Required STARTTLS, then SASL, bind without resource, presence, ping, close.
fn tls_session(mut f: Fake) -> FakeFuture {
    Box::pin(async move {
        f.open("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>").await?;
        assert!(f.el().await?.is("starttls", ns::TLS));
        f.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
        let tls = acceptor()?.accept(f.s).await?;
        let mut f = Fake { s: tls, r: StreamReader::new() };
        f.open(SASL_FEATURES).await?;
        assert!(f.sasl().await?);
        f.open("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>").await?;
        let bind = f.el().await?;
        assert!(bind.find("bind/resource").is_none());
        f.send(&format!(
            "<iq type='result' id='{}'><bind xmlns='{}'><jid>juliet@example.com/gen1</jid></bind></iq>",
            bind.attr("id").unwrap(),
            ns::BIND
        ))
        .await?;
        assert!(f.el().await?.is("presence", ns::CLIENT));
        let ping = f.el().await?;
        f.send(&format!("<iq type='error' id='{}'><ping xmlns='urn:xmpp:ping'/><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", ping.attr("id").unwrap())).await?;
        assert_eq!(f.next().await?, Item::End);
        f.send("</stream:stream>").await?;
        f.s.shutdown().await?;
        Ok(())
    })
}

#[tokio::test]
async fn login_upgrades_to_tls_with_a_self_signed_certificate() {
    let addr = spawn(tls_session).await;
    let c = Client::login(addr, "example.com", "juliet", "r0meo", None).await.unwrap();
    assert!(c.is_tls());
    assert_eq!(c.jid(), Some("juliet@example.com/gen1"));
    assert!(c.features().bind && !c.features().starttls);
    c.close().await.unwrap();
}
