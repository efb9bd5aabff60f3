//! Typed ids, so an organization id can never be passed where a ticket id is wanted.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident => $field:literal),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
        #[cfg_attr(feature = "sqlx", sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const FIELD: &'static str = $field;

            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl FromStr for $name {
            type Err = crate::InvalidInput;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| crate::InvalidInput::new($field, "must be a UUID"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )+};
}

id_type!(
    OrgId => "org_id",
    UserId => "user_id",
    TicketId => "ticket_id",
    TicketEventId => "event_id",
    JobRunId => "job_run_id",
    SuggestionId => "suggestion_id",
    DocumentId => "document_id",
    ChunkId => "chunk_id",
    MessageId => "message_id",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_uuids_and_name_their_field_on_failure() {
        let id: TicketId = "6f1c2a8e-4b7d-4c55-9d7c-2f3a1b0e9d11".parse().unwrap();
        assert_eq!(id.to_string(), "6f1c2a8e-4b7d-4c55-9d7c-2f3a1b0e9d11");
        let err = "42".parse::<OrgId>().unwrap_err();
        assert_eq!(err.field, "org_id");
    }

    #[test]
    fn ids_serialize_as_bare_strings() {
        let id = JobRunId::new_random();
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
    }
}
