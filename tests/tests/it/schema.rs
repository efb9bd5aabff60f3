//! The schema: migrations, a round trip through every table, the tenancy guarantees
//! (composite foreign keys and row-level security) and pgvector search.

use std::time::Duration;

use nexify_domain::{
    ActorType, JobRunId, JobStatus, OrgId, Priority, Role, SuggestionStatus, TicketId, TicketStatus,
};
use nexify_embed::HashingEmbedder;
use nexify_storage::documents::{NewChunk, NewDocument};
use nexify_storage::events::{Actor, NewEvent};
use nexify_storage::settings::SettingsUpdate;
use nexify_storage::suggestions::NewSuggestion;
use nexify_storage::tickets::TicketChanges;
use nexify_storage::{
    DEFINER_ROLE, MIGRATOR, StorageError, Vector, documents, events, jobs, memberships,
    organizations, settings, suggestions, tickets, users,
};
use nexify_tests::{TestDb, org_fixture, ticket_fixture};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const TENANT_TABLES: [&str; 12] = [
    "organizations",
    "users",
    "memberships",
    "organization_settings",
    "tickets",
    "ticket_events",
    "job_runs",
    "suggestions",
    "documents",
    "document_chunks",
    "invites",
    "audit_records",
];

#[sqlx::test(migrations = false)]
async fn migrations_apply_to_an_empty_database_and_again_as_a_no_op(pool: PgPool) {
    let before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(before, 0, "the database starts empty");
    MIGRATOR.run(&pool).await.expect("migrations apply");
    for table in TENANT_TABLES {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(format!("public.{table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(exists, "table {table} exists");
    }
    let vector: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(vector, "pgvector is installed");
    MIGRATOR.run(&pool).await.expect("re-running is a no-op");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn every_table_round_trips(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    let org = organizations::insert(&mut tx, "Round Trip", "round-trip")
        .await
        .unwrap();
    assert_eq!(organizations::get(&mut tx, org.id).await.unwrap(), org);

    let email = nexify_domain::Email::parse("email", "Ada@Example.com").unwrap();
    let user = users::insert(&mut tx, &email, "Ada", "$argon2id$fake")
        .await
        .unwrap();
    assert_eq!(users::get(&mut tx, user.id).await.unwrap(), user);
    assert_eq!(user.email, "ada@example.com");
    let (login_id, login_hash) = users::login_lookup(&mut tx, &email).await.unwrap().unwrap();
    assert_eq!((login_id, login_hash.as_str()), (user.id, "$argon2id$fake"));

    let membership = memberships::upsert(&mut tx, org.id, user.id, Role::Agent)
        .await
        .unwrap();
    assert_eq!(membership.role, Role::Agent);
    let mine = memberships::list_for_user(&mut tx, user.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].organization_name, "Round Trip");
    assert_eq!(
        (mine[0].organization_id, mine[0].role),
        (org.id, Role::Agent)
    );

    let update = SettingsUpdate {
        teams: vec!["Billing".into(), "Technical".into()],
        categories: vec!["refund".into()],
        default_team: Some("Technical".into()),
        default_category: Some("refund".into()),
        auto_triage_webhook: true,
        auto_triage_api: false,
        auto_apply_threshold: Some(0.9),
        auto_apply_fields: Default::default(),
        reply_from: None,
    };
    let saved = settings::update(&mut tx, org.id, &update).await.unwrap();
    assert_eq!(settings::get(&mut tx, org.id).await.unwrap(), saved);
    assert_eq!(saved.teams, update.teams);
    assert_eq!(saved.auto_apply_threshold, Some(0.9));
    assert!(!saved.webhook_secret_set);
    let sealed = b"NXS1 a sealed blob".to_vec();
    let saved = settings::set_webhook_secret(&mut tx, org.id, &sealed, None, None)
        .await
        .unwrap()
        .expect("not rotated since");
    assert!(saved.webhook_secret_set);
    assert_eq!(saved.webhook_secret_previous_expires_at, None);
    let stored = settings::webhook_secrets(&mut tx, org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.current,
        settings::StoredSecret::Sealed(sealed.clone())
    );
    assert_eq!(stored.previous, None);
    // A rotation that read an older state writes nothing.
    assert!(
        settings::set_webhook_secret(&mut tx, org.id, b"other", None, None)
            .await
            .unwrap()
            .is_none()
    );
    let grace = std::time::Duration::from_secs(3600);
    let rotated = settings::set_webhook_secret(
        &mut tx,
        org.id,
        b"NXS1 the next blob",
        Some((&sealed, grace)),
        stored.rotated_at,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(rotated.webhook_secret_previous_expires_at.is_some());
    let stored = settings::webhook_secrets(&mut tx, org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.previous.map(|(blob, _)| blob), Some(sealed));

    let ticket = tickets::insert(&mut tx, org.id, &nexify_tests::new_ticket("Card declined"))
        .await
        .unwrap();
    assert_eq!(
        tickets::get(&mut tx, org.id, ticket.id).await.unwrap(),
        ticket
    );
    assert_eq!(
        (ticket.status, ticket.priority),
        (TicketStatus::Open, Priority::Medium)
    );
    let changes = TicketChanges {
        status: Some(TicketStatus::Resolved),
        priority: Some(Priority::Urgent),
        assigned_team: Some(Some("Billing".into())),
        category: None,
    };
    let resolved = tickets::update(&mut tx, org.id, ticket.id, &changes)
        .await
        .unwrap();
    assert_eq!(resolved.status, TicketStatus::Resolved);
    assert_eq!(resolved.assigned_team.as_deref(), Some("Billing"));
    assert!(resolved.resolved_at.is_some());

    let (job, created) = jobs::insert_or_get(&mut tx, org.id, ticket.id, "key-1")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(jobs::get(&mut tx, org.id, job.id).await.unwrap(), job);
    let (again, created) = jobs::insert_or_get(&mut tx, org.id, ticket.id, "key-1")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, job.id);

    let event = events::insert(
        &mut tx,
        org.id,
        &NewEvent {
            ticket_id: ticket.id,
            job_run_id: Some(job.id),
            event_type: "ai_triage_requested",
            actor: Actor::User(user.id),
            payload: serde_json::json!({ "key": "key-1" }),
        },
    )
    .await
    .unwrap();
    assert_eq!(event.actor_type, ActorType::User);
    let listed = events::list_for_ticket(&mut tx, org.id, ticket.id, None, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![event]);

    let suggestion = suggestions::insert(
        &mut tx,
        org.id,
        &NewSuggestion {
            ticket_id: ticket.id,
            job_run_id: job.id,
            suggested_priority: Priority::High,
            suggested_team: Some("Billing".into()),
            classification: Some("refund".into()),
            draft_reply: "Hello".into(),
            citations: serde_json::json!([]),
            confidence: 0.8,
            field_confidence: Default::default(),
            metadata: serde_json::json!({ "engine": "test" }),
        },
    )
    .await
    .unwrap();
    assert_eq!(suggestion.status, SuggestionStatus::Pending);
    assert_eq!(
        suggestions::get(&mut tx, org.id, suggestion.id)
            .await
            .unwrap(),
        suggestion
    );
    assert_eq!(
        suggestions::list_for_ticket(&mut tx, org.id, ticket.id)
            .await
            .unwrap(),
        vec![suggestion]
    );

    let doc = documents::insert_document(
        &mut tx,
        org.id,
        &NewDocument {
            title: "Refunds".into(),
            content_type: "markdown".into(),
            body: "Refunds take five days.".into(),
            source_url: None,
            created_by: Some(user.id),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        documents::get_document(&mut tx, org.id, doc.id)
            .await
            .unwrap(),
        doc
    );
    let chunk = NewChunk {
        chunk_index: 0,
        char_start: 0,
        char_end: 23,
        content: "Refunds take five days.".into(),
        embedding: Vector::from(HashingEmbedder.embed_one("Refunds take five days.")),
    };
    let stored = documents::insert_chunks(&mut tx, org.id, doc.id, &[chunk])
        .await
        .unwrap();
    assert_eq!(
        documents::list_chunks(&mut tx, org.id, doc.id)
            .await
            .unwrap(),
        stored
    );
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn value_sets_are_enforced_by_the_database(pool: PgPool) {
    let a = org_fixture(&pool, "values").await;
    let ticket = ticket_fixture(&pool, a.org, "Value sets").await;
    for (column, bad) in [("status", "closed"), ("priority", "critical")] {
        let err = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE tickets SET {column} = $1 WHERE id = $2"
        )))
        .bind(bad)
        .bind(ticket.id)
        .execute(&pool)
        .await
        .unwrap_err();
        assert!(
            matches!(StorageError::from(err), StorageError::Constraint { .. }),
            "{column}={bad} must violate a CHECK"
        );
    }
    let err = sqlx::query("UPDATE memberships SET role = 'owner' WHERE user_id = $1")
        .bind(a.admin)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(matches!(
        StorageError::from(err),
        StorageError::Constraint { .. }
    ));
    // And every value the Rust enums know is accepted.
    for status in TicketStatus::ALL {
        sqlx::query("UPDATE tickets SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(ticket.id)
            .execute(&pool)
            .await
            .unwrap();
    }
    for priority in Priority::ALL {
        sqlx::query("UPDATE tickets SET priority = $1 WHERE id = $2")
            .bind(priority)
            .bind(ticket.id)
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn composite_foreign_keys_refuse_cross_org_references(pool: PgPool) {
    let a = org_fixture(&pool, "org-a").await;
    let b = org_fixture(&pool, "org-b").await;
    let ticket_of_a = ticket_fixture(&pool, a.org, "A's ticket").await;
    let mut conn = pool.acquire().await.unwrap();

    // A job run in org B pointing at org A's ticket.
    let err = jobs::insert_or_get(&mut conn, b.org, ticket_of_a.id, "k")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::Constraint { constraint } if constraint == "job_runs_ticket_fk"),
        "{err:?}"
    );

    // An event in org B about org A's ticket.
    let err = events::insert(
        &mut conn,
        b.org,
        &NewEvent {
            ticket_id: ticket_of_a.id,
            job_run_id: None,
            event_type: "note",
            actor: Actor::System,
            payload: serde_json::json!({}),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StorageError::Constraint { constraint } if constraint == "ticket_events_ticket_fk"),
        "{err:?}"
    );

    // A suggestion in org B for org A's ticket and job.
    let (job_of_a, _) = jobs::insert_or_get(&mut conn, a.org, ticket_of_a.id, "k")
        .await
        .unwrap();
    let err = suggestions::insert(
        &mut conn,
        b.org,
        &plain_suggestion(ticket_of_a.id, job_of_a.id, Priority::Low),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StorageError::Constraint { .. }), "{err:?}");

    // A chunk in org B of org A's document.
    let doc_of_a = documents::insert_document(
        &mut conn,
        a.org,
        &NewDocument {
            title: "A".into(),
            content_type: "text".into(),
            body: "text".into(),
            source_url: None,
            created_by: None,
        },
    )
    .await
    .unwrap();
    let err = documents::insert_chunks(
        &mut conn,
        b.org,
        doc_of_a.id,
        &[NewChunk {
            chunk_index: 0,
            char_start: 0,
            char_end: 4,
            content: "text".into(),
            embedding: Vector::from(vec![0.1; 384]),
        }],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StorageError::Constraint { constraint } if constraint == "document_chunks_document_fk"),
        "{err:?}"
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn row_level_security_hides_other_orgs_from_the_function_role(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let a = org_fixture(&db.owner, "rls-a").await;
    let b = org_fixture(&db.owner, "rls-b").await;
    let ticket_of_a = ticket_fixture(&db.owner, a.org, "A only").await;
    ticket_fixture(&db.owner, b.org, "B only").await;

    // Without a tenant, the function role sees no tickets at all, even with no WHERE.
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db.app)
        .await
        .unwrap();
    assert_eq!(all, 0);

    // Scoped to B, a query with no WHERE sees only B's ticket, and A's id is invisible.
    let mut tx = nexify_storage::begin_tenant(&db.app, b.org, Some(b.agent))
        .await
        .unwrap();
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM tickets")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(subjects, vec!["B only".to_string()]);
    let err = tickets::get(&mut tx, a.org, ticket_of_a.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound));
    let stolen: Option<TicketId> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
        .bind(ticket_of_a.id)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    assert_eq!(stolen, None);
    // Writing into another org is refused too.
    let err = tickets::insert(&mut tx, a.org, &nexify_tests::new_ticket("smuggled")).await;
    assert!(err.is_err(), "RLS must refuse a row for another org");
    tx.rollback().await.unwrap();

    // The function role owns nothing, so it cannot switch RLS off.
    let err = sqlx::query("ALTER TABLE tickets DISABLE ROW LEVEL SECURITY")
        .execute(&db.app)
        .await;
    assert!(err.is_err());
    // And it may not rewrite the audit trail.
    let err = sqlx::query("DELETE FROM ticket_events")
        .execute(&db.app)
        .await;
    assert!(err.is_err());
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn cosine_search_returns_the_nearest_chunk(pool: PgPool) {
    let a = org_fixture(&pool, "vec-a").await;
    let b = org_fixture(&pool, "vec-b").await;
    let mut conn = pool.acquire().await.unwrap();
    let texts = [
        "How to request a refund for an annual plan",
        "Resetting your password when the email never arrives",
        "Sync is stuck on preparing to sync",
    ];
    for (org, text) in [
        (a.org, texts[0]),
        (a.org, texts[1]),
        (a.org, texts[2]),
        (b.org, texts[1]),
    ] {
        let doc = documents::insert_document(
            &mut conn,
            org,
            &NewDocument {
                title: text.into(),
                content_type: "text".into(),
                body: text.into(),
                source_url: None,
                created_by: None,
            },
        )
        .await
        .unwrap();
        documents::insert_chunks(
            &mut conn,
            org,
            doc.id,
            &[NewChunk {
                chunk_index: 0,
                char_start: 0,
                char_end: text.chars().count() as i32,
                content: text.into(),
                embedding: Vector::from(HashingEmbedder.embed_one(text)),
            }],
        )
        .await
        .unwrap();
    }
    let query = Vector::from(HashingEmbedder.embed_one("password reset email did not arrive"));
    let hits = documents::nearest_chunks(&mut conn, a.org, &query, 3)
        .await
        .unwrap();
    assert_eq!(hits.len(), 3, "only org A's three chunks");
    assert_eq!(hits[0].chunk.content, texts[1]);
    assert!(hits.iter().all(|h| h.chunk.organization_id == a.org));
    assert!(hits[0].distance < hits[1].distance);
}

/// An org above the exact-search size is searched through the HNSW index of its partition
/// (the chunks are hash-partitioned by org): through the function role and its tenant
/// scope, it finds its own nearest chunks and never another org's, and the function role
/// cannot reach a partition around the parent's row-level security.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_large_org_is_searched_through_its_partitions_hnsw_index(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let db = TestDb::new(connect).await;
    let a = org_fixture(&db.owner, "hnsw-a").await;
    let b = org_fixture(&db.owner, "hnsw-b").await;
    let text = |i: usize| format!("ticket {i} about topic {} and account {}", i % 40, i % 7);
    let mut conn = db.owner.acquire().await.unwrap();
    // Five times the exact-search size: just above it, a sorted scan of the org costs the
    // planner about what the index does, and it may take either (the sorted scan is exact).
    for (org, n) in [
        (a.org, 5 * documents::EXACT_SEARCH_MAX_CHUNKS as usize),
        (b.org, 50),
    ] {
        let doc = documents::insert_document(
            &mut conn,
            org,
            &NewDocument {
                title: "synthetic".into(),
                content_type: "text".into(),
                body: "synthetic".into(),
                source_url: None,
                created_by: None,
            },
        )
        .await
        .unwrap();
        let chunks: Vec<NewChunk> = (0..n)
            .map(|i| NewChunk {
                chunk_index: i as i32,
                char_start: 0,
                char_end: 1,
                content: text(i),
                embedding: Vector::from(HashingEmbedder.embed_one(&text(i))),
            })
            .collect();
        documents::insert_chunks(&mut conn, org, doc.id, &chunks)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE document_chunks")
        .execute(&mut *conn)
        .await
        .unwrap();
    let index_scans = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(s.idx_scan), 0)::bigint FROM pg_stat_user_indexes s
             JOIN pg_class c ON c.oid = s.indexrelid JOIN pg_am am ON am.oid = c.relam
             WHERE am.amname = 'hnsw' AND s.relname LIKE 'document_chunks_p%'",
        )
        .fetch_one(&db.owner)
        .await
        .unwrap()
    };
    let scans_before = index_scans().await;

    // The same text as one of b's chunks and as one of a's: each org finds its own.
    let query = Vector::from(HashingEmbedder.embed_one(&text(7)));
    let mut tx = nexify_storage::begin_tenant(&db.app, a.org, None)
        .await
        .unwrap();
    let hits = documents::nearest_chunks(&mut tx, a.org, &query, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.chunk.organization_id == a.org));
    assert_eq!(hits[0].chunk.content, text(7));
    let exact: Vec<String> = sqlx::query_scalar(
        "SELECT content FROM document_chunks WHERE organization_id = $1
         ORDER BY (embedding <=> $2) + 0, id LIMIT 10",
    )
    .bind(a.org)
    .bind(&query)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let found = hits
        .iter()
        .filter(|h| exact.contains(&h.chunk.content))
        .count();
    assert!(found >= 8, "recall@10 against exact search: {found}/10");
    // A backend's statistics reach the views within about a second of it going idle.
    let counted = nexify_tests::eventually(Duration::from_secs(15), || async {
        (index_scans().await > scans_before).then_some(())
    })
    .await;
    assert!(counted.is_some(), "the search went through an HNSW index");

    // The partitions grant the function role nothing.
    let direct = sqlx::query("SELECT count(*) FROM document_chunks_p0")
        .execute(&db.app)
        .await;
    assert!(direct.is_err(), "a partition is reachable around RLS");
}

