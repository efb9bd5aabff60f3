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
    let tx = admitted(begin_member(pool, org, user, required).await?, required)?;
    Ok((tx, Caller { user, org }))
}

/// What was read after entering the org with at least `required`, or why it was refused:
/// not a member is `NotFound` (the org's existence is not revealed), a member with too low a
/// role is `Forbidden`.
pub fn admitted<T>(admission: Admission<T>, required: Role) -> Result<T, ServiceError> {
    match admission {
        Admission::Admitted(value) => Ok(value),
        Admission::NotMember => Err(ServiceError::NotFound),
        Admission::BelowRole => Err(ServiceError::Forbidden(match required {
            Role::Admin => "this needs the admin role",
            Role::Agent => "this needs the agent or admin role",
            Role::Viewer => "this needs membership of the organization",
        })),
    }
}
