//! The cold-start floor: a bare `lambda_runtime` function that answers `{}` and does
//! nothing else. `nexify-bench coldstart` times it beside the real functions.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(serde_json::json!({}))
    }))
    .await
}
