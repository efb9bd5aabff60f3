//! Invites: an admin invites by email and role; the link's single-use token lets a new
//! account join (signed in at once) or a signed-in user join as themselves. Revoked,
//! used and expired invites are refused, and the token is stored only as its hash.

use nexify_domain::OrgId;
use nexify_tests::api::{Api, Reply};
use nexify_tests::{OrgFixture, org_fixture};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const PASSWORD: &str = "a long enough passphrase";

async fn invite(api: &Api, org: OrgId, admin: &str, email: &str, role: &str) -> Reply {
    api.call(
        "POST",
        &format!("/api/orgs/{org}/invites/"),
        Some(admin),
        Some(json!({"email": email, "role": role})),
    )
    .await
}

async fn accept(api: &Api, token: &str, as_user: Option<&str>, body: Option<Value>) -> Reply {
    api.call(
        "POST",
        &format!("/api/invites/{token}/accept/"),
        as_user,
        body,
    )
    .await
}

/// An org (`{slug}`) that has invited `email` as an agent, another org (`{slug}-b`), and
/// the invite's token.
async fn inviting_org_and_outsiders(
    api: &Api,
    slug: &str,
    email: &str,
) -> (OrgFixture, OrgFixture, String) {
    let a = org_fixture(&api.db.owner, slug).await;
    let b = org_fixture(&api.db.owner, &format!("{slug}-b")).await;
    let created = invite(api, a.org, &api.token(a.admin), email, "agent").await;
    let token = created.json["token"].as_str().unwrap().to_owned();
    (a, b, token)
}

async fn pending(api: &Api, org: OrgId, admin: &str) -> Reply {
    api.call(
        "GET",
        &format!("/api/orgs/{org}/invites/"),
        Some(admin),
        None,
    )
    .await
}

async fn look(api: &Api, token: &str) -> Reply {
    api.call("GET", &format!("/api/invites/{token}/"), None, None)
        .await
}

