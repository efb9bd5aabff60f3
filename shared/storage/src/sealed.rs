//! Secrets kept sealed (by the service's sealer), or in plain text from before sealing.

/// How a signing secret (an org's webhook secret, an endpoint's) is kept.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Sealed by the deployment's sealer.
    Sealed(Vec<u8>),
    /// Set before secrets were sealed; `nexify webhook-secrets seal` seals it.
    Plain(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoredSecret::Sealed(_) => "Sealed(..)",
            StoredSecret::Plain(_) => "Plain(..)",
        })
    }
}
