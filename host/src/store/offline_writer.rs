//! Group commit for the offline store: one task per [`super::Db`] takes
//! every append waiting in its queue and stores them in ONE transaction,
//! then answers each caller with its own result.
//!
//! # Why
//! Stored one by one, each message is a quota `COUNT`, an `INSERT` and a
//! commit, and on SQLite every writer takes turns on the database lock
//! (sleeping in the busy handler when it loses). A transaction costs about
//! the same for one row as for a hundred, so the rate then grows with the
//! number of senders instead of being capped by the commit rate. A caller
//! is answered only after its row is committed, so an acknowledged message
//! is durable exactly as before (WAL, `synchronous = NORMAL` on SQLite).
//!
//! # Quotas
//! The limits are decided inside the transaction, in arrival order, with
//! [`Counts`]: seeded from the database in that transaction for a
//! recipient it does not know yet, then kept up to date by the writer
//! itself, the only inserter. Rows earlier in the same batch count against
//! the limits of later ones, so a batch never overshoots a limit (the old
//! check-then-insert could, by the number of appends in flight).
//!
//! # Failure
//! When the batch transaction fails on a statement error, every append of
//! it is tried again alone, so one bad row (say, too long for a MySQL
//! column) fails only its own caller; a connection or pool error fails the
//! batch's callers at once instead of retrying against a dead database.
//!
//! # Shutdown
//! The task ends when every handle is gone or [`OfflineWriter::close`] is
//! called, and in both cases commits what was queued first.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::offline_counts::Counts;
use super::{Backend, Db, OfflineLimits, OfflineTally, StoreError};

/// Appends waiting for the writer; a full queue makes callers wait
/// (backpressure towards the sessions, not loss).
const QUEUE: usize = 4096;
/// Most appends per transaction: bounds the latency of the last one and
/// the work redone when a batch must be retried row by row.
const MAX_BATCH: usize = 512;
/// Rows per multi-row `INSERT`: 4 parameters each, far below every
/// backend's parameter limit, and few distinct statements to prepare.
const INSERT_ROWS: usize = 64;
/// Stanza bytes per `INSERT`, so a batch of large stanzas stays well
/// within MySQL's `max_allowed_packet`.
const INSERT_BYTES: usize = 1 << 20;

const SEED: &str = "SELECT sender, COUNT(*) FROM offline_messages WHERE recipient = ? GROUP BY sender";
const INSERT: &str = "INSERT INTO offline_messages (recipient, sender, stamp_ms, arrival, stanza) VALUES ";

/// One message to store, and where its result goes.
#[derive(Debug)]
pub(super) struct Append {
    pub recipient: String,
    pub sender: String,
    pub stamp_ms: i64,
    pub arrival: i64,
    pub stanza: Vec<u8>,
    pub limits: OfflineLimits,
    pub done: oneshot::Sender<Result<(), StoreError>>,
}

enum Op {
    Append(Append),
    /// Stop taking appends, commit the queued ones, then answer.
    Close(oneshot::Sender<()>),
}

/// The handle to a writer task; cloning shares the task.
#[derive(Debug, Clone)]
pub(super) struct OfflineWriter {
    tx: mpsc::Sender<Op>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Append(_) => "Append",
            Op::Close(_) => "Close",
        })
    }
}

impl OfflineWriter {
    /// Starts the task on the current tokio runtime. `db` must not own this
    /// writer (the task would then keep its own queue open forever).
    /// `tally` is shared with the store's handles (deletions, commits).
    pub(super) fn spawn(db: Db, tally: Arc<OfflineTally>) -> OfflineWriter {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(Task { db, tally, rx, counts: Counts::default() }.run());
        OfflineWriter { tx }
    }

    /// Queues `append`; its result arrives on `append.done`. `Shutdown` if
    /// the writer is closed (or its runtime is gone).
    pub(super) async fn submit(&self, append: Append) -> Result<(), StoreError> {
        self.tx.send(Op::Append(append)).await.map_err(|_| StoreError::Shutdown)
    }

