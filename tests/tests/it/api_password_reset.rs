//! Password reset by mailed token: asking answers 202 whether or not the account exists;
//! the link arrives through SES (read back from LocalStack); its token works once, for 30
//! minutes, ends every session, and asking again retires the earlier link.

use nexify_tests::api::{Api, Reply};
use nexify_tests::mail::{CONSOLE_URL, MAIL_FROM, sent_to, token_in};
use nexify_tests::{FIXTURE_PASSWORD, org_fixture, unique};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const NEW_PASSWORD: &str = "brass kettle orbit meadow";

async fn ask(api: &Api, email: &str) -> Reply {
    api.call(
        "POST",
        "/api/auth/password-reset/",
        None,
        Some(json!({ "email": email })),
    )
    .await
}

async fn confirm(api: &Api, token: &str, password: &str) -> Reply {
    api.call(
        "POST",
        "/api/auth/password-reset/confirm/",
        None,
        Some(json!({ "token": token, "new_password": password })),
    )
    .await
}

async fn sign_in(api: &Api, email: &str, password: &str) -> Reply {
    api.call(
        "POST",
        "/api/auth/token/",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_mailed_link_sets_a_new_password_once_and_ends_every_session(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let slug = unique("reset");
    org_fixture(&api.db.owner, &slug).await;
    let email = format!("agent@{slug}.test");
    let before = sign_in(&api, &email, FIXTURE_PASSWORD).await;
    let old_refresh = before.json["refresh"].as_str().unwrap().to_owned();

    // An unknown email is answered exactly as a known one, and gets no mail.
    let stranger = format!("nobody@{slug}.test");
    let unknown = ask(&api, &stranger).await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (202, &serde_json::Value::Null)
    );
    let known = ask(&api, &email).await;
    assert_eq!((known.status, &known.json), (202, &serde_json::Value::Null));
    assert!(sent_to(&stranger).await.is_empty());

    let mails = sent_to(&email).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0]["Source"], MAIL_FROM);
    assert_eq!(mails[0]["Subject"], "Reset your Nexify password");
    let text = mails[0]["Body"]["text_part"].as_str().unwrap();
    assert!(
        text.contains(&format!("{CONSOLE_URL}/reset/?token=")),
        "{text}"
    );
    assert!(text.contains("30 minutes"), "{text}");
    let token = token_in(&mails[0]);

    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM password_resets WHERE token_hash = $1 OR token_hash = $2::bytea",
    )
    .bind(nexify_auth::one_time::hash(&token).to_vec())
    .bind(token.as_bytes())
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(stored, 1);

    // A weak password is refused without spending the token.
    let weak = confirm(&api, &token, "password1234").await;
    assert_eq!(weak.status, 422, "{}", weak.json);
    assert_eq!(weak.json["field"], "new_password", "{}", weak.json);

    let done = confirm(&api, &token, NEW_PASSWORD).await;
    assert_eq!(done.status, 204, "{}", done.json);
    assert_eq!(sign_in(&api, &email, FIXTURE_PASSWORD).await.status, 401);
    assert_eq!(sign_in(&api, &email, NEW_PASSWORD).await.status, 200);
    // Every session that existed before the reset is over.
    let stale = api
        .call(
            "POST",
            "/api/auth/token/refresh/",
            None,
            Some(json!({ "refresh": old_refresh })),
        )
        .await;
    assert_eq!(stale.status, 401, "{}", stale.json);

    // Single use.
    let again = confirm(&api, &token, "another brass kettle orbit").await;
    assert_eq!(again.status, 422, "{}", again.json);
    assert!(
        again.json["detail"].as_str().unwrap().contains("used"),
        "{}",
        again.json
    );
    assert_eq!(sign_in(&api, &email, NEW_PASSWORD).await.status, 200);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_link_expires_and_a_newer_one_retires_it(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let slug = unique("reset-exp");
    org_fixture(&api.db.owner, &slug).await;
    let email = format!("viewer@{slug}.test");

    assert_eq!(ask(&api, &email).await.status, 202);
    let first = token_in(&sent_to(&email).await[0]);
    assert_eq!(ask(&api, &email).await.status, 202);
    let mails = sent_to(&email).await;
    assert_eq!(mails.len(), 2);
    let second = token_in(&mails[1]);
    assert_ne!(first, second);

    let retired = confirm(&api, &first, NEW_PASSWORD).await;
    assert_eq!(retired.status, 422, "{}", retired.json);
    assert_eq!(retired.json["field"], "token");

    // 30 minutes later.
    let lifetime: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 FROM password_resets
         WHERE token_hash = $1",
    )
    .bind(nexify_auth::one_time::hash(&second).to_vec())
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert!((lifetime - 1800.0).abs() < 1.0, "{lifetime}");
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        .execute(&api.db.owner)
        .await
        .unwrap();
    let expired = confirm(&api, &second, NEW_PASSWORD).await;
    assert_eq!(expired.status, 422, "{}", expired.json);
    assert!(
        expired.json["detail"].as_str().unwrap().contains("expired"),
        "{}",
        expired.json
    );
    assert_eq!(sign_in(&api, &email, FIXTURE_PASSWORD).await.status, 200);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn asking_too_often_is_throttled(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let slug = unique("reset-429");
    org_fixture(&api.db.owner, &slug).await;
    let email = format!("admin@{slug}.test");
    for _ in 0..nexify_service::throttle::ACCOUNT_FAILURES {
        assert_eq!(ask(&api, &email).await.status, 202);
    }
    let refused = ask(&api, &email).await;
    assert_eq!(refused.status, 429, "{}", refused.json);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        sent_to(&email).await.len(),
        nexify_service::throttle::ACCOUNT_FAILURES as usize
    );
    // A made-up token is refused, and counts against the address.
    let made_up = confirm(&api, "not-a-token", NEW_PASSWORD).await;
    assert_eq!(made_up.status, 422, "{}", made_up.json);
}
