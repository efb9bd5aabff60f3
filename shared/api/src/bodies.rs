//! Request bodies. Unknown fields are refused (422), so a misspelt field never passes
//! silently; the length limits here are the ones the domain's newtypes enforce.

use nexify_domain::{MessageKind, Priority, TicketStatus};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The current refresh token; a browser sends its cookie instead.
    #[serde(default)]
    pub refresh: Option<String>,
}

/// A new account and the org it will administer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub display_name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub organization_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// Asks for a password-reset link by mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Sets a new password with the token from a reset mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The session's current refresh token; a browser sends its cookie instead.
    #[serde(default)]
    pub refresh: Option<String>,
    /// End every session of this user, on every device.
    #[serde(default)]
    pub everywhere: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewTicket)]
pub struct NewTicketBody {
    #[schema(format = Email, max_length = 254)]
    pub requester_email: String,
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    #[serde(default)]
    #[schema(max_length = 200000)]
    pub body: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub assigned_team: Option<String>,
}

/// A new outbound webhook endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// An https URL on the public internet.
    #[schema(min_length = 8, max_length = 2000)]
    pub url: String,
    /// Any of `ticket.created`, `ticket.updated`, `triage.suggested`, `suggestion.accepted`,
    /// `suggestion.rejected`, `message.created`.
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
}

/// Changes to an endpoint; turning it on again clears its failure run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A reply to the requester or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// `reply` or `note`.
    pub kind: MessageKind,
    #[schema(min_length = 1, max_length = 200000)]
    pub body: String,
}

/// A requester's follow-up, from the system that sent the ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookMessage {
    /// The sender's id for this message: sending it again returns the same message.
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    #[schema(min_length = 1, max_length = 200000)]
    pub body: String,
}

/// `Some(None)` when the field is present as `null` (clear it), `None` when absent.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Only the fields present change; `null` clears a team or category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TicketPatch)]
pub struct TicketPatchBody {
    #[serde(default)]
    pub status: Option<TicketStatus>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub assigned_team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub category: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SettingsUpdate)]
pub struct SettingsBody {
    /// Team names, each 1 to 64 characters.
    #[schema(max_items = 50)]
    pub teams: Vec<String>,
    /// Category names, each 1 to 64 characters.
    #[schema(max_items = 200)]
    pub categories: Vec<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub default_team: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub default_category: Option<String>,
    pub auto_triage_webhook: bool,
    pub auto_triage_api: bool,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub auto_apply_threshold: Option<f64>,
    #[serde(default)]
    pub auto_apply_fields: FieldThresholdsBody,
    /// Mail replies to requesters from this address (one SES may send from); absent or
    /// null: replies are not mailed.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub reply_from: Option<String>,
}

/// Per field, the confidence at which auto-apply sets it; absent or null: never.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FieldThresholdsUpdate)]
pub struct FieldThresholdsBody {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub priority: Option<f64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub team: Option<f64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub category: Option<f64>,
}

/// Whom to invite, and as what.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub role: nexify_domain::Role,
}

/// Accepting an invite. Signed in (a bearer token): no fields, the user joins as they are.
/// Otherwise a new account is made with the invite's email and this password.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub display_name: Option<String>,
    /// At least 12 characters.
    #[serde(default)]
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
}

/// How a webhook secret is rotated; an empty body takes the defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretBody {
    /// How long the secret being replaced is still accepted, so senders can switch: 0 to
    /// 168 hours, 24 when absent; 0 stops it at once.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 168)]
    pub grace_hours: Option<u32>,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub role: nexify_domain::Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTicket {
    /// The sender's own id: a second request with it returns the first ticket.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub requester_email: String,
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    #[serde(default)]
    #[schema(max_length = 200000)]
    pub body: String,
    #[serde(default)]
    pub priority: Option<Priority>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AcceptRequest)]
pub struct AcceptBody {
    /// The draft as the agent edited it; absent: the suggested draft.
    #[serde(default)]
    pub draft_reply: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RejectRequest)]
pub struct RejectBody {
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewDocument)]
pub struct DocumentBody {
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[schema(min_length = 1)]
    pub body: String,
    /// `text/plain` (the default) or `text/markdown`.
    #[serde(default)]
    #[schema(pattern = "^text/(plain|markdown)$")]
    pub content_type: Option<String>,
    #[serde(default)]
    #[schema(format = "uri")]
    pub source_url: Option<String>,
}
