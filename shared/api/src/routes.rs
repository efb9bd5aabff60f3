//! One never-called stub per route, carrying its `#[utoipa::path]`: the handlers dispatch on
//! route keys, not on one function per operation.
#![allow(dead_code)]

use nexify_auth::TokenPair;
use nexify_service::accounts::Me;
use nexify_service::conversations::MessagePage;
use nexify_service::imports::ImportReport;
use nexify_service::invites::{InvitePreview, IssuedInvite, Joined};
use nexify_service::knowledge::DocumentWithChunks;
use nexify_service::outbound::{CreatedEndpoint, DeliveryPage};
use nexify_service::quality::{Outcomes, Overview};
use nexify_service::settings::RotatedSecret;
use nexify_service::tickets::{EventPage, TicketPage};
use nexify_storage::jobs::JobRun;
use nexify_storage::memberships::Member;
use nexify_storage::messages::Message;
use nexify_storage::outbound::{Delivery, Endpoint};
use nexify_storage::settings::{OrgSettings, TrainingStatus};
use nexify_storage::suggestions::Suggestion;
use nexify_storage::tickets::Ticket;

use crate::bodies::*;
use crate::params::*;
use crate::responses::*;

/// Checks the database.
#[utoipa::path(get, path = "/api/health/", operation_id = "health", tag = "health",
    security(()), responses((status = 200, description = "OK", body = Health)))]
fn health() {}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "openapi", tag = "health",
    security(()), responses((status = 200, description = "OK", body = Object)))]
fn openapi() {}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/auth/token/", operation_id = "token", tag = "auth",
    security(()), request_body = TokenRequest,
    responses((status = 200, description = "OK", body = TokenPair)))]
fn token() {}

/// Signs up: a new account, a new org it administers, and the account signed in. Only when
/// the deployment's `NEXIFY_SIGNUP` is `open`; otherwise 403.
#[utoipa::path(post, path = "/api/auth/signup/", operation_id = "signUp", tag = "auth",
    security(()), request_body = SignUp,
    responses((status = 201, description = "Created", body = Joined)))]
fn sign_up() {}

/// Exchanges a refresh token for a new access token and its successor.
///
/// Each refresh token works once. Presenting one that was already exchanged ends the whole
/// session (it was copied), and the answer is 401.
#[utoipa::path(post, path = "/api/auth/token/refresh/", operation_id = "refresh", tag = "auth",
    security(()), request_body = RefreshRequest,
    responses((status = 200, description = "OK", body = TokenPair)))]
fn refresh() {}

/// Signs out: ends this session, or with `everywhere` every session of the user.
#[utoipa::path(post, path = "/api/auth/logout/", operation_id = "logout", tag = "auth",
    security(()), request_body = LogoutRequest,
    responses((status = 204, description = "Signed out")))]
fn logout() {}

/// Changes the signed-in user's password: every session of theirs ends, and this one gets
/// new tokens.
#[utoipa::path(post, path = "/api/me/password/", operation_id = "changePassword", tag = "auth",
    request_body = PasswordChange,
    responses((status = 200, description = "OK", body = TokenPair)))]
fn change_password() {}

/// Mails a password-reset link to the account with this email, if there is one. The answer
/// is 202 either way, so it tells nobody whether an email has an account.
#[utoipa::path(post, path = "/api/auth/password-reset/", operation_id = "requestPasswordReset",
    tag = "auth", security(()), request_body = PasswordResetRequest,
    responses((status = 202, description = "Accepted: a link is mailed if the account exists")))]
fn request_password_reset() {}

/// Sets a new password with a reset link's token: once, within 30 minutes. Every session
/// of the account ends; sign in with the new password.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm/",
    operation_id = "confirmPasswordReset", tag = "auth", security(()),
    request_body = PasswordResetConfirm,
    responses((status = 204, description = "The password is set")))]
fn confirm_password_reset() {}

/// The signed-in user and their memberships.
#[utoipa::path(get, path = "/api/me/", operation_id = "me", tag = "auth",
    responses((status = 200, description = "OK", body = Me)))]
fn me() {}

/// Lists the org's tickets, with counts per status.
#[utoipa::path(get, path = "/api/orgs/{org}/tickets/", operation_id = "listTickets",
    tag = "tickets", params(OrgPath, TicketListQuery),
    responses((status = 200, description = "OK", body = TicketPage)))]
fn list_tickets() {}

/// Creates a ticket.
#[utoipa::path(post, path = "/api/orgs/{org}/tickets/", operation_id = "createTicket",
    tag = "tickets", params(OrgPath), request_body = NewTicketBody,
    responses((status = 201, description = "Created", body = Ticket)))]
