//! Response envelopes the service layer has no type for.

use nexify_storage::documents::{Document, SearchHit};
use nexify_storage::invites::Invite;
use nexify_storage::memberships::Member;
use nexify_storage::outbound::Endpoint;
use nexify_storage::suggestions::Suggestion;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: any failure is a problem response.
    pub status: &'static str,
    pub database: &'static str,
}

impl Health {
    pub const OK: Health = Health {
        status: "ok",
        database: "ok",
    };
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentPage {
    pub items: Vec<Document>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<Member>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub items: Vec<Endpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteList {
    pub items: Vec<Invite>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<Suggestion>,
}
