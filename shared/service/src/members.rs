//! An org's members, managed by its admins: the list, role changes and removals. An org
//! always keeps an admin, and every change leaves an audit record in the same transaction.

use nexify_domain::{OrgId, Role, UserId};
use nexify_storage::PgPool;
use nexify_storage::audit::{self, AuditAction};
use nexify_storage::memberships::{self, Member};
use nexify_storage::sessions;

use crate::paging::{Cursor, MAX_PAGE, keyset_page};
use crate::{ServiceError, access};

const CURSOR_ORDER: &str = "members";

/// Whether the org still has an admin once `target` holds `new_role` (`None`: removed).
fn keeps_an_admin(admins: &[UserId], target: UserId, new_role: Option<Role>) -> bool {
    new_role == Some(Role::Admin) || admins.iter().any(|a| *a != target)
}

fn last_admin(action: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "the organization's last admin cannot be {action}: make another member admin first"
    ))
}

/// One page of the org's members, oldest membership first (admins).
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Member>, Option<String>), ServiceError> {
    let after = Cursor::position::<UserId>(cursor.as_ref(), CURSOR_ORDER)?;
    let limit = limit.clamp(1, MAX_PAGE);
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let items = memberships::list_members(&mut tx, org, after, limit + 1).await?;
    tx.commit().await?;
    Ok(keyset_page(items, limit, |m| Cursor {
        order: CURSOR_ORDER.into(),
        at: m.joined_at,
        id: m.user_id.0,
    }))
}

/// Gives a member another role (admins). Demoting the last admin is a conflict.
#[tracing::instrument(skip_all, fields(org_id = %org, target = %target, role = %role), err)]
pub async fn change_role(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    target: UserId,
    role: Role,
) -> Result<Member, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let (admins, held) = memberships::lock_admins_and(&mut tx, org, target).await?;
    let held = held.ok_or(ServiceError::NotFound)?;
    if !keeps_an_admin(&admins, target, Some(role)) {
        return Err(last_admin("demoted"));
    }
    let member = memberships::set_role(&mut tx, org, target, role).await?;
    if held != role {
        audit::insert(
            &mut tx,
            org,
            Some(caller.user),
            AuditAction::MemberRoleChanged,
            Some(target),
            serde_json::json!({ "from": held, "to": role }),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(from = %held, "member role set");
    Ok(member)
}

/// Removes a member from the org (admins), themselves included, and ends their sessions.
/// Removing the last admin is a conflict.
#[tracing::instrument(skip_all, fields(org_id = %org, target = %target), err)]
pub async fn remove(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    target: UserId,
) -> Result<(), ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let (admins, held) = memberships::lock_admins_and(&mut tx, org, target).await?;
    let held = held.ok_or(ServiceError::NotFound)?;
    if !keeps_an_admin(&admins, target, None) {
        return Err(last_admin("removed"));
    }
    memberships::remove(&mut tx, org, target).await?;
    // Signed out everywhere: their next refresh fails, whatever orgs they are still in.
    sessions::revoke_user(&mut tx, target).await?;
    audit::insert(
        &mut tx,
        org,
        Some(caller.user),
        AuditAction::MemberRemoved,
        Some(target),
        serde_json::json!({ "role": held }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(role = %held, "member removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_keeps_an_admin() {
        let (a, b) = (UserId::new_random(), UserId::new_random());
        // The only admin: may stay admin, may not step down or leave.
        assert!(keeps_an_admin(&[a], a, Some(Role::Admin)));
        assert!(!keeps_an_admin(&[a], a, Some(Role::Agent)));
        assert!(!keeps_an_admin(&[a], a, None));
        // With a second admin, either may go.
        assert!(keeps_an_admin(&[a, b], a, None));
        assert!(keeps_an_admin(&[a, b], b, Some(Role::Viewer)));
        // Changing a non-admin never touches the admins.
        let c = UserId::new_random();
        assert!(keeps_an_admin(&[a], c, None));
        assert!(keeps_an_admin(&[a], c, Some(Role::Viewer)));
    }
}