    /// Refuses further appends and returns once everything queued before
    /// is committed (or failed, each to its own caller).
    pub(super) async fn close(&self) {
        let (ack, closed) = oneshot::channel();
        if self.tx.send(Op::Close(ack)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

struct Task {
    db: Db,
    tally: Arc<OfflineTally>,
    rx: mpsc::Receiver<Op>,
    counts: Counts,
}

impl Task {
    async fn run(mut self) {
        let mut batch = Vec::new();
        let mut closed = None;
        while let Some(op) = self.rx.recv().await {
            let mut next = Some(op);
            while let Some(op) = next.take() {
                match op {
                    Op::Append(a) => batch.push(a),
                    Op::Close(ack) => {
                        // Senders now fail; what is buffered still drains.
                        self.rx.close();
                        closed.get_or_insert(Vec::new()).push(ack);
                    }
                }
                if batch.len() < MAX_BATCH {
                    next = self.rx.try_recv().ok();
                }
            }
            self.store(std::mem::take(&mut batch)).await;
        }
        for ack in closed.into_iter().flatten() {
            let _ = ack.send(());
        }
    }

    /// Commits `batch` as one transaction, or row by row if that fails on
    /// a statement, and answers every caller.
    async fn store(&mut self, batch: Vec<Append>) {
        if batch.is_empty() {
            return;
        }
        self.counts.sync_generation(self.tally.deletions.load(Ordering::Acquire));
        match self.commit(&batch).await {
            Ok(verdicts) => {
                for (a, admitted) in batch.into_iter().zip(verdicts) {
                    let _ = a.done.send(if admitted { Ok(()) } else { Err(StoreError::QuotaExceeded) });
                }
            }
            Err(e) => {
                for a in &batch {
                    self.counts.forget(&a.recipient);
                }
                let per_row = batch.len() > 1 && matches!(e, StoreError::Database(sqlx::Error::Database(_)));
                if !per_row {
                    tracing::debug!(error = %e, rows = batch.len(), "offline batch failed");
                    let text = e.to_string();
                    let mut first = Some(e);
                    for a in batch {
                        let err =
                            first.take().unwrap_or_else(|| StoreError::Database(sqlx::Error::Protocol(text.clone())));
                        let _ = a.done.send(Err(err));
                    }
                    return;
                }
                tracing::warn!(error = %e, rows = batch.len(), "offline batch failed; storing its rows one by one");
                for a in batch {
                    let result = match self.commit(std::slice::from_ref(&a)).await {
                        Ok(v) if v[0] => Ok(()),
                        Ok(_) => Err(StoreError::QuotaExceeded),
                        Err(e) => {
                            self.counts.forget(&a.recipient);
                            Err(e)
                        }
                    };
                    let _ = a.done.send(result);
                }
            }
        }
    }

    /// One transaction: seed the counts it needs, decide every append in
    /// order, insert the admitted ones, commit. Returns who was admitted.
    async fn commit(&mut self, batch: &[Append]) -> Result<Vec<bool>, StoreError> {
        // SQLite: take the write lock up front. A deferred transaction that
        // reads (the seed) and then writes fails with SQLITE_BUSY, without
        // waiting, if another connection wrote in between.
        let begin = if self.db.backend() == Backend::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let mut tx = self.db.pool().begin_with(begin).await?;
        let now = Instant::now();
        for a in batch {
            if self.counts.needs_seed(&a.recipient, a.limits, now) {
                let rows = sqlx::query(&self.db.sql(SEED)).bind(&a.recipient).fetch_all(&mut *tx).await?;
                let counts = rows
                    .iter()
                    .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?.max(0) as u64)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                self.counts.seed(&a.recipient, counts, now);
            }
        }
        let verdicts: Vec<bool> = batch.iter().map(|a| self.counts.admit(&a.recipient, &a.sender, a.limits)).collect();
        let admitted: Vec<&Append> = batch.iter().zip(&verdicts).filter(|(_, ok)| **ok).map(|(a, _)| a).collect();
        for rows in chunks(&admitted) {
            let values = vec!["(?, ?, ?, ?, ?)"; rows.len()].join(", ");
            let sql = self.db.sql_owned(format!("{INSERT}{values}"));
            let mut q = sqlx::query(&sql);
            for a in rows {
                q = q
                    .bind(a.recipient.as_str())
                    .bind(a.sender.as_str())
                    .bind(a.stamp_ms)
                    .bind(a.arrival)
                    .bind(a.stanza.as_slice());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.tally.commits.fetch_add(1, Ordering::Release);
        Ok(verdicts)
    }
}

/// Splits rows into `INSERT`s of at most [`INSERT_ROWS`] rows and about
/// [`INSERT_BYTES`] of stanzas (a larger stanza goes alone), in order.
fn chunks<'a>(rows: &'a [&'a Append]) -> Vec<&'a [&'a Append]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, a) in rows.iter().enumerate() {
        let full = i - start == INSERT_ROWS || (i > start && bytes + a.stanza.len() > INSERT_BYTES);
        if full {
            out.push(&rows[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += a.stanza.len();
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(len: usize) -> Append {
        let (done, _) = oneshot::channel();
        Append {
            recipient: String::new(),
            sender: String::new(),
            stamp_ms: 0,
            arrival: 0,
            stanza: vec![b'x'; len],
            limits: OfflineLimits { per_pair: 0, per_recipient: 0 },
            done,
        }
    }

    #[test]
    fn inserts_are_split_by_rows_and_bytes_in_order() {
        let small: Vec<Append> = (0..150).map(|_| append(10)).collect();
        let refs: Vec<&Append> = small.iter().collect();
        let sizes: Vec<usize> = chunks(&refs).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [64, 64, 22]);

        let big: Vec<Append> = [INSERT_BYTES / 2, INSERT_BYTES / 2, 1, INSERT_BYTES * 2, 5].map(append).into();
        let refs: Vec<&Append> = big.iter().collect();
        let lens: Vec<Vec<usize>> = chunks(&refs).iter().map(|c| c.iter().map(|a| a.stanza.len()).collect()).collect();
        assert_eq!(lens, [vec![INSERT_BYTES / 2, INSERT_BYTES / 2], vec![1], vec![INSERT_BYTES * 2], vec![5]]);
        assert!(chunks(&[]).is_empty());
    }
}
