use lambda_runtime::{Error, service_fn};
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let pool = connect_lazy(&DbConfig::from_env_with_url(&database_url().await?)?);
    let trainer = triage_trainer::App::new(pool, nexify_embed::from_env()?);
    let trainer = &trainer;
    lambda_runtime::run(service_fn(move |event| trainer.handle(event))).await
}
