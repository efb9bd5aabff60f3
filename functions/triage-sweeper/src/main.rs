// The SDK send future nested in the sweep is deeper than the default limit allows.
#![recursion_limit = "256"]

use lambda_runtime::{Error, service_fn};
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let mut config = DbConfig::from_env_with_url(&database_url().await?)?;
    // The sweep's steps take a connection one after another, never two at once. With a pool
    // of one, a step waits for the previous step's connection to come back (sqlx returns it
    // in a task of its own) instead of opening a second one on the instance's first run.
    config.max_connections = 1;
    let pool = connect_lazy(&config);
    let mut sweeper = triage_sweeper::App::new(pool, SqsDispatcher::from_env()?);
    if std::env::var_os("DELIVERIES_QUEUE_URL").is_some() {
        sweeper = sweeper.with_deliveries(DeliveryQueue::from_env()?);
    }
    if std::env::var_os("NEXIFY_MAIL_FROM").is_some() {
        sweeper = sweeper.with_mailer(nexify_mail::SesMailer::from_env()?);
    }
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(move |event| sweeper.handle(event))).await
}