/// The trigger-kept per-status counts (migration 6) always equal a live count: after
/// inserts, moves in both directions from concurrent transactions, and deletes; and the
/// function role sees only its own org's counts.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn status_counts_follow_every_ticket_change(_o: PgPoolOptions, connect: PgConnectOptions) {
    let db = TestDb::new(connect).await;
    let a = org_fixture(&db.owner, "counts-a").await;
    let b = org_fixture(&db.owner, "counts-b").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(ticket_fixture(&db.owner, a.org, &format!("A{i}")).await.id);
    }
    ticket_fixture(&db.owner, b.org, "B").await;
    let set_status = |id: TicketId, status: TicketStatus| {
        let app = db.app.clone();
        let org = a.org;
        async move {
            let mut tx = nexify_storage::begin_tenant(&app, org, None).await?;
            let changes = TicketChanges {
                status: Some(status),
                ..TicketChanges::default()
            };
            tickets::update(&mut tx, org, id, &changes).await?;
            tx.commit().await?;
            Ok::<_, StorageError>(())
        }
    };
    // Tickets 0..6 go to resolved while 6..12 go resolved first and then back to open,
    // all at once: opposite moves take the two count rows in one order, so none deadlocks.
    for &id in &ids[6..] {
        set_status(id, TicketStatus::Resolved).await.unwrap();
    }
    let moves = ids.iter().enumerate().map(|(i, &id)| {
        let to = if i < 6 {
            TicketStatus::Resolved
        } else {
            TicketStatus::Open
        };
        set_status(id, to)
    });
    for result in futures::future::join_all(moves).await {
        result.expect("no move fails");
    }
    set_status(ids[0], TicketStatus::InProgress).await.unwrap();
    set_status(ids[0], TicketStatus::InProgress).await.unwrap(); // no change, no count change
    sqlx::query("DELETE FROM tickets WHERE id = $1")
        .bind(ids[1])
        .execute(&db.owner)
        .await
        .unwrap();

    let kept = |pool: PgPool, org| async move {
        let mut rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, n FROM ticket_status_counts WHERE organization_id = $1 AND n > 0
             ORDER BY status",
        )
        .bind(org)
        .fetch_all(&pool)
        .await
        .unwrap();
        rows.sort();
        rows
    };
    let live: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM tickets WHERE organization_id = $1
         GROUP BY status ORDER BY status",
    )
    .bind(a.org)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        live,
        vec![
            ("in_progress".to_string(), 1),
            ("open".to_string(), 6),
            ("resolved".to_string(), 4)
        ]
    );
    assert_eq!(kept(db.owner.clone(), a.org).await, live);

    // Scoped to B, the function role sees B's one open ticket and nothing of A's counts.
    let mut tx = nexify_storage::begin_tenant(&db.app, b.org, None)
        .await
        .unwrap();
    let visible: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, n FROM ticket_status_counts ORDER BY status")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(visible, vec![("open".to_string(), 1)]);
    // And it cannot write them: only the trigger does.
    let write = sqlx::query("UPDATE ticket_status_counts SET n = 0")
        .execute(&mut *tx)
        .await;
    assert!(write.is_err(), "the function role must not write counts");
}

