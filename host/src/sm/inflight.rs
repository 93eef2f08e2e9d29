//! Offline stores one session has queued but not yet seen committed.
//!
//! # Why
//! A session that waited for each stored message's commit before reading
//! the next stanza would have one message in the offline writer at a time,
//! so the writer's transactions could never hold more messages than there
//! are senders. A plain message to an offline account
//! (`handled([store-offline])`, the whole of its outcome) is therefore only
//! queued, and the session reads on.
//!
//! # What a sender can rely on
//! - **Order**: queued messages keep their order in the writer's queue.
//! - **Refusals**: each one's result is awaited, oldest first; a refused one
//!   (limit reached, database error) is bounced to the sender as before.
//! - **Replies come after**: before the session does anything else that
//!   could write to its own client (any other stanza, any other outcome,
//!   the end of the session), [`InFlight::settle`] waits for every queued
//!   store and sends its bounces. So whatever the server answers next, e.g.
//!   the reply to a ping, is written after the messages before it are
//!   stored or bounced: a client that sees the reply can rely on them.
//! - **Nothing lost**: a queued message is the writer's, committed even if
//!   the session ends; the session settles before it unbinds, so a bounce
//!   still finds the sender.

use std::collections::VecDeque;

use crate::router::{self, offline};
use crate::services::Services;
use crate::store::{Committed, StoreError};
use crate::xmpp::Stanza;

/// Stores a session may have queued at once; the next waits for the oldest.
const MAX_IN_FLIGHT: usize = 128;

/// One session's queued stores, oldest first, each with its stanza (for
/// the bounce if it is refused).
#[derive(Debug, Default)]
pub struct InFlight {
    stores: VecDeque<(Stanza, Committed)>,
}

impl InFlight {
    /// True when nothing waits for a commit.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }

    /// Adds a queued store; with [`MAX_IN_FLIGHT`] already waiting, the
    /// oldest is finished first (backpressure on the reader).
    pub async fn push(&mut self, svc: &Services, stanza: Stanza, committed: Committed) {
        if self.stores.len() >= MAX_IN_FLIGHT
            && let Some((s, c)) = self.stores.pop_front()
        {
            finish(svc, &s, c.await).await;
        }
        self.stores.push_back((stanza, committed));
    }

    /// Resolves when the oldest store is committed (or failed); never while
    /// nothing waits. Cancel-safe: the store stays queued until
    /// [`finish_oldest`](Self::finish_oldest) takes it.
    pub async fn oldest(&mut self) -> Result<(), StoreError> {
        match self.stores.front_mut() {
            Some((_, committed)) => committed.await,
            None => std::future::pending().await,
        }
    }

    /// Reports the oldest store's `result`, which [`oldest`](Self::oldest)
    /// returned: counted, or bounced to its sender.
    pub async fn finish_oldest(&mut self, svc: &Services, result: Result<(), StoreError>) {
        if let Some((s, _)) = self.stores.pop_front() {
            finish(svc, &s, result).await;
        }
    }

    /// Waits for every queued store, oldest first, and bounces the refused
    /// ones: call before anything that may write to the session's client.
    pub async fn settle(&mut self, svc: &Services) {
        while let Some((s, c)) = self.stores.pop_front() {
            finish(svc, &s, c.await).await;
        }
    }
}

async fn finish(svc: &Services, stanza: &Stanza, result: Result<(), StoreError>) {
    if let Err(err) = offline::stored(svc, result) {
        router::bounce(svc, stanza, err).await;
    }
}
