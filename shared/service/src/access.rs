//! Who may do what in an org. Membership is checked inside the same RLS-scoped transaction
//! that does the work, so the check and the work see the same data.

use nexify_domain::{OrgId, Role, UserId};
use nexify_storage::{Admission, PgPool, Postgres, Transaction, begin_member};

use crate::ServiceError;

/// A signed-in user acting in one org, with at least the role the operation required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub org: OrgId,
}

/// Opens the org-scoped transaction and checks that `user` is a member with at least
/// `required`. Not a member: `NotFound` (the org's existence is not revealed). A member with
/// too low a role: `Forbidden`.
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user, required = %required), err)]
pub async fn begin(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    required: Role,
) -> Result<(Transaction<'static, Postgres>, Caller), ServiceError> {
    match begin_member(pool, org, user, required).await? {
        Admission::Admitted(tx) => Ok((tx, Caller { user, org })),
        Admission::NotMember => Err(ServiceError::NotFound),
        Admission::BelowRole => Err(ServiceError::Forbidden(match required {
            Role::Admin => "this needs the admin role",
            Role::Agent => "this needs the agent or admin role",
            Role::Viewer => "this needs membership of the organization",
        })),
    }
}