/// A suggestion of `priority` alone, with no team, category or draft.
fn plain_suggestion(ticket: TicketId, job: JobRunId, priority: Priority) -> NewSuggestion {
    NewSuggestion {
        ticket_id: ticket,
        job_run_id: job,
        suggested_priority: priority,
        suggested_team: None,
        classification: None,
        draft_reply: String::new(),
        citations: serde_json::json!([]),
        confidence: 0.5,
        field_confidence: Default::default(),
        metadata: serde_json::json!({}),
    }
}

/// A suggestion of `priority` for `ticket`, on a job of its own (`key`), then decided as
/// `decision` (left alone when pending).
async fn decided_suggestion(
    conn: &mut sqlx::PgConnection,
    org: OrgId,
    ticket: TicketId,
    key: &str,
    priority: Priority,
    decision: SuggestionStatus,
) {
    let (job, _) = jobs::insert_or_get(conn, org, ticket, key).await.unwrap();
    let suggestion = suggestions::insert(conn, org, &plain_suggestion(ticket, job.id, priority))
        .await
        .unwrap();
    if decision != SuggestionStatus::Pending {
        suggestions::decide(conn, org, suggestion.id, decision, None, None, None)
            .await
            .unwrap();
    }
}

/// "Labelled" is defined twice: in SQL (`ticket_is_labelled`, which the triggers use to keep
/// `ticket_embeddings.labelled`) and in the training read (`tickets::LABELLED`). Every mix
/// of ticket status and suggestion decision gets the same answer from both, and the one the
/// definition gives: resolved, or with an accepted suggestion.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn both_definitions_of_a_labelled_ticket_agree(_o: PgPoolOptions, c: PgConnectOptions) {
    let db = TestDb::new(c).await;
    let a = org_fixture(&db.owner, "labelled-defs").await;
    let mut expected = Vec::new();
    let mut conn = db.owner.acquire().await.unwrap();
    for status in [
        TicketStatus::Open,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
    ] {
        for decisions in [
            &[][..],
            &[SuggestionStatus::Pending],
            &[SuggestionStatus::Rejected],
            &[SuggestionStatus::Accepted],
            &[SuggestionStatus::Rejected, SuggestionStatus::Accepted],
        ] {
            let subject = format!("{status:?} {decisions:?}");
            let ticket = ticket_fixture(&db.owner, a.org, &subject).await;
            let changes = TicketChanges {
                status: Some(status),
                ..TicketChanges::default()
            };
            tickets::update(&mut conn, a.org, ticket.id, &changes)
                .await
                .unwrap();
            for (n, &decision) in decisions.iter().enumerate() {
                decided_suggestion(
                    &mut conn,
                    a.org,
                    ticket.id,
                    &format!("{subject} {n}"),
                    Priority::Low,
                    decision,
                )
                .await;
            }
            if status == TicketStatus::Resolved || decisions.contains(&SuggestionStatus::Accepted) {
                expected.push(ticket.id);
            }
        }
    }
    expected.sort_by_key(|id| id.0);
    // Of the 15 tickets: the 5 resolved, and the 4 open or in progress with an accepted one.
    assert_eq!(
        expected.len(),
        9,
        "the fixture covers labelled and unlabelled tickets"
    );

    let mut by_training_read: Vec<TicketId> = tickets::labelled(&mut conn, a.org, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    by_training_read.sort_by_key(|id| id.0);
    let by_sql_function: Vec<TicketId> = sqlx::query_scalar(
        "SELECT id FROM tickets WHERE organization_id = $1
           AND ticket_is_labelled(organization_id, id) ORDER BY id",
    )
    .bind(a.org)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(by_training_read, expected, "tickets::LABELLED");
    assert_eq!(by_sql_function, expected, "ticket_is_labelled");
}

