//! Sessions that end: refresh tokens rotate on every use, a reused one ends its whole
//! session, sign-out ends one session or all, and a removal from an org ends them all.

use nexify_tests::api::{Api, Reply};
use nexify_tests::{FIXTURE_PASSWORD, org_fixture};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn sign_in(api: &Api, email: &str) -> (String, String) {
    let r = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": email, "password": FIXTURE_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    (
        r.json["access"].as_str().unwrap().to_owned(),
        r.json["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(api: &Api, token: &str) -> Reply {
    api.call(
        "POST",
        "/api/auth/token/refresh/",
        None,
        Some(json!({ "refresh": token })),
    )
    .await
}

async fn sign_out(api: &Api, token: &str, everywhere: bool) -> Reply {
    api.call(
        "POST",
        "/api/auth/logout/",
        None,
        Some(json!({ "refresh": token, "everywhere": everywhere })),
    )
    .await
}

fn next_refresh(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["refresh"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-rot").await;
    let (_, first) = sign_in(&api, "agent@ses-rot.test").await;
    let second = next_refresh(&refresh(&api, &first).await);
    assert_ne!(second, first);
    let third = next_refresh(&refresh(&api, &second).await);

    // The spent `first` comes back (a copy): refused, and the whole session ends, so the
    // live `third` stops working too.
    let reused = refresh(&api, &first).await;
    assert_eq!(reused.status, 401, "{}", reused.json);
    assert_eq!(refresh(&api, &third).await.status, 401);

    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE token_hash = $1 OR token_hash = $2::bytea",
    )
    .bind(nexify_auth::one_time::hash(&third).to_vec())
    .bind(third.as_bytes())
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(stored, 1);

    // An expired session does not refresh either.
    let (_, fresh) = sign_in(&api, "agent@ses-rot.test").await;
    sqlx::query(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
    )
    .bind(nexify_auth::one_time::hash(&fresh).to_vec())
    .execute(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(refresh(&api, &fresh).await.status, 401);
    for garbage in ["", "abc", &"g".repeat(64)] {
        assert_eq!(refresh(&api, garbage).await.status, 401, "{garbage}");
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn sign_out_ends_one_session_or_all(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-out").await;
    let (_, laptop) = sign_in(&api, "viewer@ses-out.test").await;
    let (_, phone) = sign_in(&api, "viewer@ses-out.test").await;
    let (_, tablet) = sign_in(&api, "viewer@ses-out.test").await;
    let (_, other_user) = sign_in(&api, "agent@ses-out.test").await;

    assert_eq!(sign_out(&api, &laptop, false).await.status, 204);
    assert_eq!(refresh(&api, &laptop).await.status, 401, "signed out");
    let phone = next_refresh(&refresh(&api, &phone).await);

    assert_eq!(sign_out(&api, &phone, true).await.status, 204);
    assert_eq!(refresh(&api, &phone).await.status, 401);
    assert_eq!(refresh(&api, &tablet).await.status, 401, "everywhere");
    next_refresh(&refresh(&api, &other_user).await);
    // Signing out twice, or with a token nobody issued, is still a success.
    assert_eq!(sign_out(&api, &laptop, false).await.status, 204);
    assert_eq!(sign_out(&api, "nonsense", true).await.status, 204);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_member_removed_from_an_org_is_signed_out(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "ses-rm").await;
    let (_, agent_session) = sign_in(&api, "agent@ses-rm.test").await;
    let (_, admin_session) = sign_in(&api, "admin@ses-rm.test").await;
    let removed = api
        .call(
            "DELETE",
            &format!("/api/orgs/{}/members/{}/", a.org, a.agent),
            Some(&api.token(a.admin)),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.json);
    assert_eq!(refresh(&api, &agent_session).await.status, 401);
    next_refresh(&refresh(&api, &admin_session).await);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(a.agent)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(live, 0);
}

async fn change_password(api: &Api, access: &str, current: &str, new: &str) -> Reply {
    api.call(
        "POST",
        "/api/me/password/",
        Some(access),
        Some(json!({ "current_password": current, "new_password": new })),
    )
    .await
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_password_change_ends_every_other_session(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-pw").await;
    let (access, here) = sign_in(&api, "agent@ses-pw.test").await;
    let (_, elsewhere) = sign_in(&api, "agent@ses-pw.test").await;
    let new = "a brand new passphrase";

    for (current, next, field) in [
        ("wrong password!", new, "current_password"),
        (FIXTURE_PASSWORD, "short", "new_password"),
        (FIXTURE_PASSWORD, FIXTURE_PASSWORD, "new_password"),
    ] {
        let r = change_password(&api, &access, current, next).await;
        assert_eq!(
            (r.status, r.json["field"].as_str()),
            (422, Some(field)),
            "{}",
            r.json
        );
    }
    next_refresh(&refresh(&api, &elsewhere).await);

    let changed = change_password(&api, &access, FIXTURE_PASSWORD, new).await;
    assert_eq!(changed.status, 200, "{}", changed.json);
    let fresh = changed.json["refresh"].as_str().unwrap();
    assert_eq!(
        refresh(&api, &here).await.status,
        401,
        "this device's old session ended"
    );
    next_refresh(&refresh(&api, fresh).await);
    let old = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@ses-pw.test", "password": FIXTURE_PASSWORD})),
        )
        .await;
    assert_eq!(old.status, 401);
    let signed_in = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@ses-pw.test", "password": new})),
        )
        .await;
    assert_eq!(signed_in.status, 200);
    assert_eq!(
        change_password(&api, "not a token", new, "another passphrase")
            .await
            .status,
        401
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn failed_sign_ins_are_throttled_per_account_then_forgiven(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-thr").await;
    let attempt = |password: &'static str| {
        api.call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@ses-thr.test", "password": password})),
        )
    };
    for _ in 0..nexify_service::throttle::ACCOUNT_FAILURES {
        assert_eq!(attempt("not the password").await.status, 401);
    }
    // Over the limit: refused before any password check, even the right one.
    let refused = attempt(FIXTURE_PASSWORD).await;
    assert_eq!(refused.status, 429, "{}", refused.json);
    let wait: u32 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another account is not held back.
    org_fixture(&api.db.owner, "ses-free").await;
    let other = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@ses-free.test", "password": FIXTURE_PASSWORD})),
        )
        .await;
    assert_eq!(other.status, 200);
    // Once the window is over, the right password works and the count starts afresh.
    sqlx::query("UPDATE auth_failures SET window_start = now() - interval '16 minutes'")
        .execute(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(attempt(FIXTURE_PASSWORD).await.status, 200);
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM auth_failures WHERE key LIKE 'account:%'")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(left, 0, "a success forgets the account's failures");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn one_address_guessing_across_accounts_is_throttled(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_service::accounts;
    use nexify_service::throttle::ADDRESS_FAILURES;
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-ip").await;
    let issuer = &api.issuer;
    let ip = Some("203.0.113.9");
    for i in 0..ADDRESS_FAILURES {
        let email = nexify_domain::Email::parse("email", &format!("guess{i}@ses-ip.test")).unwrap();
        let r = accounts::sign_in(&api.db.app, issuer, &email, "guess", ip).await;
        assert!(
            matches!(r, Err(nexify_service::ServiceError::Unauthorized(_))),
            "{r:?}"
        );
    }
    let real = nexify_domain::Email::parse("email", "agent@ses-ip.test").unwrap();
    let from_there = accounts::sign_in(&api.db.app, issuer, &real, FIXTURE_PASSWORD, ip).await;
    assert!(
        matches!(
            from_there,
            Err(nexify_service::ServiceError::Throttled { .. })
        ),
        "{from_there:?}"
    );
    let elsewhere = accounts::sign_in(
        &api.db.app,
        issuer,
        &real,
        FIXTURE_PASSWORD,
        Some("198.51.100.7"),
    )
    .await;
    assert!(elsewhere.is_ok(), "{elsewhere:?}");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn signing_up_makes_an_org_with_its_admin_signed_in(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_service::signup::{self, NewAccount, SignupPolicy};
    let api = Api::new(c).await;
    let sign_up = |email: &'static str, password: &'static str| {
        api.call(
            "POST",
            "/api/auth/signup/",
            None,
            Some(
                json!({"email": email, "password": password, "display_name": "Lee",
                        "organization_name": "Lee's Help Desk"}),
            ),
        )
    };
    let first = sign_up("Lee@Example.com", "a fine long passphrase").await;
    assert_eq!(first.status, 201, "{}", first.json);
    assert_eq!(first.json["role"], "admin");
    let org = first.json["organization_id"].as_str().unwrap().to_owned();
    let access = first.json["tokens"]["access"].as_str().unwrap();
    let members = api
        .call(
            "GET",
            &format!("/api/orgs/{org}/members/"),
            Some(access),
            None,
        )
        .await;
    assert_eq!(members.status, 200, "{}", members.json);
    assert_eq!(members.json["items"][0]["email"], "lee@example.com");
    let settings = api
        .call(
            "GET",
            &format!("/api/orgs/{org}/settings/"),
            Some(access),
            None,
        )
        .await;
    assert_eq!(settings.status, 200, "the org has its settings");

    // The same org name again gets its own slug; the same email is a conflict.
    let second = sign_up("kim@example.com", "another long passphrase").await;
    assert_eq!(second.status, 201, "{}", second.json);
    let slugs: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM organizations ORDER BY created_at")
            .fetch_all(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(slugs.len(), 2);
    assert_eq!(slugs[0], "lee-s-help-desk");
    assert!(slugs[1].starts_with("lee-s-help-desk-"), "{slugs:?}");
    let again = sign_up("lee@example.com", "a fine long passphrase").await;
    assert_eq!(again.status, 409, "{}", again.json);
    let short = sign_up("new@example.com", "short").await;
    assert_eq!(
        (short.status, short.json["field"].as_str()),
        (422, Some("password"))
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(users, 2, "refusals wrote nothing");

    // Where the deployment has not opened sign-up, it is refused.
    let new = NewAccount {
        email: "x@example.com",
        password: "a fine long passphrase",
        display_name: "",
        organization_name: "X",
    };
    for policy in [SignupPolicy::Off, SignupPolicy::InviteOnly] {
        let refused = signup::sign_up(&api.db.app, &api.issuer, policy, &new).await;
        assert!(
            matches!(refused, Err(nexify_service::ServiceError::Forbidden(_))),
            "{policy:?}: {refused:?}"
        );
    }
}

/// A request from the console's page: its `Origin`, and the cookie the browser holds.
fn from_console(
    path: &str,
    body: Option<serde_json::Value>,
    cookie: Option<&str>,
) -> lambda_http::Request {
    let mut req = Api::request("POST", path, None, body.as_ref());
    let headers = req.headers_mut();
    headers.insert("origin", nexify_tests::mail::CONSOLE_URL.parse().unwrap());
    if let Some(cookie) = cookie {
        headers.insert(
            "cookie",
            format!("theme=dark; nexify_refresh={cookie}")
                .parse()
                .unwrap(),
        );
    }
    req
}

/// The refresh token a reply sets as the console's cookie, checking its attributes.
fn cookie_set(reply: &Reply) -> String {
    let set = reply.headers["set-cookie"].to_str().unwrap();
    assert!(
        set.ends_with("; Path=/api/auth/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"),
        "{set}"
    );
    let (pair, _) = set.split_once(';').unwrap();
    pair.strip_prefix("nexify_refresh=").unwrap().to_owned()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_console_keeps_its_refresh_token_in_an_http_only_cookie(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    org_fixture(&api.db.owner, "ses-cookie").await;
    let login = json!({"email": "agent@ses-cookie.test", "password": FIXTURE_PASSWORD});
    let signed_in = api
        .send(from_console("/api/auth/token/", Some(login.clone()), None))
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    assert!(signed_in.json["access"].is_string());
    assert!(
        signed_in.json.get("refresh").is_none(),
        "{}",
        signed_in.json
    );
    let first = cookie_set(&signed_in);

    // The refresh reads the cookie (no body), and rotates it.
    let refreshed = api
        .send(from_console("/api/auth/token/refresh/", None, Some(&first)))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert!(refreshed.json.get("refresh").is_none());
    let second = cookie_set(&refreshed);
    assert_ne!(first, second);
    let replayed = api
        .send(from_console("/api/auth/token/refresh/", None, Some(&first)))
        .await;
    assert_eq!(replayed.status, 401, "a spent cookie ends the session");

    // Another site's page is refused, whatever it sends.
    let mut forged = from_console("/api/auth/token/", Some(login), None);
    forged
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(api.send(forged).await.status, 403);
    // Without an Origin (a program, not a page) the cookie is not read.
    let mut program = from_console("/api/auth/token/refresh/", None, None);
    program.headers_mut().remove("origin");
    program.headers_mut().insert(
        "cookie",
        format!("nexify_refresh={second}").parse().unwrap(),
    );
    assert_eq!(api.send(program).await.status, 401);

    // Sign-out ends the session and deletes the cookie.
    let (_, live) = sign_in(&api, "agent@ses-cookie.test").await;
    let fresh = api
        .send(from_console(
            "/api/auth/token/",
            Some(json!({"email": "agent@ses-cookie.test", "password": FIXTURE_PASSWORD})),
            None,
        ))
        .await;
    let cookie = cookie_set(&fresh);
    let out = api
        .send(from_console("/api/auth/logout/", None, Some(&cookie)))
        .await;
    assert_eq!(out.status, 204);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("nexify_refresh=; Path=/api/auth/; Max-Age=0;")
    );
    let after = api
        .send(from_console(
            "/api/auth/token/refresh/",
            None,
            Some(&cookie),
        ))
        .await;
    assert_eq!(after.status, 401);
    // Only that session ended: the one signed in without the console still refreshes.
    assert_eq!(refresh(&api, &live).await.status, 200);
}
