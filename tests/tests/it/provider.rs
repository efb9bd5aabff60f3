//! An OpenAI-compatible provider, played by a small local HTTP server (the provider is an
//! outside service; the database and the queue stay real): the embedder asks for the right
//! model and dimensions with the key, and a chat-written draft may cite only what was
//! retrieved.

use std::sync::{Arc, Mutex};

use nexify_embed::openai::{ApiKey, OpenAiClient, OpenAiConfig, OpenAiEmbedder};
use nexify_embed::{DIM, Embedder, HashingEmbedder};
use nexify_service::drafting::ChatDrafter;
use nexify_service::triage::Worker;
use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHAT_ANSWER: &str = "Hello! Refunds take five to ten business days [1]. See also [7].";

type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// Serves `/v1/embeddings` (hashing vectors of the inputs) and `/v1/chat/completions`
/// (a fixed answer); records `(path, authorization, body)` of every request.
async fn fake_provider() -> (String, Seen) {
    let (url, seen, _) = fake_provider_watching(None).await;
    (url, seen)
}

/// [`fake_provider`], which, while answering a chat request, also counts the function
/// role's connections of `probe`'s database that sit in an open transaction.
async fn fake_provider_watching(
    probe: Option<sqlx::PgPool>,
) -> (String, Seen, Arc<Mutex<Vec<i64>>>) {
    let open_during_chat = Arc::new(Mutex::new(Vec::new()));
    let open_log = open_during_chat.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let (probe, open_log) = (probe.clone(), open_log.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let n = socket.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_owned();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break (head, buf[end + 4..end + 4 + length].to_vec());
                        }
                    }
                };
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let auth = head
                    .lines()
                    .find_map(|l| {
                        l.to_lowercase()
                            .starts_with("authorization:")
                            .then(|| l[14..].trim().to_owned())
                    })
                    .unwrap_or_default();
                let request: Value = serde_json::from_slice(&body).unwrap();
                let answer = if path.ends_with("/embeddings") {
                    let inputs: Vec<String> = request["input"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_owned())
                        .collect();
                    let data: Vec<Value> = inputs
                        .iter()
                        .enumerate()
                        .map(|(i, t)| json!({ "index": i, "embedding": HashingEmbedder.embed_one(t) }))
                        .collect();
                    json!({ "data": data })
                } else {
                    if let Some(probe) = &probe {
                        let open: i64 = sqlx::query_scalar(
                            "SELECT count(*) FROM pg_stat_activity
                             WHERE datname = current_database() AND usename = 'nexify_app'
                               AND state LIKE 'idle in transaction%'",
                        )
                        .fetch_one(probe)
                        .await
                        .unwrap();
                        open_log.lock().unwrap().push(open);
                    }
                    json!({ "choices": [{ "message": { "role": "assistant", "content": CHAT_ANSWER } }] })
                };
                log.lock().unwrap().push((path, auth, request));
                let body = answer.to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
            });
        }
    });
    (url, seen, open_during_chat)
}

