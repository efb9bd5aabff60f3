//! Single-use secrets handed to a person (invite links): random, shown once, and kept only
//! as their SHA-256, so a copy of the database cannot redeem them.

use aws_lc_rs::{digest, rand};

/// A new token (32 random bytes, hex: URL-safe) and the hash to store.
pub fn issue() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).expect("the system RNG is available");
    let token = hex::encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// Whether `token` has the shape [`issue`] gives (64 hex digits): anything else names
/// nothing, and needs no database look-up.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is stored for, and looked up by, `token`.
pub fn hash(token: &str) -> [u8; 32] {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_stored_only_as_their_hash() {
        let (a, hash_a) = issue();
        let (b, _) = issue();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(is_well_formed(&a));
        assert!(!is_well_formed(&a[1..]));
        assert!(!is_well_formed(&"g".repeat(64)));
        assert_eq!(hash(&a), hash_a);
        assert_ne!(hex::encode(hash_a), a);
    }
}
