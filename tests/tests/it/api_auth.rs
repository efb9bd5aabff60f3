//! Sign-in, refresh, /me, and JWT attacks, through the real auth and tickets handlers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nexify_tests::api::Api;
use nexify_tests::{FIXTURE_PASSWORD, org_fixture};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn sign_in_refresh_and_me(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "auth-a").await;

    let r = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "Agent@Auth-A.test", "password": FIXTURE_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["expires_in"], 900);
    let access = r.json["access"].as_str().unwrap().to_owned();
    let refresh = r.json["refresh"].as_str().unwrap().to_owned();

    let me = api.call("GET", "/api/me/", Some(&access), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["user"]["email"], "agent@auth-a.test");
    assert_eq!(me.json["memberships"][0]["organization_id"], json!(a.org));
    assert_eq!(me.json["memberships"][0]["role"], "agent");
    assert!(me.json["user"].get("password_hash").is_none());

    let r = api
        .call(
            "POST",
            "/api/auth/token/refresh/",
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(r.status, 200);
    let new_access = r.json["access"].as_str().unwrap();
    assert_eq!(
        api.call("GET", "/api/me/", Some(new_access), None)
            .await
            .status,
        200
    );

    // A refresh token is not an access token, and an access token does not refresh.
    assert_eq!(
        api.call("GET", "/api/me/", Some(&refresh), None)
            .await
            .status,
        401
    );
    let r = api
        .call(
            "POST",
            "/api/auth/token/refresh/",
            None,
            Some(json!({"refresh": access})),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn wrong_credentials_are_401_and_bad_input_is_named(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "auth-b").await;
    let wrong = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@auth-b.test", "password": "nope"})),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let unknown = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "ghost@auth-b.test", "password": "nope"})),
        )
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.json["detail"], unknown.json["detail"],
        "same answer for unknown users"
    );
    let malformed = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "not-an-email", "password": "x"})),
        )
        .await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.json["field"], "email");
    let extra = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "a@b.co", "password": "x", "otp": 1})),
        )
        .await;
    assert_eq!(extra.status, 400);
    assert_eq!(extra.json["field"], "otp");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn jwt_attacks_are_refused_on_every_kind_of_route(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "auth-c").await;
    let good = api.token(a.admin);
    let parts: Vec<&str> = good.split('.').collect();

    let now = chrono::Utc::now().timestamp();
    let claims = |iat: i64, exp: i64, typ: &str| json!({"iss": "nexify", "aud": "nexify-api", "sub": a.admin, "iat": iat, "exp": exp, "typ": typ});
    let sign = |secret: &[u8], claims: &serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let expired = sign(
        nexify_tests::api::TEST_JWT_SECRET,
        &claims(now - 3600, now - 1800, "access"),
    );
    let other_key = sign(
        b"another-secret-that-is-long-enough-000",
        &claims(now, now + 600, "access"),
    );
    let wrong_audience = sign(
        nexify_tests::api::TEST_JWT_SECRET,
        &json!({"iss": "nexify", "aud": "someone-else", "sub": a.admin, "iat": now, "exp": now + 600, "typ": "access"}),
    );
    let mut tampered_claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    tampered_claims["sub"] = json!(a.viewer);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(tampered_claims.to_string()),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    // A refresh token is an opaque session secret, never a bearer token.
    let refresh = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "admin@auth-c.test", "password": FIXTURE_PASSWORD})),
        )
        .await
        .json["refresh"]
        .as_str()
        .unwrap()
        .to_owned();

    let tickets = format!("/api/orgs/{}/tickets/", a.org);
    for (name, token) in [
        ("expired", expired.as_str()),
        ("other key", &other_key),
        ("wrong audience", &wrong_audience),
        ("tampered", &tampered),
        ("alg none", &alg_none),
        ("refresh as access", &refresh),
        ("garbage", "abc.def.ghi"),
    ] {
        for path in ["/api/me/", tickets.as_str()] {
            let r = api.call("GET", path, Some(token), None).await;
            assert_eq!(r.status, 401, "{name} on {path}: {}", r.json);
            assert_eq!(r.headers["www-authenticate"], "Bearer");
        }
    }
    let expired_reply = api.call("GET", "/api/me/", Some(&expired), None).await;
    assert!(
        expired_reply.json["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(
        api.call("GET", &tickets, None, None).await.status,
        401,
        "no token at all"
    );
    assert_eq!(
        api.call("GET", &tickets, Some(&good), None).await.status,
        200,
        "the good token works"
    );
}
