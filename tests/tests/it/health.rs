//! GET /api/health/, through the real handler with a built `lambda_http::Request`.

use health::Health;
use lambda_http::{Body, Request};
use sqlx::PgPool;

/// A request as API Gateway hands it to the function: with its route key and parameters.
fn routed(method: &str, path: &str) -> Request {
    let req = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .unwrap();
    nexify_tests::api::routed(req).expect("a template route").0
}

fn get(path: &str) -> Request {
    routed("GET", path)
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
async fn unrouted_requests_and_other_methods_are_problems_too() {
    let config = nexify_storage::DbConfig::from_url("postgres://nobody@127.0.0.1:1/none").unwrap();
    let health = Health::new(nexify_storage::connect_lazy(&config));
    // Invoked directly, without a route key: no route, whatever the path says.
    let direct = lambda_http::http::Request::builder()
        .method("GET")
        .uri("/api/health/")
        .body(Body::Empty)
        .unwrap();
    let resp = health.handle(direct).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(
        health
            .handle(routed("POST", "/api/health/"))
            .await
            .unwrap()
            .status(),
        405
    );
}

/// The served document is the one generated from the Rust types, without a database.
#[tokio::test]
async fn the_served_openapi_document_is_the_generated_one() {
    let config = nexify_storage::DbConfig::from_url("postgres://nobody@127.0.0.1:1/none").unwrap();
    let health = Health::new(nexify_storage::connect_lazy(&config));
    let resp = health.handle(get("/api/openapi.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "served as JSON"
    );
    let generated: serde_json::Value = serde_json::from_str(&nexify_api::document()).unwrap();
    assert_eq!(json(&resp), generated);
}

/// Pointed at a role that escapes row-level security (here the superuser that owns the
/// test database), a function refuses to serve: 503, every time. As `nexify_app`, the same
/// database serves.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_function_connected_as_the_owner_refuses_to_serve(
    _o: sqlx::postgres::PgPoolOptions,
    c: sqlx::postgres::PgConnectOptions,
) {
    let config = |options: sqlx::postgres::PgConnectOptions| nexify_storage::DbConfig {
        connect_options: options,
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(3),
    };
    let owner = Health::new(nexify_storage::connect_lazy(&config(c.clone())));
    for _ in 0..2 {
        let resp = owner.handle(get("/api/health/")).await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(
            json(&resp)["type"],
            "https://nexify.dev/problems/unavailable"
        );
    }
    let app = Health::new(nexify_storage::connect_lazy(&config(
        c.username(nexify_storage::APP_ROLE)
            .password(nexify_tests::APP_PASSWORD),
    )));
    assert_eq!(app.handle(get("/api/health/")).await.unwrap().status(), 200);
}

/// Over a network, a function checks the database server's certificate and name
/// (`sslmode=verify-full`), here through a TLS front for the local Postgres whose
/// certificate, for 127.0.0.1 only, comes from a throwaway CA. Trusting that CA, the
/// function serves; trusting another CA, or reaching the server by a name the certificate
/// does not carry, the connection is refused and health is 503.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_database_server_certificate_is_verified(
    _o: sqlx::postgres::PgPoolOptions,
    c: sqlx::postgres::PgConnectOptions,
) {
    use sqlx::Connection;
    let front = nexify_tests::tls::TlsFront::start(c.get_port()).await;
    let url = |host: &str, ca: &std::path::Path| {
        format!(
            "postgres://{}:{}@{host}:{}/{}?sslmode=verify-full&sslrootcert={}",
            nexify_storage::APP_ROLE,
            nexify_tests::APP_PASSWORD,
            front.port,
            c.get_database().unwrap(),
            ca.display()
        )
    };
    let trusted =
        nexify_storage::DbConfig::verified(&url("127.0.0.1", &front.ca()), false).unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&trusted.connect_options)
        .await
        .expect("the CA's certificate for 127.0.0.1 is accepted");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let health = Health::new(nexify_storage::connect_lazy(&trusted));
    assert_eq!(
        health.handle(get("/api/health/")).await.unwrap().status(),
        200
    );

    for (host, ca, why) in [
        ("127.0.0.1", front.other_ca(), "a CA the URL does not trust"),
        (
            "localhost",
            front.ca(),
            "a name the certificate does not carry",
        ),
    ] {
        let config = nexify_storage::DbConfig::verified(&url(host, &ca), false).unwrap();
        let refused = sqlx::PgConnection::connect_with(&config.connect_options)
            .await
            .expect_err(why);
        // rustls refuses the certificate itself (not, say, the password or the network).
        assert!(
            format!("{refused:?}").contains("InvalidCertificate"),
            "{why}: {refused:?}"
        );
        let health = Health::new(nexify_storage::connect_lazy(&config));
        assert_eq!(
            health.handle(get("/api/health/")).await.unwrap().status(),
            503,
            "{why}"
        );
    }
}

/// Deployed, a function's database URL is not in its environment: the environment names a
/// Secrets Manager secret (LocalStack here), and the function reads the URL from it at
/// start-up and serves with it. A secret without a `url` is refused, naming no value.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_database_url_comes_from_secrets_manager(
    _o: sqlx::postgres::PgPoolOptions,
    c: sqlx::postgres::PgConnectOptions,
) {
    use nexify_secrets::{Secrets, Source};
    let url = format!(
        "postgres://{}:{}@{}:{}/{}",
        nexify_storage::APP_ROLE,
        nexify_tests::APP_PASSWORD,
        c.get_host(),
        c.get_port(),
        c.get_database().unwrap()
    );
    let client = nexify_tests::secrets_client().await;
    let (good, bad) = (
        nexify_tests::unique("nexify-test/database-url"),
        nexify_tests::unique("nexify-test/database-url"),
    );
    for (name, value) in [
        (&good, serde_json::json!({ "url": url })),
        (&bad, serde_json::json!({ "uri": url })),
    ] {
        client
            .create_secret()
            .name(name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }
    let secrets = Secrets::new(client);
    let fetched = Source::Secret(good).value(&secrets, "url").await.unwrap();
    let config = nexify_storage::DbConfig::from_url(&fetched).unwrap();
    let health = Health::new(nexify_storage::connect_lazy(&config));
    assert_eq!(
        health.handle(get("/api/health/")).await.unwrap().status(),
        200
    );
    let refused = Source::Secret(bad)
        .value(&secrets, "url")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not usable"), "{refused}");
    assert!(!format!("{refused:?}").contains(nexify_tests::APP_PASSWORD));
}
