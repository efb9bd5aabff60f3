//! Helpers for Nexify's integration tests: real Postgres databases (one per test, from
//! `#[sqlx::test]`), the function role's pool on the same database, demo-shaped fixtures,
//! and real LocalStack SQS queues made per test.

pub mod api;
pub mod mail;
pub mod receiver;
pub mod tls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nexify_domain::{Email, OrgId, Priority, Role, Subject, TicketBody, UserId};
use nexify_storage::tickets::{NewTicket, Ticket};
use nexify_storage::{APP_ROLE, PgPool, memberships, organizations, tickets, users};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::OnceCell;

/// The local-only password `nexify migrate --local-app-login` gives the function role.
pub const APP_PASSWORD: &str = "nexify_app";

static APP_LOGIN: OnceCell<()> = OnceCell::const_new();

/// A test database seen two ways: as the schema owner (set-up and assertions, bypasses
/// RLS) and as the functions' role (what handlers use, subject to RLS).
pub struct TestDb {
    pub owner: PgPool,
    pub app: PgPool,
}

impl TestDb {
    pub async fn new(connect: PgConnectOptions) -> Self {
        let owner = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(connect.clone())
            .await
            .expect("owner pool");
        APP_LOGIN
            .get_or_init(|| async {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}'"
                )))
                .execute(&owner)
                .await
                .expect("let the app role log in");
            })
            .await;
        let app = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(connect.username(APP_ROLE).password(APP_PASSWORD))
            .await
            .expect("app pool");
        Self { owner, app }
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A short unique suffix for names within one test run.
pub fn unique(prefix: &str) -> String {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// An org with one member of each role, made as the schema owner.
pub struct OrgFixture {
    pub org: OrgId,
    pub admin: UserId,
    pub agent: UserId,
    pub viewer: UserId,
}

/// A precomputed argon2id hash of "correct horse battery staple", so fixtures do not pay
/// for hashing.
pub const FIXTURE_PASSWORD: &str = "correct horse battery staple";

pub async fn org_fixture(owner: &PgPool, slug: &str) -> OrgFixture {
    let mut tx = owner.begin().await.unwrap();
    let org = organizations::insert(&mut tx, &format!("Org {slug}"), slug)
        .await
        .unwrap();
    let hash = fixture_password_hash();
    let mut ids = Vec::new();
    for role in [Role::Admin, Role::Agent, Role::Viewer] {
        let email = Email::parse("email", &format!("{role}@{slug}.test")).unwrap();
        let user = users::insert(&mut tx, &email, &format!("{role} of {slug}"), hash)
            .await
            .unwrap();
        memberships::upsert(&mut tx, org.id, user.id, role)
            .await
            .unwrap();
        ids.push(user.id);
    }
    tx.commit().await.unwrap();
    OrgFixture {
        org: org.id,
        admin: ids[0],
        agent: ids[1],
        viewer: ids[2],
    }
}

fn fixture_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::PasswordHasher;
        // Cheap parameters: tests check behaviour, not hashing cost.
        let params = argon2::Params::new(1024, 1, 1, None).unwrap();
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(FIXTURE_PASSWORD.as_bytes())
            .unwrap()
            .to_string()
    })
}

pub fn new_ticket(subject: &str) -> NewTicket {
    NewTicket {
        requester_email: Email::parse("requester_email", "customer@example.com").unwrap(),
        subject: Subject::parse(subject).unwrap(),
        body: TicketBody::parse("My card was declined at checkout.").unwrap(),
        priority: Priority::Medium,
        assigned_team: None,
        external_id: None,
        category: None,
    }
}

pub async fn ticket_fixture(owner: &PgPool, org: OrgId, subject: &str) -> Ticket {
    let mut conn = owner.acquire().await.unwrap();
    tickets::insert(&mut conn, org, &new_ticket(subject))
        .await
        .unwrap()
}

/// The queue settings `localstack/init/ready.d/create_queues.py` applies; read here too so
/// the tests exercise the same redrive policy.
pub fn triage_queue_config() -> serde_json::Value {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../localstack/queues.json")).unwrap();
    all["triage"].clone()
}

/// The SDK configuration of every LocalStack client here: its endpoint, a region and the
/// test credentials.
pub async fn localstack_config() -> aws_config::SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// An SQS client for LocalStack (AWS_ENDPOINT_URL, default http://127.0.0.1:4566).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&localstack_config().await)
}

/// LocalStack's Secrets Manager.
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&localstack_config().await)
}

/// LocalStack's KMS.
pub async fn kms_client() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&localstack_config().await)
}

/// A sealer with a KMS key of its own, on LocalStack.
pub async fn sealer() -> nexify_kms::KmsSealer {
    let kms = kms_client().await;
    let key = kms
        .create_key()
        .description("nexify test: webhook secrets")
        .send()
        .await
        .expect("LocalStack serves KMS (scripts/stack.sh up)");
    let key_id = key.key_metadata().expect("a new key").key_id().to_owned();
    nexify_kms::KmsSealer::new(kms, key_id)
}

/// A fresh queue and dead-letter queue with the triage queue's redrive policy, but the given
/// visibility timeout so redelivery tests need not wait 30 s. Returns (queue, dlq) URLs.
pub async fn queue_pair(client: &aws_sdk_sqs::Client, visibility_seconds: u32) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let config = triage_queue_config();
    let name = unique("test-triage");
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("LocalStack must be running (scripts/stack.sh up)")
        .queue_url
        .unwrap();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": config["max_receive_count"].to_string(),
    });
    let queue = client
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (queue, dlq)
}

/// Polls `f` until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Installs, once per test binary, the one global subscriber: test output when
/// `TEST_LOG=1`, and the JSON lines (the functions' shape, at debug level) of any thread
/// inside [`capture_logs`].
///
/// Why global: a thread-local subscriber (`set_default`) races with other tests' threads
/// registering the same callsites, and can leave a callsite cached as "never enabled", so
/// a captured test would silently miss events.
pub fn init_logs() {
    use tracing_subscriber::filter::{EnvFilter, filter_fn};
    use tracing_subscriber::prelude::*;
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let captured = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_span_list(true)
            .with_writer(|| CaptureWriter(CAPTURE.with(|c| c.borrow().clone())))
            .with_filter(filter_fn(|meta| {
                *meta.level() <= tracing::Level::DEBUG && CAPTURE.with(|c| c.borrow().is_some())
            }));
        let test_output = std::env::var("TEST_LOG").is_ok_and(|v| v == "1").then(|| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(EnvFilter::new("debug,sqlx=warn,aws=warn,hyper=warn"))
        });
        let _ = tracing_subscriber::registry()
            .with(captured)
            .with(test_output)
            .try_init();
    });
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Appends to this thread's capture buffer, if any.
struct CaptureWriter(Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(b) = &self.0 {
            b.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logs written on this thread while it lives (a test's async work runs on its thread).
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

/// Starts capturing this thread's logs as JSON lines.
pub fn capture_logs() -> LogCapture {
    init_logs();
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    // Callsites whose registration raced with the subscriber's installation get their
    // interest computed again, now that every one of them is registered.
    tracing::callsite::rebuild_interest_cache();
    LogCapture(buffer)
}

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("logs are UTF-8")
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}
