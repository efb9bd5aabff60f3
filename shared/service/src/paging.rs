//! Keyset pagination shared by every list: the page sizes, the opaque cursor, and cutting a
//! page fetched with one extra row.

use chrono::{DateTime, Utc};

pub const DEFAULT_PAGE: i64 = 25;
pub const MAX_PAGE: i64 = 100;

/// An opaque position in a list: the sort key and id of the last row served. It names its
/// order, so a cursor from one order is refused by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub order: String,
    pub at: DateTime<Utc>,
    pub id: uuid::Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        hex::encode(format!(
            "v1|{}|{}|{}",
            self.order,
            self.at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Result<Self, nexify_domain::InvalidInput> {
        let bad = || nexify_domain::InvalidInput::new("cursor", "is not a cursor this API issued");
        let text = String::from_utf8(hex::decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
        let parts: Vec<&str> = text.split('|').collect();
        let [version, order, micros, id] = parts.as_slice() else {
            return Err(bad());
        };
        if *version != "v1" {
            return Err(bad());
        }
        let at =
            DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok(Self {
            order: (*order).to_owned(),
            at,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl Cursor {
    /// The position a cursor of `order` holds, as the keyset of an `id` type; a cursor of
    /// another list or order is refused.
    pub fn position<Id: From<uuid::Uuid>>(
        cursor: Option<&Cursor>,
        order: &str,
    ) -> Result<Option<(DateTime<Utc>, Id)>, nexify_domain::InvalidInput> {
        match cursor {
            Some(c) if c.order != order => Err(nexify_domain::InvalidInput::new(
                "cursor",
                format!("is not a cursor of this list ({order})"),
            )),
            Some(c) => Ok(Some((c.at, Id::from(c.id)))),
            None => Ok(None),
        }
    }
}

/// A list request's `cursor` and `limit` query parameters (`limit` from 1 to [`MAX_PAGE`],
/// `default` when absent).
pub fn page_params(
    params: &std::collections::HashMap<String, String>,
    default: i64,
) -> Result<(Option<Cursor>, i64), nexify_domain::InvalidInput> {
    let cursor = params
        .get("cursor")
        .map(|c| Cursor::decode(c))
        .transpose()?;
    let limit =
        nexify_domain::parse_limit(params.get("limit").map(String::as_str), default, MAX_PAGE)?;
    Ok((cursor, limit))
}

/// Cuts a page fetched with one extra row (`limit + 1`) down to `limit`, and issues the
/// cursor for the next page from the last row kept; `None` on the last page.
pub(crate) fn keyset_page<T>(
    mut items: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    if items.len() as i64 <= limit {
        return (items, None);
    }
    items.truncate(limit as usize);
    let next = items.last().map(|last| cursor_of(last).encode());
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            order: "-created_at".into(),
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: uuid::Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert_eq!(Cursor::decode("zz").unwrap_err().field, "cursor");
        assert!(Cursor::decode(&hex::encode("v2|x|1|y")).is_err());
    }
}
