use chrono::{DateTime, Utc};
use nexify_domain::OrgId;
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates an org and its default settings row. Provisioning runs as the schema owner
/// (the seed, an operator); the functions' role may not create orgs.
#[tracing::instrument(skip_all, fields(slug = %slug), err)]
pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    slug: &str,
) -> Result<Organization, StorageError> {
    let org: Organization = sqlx::query_as(
        "INSERT INTO organizations (name, slug) VALUES ($1, $2)
         RETURNING id, name, slug, created_at, updated_at",
    )
    .bind(name)
    .bind(slug)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO organization_settings (organization_id) VALUES ($1)")
        .bind(org.id)
        .execute(&mut *conn)
        .await?;
    Ok(org)
}

#[tracing::instrument(skip_all, fields(org_id = %id), err)]
pub async fn get(conn: &mut PgConnection, id: OrgId) -> Result<Organization, StorageError> {
    Ok(sqlx::query_as(
        "SELECT id, name, slug, created_at, updated_at FROM organizations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// The org with this slug (operators name orgs by slug), if any.
#[tracing::instrument(skip_all, fields(slug = %slug), err)]
pub async fn find_by_slug(
    conn: &mut PgConnection,
    slug: &str,
) -> Result<Option<Organization>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT id, name, slug, created_at, updated_at FROM organizations WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(conn)
    .await?)
}
