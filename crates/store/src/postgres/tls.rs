//! TLS to PostgreSQL: rustls with the ring provider over tokio-rustls (the versions the mail crate
//! builds). [`Tls`] is decided once per database when the store opens (the mode, the CAs, one
//! rustls config for every pooled connection) and makes each connection's handshake;
//! [`Tls::explain`] turns a failed connection into words an operator can act on.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::error::{DbError, SqlState};
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::url::{Split, SslMode};

/// Where the CAs that check the server's certificate come from (errors name them).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    System,
    File { path: PathBuf, from: &'static str },
}

impl std::fmt::Display for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::System => f.write_str("the system's CAs"),
            Roots::File { path, from } => write!(f, "{} ({from})", path.display()),
        }
    }
}

/// What every connection to one database does about TLS.
#[derive(Clone)]
pub(crate) struct Tls {
    pub mode: SslMode,
    /// The CAs the certificate chain is checked against; None: the chain is not checked.
    roots: Option<Roots>,
    /// None under `sslmode=disable`.
    config: Option<Arc<ClientConfig>>,
}

impl Tls {
    /// The TLS of a connection string's options, with `ca_file` (the `database_ca_file`
    /// setting) as the CAs when the string names none: `sslrootcert` is about one database, the
    /// setting about all of them, so the more specific one wins.
    pub fn new(split: &Split, ca_file: Option<&Path>) -> Result<Tls, String> {
        // libpq 16's `sslrootcert=system`: the system's CAs, and nothing weaker than verify-full,
        // since any public CA can sign for any name.
        let system = split.root_cert.as_deref() == Some("system");
        let mode = split.mode.unwrap_or(if system {
            SslMode::VerifyFull
        } else {
            SslMode::Prefer
        });
        if system && mode != SslMode::VerifyFull {
            return Err(format!(
                "sslmode={mode} may not be used with sslrootcert=system: use sslmode=verify-full"
            ));
        }
        let given = match split.root_cert.as_deref() {
            Some("system") => Some(Roots::System),
            Some(path) => Some(Roots::File {
                path: path.into(),
                from: "sslrootcert",
            }),
            None => ca_file.map(|path| Roots::File {
                path: path.to_owned(),
                from: "database_ca_file",
            }),
        };
        let roots = match mode {
            SslMode::Disable | SslMode::Prefer => {
                if let Some(roots) = &given {
                    tracing::warn!(
                        "{roots} is not used: sslmode={mode} does not check the database \
                         server's certificate (sslmode=verify-full does)"
                    );
                }
                None
            }
            // As libpq: `require` given a CA file checks the chain, so that a CA file set once
            // is never silently ignored by an older URL.
            SslMode::Require => given,
            SslMode::VerifyCa | SslMode::VerifyFull => Some(given.unwrap_or(Roots::System)),
        };
        let config = match mode {
            SslMode::Disable => None,
            _ => Some(Arc::new(client_config(mode, roots.as_ref())?)),
        };
        Ok(Tls {
            mode,
            roots,
            config,
        })
    }

    /// Why a connection failed, in words an operator can act on. The error never holds the
    /// password: tokio-postgres's errors name options and hosts, the server's name the user.
    pub fn explain(&self, e: &postgres::Error) -> String {
        let mut source = e.source();
        while let Some(s) = source {
            if let Some(tls) = s.downcast_ref::<rustls::Error>() {
                return self.explain_tls(tls);
            }
            if let Some(db) = s.downcast_ref::<DbError>() {
                return self.explain_refusal(db);
            }
            source = s.source();
        }
        let chain = chain(e);
        // tokio-postgres says this in a plain string: its words are the only way to know.
        if chain.contains("server does not support TLS") {
            return format!("the server does not support TLS but sslmode={}", self.mode);
        }
        chain
    }

