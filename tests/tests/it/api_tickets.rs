//! The ticket routes: happy paths, the audit trail, bad input, filters and pagination.

use std::collections::HashSet;

use nexify_tests::api::Api;
use nexify_tests::{org_fixture, ticket_fixture};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn count(api: &Api, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&api.db.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn create_read_change_and_audit_a_ticket(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-a").await;
    let agent = api.token(a.agent);
    let base = format!("/api/orgs/{}/tickets/", a.org);

    let created = api
        .call(
            "POST",
            &base,
            Some(&agent),
            Some(json!({
                "requester_email": "Customer@Example.com", "subject": "  Card declined  ",
                "body": "My card was declined.", "priority": "high"
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["subject"], "Card declined");
    assert_eq!(created.json["requester_email"], "customer@example.com");
    assert_eq!(created.json["status"], "open");
    let id = created.json["id"].as_str().unwrap().to_owned();

    let got = api
        .call("GET", &format!("{base}{id}/"), Some(&agent), None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json, created.json);

    let patched = api
        .call(
            "PATCH",
            &format!("{base}{id}/"),
            Some(&agent),
            Some(json!({"status": "in_progress", "assigned_team": "Billing", "priority": "high"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.json);
    assert_eq!(patched.json["status"], "in_progress");
    assert_eq!(patched.json["assigned_team"], "Billing");

    // Clearing the team with null, and resolving.
    let cleared = api
        .call(
            "PATCH",
            &format!("{base}{id}/"),
            Some(&agent),
            Some(json!({"assigned_team": null, "status": "resolved"})),
        )
        .await;
    assert_eq!(cleared.json["assigned_team"], json!(null));
    assert!(cleared.json["resolved_at"].is_string());

    let events = api
        .call("GET", &format!("{base}{id}/events/"), Some(&agent), None)
        .await;
    assert_eq!(events.status, 200);
    let items = events.json["items"].as_array().unwrap();
    let mut kinds: Vec<&str> = items
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.pop(), Some("ticket_created"), "oldest last");
    kinds.sort();
    // Priority was already high, so the first change records only status and team.
    assert_eq!(
        kinds,
        vec![
            "status_changed",
            "status_changed",
            "team_changed",
            "team_changed"
        ]
    );
    let find = |kind: &str, after: serde_json::Value| {
        items
            .iter()
            .find(|e| e["event_type"] == kind && e["payload"]["after"] == after)
            .unwrap_or_else(|| panic!("no {kind} event to {after}: {items:#?}"))
    };
    let to_billing = find("team_changed", json!({"assigned_team": "Billing"}));
    assert_eq!(
        to_billing["payload"]["before"],
        json!({"assigned_team": null})
    );
    assert_eq!(to_billing["actor_type"], "user");
    assert_eq!(to_billing["actor_user_id"], json!(a.agent));
    let started = find("status_changed", json!({"status": "in_progress"}));
    assert_eq!(started["payload"]["before"], json!({"status": "open"}));
    find("status_changed", json!({"status": "resolved"}));
    find("team_changed", json!({"assigned_team": null}));

    // A change that changes nothing writes no event.
    api.call(
        "PATCH",
        &format!("{base}{id}/"),
        Some(&agent),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(
        count(
            &api,
            &format!("SELECT count(*) FROM ticket_events WHERE ticket_id = '{id}'")
        )
        .await,
        5
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn bad_input_is_named_and_writes_nothing(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-bad").await;
    let agent = api.token(a.agent);
    let base = format!("/api/orgs/{}/tickets/", a.org);
    let ok = json!({"requester_email": "c@example.com", "subject": "Fine"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(&str, lambda_http::Request, u16, Option<&str>)> = vec![
        (
            "invalid JSON",
            raw(&base, &agent, "{\"subject\": "),
            400,
            None,
        ),
        (
            "unknown field",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("colour", json!("red"))),
            ),
            400,
            Some("colour"),
        ),
        (
            "wrong enum",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("priority", json!("critical"))),
            ),
            422,
            Some("priority"),
        ),
        (
            "body over 256 KB",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("body", json!("x".repeat(300 * 1024)))),
            ),
            400,
            None,
        ),
        (
            "subject over 300",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("subject", json!("s".repeat(301)))),
            ),
            422,
            Some("subject"),
        ),
        (
            "malformed email",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("requester_email", json!("nope@"))),
            ),
            422,
            Some("requester_email"),
        ),
        (
            "missing subject",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&json!({"requester_email": "c@example.com"})),
            ),
            422,
            Some("subject"),
        ),
        (
            "unknown team",
            Api::request(
                "POST",
                &base,
                Some(&agent),
                Some(&with("assigned_team", json!("<b>"))),
            ),
            422,
            Some("assigned_team"),
        ),
    ];
    for (name, req, status, field) in cases {
        let r = api.send(req).await;
        assert_eq!(r.status, status, "{name}: {}", r.json);
        if let Some(field) = field {
            assert_eq!(r.json["field"], field, "{name}");
        }
    }
    let ticket = ticket_fixture(&api.db.owner, a.org, "Existing").await;
    let r = api
        .call(
            "PATCH",
            &format!("{base}{}/", ticket.id),
            Some(&agent),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (422, Some("status")));
    let r = api
        .call(
            "PATCH",
            &format!("{base}{}/", ticket.id),
            Some(&agent),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        count(&api, "SELECT count(*) FROM tickets").await,
        1,
        "nothing was written"
    );
    assert_eq!(count(&api, "SELECT count(*) FROM ticket_events").await, 0);
}

