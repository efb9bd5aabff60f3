//! Signed webhooks: signature, stale timestamps, replays and duplicate external ids,
//! including 20 concurrent duplicates.

use nexify_tests::api::{Api, signed_webhook as signed};
use nexify_tests::org_fixture;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn signed_tickets_are_created_once_per_external_id(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-a").await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let now = chrono::Utc::now().timestamp();
    let body = json!({"external_id": "mail-1", "requester_email": "c@example.com", "subject": "Help", "body": "Text"});

    let first = api.send(signed(a.org, &secret, &body, now)).await;
    assert_eq!(first.status, 201, "{}", first.json);
    // A replay of the very same signed request is refused; a re-send (signed again) with the
    // same external_id answers the same ticket, 200; no duplicate either way.
    let replay = api.send(signed(a.org, &secret, &body, now)).await;
    assert_eq!(replay.status, 409, "{}", replay.json);
    let resend = api.send(signed(a.org, &secret, &body, now + 5)).await;
    assert_eq!(
        (resend.status, &resend.json["id"]),
        (200, &first.json["id"])
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let event: (String, String) =
        sqlx::query_as("SELECT event_type, actor_type FROM ticket_events")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(event, ("ticket_created".into(), "webhook".into()));

    // An external id Postgres could not store (a NUL) is a named 422, not a 500.
    let nul =
        json!({"external_id": "mail\u{0}2", "requester_email": "c@example.com", "subject": "Help"});
    let refused = api.send(signed(a.org, &secret, &nul, now)).await;
    assert_eq!(
        (refused.status, refused.json["field"].as_str()),
        (422, Some("external_id")),
        "{}",
        refused.json
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn bad_signatures_and_stale_timestamps_are_401(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-b").await;
    let b = org_fixture(&api.db.owner, "wh-b2").await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let other_secret = api.webhook_secret(b.admin, b.org).await;
    let now = chrono::Utc::now().timestamp();
    // The exact 300 s boundary is unit-tested in nexify-auth; here the margin keeps the
    // handler's own clock, read a moment later, from crossing it.
    let skew = nexify_auth::webhook::MAX_SKEW_SECONDS + 60;
    let body = json!({"requester_email": "c@example.com", "subject": "Help"});

    assert_eq!(
        api.send(signed(a.org, &other_secret, &body, now))
            .await
            .status,
        401,
        "another org's secret"
    );
    assert_eq!(
        api.send(signed(a.org, &secret, &body, now - skew))
            .await
            .status,
        401,
        "stale"
    );
    assert_eq!(
        api.send(signed(a.org, &secret, &body, now + skew))
            .await
            .status,
        401,
        "future"
    );
    let mut tampered = signed(a.org, &secret, &body, now);
    *tampered.body_mut() = lambda_http::Body::Text(
        json!({"requester_email": "c@example.com", "subject": "Evil"}).to_string(),
    );
    assert_eq!(
        api.send(tampered).await.status,
        401,
        "body changed after signing"
    );
    let unsigned = Api::request(
        "POST",
        &format!("/api/webhooks/{}/tickets/", a.org),
        None,
        Some(&body),
    );
    assert_eq!(api.send(unsigned).await.status, 401);
    // An org without a secret, and one that does not exist, look the same as a bad signature.
    let c_org = org_fixture(&api.db.owner, "wh-c").await;
    assert_eq!(
        api.send(signed(c_org.org, &secret, &body, now))
            .await
            .status,
        401
    );
    assert_eq!(
        api.send(signed(uuid::Uuid::new_v4(), &secret, &body, now))
            .await
            .status,
        401
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Signed but invalid input is still a named 422.
    let bad = json!({"requester_email": "nope", "subject": "Help"});
    let r = api.send(signed(a.org, &secret, &bad, now)).await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (422, Some("requester_email"))
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn twenty_concurrent_duplicates_create_one_ticket(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-d").await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let now = chrono::Utc::now().timestamp();
    let body =
        json!({"external_id": "dup-1", "requester_email": "c@example.com", "subject": "Once"});
    // Twenty re-sends, each signed at its own second (the very same request twice would be a
    // replay, refused before the external_id is looked at).
    let replies = futures::future::join_all(
        (0..20).map(|i| api.send(signed(a.org, &secret, &body, now - i))),
    )
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let existing = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        (created, existing),
        (1, 19),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<&serde_json::Value> =
        replies.iter().map(|r| &r.json["id"]).collect();
    assert_eq!(ids.len(), 1);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_events")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!((n, events), (1, 1));
}

/// A captured request without an external_id, sent again within the timestamp's window,
/// creates nothing: 409, one ticket, one job at most.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_replayed_request_without_an_external_id_is_refused(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-replay").await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let now = chrono::Utc::now().timestamp();
    let body = json!({"requester_email": "c@example.com", "subject": "No external id"});
    let first = api.send(signed(a.org, &secret, &body, now)).await;
    assert_eq!(first.status, 201, "{}", first.json);
    for _ in 0..3 {
        let replay = api.send(signed(a.org, &secret, &body, now)).await;
        assert_eq!(replay.status, 409, "{}", replay.json);
    }
    let owner = api.db.owner.clone();
    let count = move |sql: &'static str| {
        let owner = owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&owner)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM tickets").await, 1);
    assert_eq!(count("SELECT count(*) FROM ticket_events").await, 1);
    // Signed again, the same content is a new request: a second ticket, as intended.
    let again = api.send(signed(a.org, &secret, &body, now + 1)).await;
    assert_eq!(again.status, 201);
    assert_eq!(count("SELECT count(*) FROM tickets").await, 2);
    // A request that failed is not burned: the sender may send it again as it was.
    let bad = json!({"requester_email": "not-an-email", "subject": "x"});
    assert_eq!(
        api.send(signed(a.org, &secret, &bad, now)).await.status,
        422
    );
    assert_eq!(
        api.send(signed(a.org, &secret, &bad, now)).await.status,
        422
    );
}

/// Webhook secrets are sealed at rest with KMS (LocalStack): the stored row holds neither
/// the secret nor anything that opens for another org. A rotation keeps the old secret
/// valid for the grace period the admin chose, shown in the settings; after it, or with no
/// grace, only the new one signs.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn secrets_are_sealed_and_rotate_with_a_grace_period(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_service::sealing::{SealError, Sealer};
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-seal").await;
    let b = org_fixture(&api.db.owner, "wh-seal-b").await;
    let first = api.webhook_secret(a.admin, a.org).await;
    let stored: (Option<String>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT webhook_secret, webhook_secret_sealed FROM organization_settings WHERE organization_id = $1",
    )
    .bind(a.org)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(stored.0, None, "no plain text");
    let sealed = stored.1.expect("sealed");
    assert!(
        !sealed.windows(first.len()).any(|w| w == first.as_bytes()),
        "the secret is not in the blob"
    );
    assert_eq!(
        api.sealer.open(a.org, &sealed).await.unwrap(),
        first.as_bytes()
    );
    assert!(
        matches!(
            api.sealer.open(b.org, &sealed).await,
            Err(SealError::Corrupt | SealError::Refused(_))
        ),
        "a blob does not open for another org"
    );

    let ticket = |n: u32| json!({"external_id": format!("seal-{n}"), "requester_email": "c@example.com", "subject": "Help", "body": "Text"});
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, &first, &ticket(1), now))
            .await
            .status,
        201
    );

    // Rotated with a 2-hour grace: both secrets sign; the settings say until when.
    let api = &api;
    let rotate = |grace: Option<u32>| {
        let body = grace.map(|h| json!({ "grace_hours": h }));
        let token = api.token(a.admin);
        let path = format!("/api/orgs/{}/settings/webhook-secret/", a.org);
        async move { api.call("POST", &path, Some(&token), body).await }
    };
    let rotated = rotate(Some(2)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let second = rotated.json["webhook_secret"].as_str().unwrap().to_owned();
    let until = chrono::DateTime::parse_from_rfc3339(
        rotated.json["settings"]["webhook_secret_previous_expires_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let left = until.timestamp() - chrono::Utc::now().timestamp();
    assert!((7000..=7200).contains(&left), "about 2 hours: {left} s");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, &first, &ticket(2), now))
            .await
            .status,
        201
    );
    assert_eq!(
        api.send(signed(a.org, &second, &ticket(3), now))
            .await
            .status,
        201
    );

    // The grace period over, the old secret is refused.
    sqlx::query(
        "UPDATE organization_settings SET webhook_secret_previous_expires_at = now() - interval '1 second'
         WHERE organization_id = $1",
    )
    .bind(a.org)
    .execute(&api.db.owner)
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, &first, &ticket(4), now))
            .await
            .status,
        401
    );
    assert_eq!(
        api.send(signed(a.org, &second, &ticket(5), now))
            .await
            .status,
        201
    );
    let settings = api
        .call(
            "GET",
            &format!("/api/orgs/{}/settings/", a.org),
            Some(&api.token(a.admin)),
            None,
        )
        .await;
    assert!(settings.json["webhook_secret_previous_expires_at"].is_null());

    // No grace: the old one stops at once. Out of range: 422.
    let third = rotate(Some(0)).await.json["webhook_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, &second, &ticket(6), now))
            .await
            .status,
        401
    );
    assert_eq!(
        api.send(signed(a.org, &third, &ticket(7), now))
            .await
            .status,
        201
    );
    let too_long = rotate(Some(169)).await;
    assert_eq!(
        (too_long.status, too_long.json["field"].as_str()),
        (422, Some("grace_hours"))
    );
    // The default grace is a day.
    let default = rotate(None).await;
    let until = chrono::DateTime::parse_from_rfc3339(
        default.json["settings"]["webhook_secret_previous_expires_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let left = until.timestamp() - chrono::Utc::now().timestamp();
    assert!((86_000..=86_400).contains(&left), "a day: {left} s");
}

/// A secret stored in plain text before sealing existed still verifies, and
/// `nexify webhook-secrets seal` (the service call) replaces it with a sealed one.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn plain_text_secrets_from_before_are_sealed(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "wh-plain").await;
    let legacy = "a-legacy-secret-set-before-sealing-0123456789";
    sqlx::query("UPDATE organization_settings SET webhook_secret = $2 WHERE organization_id = $1")
        .bind(a.org)
        .bind(legacy)
        .execute(&api.db.owner)
        .await
        .unwrap();
    let body = |n: u32| json!({"external_id": format!("plain-{n}"), "requester_email": "c@example.com", "subject": "Help", "body": "Text"});
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, legacy, &body(1), now)).await.status,
        201
    );
    let sealed = nexify_service::settings::seal_plain_webhook_secrets(&api.db.owner, &api.sealer)
        .await
        .unwrap();
    assert_eq!(sealed, 1);
    let plain: Option<String> = sqlx::query_scalar(
        "SELECT webhook_secret FROM organization_settings WHERE organization_id = $1",
    )
    .bind(a.org)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(plain, None);
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        api.send(signed(a.org, legacy, &body(2), now)).await.status,
        201,
        "same secret, sealed"
    );
    assert_eq!(
        nexify_service::settings::seal_plain_webhook_secrets(&api.db.owner, &api.sealer)
            .await
            .unwrap(),
        0,
        "nothing left to seal"
    );
}
