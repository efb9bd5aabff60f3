//! Envelope encryption with KMS. Each value gets its own data key (`GenerateDataKey`,
//! AES-256); the value is sealed here with AES-256-GCM, and the stored blob carries the data
//! key as KMS encrypted it. Opening asks KMS to decrypt the data key, once per instance and
//! key. The org is bound twice: as KMS's encryption context and as the AEAD's associated
//! data, so a blob copied to another org's row does not open.
//!
//! Blob: `NXS1`, the encrypted data key's length (u16, big-endian), the encrypted data key,
//! a 12-byte nonce, then the ciphertext and its tag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::SecureRandom;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use nexify_domain::OrgId;
use nexify_service::sealing::{SealError, Sealer};
use tokio::sync::OnceCell;

const MAGIC: &[u8; 4] = b"NXS1";
/// Decrypted data keys kept per instance; past this many the cache starts over.
const CACHE_LIMIT: usize = 1024;
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct KmsSealer {
    client: Arc<OnceCell<aws_sdk_kms::Client>>,
    key_id: String,
    /// Encrypted data key → data key.
    cache: Arc<Mutex<HashMap<Vec<u8>, [u8; 32]>>>,
}

impl std::fmt::Debug for KmsSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "NEXIFY_WEBHOOK_SECRETS_KEY is not set: the KMS key (id, ARN or alias) that seals webhook secrets"
)]
pub struct NoKey;

impl KmsSealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
            key_id: key_id.into(),
            cache: Arc::default(),
        }
    }

    /// `NEXIFY_WEBHOOK_SECRETS_KEY`; the client is built on first use, not at start-up.
    pub fn from_env() -> Result<Self, NoKey> {
        let key_id = std::env::var("NEXIFY_WEBHOOK_SECRETS_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or(NoKey)?;
        Ok(Self {
            client: Arc::new(OnceCell::new()),
            key_id,
            cache: Arc::default(),
        })
    }

    async fn client(&self) -> &aws_sdk_kms::Client {
        self.client
            .get_or_init(|| async {
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(CALL_TIMEOUT)
                    .build();
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .timeout_config(timeouts)
                    .load()
                    .await;
                aws_sdk_kms::Client::new(&config)
            })
            .await
    }

    fn remember(&self, encrypted: &[u8], key: [u8; 32]) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(encrypted.to_vec(), key);
    }

    fn cached(&self, encrypted: &[u8]) -> Option<[u8; 32]> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(encrypted).copied()
    }
}

/// A KMS failure: a service that could not be reached is worth another try, a refusal is not.
fn kms_error<E, R>(err: aws_sdk_kms::error::SdkError<E, R>) -> SealError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_kms::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SealError::Unavailable(Box::new(err))
        }
        other => SealError::Refused(Box::new(other)),
    }
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32 bytes is an AES-256 key"))
}

fn data_key(bytes: &[u8]) -> Result<[u8; 32], SealError> {
    bytes.try_into().map_err(|_| SealError::Corrupt)
}

impl Sealer for KmsSealer {
    async fn seal(&self, org: OrgId, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let context = org.to_string();
        let out = self
            .client()
            .await
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context("org_id", &context)
            .send()
            .await
            .map_err(kms_error)?;
        let (Some(key), Some(encrypted)) = (out.plaintext(), out.ciphertext_blob()) else {
            return Err(SealError::Corrupt);
        };
        let key = data_key(key.as_ref())?;
        let encrypted = encrypted.as_ref().to_vec();
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Corrupt)?;
        let mut sealed = plaintext.to_vec();
        aead(&key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SealError::Corrupt)?;
        let length = u16::try_from(encrypted.len()).map_err(|_| SealError::Corrupt)?;
        let mut blob = Vec::with_capacity(6 + encrypted.len() + NONCE_LEN + sealed.len());
        blob.extend_from_slice(MAGIC);
        blob.extend_from_slice(&length.to_be_bytes());
        blob.extend_from_slice(&encrypted);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        self.remember(&encrypted, key);
        Ok(blob)
    }

    async fn open(&self, org: OrgId, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(SealError::Corrupt)?;
        let (length, rest) = rest.split_at_checked(2).ok_or(SealError::Corrupt)?;
        let length = u16::from_be_bytes([length[0], length[1]]) as usize;
        let (encrypted, rest) = rest.split_at_checked(length).ok_or(SealError::Corrupt)?;
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN).ok_or(SealError::Corrupt)?;
        let context = org.to_string();
        let key = match self.cached(encrypted) {
            Some(key) => key,
            None => {
                let out = self
                    .client()
                    .await
                    .decrypt()
                    .key_id(&self.key_id)
                    .ciphertext_blob(Blob::new(encrypted))
                    .encryption_context("org_id", &context)
                    .send()
                    .await
                    .map_err(kms_error)?;
                let key = data_key(out.plaintext().ok_or(SealError::Corrupt)?.as_ref())?;
                self.remember(encrypted, key);
                key
            }
        };
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Corrupt)?;
        let mut opened = ciphertext.to_vec();
        let plain = aead(&key)
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut opened)
            .map_err(|_| SealError::Corrupt)?;
        Ok(plain.to_vec())
    }
}
