//! An org's members, managed by its admins: the list, role changes, removals, the
//! last-admin rule and the audit records every change leaves.

use nexify_domain::{OrgId, UserId};
use nexify_tests::api::{Api, Reply};
use nexify_tests::org_fixture;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn member_path(org: OrgId, user: UserId) -> String {
    format!("/api/orgs/{org}/members/{user}/")
}

async fn set_role(api: &Api, org: OrgId, user: UserId, token: &str, role: &str) -> Reply {
    api.call(
        "PATCH",
        &member_path(org, user),
        Some(token),
        Some(json!({ "role": role })),
    )
    .await
}

async fn remove(api: &Api, org: OrgId, user: UserId, token: &str) -> Reply {
    api.call("DELETE", &member_path(org, user), Some(token), None)
        .await
}

/// The org's audit records, oldest first: (action, subject, details).
async fn audit(owner: &PgPool, org: OrgId) -> Vec<(String, UserId, serde_json::Value)> {
    sqlx::query_as(
        "SELECT action, subject_user_id, details FROM audit_records
         WHERE organization_id = $1 ORDER BY created_at, id",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn admins_list_members_page_by_page(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "mem-list").await;
    let admin = api.token(a.admin);
    let path = format!("/api/orgs/{}/members/", a.org);

    let all = api.call("GET", &path, Some(&admin), None).await;
    assert_eq!(all.status, 200, "{}", all.json);
    let users: Vec<&str> = all.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 3);
    for id in [a.admin, a.agent, a.viewer] {
        assert!(users.contains(&id.to_string().as_str()), "{id} listed");
    }
    let agent = all.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == a.agent.to_string())
        .unwrap();
    assert_eq!(agent["role"], "agent");
    assert_eq!(agent["email"], "agent@mem-list.test");
    assert_eq!(all.json["next_cursor"], json!(null));

    // Two pages of two and one, the same members in the same order.
    let first = api
        .call("GET", &format!("{path}?limit=2"), Some(&admin), None)
        .await;
    let cursor = first.json["next_cursor"].as_str().expect("a second page");
    let second = api
        .call(
            "GET",
            &format!("{path}?limit=2&cursor={cursor}"),
            Some(&admin),
            None,
        )
        .await;
    let paged: Vec<&str> = first.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.json["items"].as_array().unwrap())
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(paged, users);
    assert_eq!(second.json["next_cursor"], json!(null));

    let bad = api
        .call("GET", &format!("{path}?cursor=zz"), Some(&admin), None)
        .await;
    assert_eq!(
        (bad.status, bad.json["field"].as_str()),
        (422, Some("cursor"))
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_role_change_is_audited_once_and_refused_input_changes_nothing(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "mem-role").await;
    let admin = api.token(a.admin);

    let r = set_role(&api, a.org, a.agent, &admin, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (&r.json["role"], &r.json["email"]),
        (&json!("viewer"), &json!("agent@mem-role.test"))
    );
    // The same role again: answered, but nothing happened, so nothing is recorded.
    let again = set_role(&api, a.org, a.agent, &admin, "viewer").await;
    assert_eq!(again.status, 200);
    let records = audit(&api.db.owner, a.org).await;
    assert_eq!(
        records,
        vec![(
            "member_role_changed".to_owned(),
            a.agent,
            json!({"from": "agent", "to": "viewer"})
        )]
    );
    let actor: Option<UserId> =
        sqlx::query_scalar("SELECT actor_user_id FROM audit_records WHERE organization_id = $1")
            .bind(a.org)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(actor, Some(a.admin));

    // The demoted agent can no longer create tickets.
    let create = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&api.token(a.agent)),
            Some(json!({"requester_email": "c@example.com", "subject": "Hi"})),
        )
        .await;
    assert_eq!(create.status, 403, "{}", create.json);

    for (body, status) in [
        (json!({"role": "owner"}), 422),
        (json!({"role": "admin", "extra": 1}), 400),
        (json!({}), 422),
    ] {
        let r = api
            .call(
                "PATCH",
                &member_path(a.org, a.viewer),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.json);
    }
    let stranger = UserId::new_random();
    let r = set_role(&api, a.org, stranger, &admin, "agent").await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = remove(&api, a.org, stranger, &admin).await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(
        audit(&api.db.owner, a.org).await.len(),
        1,
        "refusals are not recorded"
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_last_admin_can_neither_step_down_nor_leave(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "mem-last").await;
    let admin = api.token(a.admin);

    let demote = set_role(&api, a.org, a.admin, &admin, "agent").await;
    assert_eq!(demote.status, 409, "{}", demote.json);
    assert!(
        demote.json["detail"]
            .as_str()
            .unwrap()
            .contains("last admin")
    );
    let leave = remove(&api, a.org, a.admin, &admin).await;
    assert_eq!(leave.status, 409, "{}", leave.json);
    // Staying admin is no change, and allowed.
    let stay = set_role(&api, a.org, a.admin, &admin, "admin").await;
    assert_eq!(stay.status, 200, "{}", stay.json);
    assert!(audit(&api.db.owner, a.org).await.is_empty());

    // With a second admin, the first may leave; the one left cannot.
    let promote = set_role(&api, a.org, a.agent, &admin, "admin").await;
    assert_eq!(promote.status, 200);
    let leave = remove(&api, a.org, a.admin, &admin).await;
    assert_eq!(leave.status, 204, "{}", leave.json);
    let new_admin = api.token(a.agent);
    let leave = api
        .call(
            "DELETE",
            &member_path(a.org, a.agent),
            Some(&new_admin),
            None,
        )
        .await;
    assert_eq!(leave.status, 409, "{}", leave.json);

    // The one who left sees the org no more.
    let gone = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    let actions: Vec<(String, UserId)> = audit(&api.db.owner, a.org)
        .await
        .into_iter()
        .map(|(action, subject, _)| (action, subject))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("member_role_changed".to_owned(), a.agent),
            ("member_removed".to_owned(), a.admin),
        ]
    );
}

/// Two admins demoting each other at once: the rows are locked together, so one change
/// waits for the other and then sees it, and the org keeps an admin.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn two_admins_demoting_each_other_at_once_leave_one_admin(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "mem-race").await;
    let admin = api.token(a.admin);
    let promote = set_role(&api, a.org, a.agent, &admin, "admin").await;
    assert_eq!(promote.status, 200);
    let second = api.token(a.agent);
    let (agent_path, admin_path) = (member_path(a.org, a.agent), member_path(a.org, a.admin));
    for _ in 0..5 {
        let (one, two) = tokio::join!(
            api.call(
                "PATCH",
                &agent_path,
                Some(&admin),
                Some(json!({"role": "agent"}))
            ),
            api.call(
                "PATCH",
                &admin_path,
                Some(&second),
                Some(json!({"role": "agent"}))
            ),
        );
        let mut statuses = [one.status, two.status];
        statuses.sort();
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM memberships WHERE organization_id = $1 AND role = 'admin'",
        )
        .bind(a.org)
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
        assert_eq!(admins, 1, "{statuses:?}");
        // One demotion went through; the other was refused, or (losing the race for the
        // token's role) found its caller no longer admin.
        assert!(
            statuses == [200, 409] || statuses == [200, 403],
            "{statuses:?}"
        );
        // Both admins again for the next round.
        sqlx::query("UPDATE memberships SET role = 'admin' WHERE organization_id = $1 AND user_id = ANY($2)")
            .bind(a.org)
            .bind(vec![a.admin.0, a.agent.0])
            .execute(&api.db.owner)
            .await
            .unwrap();
    }
}
