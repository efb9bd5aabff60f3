//! GET /api/health/, through the real handler with a built `lambda_http::Request`.

use health::Health;
use lambda_http::{Body, Request};
use sqlx::PgPool;

fn get(path: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap()
}

fn json(resp: &lambda_http::Response<Body>) -> serde_json::Value {
    serde_json::from_slice(resp.body().as_ref()).unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn health_is_ok_when_the_database_answers(pool: PgPool) {
    let resp = Health::new(pool).handle(get("/api/health/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(&resp)["database"], "ok");
}

#[tokio::test]
async fn health_is_503_problem_json_when_the_database_is_down() {
    // Nothing listens on port 1; the pool's connect fails fast.
    let config = nexify_storage::DbConfig::from_url("postgres://nobody@127.0.0.1:1/none").unwrap();
    let resp = Health::new(nexify_storage::connect_lazy(&config))
        .handle(get("/api/health/"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(
        json(&resp)["type"],
        "https://nexify.dev/problems/unavailable"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems_too() {
    let config = nexify_storage::DbConfig::from_url("postgres://nobody@127.0.0.1:1/none").unwrap();
    let health = Health::new(nexify_storage::connect_lazy(&config));
    assert_eq!(
        health.handle(get("/api/nope/")).await.unwrap().status(),
        404
    );
    let post = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/api/health/")
        .body(Body::Empty)
        .unwrap();
    assert_eq!(health.handle(post).await.unwrap().status(), 405);
}