fn config(base_url: String) -> OpenAiConfig {
    OpenAiConfig {
        base_url,
        api_key: Some(ApiKey::Plain("sk-test-key".into())),
        embedding_model: "test-embed".into(),
        chat_model: "test-chat".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_embedder_asks_for_the_model_dimensions_and_key() {
    let (url, seen) = fake_provider().await;
    let embedder = Arc::new(OpenAiEmbedder::new(OpenAiClient::new(config(url))).unwrap());
    assert_eq!(embedder.name(), "openai:test-embed");
    let texts = ["refund please", "cannot log in"];
    let e = embedder.clone();
    let vectors = tokio::task::spawn_blocking(move || e.embed(&texts))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[1], HashingEmbedder.embed_one("cannot log in"));
    assert_eq!(vectors[0].len(), DIM);
    let seen = seen.lock().unwrap();
    let (path, auth, body) = &seen[0];
    assert_eq!(path, "/v1/embeddings");
    assert_eq!(auth, "Bearer sk-test-key");
    assert_eq!(body["model"], "test-embed");
    assert_eq!(body["dimensions"], DIM);
    assert_eq!(body["input"], json!(texts));
}

/// Outside local mode the key lives in Secrets Manager (LocalStack here): the client fetches
/// it and sends it; the environment never holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_key_comes_from_secrets_manager() {
    let (url, seen) = fake_provider().await;
    let client = nexify_tests::secrets_client().await;
    let name = nexify_tests::unique("nexify-test/openai-key");
    client
        .create_secret()
        .name(&name)
        .secret_string(json!({"api_key": "sk-from-secrets-manager"}).to_string())
        .send()
        .await
        .unwrap();
    let config = OpenAiConfig {
        api_key: Some(ApiKey::from_secret(
            nexify_secrets::Secrets::new(client),
            name,
        )),
        ..config(url)
    };
    let embedder = Arc::new(OpenAiEmbedder::new(OpenAiClient::new(config)).unwrap());
    let e = embedder.clone();
    tokio::task::spawn_blocking(move || e.embed(&["refund please"]))
        .await
        .unwrap()
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].1, "Bearer sk-from-secrets-manager");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_chat_written_draft_cites_only_retrieved_passages(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "chat-a").await;
    let (url, seen, open_during_chat) = fake_provider_watching(Some(api.db.owner.clone())).await;
    let documents = format!("/api/orgs/{}/documents/", a.org);
    let doc = api
        .call(
            "POST",
            &documents,
            Some(&api.token(a.admin)),
            Some(json!({
                "title": "Refunds",
                "body": "Refunds go back to the original payment method and take five to ten business days."
            })),
        )
        .await;
    assert_eq!(doc.status, 201);
    let worker = triage_worker::App::new(Worker {
        pool: api.db.app.clone(),
        engine: nexify_triage::LearnedEngine,
        embedder: api.embedder.clone(),
        lease_seconds: 90,
        max_receives: 3,
        models: Default::default(),
        drafter: Some(ChatDrafter::new(OpenAiClient::new(config(url)))),
    });
    let (_, s) = api
        .triage_new_ticket(
            a.org,
            &api.token(a.agent),
            "Where is my refund",
            "How many business days does a refund take to reach my payment method?",
            &worker,
        )
        .await;
    assert_eq!(s["draft_reply"], CHAT_ANSWER);
    assert_eq!(s["metadata"]["draft_writer"], "openai:test-chat");
    // [1] is the retrieved refund chunk; [7] names nothing that was retrieved.
    let citations = s["citations"].as_array().unwrap();
    assert_eq!(citations.len(), 1, "{citations:?}");
    assert_eq!(citations[0]["chunk_id"], doc.json["chunks"][0]["id"]);
    let seen = seen.lock().unwrap();
    let (path, _, request) = seen.last().unwrap();
    assert_eq!(path, "/v1/chat/completions");
    let prompt = request["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("How many business days"),
        "the ticket is in the prompt"
    );
    assert!(prompt.contains("[1] Refunds: Refunds go back"), "{prompt}");
    // The worker holds no transaction open while the model writes.
    assert_eq!(*open_during_chat.lock().unwrap(), vec![0]);
}

/// Triage reads the whole conversation: a requester's follow-up reaches the drafter's
/// prompt, not just the ticket's first message.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn triage_reads_the_requesters_follow_ups(_o: PgPoolOptions, c: PgConnectOptions) {
    use nexify_tests::api::{signed_post, signed_webhook};
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "chat-conv").await;
    let (url, seen, _) = fake_provider_watching(None).await;
    let documents = format!("/api/orgs/{}/documents/", a.org);
    let admin = api.token(a.admin);
    let doc = api
        .call(
            "POST",
            &documents,
            Some(&admin),
            Some(json!({"title": "Refunds", "body": "Refunds take five to ten business days."})),
        )
        .await;
    assert_eq!(doc.status, 201);
    let secret = api.webhook_secret(a.admin, a.org).await;
    let now = chrono::Utc::now().timestamp();
    let ticket = api
        .send(signed_webhook(
            a.org,
            &secret,
            &json!({"external_id": "t-1", "requester_email": "c@example.com",
                    "subject": "Refund", "body": "I returned the kettle last week."}),
            now,
        ))
        .await;
    let id = ticket.json["id"].as_str().unwrap().to_owned();
    let follow_up = json!({"external_id": "t-1-2", "body": "It was paid by card ending 4242."});
    let path = format!("/api/webhooks/{}/tickets/t-1/messages/", a.org);
    assert_eq!(
        api.send(signed_post(&path, &secret, &follow_up, now))
            .await
            .status,
        201
    );

    let worker = triage_worker::App::new(Worker {
        pool: api.db.app.clone(),
        engine: nexify_triage::LearnedEngine,
        embedder: api.embedder.clone(),
        lease_seconds: 90,
        max_receives: 3,
        models: Default::default(),
        drafter: Some(ChatDrafter::new(OpenAiClient::new(config(url)))),
    });
    let agent = api.token(a.agent);
    let enqueued = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/{id}/triage/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(enqueued.status, 202, "{}", enqueued.json);
    let (received, failed) = api.bridge_once(&worker, 5).await;
    assert_eq!((received, failed.len()), (1, 0));
    let seen = seen.lock().unwrap();
    let (_, _, request) = seen.last().unwrap();
    let prompt = request["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("I returned the kettle last week."),
        "{prompt}"
    );
    assert!(
        prompt.contains("It was paid by card ending 4242."),
        "{prompt}"
    );
}
