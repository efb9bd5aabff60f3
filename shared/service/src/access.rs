//! Who may do what in an org. Membership is checked inside the same RLS-scoped transaction
//! that does the work, so the check and the work see the same data.

use nexify_domain::{OrgId, Role, UserId};
use nexify_storage::{PgPool, Postgres, Transaction, begin_tenant, memberships};

use crate::ServiceError;

/// A signed-in user acting in one org, with their role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub org: OrgId,
    pub role: Role,
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
    let mut tx = begin_tenant(pool, org, Some(user)).await?;
    let role = memberships::role_of(&mut tx, org, user)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !role.allows(required) {
        return Err(ServiceError::Forbidden(match required {
            Role::Admin => "this needs the admin role",
            Role::Agent => "this needs the agent or admin role",
            Role::Viewer => "this needs membership of the organization",
        }));
    }
    Ok((tx, Caller { user, org, role }))
}
