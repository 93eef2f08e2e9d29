//! Rosters (RFC 6121 §2) with their subscription states (Appendix A), keyed
//! by the owner's bare JID, and a change counter per owner for roster
//! versioning (XEP-0237).
//!
//! The store is deliberately dumb: callers (`sm::roster`) serialise changes
//! to one owner's roster, compute subscription transitions, and decide what
//! is visible. Every write bumps the owner's version in the same transaction,
//! so a version names exactly one roster content.

use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreError};
use crate::sm::subscription::State;

/// One roster item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's JID, normalised (RFC 7622).
    pub contact: String,
    /// The owner's handle for the contact; empty means none (§2.4.1).
    pub name: String,
    /// Group names in the order the client gave them.
    pub groups: Vec<String>,
    /// The subscription state.
    pub state: State,
    /// §3.4 pre-approval.
    pub approved: bool,
    /// False for a stored inbound request from someone the owner has not
    /// added (Appendix A.1 state 3): such a record is not a roster item and
    /// is never shown or pushed.
    pub listed: bool,
    /// The complete inbound `subscribe` stanza while one is pending, for
    /// redelivery (§3.1.3 rule 4); empty otherwise.
    pub pending: Vec<u8>,
}

impl RosterItem {
    /// A new, listed item with no subscription.
    pub fn new(contact: impl Into<String>) -> Self {
        RosterItem {
            contact: contact.into(),
            name: String::new(),
            groups: Vec::new(),
            state: State::None,
            approved: false,
            listed: true,
            pending: Vec::new(),
        }
    }
}

/// A whole roster and the version it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoster {
    /// Changes so far (0 for a roster never written).
    pub ver: i64,
    /// Every record, listed or not, in no particular order.
    pub items: Vec<RosterItem>,
}

/// Rosters in the database.
#[derive(Clone, Debug)]
pub struct RosterStore {
    db: Db,
}

const SELECT: &str = "SELECT contact, name, state, approved, listed, group_names, pending \
     FROM roster_items WHERE owner = ?";
const INSERT: &str = "INSERT INTO roster_items \
     (item_id, owner, contact, name, state, approved, listed, group_names, pending) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

impl RosterStore {
    pub(super) fn new(db: Db) -> Self {
        RosterStore { db }
    }

    /// The owner's roster; empty with version 0 when none was ever written.
    pub async fn load(&self, owner: &str) -> Result<StoredRoster, StoreError> {
        let sql = self.db.sql("SELECT ver FROM roster_versions WHERE owner = ?");
        let ver = match sqlx::query(&sql).bind(owner).fetch_optional(self.db.pool()).await? {
            Some(row) => row.try_get::<i64, _>(0)?,
            None => 0,
        };
        let sql = self.db.sql(SELECT);
        let rows = sqlx::query(&sql).bind(owner).fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(read_item).collect::<Result<_, _>>()?;
        Ok(StoredRoster { ver, items })
    }

    /// Creates or replaces the item for `item.contact`; returns the new version.
    pub async fn put(&self, owner: &str, item: &RosterItem) -> Result<i64, StoreError> {
        let id = item_id(owner, &item.contact);
        let mut tx = self.db.pool().begin().await?;
        let sql = self.db.sql("DELETE FROM roster_items WHERE item_id = ?");
        sqlx::query(&sql).bind(&id).execute(&mut *tx).await?;
        let sql = self.db.sql(INSERT);
        sqlx::query(&sql)
            .bind(id)
            .bind(owner)
            .bind(&item.contact)
            .bind(&item.name)
            .bind(item.state.code())
            .bind(i64::from(item.approved))
            .bind(i64::from(item.listed))
            .bind(encode_groups(&item.groups))
            .bind(item.pending.clone())
            .execute(&mut *tx)
            .await?;
        let ver = self.bump(&mut tx, owner).await?;
        tx.commit().await?;
        Ok(ver)
    }

    /// Deletes the item for `contact`; `NotFound` if there is none. Returns
    /// the new version.
    pub async fn remove(&self, owner: &str, contact: &str) -> Result<i64, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let sql = self.db.sql("DELETE FROM roster_items WHERE item_id = ?");
        let done = sqlx::query(&sql).bind(item_id(owner, contact)).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ver = self.bump(&mut tx, owner).await?;
        tx.commit().await?;
        Ok(ver)
    }

    /// Deletes the whole roster (the account is gone).
    pub async fn delete_all(&self, owner: &str) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        for q in ["DELETE FROM roster_items WHERE owner = ?", "DELETE FROM roster_versions WHERE owner = ?"] {
            let sql = self.db.sql(q);
            sqlx::query(&sql).bind(owner).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Increments the owner's version inside `tx`. `ver + 1` always changes
    /// the row, so MySQL's "changed rows" count tells whether it existed.
    async fn bump(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, owner: &str) -> Result<i64, StoreError> {
        let sql = self.db.sql("UPDATE roster_versions SET ver = ver + 1 WHERE owner = ?");
        if sqlx::query(&sql).bind(owner).execute(&mut **tx).await?.rows_affected() == 0 {
            let sql = self.db.sql("INSERT INTO roster_versions (owner, ver) VALUES (?, 1)");
            sqlx::query(&sql).bind(owner).execute(&mut **tx).await?;
        }
        let sql = self.db.sql("SELECT ver FROM roster_versions WHERE owner = ?");
        let row = sqlx::query(&sql).bind(owner).fetch_one(&mut **tx).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// The primary key: fixed length whatever the JIDs' lengths.
fn item_id(owner: &str, contact: &str) -> String {
    let mut h = Sha256::new();
    h.update(owner.as_bytes());
    h.update([0u8]);
    h.update(contact.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn read_item(row: &AnyRow) -> Result<RosterItem, StoreError> {
    let decode = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Database(sqlx::Error::Decode(e));
    let state: String = row.try_get("state")?;
    let groups: Vec<u8> = row.try_get("group_names")?;
    Ok(RosterItem {
        contact: row.try_get("contact")?,
        name: row.try_get("name")?,
        groups: decode_groups(&String::from_utf8(groups).map_err(|e| decode(e.into()))?),
        state: State::from_code(&state).ok_or_else(|| decode(format!("unknown state {state:?}").into()))?,
        approved: row.try_get::<i64, _>("approved")? != 0,
        listed: row.try_get::<i64, _>("listed")? != 0,
        pending: row.try_get("pending")?,
    })
}

/// Groups as one value: each name with `\` and newline escaped, joined by
/// newlines (group names are opaque and may contain either).
fn encode_groups(groups: &[String]) -> Vec<u8> {
    let escaped: Vec<String> = groups.iter().map(|g| g.replace('\\', "\\\\").replace('\n', "\\n")).collect();
    escaped.join("\n").into_bytes()
}

fn decode_groups(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    value
        .split('\n')
        .map(|g| {
            let mut out = String::with_capacity(g.len());
            let mut chars = g.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
#[path = "roster_tests.rs"]
mod contract_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_round_trip_whatever_they_contain() {
        for groups in [vec![], vec!["Friends".to_owned()], vec!["a\nb".into(), "c\\n".into(), "\\".into(), "é".into()]]
        {
            let bytes = encode_groups(&groups);
            assert_eq!(decode_groups(std::str::from_utf8(&bytes).unwrap()), groups);
        }
    }

    #[test]
    fn item_ids_separate_owner_and_contact() {
        assert_ne!(item_id("ab", "c"), item_id("a", "bc"));
        assert_eq!(item_id("a", "b").len(), 64);
    }
}
