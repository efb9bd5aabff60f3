// The SDK send future nested in the handlers is deeper than the default limit allows.
#![recursion_limit = "256"]

use lambda_http::{Error, service_fn};
use nexify_auth::TokenVerifier;
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, StorageError, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let config = DbConfig::from_env_with_url(&database_url().await?)?;
    // The list holds one of the pool's connections between requests; the rest need another.
    if config.max_connections < 2 {
        return Err(StorageError::Config(
            "the tickets function needs DATABASE_MAX_CONNECTIONS of at least 2".into(),
        )
        .into());
    }
    let pool = connect_lazy(&config);
    let mut app = tickets::App::new(pool, TokenVerifier::from_env()?, SqsDispatcher::from_env()?);
    if std::env::var_os("DELIVERIES_QUEUE_URL").is_some() {
        app = app.with_deliveries(DeliveryQueue::from_env()?);
    }
    let app = &app;
    lambda_http::run(service_fn(move |req| app.handle(req))).await
}
