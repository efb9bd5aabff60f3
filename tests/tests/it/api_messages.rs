//! A ticket's conversation: its body is the first inbound message; agents write replies
//! and notes, viewers read; webhook senders add follow-ups once per external id, and a
//! follow-up reopens a resolved ticket.

use nexify_tests::api::{Api, signed_post, signed_webhook};
use nexify_tests::org_fixture;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn kinds(page: &Value) -> Vec<(String, String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["author_type"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn agents_reply_and_note_and_viewers_read(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "msg-a").await;
    let b = org_fixture(&api.db.owner, "msg-b").await;
    let agent = api.token(a.agent);
    let created = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&agent),
            Some(json!({"requester_email": "c@example.com", "subject": "Refund", "body": "Where is my refund?"})),
        )
        .await;
    let ticket = created.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/orgs/{}/tickets/{ticket}/messages/", a.org);

    let first = api
        .call("GET", &path, Some(&api.token(a.viewer)), None)
        .await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(
        kinds(&first.json),
        [(
            "inbound".into(),
            "user".into(),
            "Where is my refund?".into()
        )]
    );
    assert_eq!(first.json["items"][0]["author_user_id"], json!(a.agent));

    let reply = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "reply", "body": "It is on its way."})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    let note = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "note", "body": "Checked the ledger."})),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.json);

    // Roles, other orgs, and what may not be written.
    let as_viewer = api
        .call(
            "POST",
            &path,
            Some(&api.token(a.viewer)),
            Some(json!({"kind": "note", "body": "x"})),
        )
        .await;
    assert_eq!(as_viewer.status, 403);
    let outsider = api
        .call("GET", &path, Some(&api.token(b.admin)), None)
        .await;
    assert_eq!(outsider.status, 404);
    let elsewhere = format!("/api/orgs/{}/tickets/{ticket}/messages/", b.org);
    assert_eq!(
        api.call("GET", &elsewhere, Some(&api.token(b.admin)), None)
            .await
            .status,
        404
    );
    for (body, field) in [
        (
            json!({"kind": "inbound", "body": "I am the requester"}),
            "kind",
        ),
        (json!({"kind": "reply", "body": "   "}), "body"),
        (json!({"kind": "shout", "body": "x"}), "kind"),
    ] {
        let refused = api.call("POST", &path, Some(&agent), Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.json);
        assert_eq!(refused.json["field"], field, "{}", refused.json);
    }

    let page = api
        .call("GET", &format!("{path}?limit=2"), Some(&agent), None)
        .await;
    assert_eq!(
        kinds(&page.json),
        [
            (
                "inbound".into(),
                "user".into(),
                "Where is my refund?".into()
            ),
            ("reply".into(), "user".into(), "It is on its way.".into()),
        ]
    );
    let cursor = page.json["next_cursor"].as_str().unwrap();
    let rest = api
        .call(
            "GET",
            &format!("{path}?limit=2&cursor={cursor}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(
        kinds(&rest.json),
        [("note".into(), "user".into(), "Checked the ledger.".into())]
    );
    assert!(rest.json["next_cursor"].is_null());

    let added: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket_events WHERE event_type = 'message_added'")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(added, 2);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_follow_up_is_added_once_and_reopens_a_resolved_ticket(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "msg-wh").await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let now = chrono::Utc::now().timestamp();
    let ticket = api
        .send(signed_webhook(
            a.org,
            &secret,
            &json!({"external_id": "mail-7", "requester_email": "c@example.com", "subject": "Login", "body": "I cannot log in."}),
            now,
        ))
        .await;
    assert_eq!(ticket.status, 201);
    let id = ticket.json["id"].as_str().unwrap().to_owned();
    let agent = api.token(a.agent);
    let resolved = api
        .call(
            "PATCH",
            &format!("/api/orgs/{}/tickets/{id}/", a.org),
            Some(&agent),
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(resolved.json["status"], "resolved");

    let path = format!("/api/webhooks/{}/tickets/mail-7/messages/", a.org);
    let follow_up = json!({"external_id": "mail-8", "body": "It happens again today."});
    let added = api.send(signed_post(&path, &secret, &follow_up, now)).await;
    assert_eq!(added.status, 201, "{}", added.json);
    let again = api
        .send(signed_post(&path, &secret, &follow_up, now + 1))
        .await;
    assert_eq!((again.status, &again.json["id"]), (200, &added.json["id"]));

    let t = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{id}/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(t.json["status"], "open", "the follow-up reopened it");
    assert!(t.json["resolved_at"].is_null());
    let reopened: (String, Value) = sqlx::query_as(
        "SELECT actor_type, payload FROM ticket_events WHERE event_type = 'status_changed'
         ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(reopened.0, "webhook");
    assert_eq!(reopened.1["after"]["status"], "open", "{}", reopened.1);

    let conversation = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{id}/messages/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(
        kinds(&conversation.json),
        [
            (
                "inbound".into(),
                "webhook".into(),
                "I cannot log in.".into()
            ),
            (
                "inbound".into(),
                "webhook".into(),
                "It happens again today.".into()
            ),
        ]
    );

    // A follow-up on a ticket being worked on leaves its status alone.
    let working = api
        .call(
            "PATCH",
            &format!("/api/orgs/{}/tickets/{id}/", a.org),
            Some(&agent),
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(working.json["status"], "in_progress");
    let third = json!({"external_id": "mail-9", "body": "Any news?"});
    let added = api.send(signed_post(&path, &secret, &third, now)).await;
    assert_eq!(added.status, 201);
    let t = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{id}/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(t.json["status"], "in_progress");

    // Unknown tickets, bad signatures and bad bodies.
    let unknown = format!("/api/webhooks/{}/tickets/mail-404/messages/", a.org);
    assert_eq!(
        api.send(signed_post(&unknown, &secret, &follow_up, now + 2))
            .await
            .status,
        404
    );
    let forged = api
        .send(signed_post(&path, "not-the-secret", &follow_up, now))
        .await;
    assert_eq!(forged.status, 401);
    let blank = json!({"external_id": "mail-10", "body": ""});
    let refused = api.send(signed_post(&path, &secret, &blank, now)).await;
    assert_eq!(
        (refused.status, refused.json["field"].as_str()),
        (422, Some("body"))
    );
}

/// With a reply address set, replies are mailed to the requester (read back from
/// LocalStack's SES) and carry their delivery state; a sender SES refuses is retried, then
/// the reply is `failed` with the reason.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn replies_are_mailed_to_the_requester(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_tests::mail::{mailer, sent_to, ses_client};
    let api = Api::new(c).await;
    let slug = nexify_tests::unique("msg-mail");
    let a = org_fixture(&api.db.owner, &slug).await;
    let admin = api.token(a.admin);
    let agent = api.token(a.agent);
    let from = format!("support@{slug}.test");
    ses_client()
        .await
        .verify_email_identity()
        .email_address(&from)
        .send()
        .await
        .unwrap();
    let settings_path = format!("/api/orgs/{}/settings/", a.org);
    let set_reply_from = |address: Option<String>| {
        let (api, admin, path) = (&api, admin.clone(), settings_path.clone());
        async move {
            let current = api.call("GET", &path, Some(&admin), None).await.json;
            let mut doc = json!({});
            for key in [
                "teams",
                "categories",
                "default_team",
                "default_category",
                "auto_triage_webhook",
                "auto_triage_api",
                "auto_apply_threshold",
            ] {
                doc[key] = current[key].clone();
            }
            doc["reply_from"] = json!(address);
            let saved = api.call("PUT", &path, Some(&admin), Some(doc)).await;
            assert_eq!(saved.status, 200, "{}", saved.json);
            saved.json
        }
    };
    assert_eq!(
        set_reply_from(Some(from.clone())).await["reply_from"],
        json!(from)
    );

    let requester = format!("customer@{slug}.test");
    let ticket = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&agent),
            Some(
                json!({"requester_email": requester, "subject": "Refund", "body": "Where is it?"}),
            ),
        )
        .await;
    let path = format!(
        "/api/orgs/{}/tickets/{}/messages/",
        a.org,
        ticket.json["id"].as_str().unwrap()
    );
    let reply = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "reply", "body": "It left our bank today."})),
        )
        .await;
    assert_eq!(reply.json["delivery_state"], "pending", "{}", reply.json);
    let note = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "note", "body": "Refund 2291."})),
        )
        .await;
    assert!(
        note.json["delivery_state"].is_null(),
        "notes are never mailed"
    );

    let mailer = mailer().await;
    assert_eq!(
        nexify_service::replies::mail_pending(&api.db.app, &mailer, 100)
            .await
            .unwrap(),
        1
    );
    let mails = sent_to(&requester).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0]["Source"], from.as_str());
    assert_eq!(mails[0]["Subject"], "Re: Refund");
    assert_eq!(mails[0]["Body"]["text_part"], "It left our bank today.");
    let listed = api.call("GET", &path, Some(&agent), None).await;
    assert_eq!(listed.json["items"][1]["delivery_state"], "sent");
    // Sent once: the next sweep has nothing to do.
    assert_eq!(
        nexify_service::replies::mail_pending(&api.db.app, &mailer, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(sent_to(&requester).await.len(), 1);

    // SES refuses an unverified sender: retried, then failed with the reason.
    set_reply_from(Some(format!("nobody@unverified-{slug}.test"))).await;
    let second = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "reply", "body": "One more thing."})),
        )
        .await;
    for _ in 0..nexify_service::replies::MAX_ATTEMPTS {
        assert_eq!(
            nexify_service::replies::mail_pending(&api.db.app, &mailer, 100)
                .await
                .unwrap(),
            0
        );
    }
    let (state, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT delivery_state, delivery_attempts, delivery_error FROM ticket_messages WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(second.json["id"].as_str().unwrap()).unwrap())
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("failed", nexify_service::replies::MAX_ATTEMPTS)
    );
    assert!(
        error.is_some_and(|e| e.contains("SES")),
        "the reason is kept"
    );
    assert_eq!(sent_to(&requester).await.len(), 1);

    // Without a reply address, replies are not mailed at all.
    set_reply_from(None).await;
    let third = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"kind": "reply", "body": "Bye."})),
        )
        .await;
    assert!(third.json["delivery_state"].is_null());
}
