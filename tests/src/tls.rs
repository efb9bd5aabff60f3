//! A TLS front for the local Postgres, whose embedded build has no TLS. It answers a
//! client's `SSLRequest` as a TLS-enabled server does, completes the handshake with a
//! certificate for 127.0.0.1 from a throwaway CA, and relays the decrypted stream to
//! Postgres. Tests use it to check `sslmode=verify-full` against a real handshake.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// Protocol version 1234.5679: "I want TLS", with its length.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

pub struct TlsFront {
    pub port: u16,
    dir: PathBuf,
}

impl TlsFront {
    /// Listens on a free loopback port in front of Postgres at `upstream_port`.
    pub async fn start(upstream_port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "nexify-tls-{}-{}",
            std::process::id(),
            crate::unique("front")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        make_certificates(&dir);
        let certs = CertificateDer::pem_file_iter(dir.join("server.crt"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(relay(client, acceptor, upstream_port));
            }
        });
        Self { port, dir }
    }

    /// The CA that signed the front's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA that signed nothing the front presents.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn relay(mut client: TcpStream, acceptor: tokio_rustls::TlsAcceptor, upstream_port: u16) {
    let mut head = [0u8; 8];
    // Plain text is refused, as a server with `hostssl` only would.
    if client.read_exact(&mut head).await.is_err() || head != SSL_REQUEST {
        return;
    }
    if client.write_all(b"S").await.is_err() {
        return;
    }
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut postgres) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut postgres).await;
}

/// A CA, a server certificate it signed for the address 127.0.0.1 only (not the name
/// `localhost`), and an unrelated CA, with the system's `openssl`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, subject) in [("ca", "/CN=Nexify test CA"), ("other-ca", "/CN=Other CA")] {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", subject];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem]);
        openssl(&args);
    }
    let mut args = vec!["req", "-subj", "/CN=127.0.0.1"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
}
