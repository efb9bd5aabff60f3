//! Every role against every org route, and cross-org access on every route.

use nexify_domain::Role;
use nexify_tests::api::Api;
use nexify_tests::{org_fixture, ticket_fixture};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

struct Route {
    method: &'static str,
    path: String,
    body: Option<Value>,
    needs: Role,
}

/// Every org route a member may call. `member` is a member whom the last route, an admin's
/// `DELETE`, removes.
fn routes(
    org: impl std::fmt::Display,
    ticket: impl std::fmt::Display,
    member: impl std::fmt::Display,
) -> Vec<Route> {
    let settings = json!({
        "teams": ["Billing", "Technical"], "categories": ["refund"],
        "default_team": "Billing", "auto_triage_webhook": false, "auto_triage_api": false,
        "auto_apply_threshold": 0.9
    });
    vec![
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/tickets/"),
            body: None,
            needs: Role::Viewer,
        },
        Route {
            method: "POST",
            path: format!("/api/orgs/{org}/tickets/"),
            body: Some(json!({"requester_email": "c@example.com", "subject": "Hello"})),
            needs: Role::Agent,
        },
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/tickets/{ticket}/"),
            body: None,
            needs: Role::Viewer,
        },
        Route {
            method: "PATCH",
            path: format!("/api/orgs/{org}/tickets/{ticket}/"),
            body: Some(json!({"priority": "high"})),
            needs: Role::Agent,
        },
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/tickets/{ticket}/events/"),
            body: None,
            needs: Role::Viewer,
        },
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/settings/"),
            body: None,
            needs: Role::Viewer,
        },
        Route {
            method: "PUT",
            path: format!("/api/orgs/{org}/settings/"),
            body: Some(settings),
            needs: Role::Admin,
        },
        Route {
            method: "POST",
            path: format!("/api/orgs/{org}/settings/webhook-secret/"),
            body: None,
            needs: Role::Admin,
        },
        Route {
            method: "POST",
            path: format!("/api/orgs/{org}/invites/"),
            body: Some(json!({"email": "invitee@example.com", "role": "agent"})),
            needs: Role::Admin,
        },
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/invites/"),
            body: None,
            needs: Role::Admin,
        },
        Route {
            method: "GET",
            path: format!("/api/orgs/{org}/members/"),
            body: None,
            needs: Role::Admin,
        },
        Route {
            method: "PATCH",
            path: format!("/api/orgs/{org}/members/{member}/"),
            body: Some(json!({"role": "viewer"})),
            needs: Role::Admin,
        },
        Route {
            method: "DELETE",
            path: format!("/api/orgs/{org}/members/{member}/"),
            body: None,
            needs: Role::Admin,
        },
    ]
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn every_role_against_every_route(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "roles-a").await;
    let ticket = ticket_fixture(&api.db.owner, a.org, "Role matrix").await;
    for (role, user) in [
        (Role::Viewer, a.viewer),
        (Role::Agent, a.agent),
        (Role::Admin, a.admin),
    ] {
        let token = api.token(user);
        for route in routes(a.org, ticket.id, a.viewer) {
            let r = api
                .call(route.method, &route.path, Some(&token), route.body.clone())
                .await;
            if role.allows(route.needs) {
                assert!(
                    (200..300).contains(&r.status),
                    "{role} {} {}: {} {}",
                    route.method,
                    route.path,
                    r.status,
                    r.json
                );
            } else {
                assert_eq!(
                    r.status, 403,
                    "{role} {} {}: {}",
                    route.method, route.path, r.json
                );
            }
        }
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn foreign_ids_are_404_on_every_route(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "xorg-a").await;
    let b = org_fixture(&api.db.owner, "xorg-b").await;
    let ticket_of_a = ticket_fixture(&api.db.owner, a.org, "A's secret").await;
    let ticket_of_b = ticket_fixture(&api.db.owner, b.org, "B's own").await;
    let b_admin = api.token(b.admin);

    // B's admin on A's org, and on B's org with A's ticket id: both 404, never 403.
    let mut probes = routes(a.org, ticket_of_a.id, a.viewer);
    probes.extend(
        routes(b.org, ticket_of_a.id, a.viewer)
            .into_iter()
            .filter(|r| {
                r.path.contains(&ticket_of_a.id.to_string())
                    || r.path.contains(&a.viewer.to_string())
            }),
    );
    for route in probes {
        let r = api
            .call(
                route.method,
                &route.path,
                Some(&b_admin),
                route.body.clone(),
            )
            .await;
        assert_eq!(r.status, 404, "{} {}: {}", route.method, route.path, r.json);
    }
    // Ids that are not ids at all are 404 too.
    let r = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/42/", b.org),
            Some(&b_admin),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    // And B still sees its own ticket, but A's never shows in B's list.
    let list = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/", b.org),
            Some(&b_admin),
            None,
        )
        .await;
    let ids: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![ticket_of_b.id.to_string()]);
    // Nothing changed in A.
    let unchanged: String = sqlx::query_scalar("SELECT priority FROM tickets WHERE id = $1")
        .bind(ticket_of_a.id)
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(unchanged, "medium");
    let created_in_a: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE organization_id = $1")
            .bind(a.org)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(created_in_a, 1);
    let members_of_a: i64 =
        sqlx::query_scalar("SELECT count(*) FROM memberships WHERE organization_id = $1")
            .bind(a.org)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(members_of_a, 3, "A's members are untouched");
    let invites_of_a: i64 =
        sqlx::query_scalar("SELECT count(*) FROM invites WHERE organization_id = $1")
            .bind(a.org)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(invites_of_a, 0, "nobody invited anyone into A");
}