/// A knowledge-base chunk of the chunker's largest size (800 characters of distinct words)
/// stays whole in its row: searches compare every chunk's embedding and text-search vector,
/// and a column moved to the TOAST table would cost an extra index lookup per chunk.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_full_size_chunk_is_stored_in_its_row(_o: PgPoolOptions, c: PgConnectOptions) {
    let db = TestDb::new(c).await;
    let a = org_fixture(&db.owner, "chunk-inline").await;
    let mut conn = db.owner.acquire().await.unwrap();
    let content: String = (0..200)
        .map(|i| format!("refund{i} "))
        .collect::<String>()
        .chars()
        .take(800)
        .collect();
    let doc = documents::insert_document(
        &mut conn,
        a.org,
        &NewDocument {
            title: "Long".into(),
            content_type: "text".into(),
            body: content.clone(),
            source_url: None,
            created_by: None,
        },
    )
    .await
    .unwrap();
    let chunk = NewChunk {
        chunk_index: 0,
        char_start: 0,
        char_end: 800,
        embedding: Vector::from(HashingEmbedder.embed_one(&content)),
        content,
    };
    documents::insert_chunks(&mut conn, a.org, doc.id, &[chunk])
        .await
        .unwrap();
    let (row_bytes, toasted): (i32, bool) = sqlx::query_as(
        "SELECT pg_column_size(c.*), pg_column_toast_chunk_id(c.embedding) IS NOT NULL
                OR pg_column_toast_chunk_id(c.search) IS NOT NULL
                OR pg_column_toast_chunk_id(c.content) IS NOT NULL
         FROM document_chunks c WHERE c.document_id = $1",
    )
    .bind(doc.id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(
        row_bytes > 2_100,
        "the fixture is past the default 2 kB target: {row_bytes}"
    );
    assert!(!toasted, "a column of the chunk went to the TOAST table");
}

