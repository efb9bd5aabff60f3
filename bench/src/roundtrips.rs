//! Counts database round trips: a TCP proxy between a pool and Postgres that counts each
//! turn at which the client speaks again after the server answered (or first). Pipelined
//! messages, and a client's several writes before any answer, are one round trip.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct RoundTrips {
    pub port: u16,
    count: Arc<AtomicU64>,
}

impl RoundTrips {
    /// Listens on a free loopback port and forwards every connection to `upstream_port`.
    pub async fn proxy(upstream_port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        forward(client, server, counted).await;
                    }
                });
            }
        });
        Ok(Self { port, count })
    }

    /// A one-connection pool as the function role, built as deployed (`connect_lazy`), whose
    /// every round trip to the database at `owner_url` passes through a new counting proxy.
    pub async fn app_pool(owner_url: &str) -> anyhow::Result<(Self, nexify_storage::PgPool)> {
        let options: sqlx::postgres::PgConnectOptions = owner_url.parse()?;
        let proxy = Self::proxy(options.get_port()).await?;
        let mut config = crate::scratch::app_config(owner_url, 1)?;
        config.connect_options = config.connect_options.port(proxy.port);
        Ok((proxy, nexify_storage::connect_lazy(&config)))
    }

    /// Round trips since the last call.
    pub fn take(&self) -> u64 {
        self.count.swap(0, Ordering::SeqCst)
    }
}

async fn forward(client: TcpStream, server: TcpStream, count: Arc<AtomicU64>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Whether the client has spoken since the server last answered.
    let asked = Arc::new(AtomicBool::new(false));
    let asked_up = asked.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
            if !asked_up.swap(true, Ordering::SeqCst) {
                count.fetch_add(1, Ordering::SeqCst);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = server_read.read(&mut buf).await {
            asked.store(false, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(up, down);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;
    use sqlx::postgres::PgConnectOptions;

    /// Each prepared query is one round trip once its statement is cached; a transaction of
    /// `BEGIN; SELECT …` (one simple query), a query and a COMMIT is three.
    #[tokio::test]
    async fn counts_one_per_exchange() {
        let Ok(url) = std::env::var("DATABASE_URL") else {
            return; // the benchmarks run against a database; without one there is nothing to count
        };
        let options: PgConnectOptions = url.parse().unwrap();
        let proxy = RoundTrips::proxy(options.get_port()).await.unwrap();
        let mut conn = options.port(proxy.port).connect().await.unwrap();
        sqlx::query("SELECT $1::int")
            .bind(1)
            .execute(&mut conn)
            .await
            .unwrap();
        proxy.take();
        for i in 0..50 {
            sqlx::query("SELECT $1::int")
                .bind(i)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        assert_eq!(proxy.take(), 50);
        for _ in 0..10 {
            let mut tx = sqlx::Connection::begin_with(&mut conn, "BEGIN; SELECT 1")
                .await
                .unwrap();
            sqlx::query("SELECT $1::int")
                .bind(2)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(proxy.take(), 30);
    }
}
