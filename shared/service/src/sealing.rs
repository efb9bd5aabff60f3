//! Values kept encrypted at rest (webhook secrets): the port ([`Sealer`]). The KMS envelope
//! adapter is `nexify-kms`; tests run it against LocalStack's KMS.

use std::future::Future;

use nexify_domain::OrgId;
use nexify_storage::sealed::StoredSecret;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key service did not answer: worth another try.
    #[error("the key service is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The key service refused (a wrong key, context or permission).
    #[error("the key service refused")]
    Refused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The stored value is not one this sealer made for this org.
    #[error("the sealed value does not open")]
    Corrupt,
}

/// Seals values for one org and opens them again; a value sealed for one org does not open
/// for another.
pub trait Sealer: Send + Sync {
    fn seal(
        &self,
        org: OrgId,
        plaintext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, SealError>> + Send;

    fn open(
        &self,
        org: OrgId,
        sealed: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, SealError>> + Send;
}

/// A stored signing secret in the clear: opened if sealed, as is if kept from before
/// sealing.
pub async fn reveal(
    sealer: &impl Sealer,
    org: OrgId,
    stored: StoredSecret,
) -> Result<Vec<u8>, SealError> {
    match stored {
        StoredSecret::Sealed(blob) => sealer.open(org, &blob).await,
        StoredSecret::Plain(plain) => Ok(plain.into_bytes()),
    }
}
