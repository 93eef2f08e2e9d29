//! XEP-0160 offline storage: messages for accounts with no available
//! resource, kept in arrival order and removed only after they have been
//! handed to the recipient's connection (so a crash in between re-delivers
//! rather than loses them). Appends go through the group-commit writer
//! ([`super::offline_writer`]); reads and deletes use the pool directly.

use std::pin::Pin;
use std::task::{Context, Poll};

use sqlx::Row;
use tokio::sync::oneshot;

use super::offline_writer::Append;
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
    /// Its place in the arrival order across both offline stores
    /// ([`super::arrival`]).
    pub arrival: i64,
    /// The stanza as it was addressed and stamped, serialised.
    pub stanza: Vec<u8>,
}

/// The outcome of an [`OfflineStore::enqueue`]d message: resolves once it
/// is committed, or with its own error. The writer answers every append it
/// took, even when closing; no answer means its runtime is going away.
#[derive(Debug)]
pub struct Committed(oneshot::Receiver<Result<(), StoreError>>);

impl Future for Committed {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| r.unwrap_or(Err(StoreError::Shutdown)))
    }
}

/// Offline messages keyed by the recipient's bare JID.
#[derive(Clone, Debug)]
pub struct OfflineStore {
    db: Db,
}

pub(super) const FETCH: &str =
    "SELECT id, stamp_ms, arrival, stanza FROM offline_messages WHERE recipient = ? ORDER BY arrival, id LIMIT ?";
const COUNT: &str = "SELECT COUNT(*) FROM offline_messages WHERE recipient = ?";

impl OfflineStore {
    pub(super) fn new(db: Db) -> Self {
        OfflineStore { db }
    }

    /// Stores a message unless a limit is reached (`QuotaExceeded`), and
    /// returns once it is committed. Appends from all callers are queued to
    /// one writer that commits whatever is waiting in one transaction, in
    /// arrival order; the limits count every row before this one, including
    /// those of the same transaction, so they are never overshot.
    pub async fn append(
        &self,
        recipient: &str,
        sender: &str,
        stamp_ms: i64,
        stanza: &[u8],
        limits: OfflineLimits,
    ) -> Result<(), StoreError> {
        self.enqueue(recipient, sender, stamp_ms, stanza.to_vec(), limits).await?.await
    }

    /// [`append`](Self::append) in two steps: this returns once the
    /// message is in the writer's queue (its place in the arrival order,
    /// [`super::arrival`], is taken here), and the returned [`Committed`]
    /// resolves when it is stored. A session uses this to go on reading
    /// while it waits.
    pub async fn enqueue(
        &self,
        recipient: &str,
        sender: &str,
        stamp_ms: i64,
        stanza: Vec<u8>,
        limits: OfflineLimits,
    ) -> Result<Committed, StoreError> {
        let (done, result) = oneshot::channel();
        let append = Append {
            recipient: recipient.to_owned(),
            sender: sender.to_owned(),
            stamp_ms,
            arrival: super::arrival::next(),
            stanza,
            limits,
            done,
        };
        self.db.offline_writer().submit(append).await?;
        Ok(Committed(result))
    }

    /// Stops taking appends (they fail with `Shutdown`) and returns once
    /// everything queued before is committed: the last step of a shutdown.
    pub async fn close(&self) {
        self.db.offline_writer().close().await;
    }

    /// The oldest `max` messages for `recipient`, in arrival order.
    pub async fn fetch(&self, recipient: &str, max: u32) -> Result<Vec<StoredMessage>, StoreError> {
        let rows =
            sqlx::query(&self.db.sql(FETCH)).bind(recipient).bind(i64::from(max)).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(StoredMessage {
                    id: r.try_get(0)?,
                    stamp_ms: r.try_get(1)?,
                    arrival: r.try_get(2)?,
                    stanza: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Removes delivered messages by id.
    pub async fn delete(&self, ids: &[i64]) -> Result<(), StoreError> {
        let result = self.db.delete_ids("offline_messages", ids).await;
        self.db.offline_deleted();
        result
    }

    /// Removes everything kept for `recipient` (the account is gone).
    pub async fn delete_all(&self, recipient: &str) -> Result<(), StoreError> {
        let result = sqlx::query(&self.db.sql("DELETE FROM offline_messages WHERE recipient = ?"))
            .bind(recipient)
            .execute(self.db.pool())
            .await;
        self.db.offline_deleted();
        result?;
        Ok(())
    }

    /// How many messages wait for `recipient`.
    pub async fn count(&self, recipient: &str) -> Result<u64, StoreError> {
        let row = sqlx::query(&self.db.sql(COUNT)).bind(recipient).fetch_one(self.db.pool()).await?;
        Ok(row.try_get::<i64, _>(0)? as u64)
    }
}
