//! XEP-0079 §7 offline storage for messages that carry AMP rules.
//!
//! `deliver` is decided once, at receipt, but `expire-at` must be checked
//! again whenever a stored message is finally dispatched (X7), and a server
//! with offline storage must never deliver an expired message (R37). So the
//! serialised stanza is kept *with* its `<amp/>` element, and the earliest
//! remaining `expire-at` is kept beside it as `expires_at_ms`: the sweeper
//! asks for [`AmpStore::next_expiry`] and [`AmpStore::expired`], the flush
//! re-evaluates the rules of what [`AmpStore::fetch`] returns, and a `notify`
//! rule that fired leaves the message stored without that rule
//! ([`AmpStore::update`], ruling D18 in `amp.md`).
//!
//! The table lives in its own migration set ([`Db::migrate_amp`]) because
//! `--amp-repo-uri` may put it in a database apart from the user store.
//! Every query is served by an index: `(recipient, arrival, id)` for the flush,
//! `(recipient, sender)` for the per-pair limit, `(expires_at_ms, id)` for
//! the sweeper.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, OfflineLimits, StoreError};

/// One stored AMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmpMessage {
    /// Insertion order; deleting by id never touches messages stored later.
    pub id: i64,
    /// The sender's bare JID (where AMP events go, and the per-pair limit).
    pub sender: String,
    /// The id of the plugin that stored it, so each re-evaluates its own.
    pub owner: String,
    /// When it was stored (ms since the epoch), for the XEP-0203 delay stamp.
    pub stamp_ms: i64,
    /// Its place in the arrival order across both offline stores
    /// ([`super::arrival`]).
    pub arrival: i64,
    /// The earliest `expire-at` among its remaining rules; `None` if none.
    pub expires_at_ms: Option<i64>,
    /// The stanza as addressed and stamped, serialised, `<amp/>` included.
    pub stanza: Vec<u8>,
}

/// AMP messages keyed by the recipient's bare JID.
#[derive(Clone, Debug)]
pub struct AmpStore {
    db: Db,
}

const COUNTS: &str = "SELECT COUNT(*), COUNT(CASE WHEN sender = ? THEN 1 END) FROM amp_messages WHERE recipient = ?";
macro_rules! insert {
    () => {
        "INSERT INTO amp_messages (recipient, sender, owner, stamp_ms, arrival, expires_at_ms, stanza) \
         VALUES (?, ?, ?, ?, ?, ?, ?)"
    };
}
// MySQL has no RETURNING (MariaDB's is an extension) but reports the
// AUTO_INCREMENT value of the connection's last insert; the others return it.
const INSERT: &str = insert!();
const INSERT_RETURNING_ID: &str = concat!(insert!(), " RETURNING id");
pub(super) const FETCH: &str = "SELECT id, sender, owner, stamp_ms, arrival, expires_at_ms, stanza \
                     FROM amp_messages WHERE recipient = ? ORDER BY arrival, id LIMIT ?";
// `IS NOT NULL` is spelled out so that the partial expiry index (SQLite,
// PostgreSQL) is provably usable, and so that MySQL's index range skips the
// NULLs, which sort first; `ORDER BY … LIMIT 1` rather than `MIN()` reads
// one index entry on every backend.
pub(super) const NEXT_EXPIRY: &str = "SELECT expires_at_ms FROM amp_messages \
                                      WHERE expires_at_ms IS NOT NULL ORDER BY expires_at_ms LIMIT 1";
pub(super) const EXPIRED: &str = "SELECT recipient, id, sender, owner, stamp_ms, arrival, expires_at_ms, stanza \
                                  FROM amp_messages WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ? \
                                  ORDER BY expires_at_ms, id LIMIT ?";
const EXPIRED_FOR: &str = "SELECT id, sender, owner, stamp_ms, arrival, expires_at_ms, stanza FROM amp_messages \
                           WHERE recipient = ? AND expires_at_ms IS NOT NULL AND expires_at_ms <= ? \
                           ORDER BY expires_at_ms, id LIMIT ?";
const UPDATE: &str = "UPDATE amp_messages SET stanza = ?, expires_at_ms = ? WHERE id = ?";
const COUNT: &str = "SELECT COUNT(*) FROM amp_messages WHERE recipient = ?";

impl AmpStore {
    pub(super) fn new(db: Db) -> Self {
        AmpStore { db }
    }