fn raw(path: &str, token: &str, body: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body.into()))
        .unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn filters_search_counts_and_teams(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-f").await;
    let agent = api.token(a.agent);
    let base = format!("/api/orgs/{}/tickets/", a.org);
    for (subject, body, priority) in [
        ("Refund please", "I want my money back", "low"),
        ("Card declined", "The payment failed at checkout", "high"),
        ("Sync stuck", "Desktop app never finishes", "high"),
    ] {
        let r = api
            .call("POST", &base, Some(&agent), Some(json!({"requester_email": "c@example.com", "subject": subject, "body": body, "priority": priority})))
            .await;
        assert_eq!(r.status, 201);
    }
    let list = |query: &str| {
        let path = format!("{base}?{query}");
        let token = agent.clone();
        let api = &api;
        async move { api.call("GET", &path, Some(&token), None).await }
    };
    let high = list("priority=high").await;
    assert_eq!(high.json["items"].as_array().unwrap().len(), 2);
    let search = list("q=payment").await;
    let subjects: Vec<&str> = search.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, vec!["Card declined"]);
    let all = list("").await;
    assert_eq!(
        all.json["counts"],
        json!({"open": 3, "in_progress": 0, "resolved": 0})
    );
    // The counts ignore the status filter, also when the page is empty (counted apart then),
    // and follow the other filters.
    let none_resolved = list("status=resolved").await;
    assert_eq!(none_resolved.json["items"], json!([]));
    assert_eq!(
        none_resolved.json["counts"],
        json!({"open": 3, "in_progress": 0, "resolved": 0})
    );
    assert_eq!(
        list("priority=high&status=resolved").await.json["counts"],
        json!({"open": 2, "in_progress": 0, "resolved": 0})
    );
    assert_eq!(
        list("priority=high").await.json["counts"],
        json!({"open": 2, "in_progress": 0, "resolved": 0})
    );
    let oldest_first = list("ordering=created_at").await;
    assert_eq!(oldest_first.json["items"][0]["subject"], "Refund please");
    assert_eq!(list("ordering=sideways").await.status, 422);
    assert_eq!(list("limit=101").await.status, 422);
    assert_eq!(list("cursor=nonsense").await.json["field"], "cursor");
    assert_eq!(list("sort=x").await.status, 422);
    // Teams are checked against the org's settings once it has any.
    sqlx::query("UPDATE organization_settings SET teams = '{Billing}' WHERE organization_id = $1")
        .bind(a.org)
        .execute(&api.db.owner)
        .await
        .unwrap();
    let id = all.json["items"][0]["id"].as_str().unwrap();
    let r = api
        .call(
            "PATCH",
            &format!("{base}{id}/"),
            Some(&agent),
            Some(json!({"assigned_team": "Nope"})),
        )
        .await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (422, Some("assigned_team"))
    );
    let r = api
        .call(
            "PATCH",
            &format!("{base}{id}/"),
            Some(&agent),
            Some(json!({"assigned_team": "Billing"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        list("assigned_team=Billing").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Category: set on one ticket, then the list filters by it (and its counts follow).
    sqlx::query(
        "UPDATE organization_settings SET categories = '{refund}' WHERE organization_id = $1",
    )
    .bind(a.org)
    .execute(&api.db.owner)
    .await
    .unwrap();
    let r = api
        .call(
            "PATCH",
            &format!("{base}{id}/"),
            Some(&agent),
            Some(json!({"category": "refund"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let refunds = list("category=refund").await;
    let ids: Vec<&str> = refunds.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    assert_eq!(
        refunds.json["counts"],
        json!({"open": 1, "in_progress": 0, "resolved": 0})
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn keyset_pagination_neither_repeats_nor_skips_under_concurrent_inserts(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-page").await;
    let mut before = HashSet::new();
    for i in 0..57 {
        before.insert(
            ticket_fixture(&api.db.owner, a.org, &format!("Existing {i}"))
                .await
                .id
                .to_string(),
        );
    }
    let agent = api.token(a.agent);
    let base = format!("/api/orgs/{}/tickets/", a.org);

    // Insert new tickets concurrently while paging.
    let owner = api.db.owner.clone();
    let org = a.org;
    let writer = tokio::spawn(async move {
        for i in 0..40 {
            ticket_fixture(&owner, org, &format!("Concurrent {i}")).await;
            tokio::task::yield_now().await;
        }
    });

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}?limit=10&cursor={c}"),
            None => format!("{base}?limit=10"),
        };
        let page = api.call("GET", &path, Some(&agent), None).await;
        assert_eq!(page.status, 200, "{}", page.json);
        for t in page.json["items"].as_array().unwrap() {
            seen.push(t["id"].as_str().unwrap().to_owned());
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    writer.await.unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no ticket is served twice");
    for id in &before {
        assert!(
            unique.contains(id),
            "ticket {id} that existed before paging was skipped"
        );
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn history_imports_are_idempotent_and_name_every_bad_row(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-imp").await;
    let admin = api.token(a.admin);
    sqlx::query("UPDATE organization_settings SET teams = '{Billing}', categories = '{refund}' WHERE organization_id = $1")
        .bind(a.org)
        .execute(&api.db.owner)
        .await
        .unwrap();
    let path = format!("/api/orgs/{}/imports/", a.org);
    let csv = "subject,body,team,category,priority,status,created_at,external_id\n\
               Refund please,I want my money back,billing,Refund,low,resolved,2026-10-01,h-1\n\
               Login broken,I cannot sign in,Accounts,login,high,resolved,2026-10-02T09:00:00Z,h-2\n\
               ,no subject,Billing,refund,low,resolved,,h-3\n\
               Still open,please help,Billing,,medium,open,,h-4\n";

    // Viewers and agents cannot import; unknown media types and parameters are refused.
    let r = api
        .upload(&path, &api.token(a.agent), "text/csv", csv)
        .await;
    assert_eq!(r.status, 403);
    let r = api.upload(&path, &admin, "application/json", csv).await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (400, Some("content-type"))
    );
    let r = api
        .upload(&format!("{path}?add_labels=maybe"), &admin, "text/csv", csv)
        .await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (422, Some("add_labels"))
    );

    // Without add_labels, a row with a team the org lacks is refused, by line.
    let r = api.upload(&path, &admin, "text/csv", csv).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (&r.json["rows"], &r.json["created"], &r.json["existing"]),
        (&json!(4), &json!(2), &json!(0))
    );
    let errors: Vec<(u64, &str)> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, vec![(3, "team"), (4, "subject")]);

    // Again with add_labels: the known rows are not duplicated, the refused one now lands.
    let r = api
        .upload(&format!("{path}?add_labels=true"), &admin, "text/csv", csv)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (
            &r.json["created"],
            &r.json["existing"],
            &r.json["teams_added"],
            &r.json["categories_added"]
        ),
        (
            &json!(1),
            &json!(2),
            &json!(["Accounts"]),
            &json!(["login"])
        )
    );
    assert_eq!(count(&api, "SELECT count(*) FROM tickets").await, 3);
    // "billing" and "Refund" in the file are the org's "Billing" and "refund".
    let (team, category): (String, String) =
        sqlx::query_as("SELECT assigned_team, category FROM tickets WHERE external_id = 'h-1'")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((team.as_str(), category.as_str()), ("Billing", "refund"));
    let (status, priority, created, resolved): (String, String, String, bool) = sqlx::query_as(
        "SELECT status, priority, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                resolved_at IS NOT NULL
         FROM tickets WHERE external_id = 'h-2'",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(
        (
            status.as_str(),
            priority.as_str(),
            created.as_str(),
            resolved
        ),
        ("resolved", "high", "2026-10-02 09:00", true)
    );
    // One ticket_created event per imported ticket, by the admin; the labels are now due
    // for training.
    assert_eq!(
        count(&api, "SELECT count(*) FROM ticket_events WHERE event_type = 'ticket_created' AND payload->>'source' = 'import' AND actor_type = 'user'").await,
        3
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM organization_settings WHERE labels_changed_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &api,
            "SELECT n FROM ticket_status_counts WHERE status = 'resolved'"
        )
        .await,
        2,
        "h-4 was imported open"
    );

    // JSON lines: the same rules.
    let jsonl = "{\"subject\":\"Refund again\",\"team\":\"Billing\",\"category\":\"refund\",\"external_id\":\"h-5\"}\n\
                 {\"subject\":\"Typo\",\"teams\":\"Billing\"}\n";
    let r = api
        .upload(&path, &admin, "application/x-ndjson", jsonl)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (&r.json["created"], &r.json["errors"][0]["line"]),
        (&json!(1), &json!(2))
    );
    let list = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/?category=refund", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);
}

/// The list reads on a connection its instance holds between requests. When the server ends
/// that connection (a failover, a restart), the next list still answers: the instance takes
/// a fresh connection and reads again.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_list_answers_after_the_server_ends_its_held_connection(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "tk-held").await;
    ticket_fixture(&api.db.owner, a.org, "Held").await;
    let agent = api.token(a.agent);
    let base = format!("/api/orgs/{}/tickets/", a.org);
    let first = api.call("GET", &base, Some(&agent), None).await;
    assert_eq!(first.status, 200, "{}", first.json);

    let ended = count(
        &api,
        "WITH app AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity
             WHERE usename = 'nexify_app' AND datname = current_database())
         SELECT count(*) FROM app WHERE pg_terminate_backend(pid, 5000)",
    )
    .await;
    assert!(ended >= 1, "the function role's connections were ended");

    let again = api.call("GET", &base, Some(&agent), None).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["items"].as_array().map(Vec::len), Some(1));
}
