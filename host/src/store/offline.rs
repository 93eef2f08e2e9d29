//! XEP-0160 offline storage: messages for accounts with no available
//! resource, kept in arrival order and removed only after they have been
//! handed to the recipient's connection (so a crash in between re-delivers
//! rather than loses them).

use sqlx::Row;

use super::{Db, StoreError};

/// Caps on what one recipient may have waiting; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineLimits {
    /// Messages from one sender to one recipient (Tigase's `store-limit`).
    pub per_pair: u32,
    /// Messages to one recipient from everyone.
    pub per_recipient: u32,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Insertion order; deleting by id never touches messages stored later.
    pub id: i64,
    /// When it was stored (ms since the epoch), for the XEP-0203 delay stamp.
    pub stamp_ms: i64,
    /// The stanza as it was addressed and stamped, serialised.
    pub stanza: Vec<u8>,
}

/// Offline messages keyed by the recipient's bare JID.
#[derive(Clone, Debug)]
pub struct OfflineStore {
    db: Db,
}

const COUNTS: &str =
    "SELECT COUNT(*), COUNT(CASE WHEN sender = ? THEN 1 END) FROM offline_messages WHERE recipient = ?";
const INSERT: &str = "INSERT INTO offline_messages (recipient, sender, stamp_ms, stanza) VALUES (?, ?, ?, ?)";
const FETCH: &str = "SELECT id, stamp_ms, stanza FROM offline_messages WHERE recipient = ? ORDER BY id LIMIT ?";
const COUNT: &str = "SELECT COUNT(*) FROM offline_messages WHERE recipient = ?";

impl OfflineStore {
    pub(super) fn new(db: Db) -> Self {
        OfflineStore { db }
    }

    /// Stores a message unless a limit is reached (`QuotaExceeded`).
    /// Concurrent appends for one recipient may overshoot a limit by the
    /// number of appends in flight: the check and the insert are separate
    /// statements, which keeps the common path free of table locks.
    pub async fn append(
        &self,
        recipient: &str,
        sender: &str,
        stamp_ms: i64,
        stanza: &[u8],
        limits: OfflineLimits,
    ) -> Result<(), StoreError> {
        if limits.per_pair > 0 || limits.per_recipient > 0 {
            let row = sqlx::query(&self.db.sql(COUNTS)).bind(sender).bind(recipient).fetch_one(self.db.pool()).await?;
            let (total, pair): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            let over = |count: i64, limit: u32| limit > 0 && count >= i64::from(limit);
            if over(pair, limits.per_pair) || over(total, limits.per_recipient) {
                return Err(StoreError::QuotaExceeded);
            }
        }
        sqlx::query(&self.db.sql(INSERT))
            .bind(recipient)
            .bind(sender)
            .bind(stamp_ms)
            .bind(stanza)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The oldest `max` messages for `recipient`, oldest first.
    pub async fn fetch(&self, recipient: &str, max: u32) -> Result<Vec<StoredMessage>, StoreError> {
        let rows =
            sqlx::query(&self.db.sql(FETCH)).bind(recipient).bind(i64::from(max)).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| Ok(StoredMessage { id: r.try_get(0)?, stamp_ms: r.try_get(1)?, stanza: r.try_get(2)? }))
            .collect()
    }

    /// Removes delivered messages by id.
    pub async fn delete(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.db.delete_ids("offline_messages", ids).await
    }

    /// Removes everything kept for `recipient` (the account is gone).
    pub async fn delete_all(&self, recipient: &str) -> Result<(), StoreError> {
        sqlx::query(&self.db.sql("DELETE FROM offline_messages WHERE recipient = ?"))
            .bind(recipient)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// How many messages wait for `recipient`.
    pub async fn count(&self, recipient: &str) -> Result<u64, StoreError> {
        let row = sqlx::query(&self.db.sql(COUNT)).bind(recipient).fetch_one(self.db.pool()).await?;
        Ok(row.try_get::<i64, _>(0)? as u64)
    }
}
