//! The cold-start floor for a function whose first answer needs the database: a bare
//! `lambda_runtime` function whose handler opens one Postgres connection
//! (`HELLO_DATABASE_URL`) and runs `SELECT 1`. A binary of its own, so that linking sqlx
//! does not slow the bare floor (`hello-lambda`) down.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sqlx::Connection;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("HELLO_DATABASE_URL")?;
    let url = &url;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query("SELECT 1").execute(&mut conn).await?;
            Ok::<_, Error>(serde_json::json!({}))
        },
    ))
    .await
}
