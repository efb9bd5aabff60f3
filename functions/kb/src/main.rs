use lambda_http::{Error, service_fn};
use nexify_auth::TokenVerifier;
use nexify_secrets::database_url;
use nexify_storage::{DbConfig, connect_lazy};

#[tokio::main]
async fn main() -> Result<(), Error> {
    nexify_telemetry::init();
    let pool = connect_lazy(&DbConfig::from_env_with_url(&database_url().await?)?);
    let app = kb::App::new(pool, TokenVerifier::from_env()?, nexify_embed::from_env()?);
    let app = &app;
    lambda_http::run(service_fn(move |req| app.handle(req))).await
}