    fn explain_tls(&self, e: &rustls::Error) -> String {
        let rustls::Error::InvalidCertificate(cert) = e else {
            return format!("the TLS handshake with the server failed: {e}");
        };
        let roots = self
            .roots
            .as_ref()
            .map_or_else(|| "no CA".to_owned(), ToString::to_string);
        match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the server's certificate is not signed by a trusted CA (database_ca_file / \
                 sslrootcert): it was checked against {roots}"
            ),
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => {
                let names: Vec<&str> = presented.iter().map(|n| presented_name(n)).collect();
                format!(
                    "the server's certificate is not valid for host {} (it names {}): connect \
                     by a name it holds, or use sslmode=verify-ca to check the CA but not the \
                     host name",
                    expected.to_str(),
                    if names.is_empty() {
                        "no host".to_owned()
                    } else {
                        names.join(", ")
                    }
                )
            }
            CertificateError::NotValidForName => "the server's certificate is not valid for the \
                host connected to: connect by a name it holds, or use sslmode=verify-ca to check \
                the CA but not the host name"
                .to_owned(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (is this machine's clock right?)"
                    .to_owned()
            }
            CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
            other => format!("the server's certificate was refused: {other}"),
        }
    }

    fn explain_refusal(&self, db: &DbError) -> String {
        let message = db.message();
        // PostgreSQL says which encryption a pg_hba.conf line was missing for.
        if self.mode == SslMode::Disable
            && *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && message.contains("no encryption")
        {
            return format!(
                "the server refuses connections without TLS ({message}): use sslmode=verify-full \
                 (or require)"
            );
        }
        format!("the server refused the connection: {message}")
    }
}

/// `DnsName("db.example")` as rustls lists a certificate's names, shown as `db.example`.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
        .unwrap_or(name)
}

/// An error and its causes: tokio-postgres's own `Display` shows only the outermost words.
pub(crate) fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn client_config(mode: SslMode, roots: Option<&Roots>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(load_roots(roots)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("{roots}: {e}"))?,
        ),
        None => None,
    };
    let verifier = Arc::new(Verifier {
        chain,
        names: mode == SslMode::VerifyFull,
        provider: provider.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // What libpq 17 sends; PostgreSQL 17 requires it for direct TLS, older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

fn load_roots(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            let (added, _) =
                store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if added == 0 {
                return Err(
                    "this system has no trusted CA certificates (install ca-certificates), \
                     and neither database_ca_file nor sslrootcert names a CA file"
                        .into(),
                );
            }
        }
        Roots::File { path, from } => {
            let shown = || format!("{from} {}", path.display());
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read {}: {e}", shown()))?;
            if certs.is_empty() {
                return Err(format!("{} holds no PEM certificate", shown()));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("{} holds a certificate that is no CA: {e}", shown()))?;
            }
        }
    }
    Ok(store)
}

/// What a mode checks of the server's certificate: nothing (`prefer`, and `require` without
/// CAs), its chain (`verify-ca`, and `require` given CAs), or its chain and the host name
/// (`verify-full`). The handshake's signatures are checked in every mode: they prove the server
/// holds the certificate's key, and channel binding rests on that.
#[derive(Debug)]
struct Verifier {
    /// rustls's own verifier over the CAs; None: the certificate is not checked.
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// Whether the certificate must hold the host's name.
    names: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // The name is checked after the chain: a wrong name means the chain held.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl<S> MakeTlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = String;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, String> {
        let name = match ServerName::try_from(host.to_owned()) {
            Ok(name) => name,
            Err(_) if self.mode == SslMode::VerifyFull && !host.is_empty() => {
                return Err(format!(
                    "host {host} is neither a DNS name nor an IP address, so the server's \
                     certificate cannot be checked against it (sslmode=verify-full)"
                ))
            }
            // The name is not checked in the other modes; an address sends no SNI.
            Err(_) => ServerName::from(std::net::IpAddr::from([0u8, 0, 0, 0])),
        };
        Ok(Connect {
            config: self.config.clone(),
            name,
        })
    }
}

pub(crate) struct Connect {
    config: Option<Arc<ClientConfig>>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Stream<S>, Self::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self.config.ok_or("TLS is off (sslmode=disable)")?;
            match tokio_rustls::TlsConnector::from(config)
                .connect(self.name, stream)
                .await
            {
                Ok(stream) => Ok(Stream(stream)),
                // tokio-rustls wraps rustls's error in an io::Error whose `source()` skips it:
                // unwrapped, `Tls::explain` finds it.
                Err(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                    Err(e.into_inner().expect("an inner error"))
                }
                Err(e) => Err(e.into()),
            }
        })
    }
}

