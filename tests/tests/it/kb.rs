//! The knowledge-base routes: write (chunked and embedded), read, search, delete.

use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const REFUNDS: &str = "Annual plans can be refunded in full within 30 days of purchase. After that we refund the unused months.\n\nRefunds go back to the original payment method and take five to ten business days. Duplicate charges are always refunded in full — café owners included.";
const SYNC: &str = "If the desktop app is stuck on preparing to sync, quit it and start it again. Large files over 50 GB are skipped.";

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn documents_are_chunked_searchable_and_deletable(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "kb-a").await;
    let b = org_fixture(&api.db.owner, "kb-b").await;
    let admin = api.token(a.admin);
    let base = format!("/api/orgs/{}/documents/", a.org);

    let viewer_try = api
        .call(
            "POST",
            &base,
            Some(&api.token(a.viewer)),
            Some(json!({"title": "x", "body": "y"})),
        )
        .await;
    assert_eq!(viewer_try.status, 403);
    let bad = api
        .call(
            "POST",
            &base,
            Some(&admin),
            Some(json!({"title": "", "body": "y"})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json["field"].as_str()),
        (422, Some("title"))
    );

    let refunds = api.call("POST", &base, Some(&admin), Some(json!({"title": "Refunds", "body": REFUNDS, "source_url": "https://help.example.com/refunds"}))).await;
    assert_eq!(refunds.status, 201, "{}", refunds.json);
    api.call(
        "POST",
        &base,
        Some(&admin),
        Some(json!({"title": "Sync", "body": SYNC, "content_type": "text"})),
    )
    .await;
    let chunks = refunds.json["chunks"].as_array().unwrap();
    assert!(!chunks.is_empty());
    for chunk in chunks {
        let (start, end) = (
            chunk["char_start"].as_u64().unwrap() as usize,
            chunk["char_end"].as_u64().unwrap() as usize,
        );
        let slice: String = REFUNDS.chars().skip(start).take(end - start).collect();
        assert_eq!(
            slice,
            chunk["content"].as_str().unwrap(),
            "offsets slice back to the chunk"
        );
    }

    let viewer = api.token(a.viewer);
    let list = api
        .call("GET", &format!("{base}?limit=1"), Some(&viewer), None)
        .await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
    assert!(list.json["next_cursor"].is_string());

    let search = api
        .call(
            "GET",
            &format!(
                "/api/orgs/{}/kb/search/?q=refund%20duplicate%20charge",
                a.org
            ),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(search.status, 200, "{}", search.json);
    let hits = search.json["items"].as_array().unwrap();
    assert_eq!(hits[0]["title"], "Refunds");
    assert!(
        hits[0]["score"].as_f64().unwrap() > hits.last().unwrap()["score"].as_f64().unwrap()
            || hits.len() == 1
    );
    assert!(hits[0]["similarity"].as_f64().unwrap() > 0.0);
    // A query with no words embeds to the zero vector, whose cosine distance is NaN: the
    // search still answers, and every similarity is a number (schemathesis found a null).
    let wordless = api
        .call(
            "GET",
            &format!("/api/orgs/{}/kb/search/?q=%1E%3F%20", a.org),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(wordless.status, 200, "{}", wordless.json);
    for hit in wordless.json["items"].as_array().unwrap() {
        assert!(hit["similarity"].is_number(), "{hit}");
    }
    assert_eq!(
        api.call(
            "GET",
            &format!("/api/orgs/{}/kb/search/?q=", a.org),
            Some(&viewer),
            None
        )
        .await
        .status,
        422
    );

    // Another org sees none of it.
    let foreign = api
        .call(
            "GET",
            &format!("/api/orgs/{}/kb/search/?q=refund", b.org),
            Some(&api.token(b.admin)),
            None,
        )
        .await;
    assert_eq!(foreign.json["items"], json!([]));
    let id = refunds.json["id"].as_str().unwrap();
    assert_eq!(
        api.call(
            "GET",
            &format!("{base}{id}/"),
            Some(&api.token(b.admin)),
            None
        )
        .await
        .status,
        404
    );

    let got = api
        .call("GET", &format!("{base}{id}/"), Some(&viewer), None)
        .await;
    assert_eq!(got.json["chunks"].as_array().unwrap().len(), chunks.len());
    assert_eq!(
        api.call(
            "DELETE",
            &format!("{base}{id}/"),
            Some(&api.token(a.agent)),
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        api.call("DELETE", &format!("{base}{id}/"), Some(&admin), None)
            .await
            .status,
        204
    );
    assert_eq!(
        api.call("GET", &format!("{base}{id}/"), Some(&viewer), None)
            .await
            .status,
        404
    );
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM document_chunks WHERE document_id = $1::uuid")
            .bind(id)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(left, 0, "chunks go with their document");
}
