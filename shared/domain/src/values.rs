//! The seed's value sets. Each is mirrored by a CHECK constraint in `migrations/`, and a
//! test in the storage crate keeps the two in step.

use std::fmt;
use std::str::FromStr;

/// Defines a closed value set stored as lowercase text: `as_str`, `ALL`, `FromStr`,
/// `Display`, serde and (with the `sqlx` feature) a `text` column mapping.
macro_rules! value_set {
    ($(#[$meta:meta])* $name:ident, $label:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const LABEL: &'static str = $label;

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = crate::InvalidInput;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::InvalidInput::new(
                        $label,
                        format!(
                            "'{}' is not one of: {}",
                            other.chars().take(40).collect::<String>(),
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Written out rather than derived: `derive(sqlx::Type)` names its type ("text"), and
        // sqlx resolves a named type with a catalog query on each new connection the first
        // time one is bound (one more round trip; 0.2–0.3 ms on a fresh local backend, by
        // psql). `text`'s built-in OID needs none.
        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }
    };
}

value_set!(
    /// Where a ticket is in its life.
    TicketStatus, "status" {
        Open => "open",
        InProgress => "in_progress",
        Resolved => "resolved",
    }
);

value_set!(
    /// How soon a ticket needs attention. Ordered: `Low < Medium < High < Urgent`.
    Priority, "priority" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Urgent => "urgent",
    }
);

value_set!(
    /// A member's role in an organization. Ordered: each role can do all a lower one can.
    Role, "role" {
        Viewer => "viewer",
        Agent => "agent",
        Admin => "admin",
    }
);

value_set!(
    /// Who caused a ticket event.
    ActorType, "actor_type" {
        User => "user",
        System => "system",
        Ai => "ai",
        Webhook => "webhook",
    }
);

value_set!(
    /// A triage job's state. A failed attempt that may still be retried goes back to `queued`.
    JobStatus, "job_status" {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

value_set!(
    /// What a message in a ticket's conversation is: the requester's words, an answer to
    /// the requester, or a note only the org sees.
    MessageKind, "message_kind" {
        Inbound => "inbound",
        Reply => "reply",
        Note => "note",
    }
);

value_set!(
    /// Whether a human (or auto-apply) has decided on a suggestion.
    SuggestionStatus, "suggestion_status" {
        Pending => "pending",
        Accepted => "accepted",
        Rejected => "rejected",
    }
);

impl Priority {
    fn rank(self) -> u8 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Agent => 1,
            Role::Admin => 2,
        }
    }

    /// Whether a member with this role may do what `required` may do.
    pub fn allows(self, required: Role) -> bool {
        self.rank() >= required.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_text_and_json() {
        for status in TicketStatus::ALL {
            assert_eq!(status.as_str().parse::<TicketStatus>().unwrap(), *status);
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), *p);
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
        }
        for a in ActorType::ALL {
            assert_eq!(a.as_str().parse::<ActorType>().unwrap(), *a);
        }
        for j in JobStatus::ALL {
            assert_eq!(j.as_str().parse::<JobStatus>().unwrap(), *j);
        }
        for s in SuggestionStatus::ALL {
            assert_eq!(s.as_str().parse::<SuggestionStatus>().unwrap(), *s);
        }
    }

    /// A named type (what `derive(sqlx::Type)` gives) has no OID until sqlx looks it up in
    /// the catalog on each new connection; text's built-in OID needs no round trip.
    #[cfg(feature = "sqlx")]
    #[test]
    fn value_sets_bind_as_text_by_its_built_in_oid() {
        use sqlx::{Postgres, Type};
        let text = <str as Type<Postgres>>::type_info();
        assert!(text.oid().is_some());
        for info in [
            <TicketStatus as Type<Postgres>>::type_info(),
            <Priority as Type<Postgres>>::type_info(),
            <Role as Type<Postgres>>::type_info(),
            <ActorType as Type<Postgres>>::type_info(),
            <JobStatus as Type<Postgres>>::type_info(),
            <SuggestionStatus as Type<Postgres>>::type_info(),
        ] {
            assert_eq!(info.oid(), text.oid());
        }
    }

    #[test]
    fn unknown_values_name_the_field_and_the_allowed_set() {
        let err = "critical".parse::<Priority>().unwrap_err();
        assert_eq!(err.field, "priority");
        assert!(
            err.reason.contains("low, medium, high, urgent"),
            "{}",
            err.reason
        );
        assert!(
            "Open".parse::<TicketStatus>().is_err(),
            "values are case-sensitive"
        );
        assert!(serde_json::from_str::<Role>("\"owner\"").is_err());
    }

    #[test]
    fn seed_value_sets_are_exactly_these() {
        let names = |xs: Vec<&str>| xs.join("|");
        assert_eq!(
            names(TicketStatus::ALL.iter().map(|v| v.as_str()).collect()),
            "open|in_progress|resolved"
        );
        assert_eq!(
            names(Priority::ALL.iter().map(|v| v.as_str()).collect()),
            "low|medium|high|urgent"
        );
        assert_eq!(
            names(ActorType::ALL.iter().map(|v| v.as_str()).collect()),
            "user|system|ai|webhook"
        );
        assert_eq!(
            names(JobStatus::ALL.iter().map(|v| v.as_str()).collect()),
            "queued|running|succeeded|failed"
        );
        assert_eq!(
            names(SuggestionStatus::ALL.iter().map(|v| v.as_str()).collect()),
            "pending|accepted|rejected"
        );
    }

    #[test]
    fn roles_are_ordered_viewer_agent_admin() {
        assert!(Role::Admin.allows(Role::Agent));
        assert!(Role::Agent.allows(Role::Viewer));
        assert!(Role::Agent.allows(Role::Agent));
        assert!(!Role::Viewer.allows(Role::Agent));
        assert!(!Role::Agent.allows(Role::Admin));
    }

    #[test]
    fn priorities_are_ordered_by_urgency() {
        assert!(Priority::Low < Priority::Medium);
        assert!(Priority::High < Priority::Urgent);
        assert_eq!(Priority::ALL.iter().max(), Some(&Priority::Urgent));
    }
}