/// The priorities an org's labelled history uses (`labelled_priorities`, which triage raises
/// to): those of its resolved tickets and of the suggestions its agents accepted; not open
/// tickets, pending or rejected suggestions, or another org's history.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn labelled_priorities_are_those_resolved_or_accepted_in_the_org(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let db = TestDb::new(c).await;
    let (a, b) = (
        org_fixture(&db.owner, "prio-a").await,
        org_fixture(&db.owner, "prio-b").await,
    );
    let mut conn = db.owner.acquire().await.unwrap();
    // (org, ticket status, ticket priority, suggestions: (priority, decision))
    let cases = [
        (a.org, TicketStatus::Resolved, Priority::Low, vec![]),
        (a.org, TicketStatus::Open, Priority::Medium, vec![]),
        (
            a.org,
            TicketStatus::Open,
            Priority::Medium,
            vec![(Priority::High, SuggestionStatus::Accepted)],
        ),
        (
            a.org,
            TicketStatus::InProgress,
            Priority::Urgent,
            vec![
                (Priority::Urgent, SuggestionStatus::Pending),
                (Priority::Urgent, SuggestionStatus::Rejected),
            ],
        ),
        (b.org, TicketStatus::Resolved, Priority::Medium, vec![]),
        (
            b.org,
            TicketStatus::Open,
            Priority::Low,
            vec![(Priority::Urgent, SuggestionStatus::Accepted)],
        ),
    ];
    for (n, (org, status, priority, decisions)) in cases.into_iter().enumerate() {
        let ticket = ticket_fixture(&db.owner, org, &format!("case {n}")).await;
        let changes = TicketChanges {
            status: Some(status),
            priority: Some(priority),
            ..TicketChanges::default()
        };
        tickets::update(&mut conn, org, ticket.id, &changes)
            .await
            .unwrap();
        for (m, (suggested, decision)) in decisions.into_iter().enumerate() {
            decided_suggestion(
                &mut conn,
                org,
                ticket.id,
                &format!("{n}-{m}"),
                suggested,
                decision,
            )
            .await;
        }
    }
    let used = |org: OrgId| {
        sqlx::query_scalar::<_, serde_json::Value>("SELECT labelled_priorities($1)::jsonb")
            .bind(org)
            .fetch_one(&db.owner)
    };
    assert_eq!(
        used(a.org).await.unwrap(),
        serde_json::json!(["low", "high"])
    );
    assert_eq!(
        used(b.org).await.unwrap(),
        serde_json::json!(["medium", "urgent"])
    );
}

