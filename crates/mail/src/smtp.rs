//! One SMTP connection, opened when first needed and reused for every mail after it, over a TCP
//! socket with `TCP_NODELAY`. lettre writes a message's end-of-data line (`CRLF.CRLF`) apart from
//! its body; with Nagle's algorithm on, that line waits for the server to acknowledge the body,
//! which a server delays by up to 40 ms: lettre's own transport managed 19 mails a second to a
//! local server. lettre still speaks SMTP here (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::MailError;

/// How a connection is secured, from the URL: `smtp://` plain, `smtp://...?tls=opportunistic`
/// STARTTLS when offered, `smtp://...?tls=required` STARTTLS or fail, `smtps://` TLS from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    Plain,
    Opportunistic,
    StartTls,
    Tls,
}

#[derive(Clone)]
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("auth", &self.credentials.is_some())
            .finish()
    }
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let u = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let (mut security, port) = match u.scheme() {
            "smtp" => (Security::Plain, 25),
            "smtps" => (Security::Tls, 465),
            other => return Err(format!("the scheme is smtp or smtps, not {other:?}")),
        };
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.as_ref(), security) {
                ("tls", "required", Security::Plain) => security = Security::StartTls,
                ("tls", "opportunistic", Security::Plain) => security = Security::Opportunistic,
                ("tls", "none", Security::Plain) => {}
                ("tls", v, _) => {
                    return Err(format!(
                        "tls is required, opportunistic or none (on smtp://), not {v:?}"
                    ))
                }
                (k, ..) => return Err(format!("unknown parameter {k:?}")),
            }
        }
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| format!("user or password: {e}"))
        };
        let credentials = match u.username() {
            "" => None,
            user => Some(Credentials::new(
                decode(user)?,
                decode(u.password().unwrap_or(""))?,
            )),
        };
        Ok(Endpoint {
            host,
            port: u.port().unwrap_or(port),
            security,
            credentials,
        })
    }
}

/// A TLS stream lettre can speak SMTP over (implicit TLS, `smtps://`).
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The CA certificates in `path` (PEM), each checked to be usable as a root.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, MailError> {
    let bad = |why: String| MailError::Config(format!("smtp_ca_file {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (PEM \"BEGIN CERTIFICATE\" blocks)".into(),
        ));
    }
    for (i, cert) in certs.iter().enumerate() {
        rustls::RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| bad(format!("certificate {}: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// The system's roots, without those rustls cannot use (lettre refuses a list with one of them).
fn system_roots() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .filter(|c| rustls::RootCertStore::empty().add(c.clone()).is_ok())
        .collect()
}

/// TLS for the endpoint, made once with the mailer.
enum Encryption {
    Off,
    /// `smtps://`: rustls over our own socket.
    Implicit(tokio_rustls::TlsConnector, ServerName<'static>),
    /// STARTTLS: lettre upgrades the socket it speaks over and takes only its own parameters.
    StartTls(TlsParameters),
}

/// One set of roots (`smtp_ca_file`'s CAs, else the system's) for both ways of securing a
/// connection, so that STARTTLS and `smtps://` trust the same servers. The file is read even
/// for plain `smtp://`: a wrong path shows at start, not when someone adds `?tls=required`.
fn tls(e: &Endpoint, ca_file: Option<&Path>) -> Result<Encryption, MailError> {
    let from_file = ca_file.map(read_ca_file).transpose()?;
    if e.security == Security::Plain {
        return Ok(Encryption::Off);
    }
    let roots = from_file.unwrap_or_else(system_roots);
    let config = |what: &str, err: String| MailError::Config(format!("TLS {what}: {err}"));
    if e.security == Security::Tls {
        let mut store = rustls::RootCertStore::empty();
        store.add_parsable_certificates(roots);
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| config("versions", err.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
        let name = ServerName::try_from(e.host.clone())
            .map_err(|err| config("server name", err.to_string()))?;
        return Ok(Encryption::Implicit(
            tokio_rustls::TlsConnector::from(Arc::new(client)),
            name,
        ));
    }
    let mut params =
        TlsParameters::builder(e.host.clone()).certificate_store(CertificateStore::None);
    for root in roots {
        let cert = Certificate::from_der(root.to_vec())
            .map_err(|err| config("root certificate", err.to_string()))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|err| config("parameters", err.to_string()))?;
    Ok(Encryption::StartTls(params))
}

/// A certificate that did not verify, said plainly and with the setting that decides trust; it
/// stays a temporary failure, so mail waits in the outbox until the setting or the server is
/// fixed. Any other error: None.
fn untrusted(err: &(dyn std::error::Error + 'static)) -> Option<MailError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        // io::Error's `source` skips the error it wraps, which is where tokio-rustls puts rustls's.
        let found = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(c)) = found {
            let why = match c {
                rustls::CertificateError::UnknownIssuer => {
                    "it is not signed by a trusted CA (UnknownIssuer)".to_owned()
                }
                other => other.to_string(),
            };
            return Some(MailError::Temporary(format!(
                "the SMTP server's certificate is not trusted (smtp_ca_file): {why}"
            )));
        }
        cur = e.source();
    }
    None
}

/// A connection unused for this long is checked (NOOP) before it carries a mail: servers close
/// idle connections, and a mail should not fail for that.
const IDLE_CHECK: Duration = Duration::from_secs(10);

struct Open {
    conn: AsyncSmtpConnection,
    used: Instant,
}

/// The one connection, shared by clones of the mailer; a mail at a time goes over it.
pub(crate) struct Smtp {
    endpoint: Endpoint,
    tls: Encryption,
    timeout: Duration,
    open: tokio::sync::Mutex<Option<Open>>,
}

fn temporary(e: impl std::fmt::Display) -> MailError {
    MailError::Temporary(e.to_string())
}

impl Smtp {
    /// `ca_file`: the CAs the server's certificate must chain to instead of the system's.
    pub(crate) fn new(
        endpoint: Endpoint,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Smtp, MailError> {
        Ok(Smtp {
            tls: tls(&endpoint, ca_file)?,
            endpoint,
            timeout,
            open: tokio::sync::Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let e = &self.endpoint;
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect((e.host.as_str(), e.port)))
            .await
            .map_err(|_| temporary(format!("connecting to {}:{} timed out", e.host, e.port)))?
            .map_err(|err| temporary(format!("connecting to {}:{}: {err}", e.host, e.port)))?;
        tcp.set_nodelay(true).map_err(temporary)?;
        let hello = ClientId::default();
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Encryption::Implicit(connector, name) => {
                let tls = tokio::time::timeout(self.timeout, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| temporary(format!("the TLS handshake with {} timed out", e.host)))?
                    .map_err(|err| {
                        untrusted(&err)
                            .unwrap_or_else(|| temporary(format!("TLS with {}: {err}", e.host)))
                    })?;
                Box::new(TlsStream(tls))
            }
            _ => Box::new(tcp),
        };
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(stream, &hello),
        )
        .await
        .map_err(|_| temporary("the SMTP greeting timed out"))?
        .map_err(classify)?;
        if let Encryption::StartTls(params) = &self.tls {
            if conn.can_starttls() {
                tokio::time::timeout(self.timeout, conn.starttls(params.clone(), &hello))
                    .await
                    .map_err(|_| temporary(format!("STARTTLS with {} timed out", e.host)))?
                    .map_err(|err| untrusted(&err).unwrap_or_else(|| classify(err)))?;
            } else if e.security == Security::StartTls {
                // Temporary: the mail waits in the outbox for the server (or smtp_url) to be fixed.
                return Err(temporary(format!(
                    "the SMTP server {}:{} does not offer STARTTLS, which smtp_url requires \
                     (tls=required); nothing was sent in the clear",
                    e.host, e.port
                )));
            }
        }
        if let Some(c) = &e.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(classify)?;
        }
        Ok(conn)
    }

    /// Sends one message; the error says whether trying again may help. A failed mail closes
    /// the connection (lettre ends the session), and the next mail opens a new one.
    pub(crate) async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), MailError> {
        let mut open = self.open.lock().await;
        if let Some(o) = open.as_mut() {
            let alive = !o.conn.has_broken()
                && (o.used.elapsed() < IDLE_CHECK || o.conn.test_connected().await);
            if !alive {
                *open = None;
            }
        }
        let o = match open.as_mut() {
            Some(o) => o,
            None => open.insert(Open {
                conn: self.connect().await?,
                used: Instant::now(),
            }),
        };
        let sent = tokio::time::timeout(self.timeout, o.conn.send(envelope, message)).await;
        o.used = Instant::now();
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                *open = None;
                Err(classify(e))
            }
            Err(_) => {
                *open = None;
                Err(temporary("the SMTP server did not answer in time"))
            }
        }
    }
}

