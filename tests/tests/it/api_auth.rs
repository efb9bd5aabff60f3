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
    // Signed with the deployment's own private key (or another), as EdDSA with its kid.
    let sign_with = |key: &nexify_auth::SigningKey, claims: &serde_json::Value| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let pem = key
            .private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        let der = base64::engine::general_purpose::STANDARD
            .decode(pem)
            .unwrap();
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&der),
        )
        .unwrap()
    };
    let ours = &api.signing_key;
    let expired = sign_with(ours, &claims(now - 3600, now - 1800, "access"));
    // Another key presenting our kid.
    let (mut impostor, _) = nexify_auth::SigningKey::generate("impostor").unwrap();
    impostor.kid = ours.kid.clone();
    let other_key = sign_with(&impostor, &claims(now, now + 600, "access"));
    let wrong_audience = sign_with(
        ours,
        &json!({"iss": "nexify", "aud": "someone-else", "sub": a.admin, "iat": now, "exp": now + 600, "typ": "access"}),
    );
    // HS256 with our kid, keyed by anything an attacker might know.
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(ours.kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &claims(now, now + 600, "access"),
        &jsonwebtoken::EncodingKey::from_secret(ours.kid.as_bytes()),
    )
    .unwrap();
    // Sanity: our key, fresh claims, is accepted, so the refusals below are about the change.
    let fresh = sign_with(ours, &claims(now, now + 600, "access"));
    assert_eq!(
        api.call("GET", "/api/me/", Some(&fresh), None).await.status,
        200
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
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            ours.kid
        )),
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
        ("hs256", &hs256),
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

/// The auth function fetches its signing key from Secrets Manager (LocalStack), starting at
/// start-up. While the secret cannot be read, signing in is 503 and nothing else breaks;
/// the next request fetches again, and once the secret is there, sign-in works with a key
/// the other functions accept. A key that does not match the published public keys is
/// never used.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_signing_key_comes_from_secrets_manager(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "auth-key").await;
    let secrets = nexify_tests::secrets_client().await;
    let id = nexify_tests::unique("nexify-test/late-key");
    let mailer = nexify_tests::mail::mailer().await;
    let console = nexify_service::mail::Console::new(nexify_tests::mail::CONSOLE_URL).unwrap();
    let (key, public) = nexify_auth::SigningKey::generate("late").unwrap();
    let verifier = nexify_auth::TokenVerifier::new(&public).unwrap();
    let auth = auth::App::new(
        api.db.app.clone(),
        verifier.clone(),
        auth::SigningKeys::Secret {
            secrets: nexify_secrets::Secrets::new(secrets.clone()),
            id: id.clone(),
        },
        nexify_service::signup::SignupPolicy::Open,
        mailer,
        console,
    );
    let sign_in = || async {
        let req = Api::request(
            "POST",
            "/api/auth/token/",
            None,
            Some(&json!({"email": "admin@auth-key.test", "password": FIXTURE_PASSWORD})),
        );
        let (req, _) = nexify_tests::api::routed(req).unwrap();
        let resp = auth.handle(req).await.unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        (status, body)
    };
    let (status, body) = sign_in().await;
    assert_eq!(status, 503, "no secret yet: {body}");
    assert_eq!(body["type"], "https://nexify.dev/problems/unavailable");
    // A secret holding some other key: fetched, but refused, as the verifier would not
    // accept its tokens.
    let (stranger, _) = nexify_auth::SigningKey::generate("late").unwrap();
    secrets
        .create_secret()
        .name(&id)
        .secret_string(serde_json::to_string(&stranger).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in().await.0, 500, "a mismatched key is not used");
    secrets
        .put_secret_value()
        .secret_id(&id)
        .secret_string(serde_json::to_string(&key).unwrap())
        .send()
        .await
        .unwrap();
    let (status, body) = sign_in().await;
    assert_eq!(status, 200, "{body}");
    let access = body["access"].as_str().unwrap();
    assert_eq!(
        verifier
            .verify(access, nexify_auth::TokenType::Access)
            .unwrap(),
        a.admin
    );
}