fn create_ticket() {}

/// One ticket.
#[utoipa::path(get, path = "/api/orgs/{org}/tickets/{id}/", operation_id = "getTicket",
    tag = "tickets", params(OrgItemPath),
    responses((status = 200, description = "OK", body = Ticket)))]
fn get_ticket() {}

/// Changes status, priority, team or category (events record before and after).
#[utoipa::path(patch, path = "/api/orgs/{org}/tickets/{id}/", operation_id = "patchTicket",
    tag = "tickets", params(OrgItemPath), request_body = TicketPatchBody,
    responses((status = 200, description = "OK", body = Ticket)))]
fn patch_ticket() {}

/// The ticket's audit trail, newest first.
#[utoipa::path(get, path = "/api/orgs/{org}/tickets/{id}/events/",
    operation_id = "ticketEvents", tag = "tickets", params(OrgItemPath, EventListQuery),
    responses((status = 200, description = "OK", body = EventPage)))]
fn ticket_events() {}

/// The ticket's conversation, oldest first: the requester's messages (the first is the
/// ticket's body), replies and internal notes.
#[utoipa::path(get, path = "/api/orgs/{org}/tickets/{id}/messages/",
    operation_id = "ticketMessages", tag = "tickets", params(OrgItemPath, EventListQuery),
    responses((status = 200, description = "OK", body = MessagePage)))]
fn ticket_messages() {}

/// Writes a reply to the requester or an internal note (agents).
#[utoipa::path(post, path = "/api/orgs/{org}/tickets/{id}/messages/",
    operation_id = "writeMessage", tag = "tickets", params(OrgItemPath),
    request_body = NewMessage,
    responses((status = 201, description = "Created", body = Message)))]
fn write_message() {}

/// Imports labelled tickets (admin).
///
/// CSV (header: subject, body, team, category, priority, status, created_at, external_id,
/// requester_email; subject required) or JSON lines with the same fields. At most 2,000 rows
/// and 1 MiB per request; idempotent by external_id; status defaults to resolved.
#[utoipa::path(post, path = "/api/orgs/{org}/imports/", operation_id = "importHistory",
    tag = "tickets", params(OrgPath, ImportQuery),
    request_body(content(
        (String = "text/csv"),
        (String = "application/x-ndjson"),
    )),
    responses((status = 200, description = "OK", body = ImportReport)))]
fn import_history() {}

/// The org's settings (admin).
#[utoipa::path(get, path = "/api/orgs/{org}/settings/", operation_id = "getSettings",
    tag = "settings", params(OrgPath),
    responses((status = 200, description = "OK", body = OrgSettings)))]
fn get_settings() {}

/// Replaces the org's settings (admin).
#[utoipa::path(put, path = "/api/orgs/{org}/settings/", operation_id = "putSettings",
    tag = "settings", params(OrgPath), request_body = SettingsBody,
    responses((status = 200, description = "OK", body = OrgSettings)))]
fn put_settings() {}

/// Rotates the webhook secret and shows it once (admin); the previous one stays valid for
/// the grace period.
#[utoipa::path(post, path = "/api/orgs/{org}/settings/webhook-secret/",
    operation_id = "rotateWebhookSecret", tag = "settings", params(OrgPath),
    request_body = RotateSecretBody,
    responses((status = 200, description = "OK", body = RotatedSecret)))]
fn rotate_webhook_secret() {}

/// The org's members, oldest membership first (admin).
#[utoipa::path(get, path = "/api/orgs/{org}/members/", operation_id = "listMembers",
    tag = "members", params(OrgPath, PageQuery),
    responses((status = 200, description = "OK", body = MemberPage)))]
fn list_members() {}

/// Gives a member another role (admin); demoting the last admin is a 409.
#[utoipa::path(patch, path = "/api/orgs/{org}/members/{user_id}/",
    operation_id = "changeMemberRole", tag = "members", params(MemberPath),
    request_body = MemberPatch,
    responses((status = 200, description = "OK", body = Member)))]
fn change_member_role() {}

/// Removes a member from the org (admin); removing the last admin is a 409.
#[utoipa::path(delete, path = "/api/orgs/{org}/members/{user_id}/",
    operation_id = "removeMember", tag = "members", params(MemberPath),
    responses((status = 204, description = "Removed")))]
fn remove_member() {}

/// Invites someone by email to join the org in a role (admin). The answer holds the
/// single-use token, shown this once; the link is valid for 7 days.
#[utoipa::path(post, path = "/api/orgs/{org}/invites/", operation_id = "createInvite",
    tag = "members", params(OrgPath), request_body = NewInvite,
    responses((status = 201, description = "Created", body = IssuedInvite)))]