fn classify(e: lettre::transport::smtp::Error) -> MailError {
    if e.is_permanent() {
        MailError::Permanent(e.to_string())
    } else {
        MailError::Temporary(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_host_port_security_and_credentials() {
        let e = Endpoint::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("127.0.0.1", 2525, Security::Plain)
        );
        assert!(e.credentials.is_none());
        let e = Endpoint::parse("smtp://mail.example.org?tls=required").unwrap();
        assert_eq!((e.port, e.security), (25, Security::StartTls));
        let e = Endpoint::parse("smtp://mail.example.org:587?tls=opportunistic").unwrap();
        assert_eq!(e.security, Security::Opportunistic);
        let e = Endpoint::parse("smtps://ada%40example.org:p%3Ass@mail.example.org").unwrap();
        assert_eq!((e.port, e.security), (465, Security::Tls));
        assert_eq!(
            e.credentials,
            Some(Credentials::new("ada@example.org".into(), "p:ss".into()))
        );
        assert!(!format!("{e:?}").contains("p:ss"), "no password in logs");
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x?tls=maybe",
            "smtps://x?tls=required",
            "smtp://x?port=1",
            "not a url",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ca_file_that_cannot_serve_is_a_settings_error_even_for_plain_smtp() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let key_only = dir.path().join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for url in [
            "smtp://127.0.0.1:25",
            "smtps://127.0.0.1",
            "smtp://x?tls=required",
        ] {
            let e = Endpoint::parse(url).unwrap();
            for (file, says) in [
                (&missing, "No such file"),
                (&empty, "no certificate"),
                (&key_only, "no certificate"),
                (&broken, "not PEM certificates"),
            ] {
                let err = tls(&e, Some(file)).err().expect("refused").to_string();
                assert!(
                    err.starts_with("mail settings: smtp_ca_file ")
                        && err.contains(&file.display().to_string())
                        && err.contains(says),
                    "{url} {err}"
                );
            }
        }
    }

    #[test]
    fn certificate_errors_are_found_inside_io_errors() {
        // tokio-rustls hands rustls's error over inside an io::Error, whose `source` skips it.
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = untrusted(&io).expect("an untrusted certificate");
        assert!(matches!(e, MailError::Temporary(_)), "{e:?}");
        assert!(
            e.to_string().contains(
                "certificate is not trusted (smtp_ca_file): it is not signed by a trusted CA"
            ),
            "{e}"
        );
        let other =
            std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert!(untrusted(&other).is_none());
    }
}