    /// Stores a message unless a limit is reached (`QuotaExceeded`) and
    /// returns its id, which the caller needs to update or delete it later.
    /// `per_pair` is Tigase's `store-limit` (sender → recipient). As in
    /// [`super::OfflineStore::append`], concurrent appends may overshoot a
    /// limit by the number in flight: no table lock on the hot path.
    #[allow(clippy::too_many_arguments)]
    pub async fn append(
        &self,
        recipient: &str,
        sender: &str,
        owner: &str,
        stamp_ms: i64,
        expires_at_ms: Option<i64>,
        stanza: &[u8],
        limits: OfflineLimits,
    ) -> Result<i64, StoreError> {
        if limits.per_pair > 0 || limits.per_recipient > 0 {
            let row = sqlx::query(&self.db.sql(COUNTS)).bind(sender).bind(recipient).fetch_one(self.db.pool()).await?;
            let (total, pair): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            let over = |count: i64, limit: u32| limit > 0 && count >= i64::from(limit);
            if over(pair, limits.per_pair) || over(total, limits.per_recipient) {
                return Err(StoreError::QuotaExceeded);
            }
        }
        let mysql = self.db.backend() == Backend::MySql;
        let sql = self.db.sql(if mysql { INSERT } else { INSERT_RETURNING_ID });
        let q = sqlx::query(&sql)
            .bind(recipient)
            .bind(sender)
            .bind(owner)
            .bind(stamp_ms)
            .bind(super::arrival::next())
            .bind(expires_at_ms)
            .bind(stanza);
        if mysql {
            let done = q.execute(self.db.pool()).await?;
            let id = done.last_insert_id();
            id.ok_or_else(|| StoreError::Database(sqlx::Error::Protocol("MySQL reported no insert id".into())))
        } else {
            Ok(q.fetch_one(self.db.pool()).await?.try_get(0)?)
        }
    }

    /// The oldest `max` messages for `recipient`, in arrival order: the flush
    /// re-checks each one's rules before delivering it (X7).
    pub async fn fetch(&self, recipient: &str, max: u32) -> Result<Vec<AmpMessage>, StoreError> {
        let rows =
            sqlx::query(&self.db.sql(FETCH)).bind(recipient).bind(i64::from(max)).fetch_all(self.db.pool()).await?;
        rows.iter().map(|r| message(r, 0)).collect()
    }

    /// The earliest `expires_at_ms` of any stored message, or `None` when no
    /// message has an `expire-at` rule: the sweeper sleeps until then (R37).
    pub async fn next_expiry(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(NEXT_EXPIRY).fetch_optional(self.db.pool()).await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    /// Up to `max` messages whose `expires_at_ms` is at or before `now_ms`
    /// ("met" means now ≥ value, D18), earliest first (ties by id), each with
    /// its recipient: the sweeper re-evaluates their rules and then deletes
    /// or [`update`](Self::update)s them.
    pub async fn expired(&self, now_ms: i64, max: u32) -> Result<Vec<(String, AmpMessage)>, StoreError> {
        let rows =
            sqlx::query(&self.db.sql(EXPIRED)).bind(now_ms).bind(i64::from(max)).fetch_all(self.db.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, message(r, 1)?))).collect()
    }

    /// [`expired`](Self::expired) for one recipient: settled just before
    /// its flush, so that a login before the sweeper ran delivers nothing
    /// expired (D18).
    pub async fn expired_for(&self, recipient: &str, now_ms: i64, max: u32) -> Result<Vec<AmpMessage>, StoreError> {
        let rows = sqlx::query(&self.db.sql(EXPIRED_FOR))
            .bind(recipient)
            .bind(now_ms)
            .bind(i64::from(max))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| message(r, 0)).collect()
    }

    /// Replaces a kept message's stanza and expiry, after a `notify` rule
    /// fired: the copy loses that rule so that it is not evaluated again
    /// (D18). `NotFound` if the row is gone (flushed or swept meanwhile).
    pub async fn update(&self, id: i64, stanza: &[u8], expires_at_ms: Option<i64>) -> Result<(), StoreError> {
        let done =
            sqlx::query(&self.db.sql(UPDATE)).bind(stanza).bind(expires_at_ms).bind(id).execute(self.db.pool()).await?;
        // MySQL counts matched rather than changed rows here: sqlx connects
        // with CLIENT_FOUND_ROWS, so an unchanged row is not reported gone.
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes messages by id (delivered, or discarded by a rule); ids that
    /// are already gone are ignored.
    pub async fn delete(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.db.delete_ids("amp_messages", ids).await
    }

    /// Removes everything kept for `recipient` (the account is gone).
    pub async fn delete_all(&self, recipient: &str) -> Result<(), StoreError> {
        sqlx::query(&self.db.sql("DELETE FROM amp_messages WHERE recipient = ?"))
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

/// Decodes `id, sender, owner, stamp_ms, arrival, expires_at_ms, stanza`, in that
/// order from column `at`.
fn message(r: &AnyRow, at: usize) -> Result<AmpMessage, StoreError> {
    Ok(AmpMessage {
        id: r.try_get(at)?,
        sender: r.try_get(at + 1)?,
        owner: r.try_get(at + 2)?,
        stamp_ms: r.try_get(at + 3)?,
        arrival: r.try_get(at + 4)?,
        expires_at_ms: r.try_get(at + 5)?,
        stanza: r.try_get(at + 6)?,
    })
}