/// Entering an org checks the membership in the round trip that begins the transaction; a
/// refusal leaves nothing open on the connection, so the next request on it works.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn entering_an_org_checks_the_role_and_a_refusal_leaves_the_connection_clean(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    use nexify_storage::{Admission, begin_member};
    let mut db = TestDb::new(c.clone()).await;
    // One connection, so every step below runs on the same one.
    db.app = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            c.username(nexify_storage::APP_ROLE)
                .password(nexify_tests::APP_PASSWORD),
        )
        .await
        .unwrap();
    let (a, b) = (
        org_fixture(&db.owner, "enter-a").await,
        org_fixture(&db.owner, "enter-b").await,
    );
    ticket_fixture(&db.owner, a.org, "A's ticket").await;
    for _ in 0..3 {
        assert!(matches!(
            begin_member(&db.app, a.org, b.agent, Role::Viewer)
                .await
                .unwrap(),
            Admission::NotMember
        ));
        assert!(matches!(
            begin_member(&db.app, a.org, a.viewer, Role::Agent)
                .await
                .unwrap(),
            Admission::BelowRole
        ));
        let Admission::Admitted(mut tx) = begin_member(&db.app, a.org, a.agent, Role::Agent)
            .await
            .unwrap()
        else {
            panic!("an agent of A may act as an agent in A");
        };
        // The transaction is scoped to A: its ticket is visible, under row-level security.
        let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM tickets")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(subjects, vec!["A's ticket".to_string()]);
        tx.commit().await.unwrap();
    }
}