async fn actions(owner: &PgPool, org: OrgId) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_records WHERE organization_id = $1 ORDER BY created_at, id",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_new_agent_joins_by_invite_once(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "inv-new").await;
    let admin = api.token(a.admin);

    let created = invite(&api, a.org, &admin, "New.Agent@Example.com", "agent").await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["email"], "new.agent@example.com");
    let token = created.json["token"].as_str().unwrap().to_owned();
    // Only the hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM invites")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(stored, nexify_auth::one_time::hash(&token).to_vec());
    let listed = pending(&api, a.org, &admin).await;
    assert_eq!(listed.json["items"][0]["id"], created.json["id"]);
    assert!(
        listed.json["items"][0].get("token").is_none(),
        "the list never shows tokens"
    );

    let preview = look(&api, &token).await;
    assert_eq!(preview.status, 200, "{}", preview.json);
    assert_eq!(
        (
            &preview.json["organization_name"],
            &preview.json["role"],
            &preview.json["state"]
        ),
        (&json!("Org inv-new"), &json!("agent"), &json!("pending"))
    );

    let joined = accept(
        &api,
        &token,
        None,
        Some(json!({"display_name": "Nia", "password": PASSWORD})),
    )
    .await;
    assert_eq!(joined.status, 200, "{}", joined.json);
    assert_eq!(joined.json["role"], "agent");
    let access = joined.json["tokens"]["access"].as_str().unwrap().to_owned();
    let tickets = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(tickets.status, 200, "the new agent works the org's tickets");
    let signed_in = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "new.agent@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        signed_in.status, 200,
        "and signs in with the password chosen"
    );

    // Single use: the link now says so, and a second accept changes nothing.
    let again = accept(
        &api,
        &token,
        None,
        Some(json!({"password": "another passphrase"})),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.json);
    let preview = look(&api, &token).await;
    assert_eq!(preview.json["state"], "accepted");
    let listed = pending(&api, a.org, &admin).await;
    assert_eq!(listed.json["items"], json!([]));
    assert_eq!(
        actions(&api.db.owner, a.org).await,
        ["invite_created", "invite_accepted"]
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn revoked_expired_and_unknown_invites_are_refused(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "inv-gone").await;
    let b = org_fixture(&api.db.owner, "inv-other").await;
    let admin = api.token(a.admin);
    let body = json!({"password": PASSWORD});

    let revoked = invite(&api, a.org, &admin, "r@example.com", "viewer").await;
    let id = revoked.json["id"].as_str().unwrap();
    // Another org's admin cannot revoke it, through either org.
    for org in [a.org, b.org] {
        let r = api
            .call(
                "DELETE",
                &format!("/api/orgs/{org}/invites/{id}/"),
                Some(&api.token(b.admin)),
                None,
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.json);
    }
    let r = api
        .call(
            "DELETE",
            &format!("/api/orgs/{}/invites/{id}/", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .call(
            "DELETE",
            &format!("/api/orgs/{}/invites/{id}/", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "revoked once");
    let token = revoked.json["token"].as_str().unwrap();
    let r = accept(&api, token, None, Some(body.clone())).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.json["detail"].as_str().unwrap().contains("revoked"));

    let expired = invite(&api, a.org, &admin, "e@example.com", "viewer").await;
    sqlx::query("UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(expired.json["id"].as_str().unwrap()).unwrap())
        .execute(&api.db.owner)
        .await
        .unwrap();
    let token = expired.json["token"].as_str().unwrap();
    let preview = look(&api, token).await;
    assert_eq!(preview.json["state"], "expired");
    let r = accept(&api, token, None, Some(body.clone())).await;
    assert_eq!(r.status, 409, "{}", r.json);

    for token in ["0".repeat(64), "not-a-token".into()] {
        let r = look(&api, &token).await;
        assert_eq!(r.status, 404, "{token}");
        let r = accept(&api, &token, None, Some(body.clone())).await;
        assert_eq!(r.status, 404, "{token}");
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(users, 6, "no account was made");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn someone_with_an_account_joins_as_themselves(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "inv-have").await;
    let b = org_fixture(&api.db.owner, "inv-from").await;
    let admin = api.token(a.admin);

    let created = invite(&api, a.org, &admin, "agent@inv-from.test", "viewer").await;
    let token = created.json["token"].as_str().unwrap();
    // Not signed in: the email has an account, so no second one; the invite stays usable.
    let r = accept(&api, token, None, Some(json!({"password": PASSWORD}))).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap()
            .contains("already has an account")
    );
    let preview = look(&api, token).await;
    assert_eq!(preview.json["state"], "pending");

    let joined = accept(&api, token, Some(&api.token(b.agent)), None).await;
    assert_eq!(joined.status, 200, "{}", joined.json);
    assert_eq!(
        (&joined.json["role"], &joined.json["tokens"]),
        (&json!("viewer"), &json!(null))
    );
    let me = api
        .call("GET", "/api/me/", Some(&api.token(b.agent)), None)
        .await;
    assert_eq!(me.json["memberships"].as_array().unwrap().len(), 2);

    // Two people signed in, racing for one invite: one joins.
    let created = invite(&api, a.org, &admin, "shared@example.com", "agent").await;
    let token = created.json["token"].as_str().unwrap();
    let (viewer_b, admin_b) = (api.token(b.viewer), api.token(b.admin));
    let (one, two) = tokio::join!(
        accept(&api, token, Some(&viewer_b), None),
        accept(&api, token, Some(&admin_b), None),
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let joined_a: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM memberships WHERE organization_id = $1 AND user_id = ANY($2)",
    )
    .bind(a.org)
    .bind(vec![b.viewer.0, b.admin.0])
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(joined_a, 1, "single use, even under a race");

    // A member already: accepting keeps their role.
    let created = invite(&api, a.org, &admin, "agent@inv-have.test", "viewer").await;
    let token = created.json["token"].as_str().unwrap();
    let joined = accept(&api, token, Some(&api.token(a.agent)), None).await;
    assert_eq!(joined.json["role"], "agent", "{}", joined.json);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn bad_input_is_422_and_only_admins_invite(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "inv-bad").await;
    let admin = api.token(a.admin);
    for (body, field) in [
        (json!({"email": "nope", "role": "agent"}), "email"),
        (json!({"email": "x@example.com", "role": "owner"}), "role"),
    ] {
        let r = api
            .call(
                "POST",
                &format!("/api/orgs/{}/invites/", a.org),
                Some(&admin),
                Some(body),
            )
            .await;
        assert_eq!(
            (r.status, r.json["field"].as_str()),
            (422, Some(field)),
            "{}",
            r.json
        );
    }
    for user in [a.agent, a.viewer] {
        let r = invite(&api, a.org, &api.token(user), "x@example.com", "agent").await;
        assert_eq!(r.status, 403);
    }
    let created = invite(&api, a.org, &admin, "x@example.com", "agent").await;
    let token = created.json["token"].as_str().unwrap();
    for (body, field) in [
        (json!({"password": "too short"}), "password"),
        (json!({}), "password"),
        (
            json!({"password": PASSWORD, "display_name": "a\u{7}b"}),
            "display_name",
        ),
    ] {
        let r = accept(&api, token, None, Some(body)).await;
        assert_eq!(
            (r.status, r.json["field"].as_str()),
            (422, Some(field)),
            "{}",
            r.json
        );
    }
    // Two accepts at once: one account, one membership.
    let body = json!({"password": PASSWORD});
    let (one, two) = tokio::join!(
        accept(&api, token, None, Some(body.clone())),
        accept(&api, token, None, Some(body.clone())),
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'x@example.com'")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(accounts, 1);
}

/// The database itself refuses a second take-up, whatever the service checked before.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_database_takes_an_invite_up_once(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_storage::invites::{self, Acceptor};
    let api = Api::new(c).await;
    let (a, b, token) = inviting_org_and_outsiders(&api, "inv-once", "once@example.com").await;
    let hash = nexify_auth::one_time::hash(&token);
    let mut conn = api.db.app.acquire().await.unwrap();
    let first = invites::accept(&mut conn, &hash, Acceptor::Existing(b.viewer))
        .await
        .unwrap();
    assert_eq!((first.user_id, first.organization_id), (b.viewer, a.org));
    let second = invites::accept(&mut conn, &hash, Acceptor::Existing(b.agent)).await;
    assert!(
        matches!(second, Err(nexify_storage::StorageError::NotFound)),
        "{second:?}"
    );
}

/// Guessing tokens from one address is throttled; another address is not held back.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn guessing_invite_tokens_from_one_address_is_throttled(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    use nexify_service::invites::accept_as;
    use nexify_service::throttle::ADDRESS_FAILURES;
    let api = Api::new(c).await;
    let (_, b, real) = inviting_org_and_outsiders(&api, "inv-guess", "real@example.com").await;
    let real = real.as_str();
    let ip = Some("203.0.113.20");
    for i in 0..ADDRESS_FAILURES {
        let guess = format!("{i:064x}");
        let r = accept_as(&api.db.app, b.agent, &guess, ip).await;
        assert!(
            matches!(r, Err(nexify_service::ServiceError::NotFound)),
            "{r:?}"
        );
    }
    let throttled = accept_as(&api.db.app, b.agent, real, ip).await;
    assert!(
        matches!(
            throttled,
            Err(nexify_service::ServiceError::Throttled { .. })
        ),
        "{throttled:?}"
    );
    let elsewhere = accept_as(&api.db.app, b.agent, real, Some("198.51.100.20")).await;
    assert!(elsewhere.is_ok(), "{elsewhere:?}");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_invite_is_mailed_and_its_link_works(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_tests::mail::{CONSOLE_URL, MAIL_FROM, sent_to, token_in};
    let api = Api::new(c).await;
    let slug = nexify_tests::unique("inv-mail");
    let a = org_fixture(&api.db.owner, &slug).await;
    let email = format!("newcomer@{slug}.test");
    let created = invite(&api, a.org, &api.token(a.admin), &email, "agent").await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["mailed"], true, "{}", created.json);

    let mails = sent_to(&email).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0]["Source"], MAIL_FROM);
    assert_eq!(
        mails[0]["Subject"],
        format!("You are invited to Org {slug} on Nexify")
    );
    let text = mails[0]["Body"]["text_part"].as_str().unwrap();
    assert!(text.contains("as an agent"), "{text}");
    assert!(
        text.contains(&format!("{CONSOLE_URL}/invite/?token=")),
        "{text}"
    );
    let token = token_in(&mails[0]);
    assert_eq!(token, created.json["token"].as_str().unwrap());

    let joined = accept(&api, &token, None, Some(json!({"password": PASSWORD}))).await;
    assert_eq!(joined.status, 200, "{}", joined.json);
    assert_eq!(joined.json["role"], "agent");
}

/// Mail that SES refuses (here: an unverified sender) leaves the invite in place; the admin
/// is told, and copies the link instead.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_invite_survives_mail_that_is_not_sent(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_domain::{Email, Role};
    use nexify_service::mail::Console;
    use nexify_tests::mail::{CONSOLE_URL, sent_to, ses_client};
    let api = Api::new(c).await;
    let slug = nexify_tests::unique("inv-nomail");
    let a = org_fixture(&api.db.owner, &slug).await;
    let refused = nexify_mail::SesMailer::new(ses_client().await, "stranger@unverified.test");
    let email = format!("newcomer@{slug}.test");
    let issued = nexify_service::invites::create(
        &api.db.app,
        &refused,
        &Console::new(CONSOLE_URL).unwrap(),
        a.admin,
        a.org,
        &Email::parse("email", &email).unwrap(),
        Role::Viewer,
    )
    .await
    .unwrap();
    assert!(!issued.mailed);
    assert!(sent_to(&email).await.is_empty());
    let listed = pending(&api, a.org, &api.token(a.admin)).await;
    assert_eq!(listed.json["items"][0]["email"], email, "{}", listed.json);
    assert_eq!(look(&api, &issued.token).await.json["state"], "pending");
}
