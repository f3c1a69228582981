//! One SMTP connection, opened when first needed and reused for every mail after it, over a TCP
//! socket with `TCP_NODELAY`. lettre writes a message's end-of-data line (`CRLF.CRLF`) apart from
//! its body; with Nagle's algorithm on, that line waits for the server to acknowledge the body,
//! which a server delays by up to 40 ms: lettre's own transport managed 19 mails a second to a
//! local server. lettre still speaks SMTP here (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
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

fn tls_config() -> Result<Arc<rustls::ClientConfig>, MailError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| MailError::Config(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
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
    timeout: Duration,
    open: tokio::sync::Mutex<Option<Open>>,
}

fn temporary(e: impl std::fmt::Display) -> MailError {
    MailError::Temporary(e.to_string())
}

impl Smtp {
    pub(crate) fn new(endpoint: Endpoint, timeout: Duration) -> Smtp {
        Smtp {
            endpoint,
            timeout,
            open: tokio::sync::Mutex::new(None),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let e = &self.endpoint;
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect((e.host.as_str(), e.port)))
            .await
            .map_err(|_| temporary(format!("connecting to {}:{} timed out", e.host, e.port)))?
            .map_err(|err| temporary(format!("connecting to {}:{}: {err}", e.host, e.port)))?;
        tcp.set_nodelay(true).map_err(temporary)?;
        let hello = ClientId::default();
        let stream: Box<dyn AsyncTokioStream> = match e.security {
            Security::Tls => {
                let name = rustls::pki_types::ServerName::try_from(e.host.clone())
                    .map_err(|err| MailError::Config(format!("TLS server name: {err}")))?;
                let tls = tokio_rustls::TlsConnector::from(tls_config()?)
                    .connect(name, tcp)
                    .await
                    .map_err(|err| temporary(format!("TLS with {}: {err}", e.host)))?;
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
        let starttls = match e.security {
            Security::StartTls => true,
            Security::Opportunistic => conn.can_starttls(),
            _ => false,
        };
        if starttls {
            let params = TlsParameters::new(e.host.clone())
                .map_err(|err| MailError::Config(format!("TLS: {err}")))?;
            conn.starttls(params, &hello).await.map_err(classify)?;
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
}
