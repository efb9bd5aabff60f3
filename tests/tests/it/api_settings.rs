//! Org settings: read, replace with validation, and the webhook secret shown once.

use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn settings_are_replaced_whole_and_validated(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "set-a").await;
    let admin = api.token(a.admin);
    let path = format!("/api/orgs/{}/settings/", a.org);
    let doc = json!({
        "teams": ["Billing", "Technical"], "categories": ["refund", "outage"],
        "default_team": "Technical", "default_category": "outage",
        "auto_triage_webhook": true, "auto_triage_api": false, "auto_apply_threshold": 0.85,
        "auto_apply_fields": {"team": 0.9, "category": null}
    });
    let r = api
        .call("PUT", &path, Some(&admin), Some(doc.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let got = api
        .call("GET", &path, Some(&api.token(a.viewer)), None)
        .await;
    assert_eq!(got.json["teams"], json!(["Billing", "Technical"]));
    assert_eq!(got.json["auto_triage_webhook"], true);
    assert!((got.json["auto_apply_threshold"].as_f64().unwrap() - 0.85).abs() < 1e-6);
    let fields = &got.json["auto_apply_fields"];
    assert!(
        (fields["team"].as_f64().unwrap() - 0.9).abs() < 1e-6,
        "{fields}"
    );
    assert_eq!(
        (&fields["priority"], &fields["category"]),
        (&json!(null), &json!(null))
    );
    assert!(
        got.json.get("webhook_secret").is_none(),
        "the secret is never read back"
    );

    for (field, value, status) in [
        ("default_team", json!("Sales"), 422),
        ("auto_apply_threshold", json!(1.5), 422),
        ("teams", json!(["Billing", "billing"]), 422),
        ("teams", json!("Billing"), 422),
        ("surprise", json!(true), 400),
    ] {
        let mut bad = doc.clone();
        bad[field] = value;
        let r = api.call("PUT", &path, Some(&admin), Some(bad)).await;
        assert_eq!(
            (r.status, r.json["field"].as_str()),
            (status, Some(field)),
            "{}",
            r.json
        );
    }
    for (fields, status, field) in [
        (json!({"team": 1.5}), 422, "auto_apply_fields.team"),
        (json!({"priority": -0.1}), 422, "auto_apply_fields.priority"),
        (json!({"urgency": 0.5}), 400, "auto_apply_fields"),
    ] {
        let mut bad = doc.clone();
        bad["auto_apply_fields"] = fields;
        let r = api.call("PUT", &path, Some(&admin), Some(bad)).await;
        assert_eq!(r.status, status, "{}", r.json);
        if status == 422 {
            assert_eq!(r.json["field"], field, "{}", r.json);
        }
    }
    let after = api.call("GET", &path, Some(&admin), None).await;
    assert_eq!(
        after.json["teams"], got.json["teams"],
        "refused updates changed nothing"
    );

    let first = api
        .call(
            "POST",
            &format!("{path}webhook-secret/"),
            Some(&admin),
            None,
        )
        .await;
    let second = api
        .call(
            "POST",
            &format!("{path}webhook-secret/"),
            Some(&admin),
            None,
        )
        .await;
    let (s1, s2) = (
        first.json["webhook_secret"].as_str().unwrap(),
        second.json["webhook_secret"].as_str().unwrap(),
    );
    assert_eq!(s1.len(), 64);
    assert_ne!(s1, s2, "rotation makes a new secret");
}

/// With a sending domain configured (`NEXIFY_MAIL_DOMAIN`, the SES identity IAM allows), an
/// org's reply address must be at it: any other is refused as the admin saves it, not
/// discovered when every reply fails.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn reply_addresses_must_be_at_the_sending_domain(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await.with_sending_domain("mail.nexify.test");
    let a = org_fixture(&api.db.owner, "set-mail").await;
    let admin = api.token(a.admin);
    let path = format!("/api/orgs/{}/settings/", a.org);
    let with = |reply_from: &str| {
        json!({
            "teams": ["Billing"], "categories": ["refund"],
            "auto_triage_webhook": true, "auto_triage_api": false,
            "reply_from": reply_from
        })
    };
    let refused = api
        .call("PUT", &path, Some(&admin), Some(with("help@acme.test")))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.json);
    assert_eq!(refused.json["field"], "reply_from");
    assert!(
        refused.json["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mail.nexify.test")),
        "{}",
        refused.json
    );
    let kept = api.call("GET", &path, Some(&admin), None).await;
    assert!(kept.json["reply_from"].is_null(), "nothing was saved");

    let saved = api
        .call(
            "PUT",
            &path,
            Some(&admin),
            Some(with("Acme@Mail.Nexify.test")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.json);
    assert_eq!(saved.json["reply_from"], "acme@mail.nexify.test");
}