/// The ticket list enters the org inside its one statement: a non-member is refused, a
/// member sees the org's page, and the scope ends with the statement, so the next statement
/// on the same connection sees no org's rows.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_one_statement_list_checks_membership_and_its_scope_ends_with_it(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    use nexify_storage::Admission;
    use nexify_storage::tickets::{TicketFilter, TicketOrder, page_as_member};
    // One connection, so every step below runs on the same one.
    let app = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            c.clone()
                .username(nexify_storage::APP_ROLE)
                .password(nexify_tests::APP_PASSWORD),
        )
        .await
        .unwrap();
    let db = TestDb::new(c).await;
    let (a, b) = (
        org_fixture(&db.owner, "page-a").await,
        org_fixture(&db.owner, "page-b").await,
    );
    ticket_fixture(&db.owner, a.org, "A's ticket").await;
    ticket_fixture(&db.owner, b.org, "B's ticket").await;
    let filter = TicketFilter::default();
    let page = |user| page_as_member(&app, a.org, user, &filter, TicketOrder::default(), None, 10);
    assert!(matches!(page(b.agent).await.unwrap(), Admission::NotMember));
    let Admission::Admitted((items, counts)) = page(a.viewer).await.unwrap() else {
        panic!("a viewer of A may list A's tickets");
    };
    let subjects: Vec<&str> = items.iter().map(|t| t.subject.as_str()).collect();
    assert_eq!(subjects, ["A's ticket"]);
    assert_eq!(counts, vec![(nexify_domain::TicketStatus::Open, 1)]);
    let scope: Option<String> =
        sqlx::query_scalar("SELECT nullif(current_setting('app.org_id', true), '')")
            .fetch_one(&app)
            .await
            .unwrap();
    assert_eq!(scope, None, "the org scope outlived the list's statement");
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(visible, 0);
}