pub(crate) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    /// `tls-server-end-point` (RFC 5929): SCRAM then proves the password to the server that
    /// holds this certificate's key, which defeats a man in the middle even where the
    /// certificate itself is not checked (`require`).
    fn channel_binding(&self) -> ChannelBinding {
        let (_, conn) = self.0.get_ref();
        conn.peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| server_end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// The certificate's hash with its signature's hash function (SHA-256 for MD5 and SHA-1), as
/// RFC 5929 and PostgreSQL compute it. None for algorithms PostgreSQL cannot bind to either
/// (RSA-PSS, Ed25519): SCRAM then goes without binding, as with libpq.
fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use ring::digest::{SHA256, SHA384, SHA512};
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let oid = signature_algorithm(cert)?;
    let hash = match oid.split_last()? {
        // md5WithRSAEncryption, sha1WithRSAEncryption
        (4 | 5, head) if head == RSA => &SHA256,
        (11, head) if head == RSA => &SHA256,
        (12, head) if head == RSA => &SHA384,
        (13, head) if head == RSA => &SHA512,
        _ if oid == ECDSA_SHA1 => &SHA256,
        (2, head) if head == ECDSA_SHA2 => &SHA256,
        (3, head) if head == ECDSA_SHA2 => &SHA384,
        (4, head) if head == ECDSA_SHA2 => &SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(hash, cert).as_ref().to_vec())
}

/// The OID of a DER certificate's `signatureAlgorithm`: Certificate ::= SEQUENCE {
/// tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, ... }, signature }.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    let (0x30, cert, _) = der(cert)? else {
        return None;
    };
    let (0x30, _tbs, rest) = der(cert)? else {
        return None;
    };
    let (0x30, algorithm, _) = der(rest)? else {
        return None;
    };
    let (0x06, oid, _) = der(algorithm)? else {
        return None;
    };
    Some(oid)
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |l, &b| l << 8 | b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> Split {
        super::super::url::split(url).unwrap()
    }

    #[test]
    fn the_url_root_cert_wins_over_the_setting() {
        let tls = Tls::new(
            &split("postgres://h/db?sslmode=require&sslrootcert=/nonexistent/url-ca.pem"),
            Some(Path::new("/nonexistent/setting-ca.pem")),
        );
        let e = tls
            .err()
            .expect("the URL's file is read, and it is missing");
        assert!(e.contains("sslrootcert /nonexistent/url-ca.pem"), "{e}");
        let e = Tls::new(
            &split("postgres://h/db?sslmode=verify-ca"),
            Some(Path::new("/nonexistent/setting-ca.pem")),
        )
        .err()
        .unwrap();
        assert!(
            e.contains("cannot read database_ca_file /nonexistent/setting-ca.pem"),
            "{e}"
        );
    }

    #[test]
    fn modes_that_do_not_check_need_no_ca() {
        for url in [
            "postgres://h/db",
            "postgres://h/db?sslmode=disable",
            "postgres://h/db?sslmode=prefer",
            "postgres://h/db?sslmode=require",
        ] {
            let tls = Tls::new(&split(url), None).unwrap();
            assert_eq!(tls.roots, None, "{url}");
        }
        // A CA file the mode would not use is not even read.
        let tls = Tls::new(
            &split("postgres://h/db?sslmode=prefer"),
            Some(Path::new("/nonexistent/ca.pem")),
        )
        .unwrap();
        assert_eq!((tls.mode, tls.roots), (SslMode::Prefer, None));
    }

    #[test]
    fn sslrootcert_system_means_verify_full() {
        let tls = Tls::new(&split("postgres://h/db?sslrootcert=system"), None);
        // A machine without CA certificates says so; either way the mode was verify-full.
        match tls {
            Ok(tls) => assert_eq!(
                (tls.mode, tls.roots),
                (SslMode::VerifyFull, Some(Roots::System))
            ),
            Err(e) => assert!(e.contains("no trusted CA certificates"), "{e}"),
        }
        let e = Tls::new(
            &split("postgres://h/db?sslrootcert=system&sslmode=require"),
            None,
        )
        .err()
        .unwrap();
        assert!(e.contains("use sslmode=verify-full"), "{e}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = Tls::new(&split("postgres://h/db?sslmode=verify-full"), Some(&path))
            .err()
            .unwrap();
        assert!(e.contains("holds no PEM certificate"), "{e}");
    }

    #[test]
    fn end_point_hashes_follow_the_signature_algorithm() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der();
        assert_eq!(
            server_end_point(der).unwrap(),
            ring::digest::digest(&ring::digest::SHA384, der).as_ref()
        );
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(server_end_point(cert.der()).unwrap().len(), 32);
        // Ed25519: PostgreSQL cannot bind to it either, so there is nothing to send.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(server_end_point(cert.der()), None);
        assert_eq!(server_end_point(&[0x30, 0x82, 0xff]), None);
    }

    #[test]
    fn presented_names_read_plainly() {
        assert_eq!(presented_name("DnsName(\"db.example\")"), "db.example");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
    }
}
