//! The cold-start floor for a function that reads a secret at start-up, as every Nexify
//! function reads its database URL: a bare `lambda_runtime` function that first fetches one
//! Secrets Manager secret (`HELLO_SECRET`, LocalStack locally) and then answers `{}`. With
//! `HELLO_DATABASE` set, its handler also opens one Postgres connection to the URL in that
//! secret and runs `SELECT 1`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use nexify_secrets::{Secrets, Source};
use sqlx::Connection;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = Source::Secret(std::env::var("HELLO_SECRET")?)
        .value(&Secrets::default(), "url")
        .await?;
    let query = std::env::var_os("HELLO_DATABASE").is_some();
    let url = &url;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            if query {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
            }
            Ok::<_, Error>(serde_json::json!({}))
        },
    ))
    .await
}
