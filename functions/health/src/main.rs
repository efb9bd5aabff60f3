use lambda_http::{Error, service_fn};
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let config = DbConfig::from_env_with_url(&database_url().await?)?;
    let health = health::Health::new(connect_lazy(&config));
    let health = &health;
    lambda_http::run(service_fn(move |req| health.handle(req))).await
}
