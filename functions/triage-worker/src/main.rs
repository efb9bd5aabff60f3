use lambda_runtime::{Error, service_fn};
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let pool = connect_lazy(&DbConfig::from_env_with_url(&database_url().await?)?);
    let mut worker = triage_worker::App::from_env(
        pool,
        nexify_triage::LearnedEngine,
        nexify_embed::from_env()?,
    )?;
    if std::env::var_os("DELIVERIES_QUEUE_URL").is_some() {
        worker = worker.with_deliveries(nexify_queue::DeliveryQueue::from_env()?);
    }
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event| worker.handle(event))).await
}
