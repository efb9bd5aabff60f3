//! Path, query and header parameters, as the document describes them. The handlers read
//! them by name (`nexify_http::path_param`, `query_params`); each list here matches the
//! names its handler accepts, and unknown query parameters are refused.

use nexify_domain::{Priority, TicketStatus};
use utoipa::IntoParams;
use uuid::Uuid;

/// An org-scoped route.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgPath {
    /// Organization id.
    pub org: Uuid,
}

/// One item of an org: a ticket, job, suggestion or document.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgItemPath {
    /// Organization id.
    pub org: Uuid,
    pub id: Uuid,
}

/// One member of an org.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// Organization id.
    pub org: Uuid,
    /// The member's user id.
    pub user_id: Uuid,
}

/// One invite of an org.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitePath {
    /// Organization id.
    pub org: Uuid,
    /// The invite's id (not its token).
    pub id: Uuid,
}

/// One delivery of an endpoint.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// Organization id.
    pub org: Uuid,
    /// The endpoint's id.
    pub id: Uuid,
    pub delivery_id: Uuid,
}

/// A webhook sender's ticket.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookTicketPath {
    /// Organization id.
    pub org: Uuid,
    /// The sender's id for the ticket (its `external_id`).
    #[param(min_length = 1, max_length = 200)]
    pub external_id: String,
}

/// An invite's link.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InviteToken {
    /// The token from the invite's link.
    #[param(pattern = "^[0-9a-f]{64}$")]
    pub token: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this team.
    #[param(min_length = 1, max_length = 64)]
    pub assigned_team: Option<String>,
    /// Only tickets of this category.
    #[param(min_length = 1, max_length = 64)]
    pub category: Option<String>,
    /// Full-text search over subject and body.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Sort order: `-created_at` (the default), `created_at`, `-updated_at` or `updated_at`.
    #[param(pattern = "^-?(created_at|updated_at)$")]
    pub ordering: Option<String>,
    /// The previous page's next_cursor.
    pub cursor: Option<String>,
    /// Page size, at most 100.
    #[param(minimum = 1, maximum = 100, default = 25)]
    pub limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// The previous page's next_cursor.
    pub cursor: Option<String>,
    /// Page size, at most 100.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
}

/// A page of documents or members.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The previous page's next_cursor.
    pub cursor: Option<String>,
    /// Page size, at most 100.
    #[param(minimum = 1, maximum = 100, default = 25)]
    pub limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The question.
    #[param(max_length = 500)]
    pub q: Option<String>,
    /// Page size, at most 50.
    #[param(minimum = 1, maximum = 50, default = 10)]
    pub limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutcomesQuery {
    /// How far back, in days (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub days: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Add the teams and categories the rows use to the org's settings instead of refusing
    /// those rows.
    pub add_labels: Option<bool>,
}

/// A webhook's signature: `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WebhookSignature {
    /// Unix seconds; at most 5 minutes away.
    #[param(rename = "X-Nexify-Timestamp")]
    pub timestamp: String,
    /// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
    #[param(rename = "X-Nexify-Signature")]
    pub signature: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct TriageHeaders {
    /// A repeated key returns the first job with 200 instead of enqueuing another.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200)]
    pub idempotency_key: Option<String>,
}