/// Every table that holds an `organization_id` has row-level security on, so a new table
/// cannot forget it (partitions are reached through their parent's policy).
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn every_table_with_an_org_has_row_level_security(pool: PgPool) {
    let unguarded: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND NOT c.relrowsecurity
           AND EXISTS (SELECT 1 FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                         AND NOT a.attisdropped)
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(unguarded.is_empty(), "without RLS: {unguarded:?}");
}

/// Row-level security binds the tables' owner too: every table that has it forces it and
/// lets `nexify_definer` through by one policy, every SECURITY DEFINER function belongs to
/// `nexify_definer`, and that role can neither log in nor bypass RLS of its own.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn row_level_security_is_forced_and_only_the_definer_role_passes_by_policy(pool: PgPool) {
    // The names a query finds, given the definer role as $1.
    let found = |sql: &'static str| {
        sqlx::query_scalar::<_, String>(sql)
            .bind(DEFINER_ROLE)
            .fetch_all(&pool)
    };
    let unforced = found(
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relrowsecurity
           AND NOT (c.relforcerowsecurity AND EXISTS (
               SELECT 1 FROM pg_policy p
               WHERE p.polrelid = c.oid AND p.polname = 'definer'
                 AND p.polroles = ARRAY[(SELECT oid FROM pg_roles WHERE rolname = $1)]))
         ORDER BY 1",
    )
    .await
    .unwrap();
    assert!(
        unforced.is_empty(),
        "not forced, or no definer policy: {unforced:?}"
    );
    let wrong_owner = found(
        "SELECT p.oid::regprocedure::text FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef
           AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
         ORDER BY 1",
    )
    .await
    .unwrap();
    assert!(
        wrong_owner.is_empty(),
        "definer functions of another owner: {wrong_owner:?}"
    );
    let (login, superuser, bypass): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
    )
    .bind(DEFINER_ROLE)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!login && !superuser && !bypass);
}

/// The owner of a tenant table sees none of its rows outside an org's scope, as RLS is
/// forced; `nexify_definer`, which the cross-org commands act as, sees every org's. (The
/// local owner is a superuser, whom RLS never binds, so a plain role takes the table over
/// inside a transaction that is rolled back.)
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn forced_row_level_security_binds_the_tables_owner(_o: PgPoolOptions, c: PgConnectOptions) {
    let db = TestDb::new(c).await;
    for slug in ["forced-a", "forced-b"] {
        let org = org_fixture(&db.owner, slug).await;
        ticket_fixture(&db.owner, org.org, "Card declined").await;
    }
    let owner = format!("nexify_test_owner_{}", std::process::id());
    let mut tx = db.owner.begin().await.unwrap();
    for sql in [
        format!("CREATE ROLE {owner} NOLOGIN"),
        format!("ALTER TABLE tickets OWNER TO {owner}"),
        format!("SET LOCAL ROLE {owner}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let seen_by_owner: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        seen_by_owner, 0,
        "the owner read tickets outside any org's scope"
    );
    sqlx::query("RESET ROLE").execute(&mut *tx).await.unwrap();
    sqlx::query(nexify_storage::ACT_ACROSS_ORGS_SQL)
        .execute(&mut *tx)
        .await
        .unwrap();
    let orgs_seen: i64 = sqlx::query_scalar("SELECT count(DISTINCT organization_id) FROM tickets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs_seen, 2);
    tx.rollback().await.unwrap();
}
