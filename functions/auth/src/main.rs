use lambda_http::{Error, service_fn};
use nexify_auth::TokenVerifier;
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

// An instance gets one event at a time: one thread serves it, with no hand-off of each
// wake-up between threads. CPU-heavy work (embedding, training) goes to blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let pool = connect_lazy(&DbConfig::from_env_with_url(&database_url().await?)?);
    let signup = nexify_service::signup::SignupPolicy::from_env()?;
    let mailer = nexify_mail::SesMailer::from_env()?;
    let console = nexify_service::mail::Console::from_env()?;
    // Starts fetching the signing key from Secrets Manager; requests that sign wait for it.
    let keys = auth::SigningKeys::from_env()?;
    let app = auth::App::new(
        pool,
        TokenVerifier::from_env()?,
        keys,
        signup,
        mailer,
        console,
    );
    let app = &app;
    lambda_http::run(service_fn(move |req| app.handle(req))).await
}