fn create_invite() {}

/// The org's pending invites, newest first (admin).
#[utoipa::path(get, path = "/api/orgs/{org}/invites/", operation_id = "listInvites",
    tag = "members", params(OrgPath),
    responses((status = 200, description = "OK", body = InviteList)))]
fn list_invites() {}

/// Revokes a pending invite (admin).
#[utoipa::path(delete, path = "/api/orgs/{org}/invites/{id}/", operation_id = "revokeInvite",
    tag = "members", params(InvitePath),
    responses((status = 204, description = "Revoked")))]
fn revoke_invite() {}

/// What an invite offers: the org's name, the role and whether it can still be accepted.
#[utoipa::path(get, path = "/api/invites/{token}/", operation_id = "previewInvite",
    tag = "members", security(()), params(InviteToken),
    responses((status = 200, description = "OK", body = InvitePreview)))]
fn preview_invite() {}

/// Accepts an invite: signed in, as that user; otherwise as a new account with the
/// invite's email and the given password, signed in at once. Single use.
#[utoipa::path(post, path = "/api/invites/{token}/accept/", operation_id = "acceptInvite",
    tag = "members", security((), ("bearer" = [])), params(InviteToken),
    request_body = AcceptInvite,
    responses((status = 200, description = "Joined", body = Joined)))]
fn accept_invite() {}

/// Creates a ticket from a signed request.
///
/// The same external_id returns the same ticket with 200.
#[utoipa::path(post, path = "/api/webhooks/{org}/tickets/", operation_id = "webhookTicket",
    tag = "webhooks", security(()), params(OrgPath, WebhookSignature),
    request_body = WebhookTicket,
    responses(
        (status = 201, description = "Created", body = Ticket),
        (status = 200, description = "The ticket this external_id already created", body = Ticket),
    ))]
fn webhook_ticket() {}

/// Adds the requester's follow-up to the ticket the sender knows by `external_id`, from a
/// signed request. The same message external_id returns the same message with 200; a
/// follow-up on a resolved ticket reopens it.
#[utoipa::path(post, path = "/api/webhooks/{org}/tickets/{external_id}/messages/",
    operation_id = "webhookMessage", tag = "webhooks", security(()),
    params(WebhookTicketPath, WebhookSignature), request_body = WebhookMessage,
    responses(
        (status = 201, description = "Created", body = Message),
        (status = 200, description = "The message this external_id already added", body = Message),
    ))]
fn webhook_message() {}

/// Enqueues AI triage; a repeated Idempotency-Key returns the same job with 200.
#[utoipa::path(post, path = "/api/orgs/{org}/tickets/{id}/triage/", operation_id = "runTriage",
    tag = "triage", params(OrgItemPath, TriageHeaders),
    responses(
        (status = 202, description = "Accepted", body = JobRun),
        (status = 200, description = "The job this key already started", body = JobRun),
    ))]
fn run_triage() {}

/// A triage job's status.
#[utoipa::path(get, path = "/api/orgs/{org}/jobs/{id}/", operation_id = "getJob",
    tag = "triage", params(OrgItemPath),
    responses((status = 200, description = "OK", body = JobRun)))]
fn get_job() {}

/// The ticket's suggestions, newest first.
#[utoipa::path(get, path = "/api/orgs/{org}/tickets/{id}/suggestions/",
    operation_id = "ticketSuggestions", tag = "triage", params(OrgItemPath),
    responses((status = 200, description = "OK", body = SuggestionList)))]
fn ticket_suggestions() {}

/// Applies a pending suggestion, optionally with an edited draft.
#[utoipa::path(post, path = "/api/orgs/{org}/suggestions/{id}/accept/",
    operation_id = "acceptSuggestion", tag = "triage", params(OrgItemPath),
    request_body = AcceptBody,
    responses((status = 200, description = "OK", body = Suggestion)))]
fn accept_suggestion() {}

/// Rejects a pending suggestion, optionally with a reason.
#[utoipa::path(post, path = "/api/orgs/{org}/suggestions/{id}/reject/",
    operation_id = "rejectSuggestion", tag = "triage", params(OrgItemPath),
    request_body = RejectBody,
    responses((status = 200, description = "OK", body = Suggestion)))]
fn reject_suggestion() {}

/// The org's knowledge-base documents, newest first.
#[utoipa::path(get, path = "/api/orgs/{org}/documents/", operation_id = "listDocuments",
    tag = "knowledge base", params(OrgPath, PageQuery),
    responses((status = 200, description = "OK", body = DocumentPage)))]
fn list_documents() {}

/// Adds a document, chunked and embedded on write (admin).
#[utoipa::path(post, path = "/api/orgs/{org}/documents/", operation_id = "createDocument",
    tag = "knowledge base", params(OrgPath), request_body = DocumentBody,
    responses((status = 201, description = "Created", body = DocumentWithChunks)))]
fn create_document() {}

/// One document with its chunks.
#[utoipa::path(get, path = "/api/orgs/{org}/documents/{id}/", operation_id = "getDocument",
    tag = "knowledge base", params(OrgItemPath),
    responses((status = 200, description = "OK", body = DocumentWithChunks)))]
fn get_document() {}

/// Deletes a document and its chunks (admin).
#[utoipa::path(delete, path = "/api/orgs/{org}/documents/{id}/",
    operation_id = "deleteDocument", tag = "knowledge base", params(OrgItemPath),
    responses((status = 204, description = "Deleted")))]
fn delete_document() {}

/// Hybrid (vector and full-text) search over the org's chunks.
#[utoipa::path(get, path = "/api/orgs/{org}/kb/search/", operation_id = "searchKb",
    tag = "knowledge base", params(OrgPath, SearchQuery),
    responses((status = 200, description = "OK", body = SearchResults)))]
fn search_kb() {}

/// The org's current model of each head, as trained, and where training stands (viewer).
#[utoipa::path(get, path = "/api/orgs/{org}/models/", operation_id = "getModels",
    tag = "models", params(OrgPath),
    responses((status = 200, description = "OK", body = Overview)))]
fn get_models() {}

/// Live outcomes of decided suggestions (viewer).
///
/// Accept rate, per-field accuracy and what auto-apply would have done at each threshold.
#[utoipa::path(get, path = "/api/orgs/{org}/models/outcomes/",
    operation_id = "getModelOutcomes", tag = "models", params(OrgPath, OutcomesQuery),
    responses((status = 200, description = "OK", body = Outcomes)))]
fn get_model_outcomes() {}

/// Retrains the org's models at the next sweep (admin).
#[utoipa::path(post, path = "/api/orgs/{org}/models/retrain/", operation_id = "retrainModels",
    tag = "models", params(OrgPath),
    responses((status = 202, description = "Accepted", body = TrainingStatus)))]
fn retrain_models() {}

/// The org's outbound webhook endpoints (admins).
#[utoipa::path(get, path = "/api/orgs/{org}/webhook-endpoints/", operation_id = "listEndpoints",
    tag = "outbound", params(OrgPath),
    responses((status = 200, description = "OK", body = EndpointList)))]
fn list_endpoints() {}

/// Adds an endpoint (admins); its signing secret is in this answer only.
#[utoipa::path(post, path = "/api/orgs/{org}/webhook-endpoints/", operation_id = "createEndpoint",
    tag = "outbound", params(OrgPath), request_body = NewEndpoint,
    responses((status = 201, description = "Created", body = CreatedEndpoint)))]
fn create_endpoint() {}

/// Changes an endpoint's URL, events or whether it is on (admins).
#[utoipa::path(patch, path = "/api/orgs/{org}/webhook-endpoints/{id}/", operation_id = "changeEndpoint",
    tag = "outbound", params(OrgItemPath), request_body = EndpointPatch,
    responses((status = 200, description = "OK", body = Endpoint)))]
fn change_endpoint() {}

/// Deletes an endpoint and its delivery log (admins).
#[utoipa::path(delete, path = "/api/orgs/{org}/webhook-endpoints/{id}/", operation_id = "deleteEndpoint",
    tag = "outbound", params(OrgItemPath),
    responses((status = 204, description = "Deleted")))]
fn delete_endpoint() {}

/// An endpoint's deliveries, newest first (admins).
#[utoipa::path(get, path = "/api/orgs/{org}/webhook-endpoints/{id}/deliveries/",
    operation_id = "listDeliveries", tag = "outbound", params(OrgItemPath, PageQuery),
    responses((status = 200, description = "OK", body = DeliveryPage)))]
fn list_deliveries() {}

/// Makes a delivery due again, whatever its state (admins).
#[utoipa::path(post,
    path = "/api/orgs/{org}/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver/",
    operation_id = "redeliver", tag = "outbound", params(DeliveryPath),
    responses((status = 202, description = "Due again", body = Delivery)))]
fn redeliver() {}

/// Queues a `webhook.test` event for the endpoint (admins).
#[utoipa::path(post, path = "/api/orgs/{org}/webhook-endpoints/{id}/test/",
    operation_id = "testEndpoint", tag = "outbound", params(OrgItemPath),
    responses((status = 202, description = "Queued", body = Delivery)))]
fn test_endpoint() {}
