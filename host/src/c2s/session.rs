//! A bound session (RFC 6120 §7 onwards): a reader task that parses stanzas
//! and hands them to the session manager, and a writer task that drains the
//! session's outbound queue to the socket.
//!
//! Reader and writer are separate so that a sender blocked on a full queue of
//! another session never stops its own queue from draining: two sessions
//! sending to each other cannot deadlock.

use super::bind::Bound;
use super::reader::{EventReader, ReadError};
use super::stream::Stream;
use crate::metrics::ServerMetrics;
use crate::services::Services;
use crate::sm::inflight::InFlight;
use crate::sm::registry::Outbound;
use crate::sm::{self, Session};
use crate::xml::{Element, STREAM_CLOSE, StreamEvent};
use crate::xmpp::{StreamCondition, StreamError, ns};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

/// Largest batch of queued stanzas written with one syscall.
const WRITE_BATCH: usize = 64 * 1024;

/// Runs the session until either side closes. The set-up runs before the
/// returned future, which holds only what the session keeps: its task is
/// paid by every idle connection (issue 6), and an `async fn` would also
/// store its arguments, the negotiated stream among them.
pub fn run(svc: Arc<Services>, stream: Stream, bound: Bound) -> impl Future<Output = ()> {
    let Bound { key, tx, rx } = bound;
    let (io, parser) = stream.into_reader().into_parts();
    let (rd, wr) = tokio::io::split(io);
    let writer = tokio::spawn(write_loop(wr, rx, svc.metrics.clone()).in_current_span());
    let mut reader = EventReader::new(rd, parser);
    let session = Session { key, tx };
    async move {
        let (interval, timeout) =
            (Duration::from_secs(svc.config.c2s_ping_interval), Duration::from_secs(svc.config.c2s_ping_timeout));
        let pinging = !interval.is_zero();
        // One timer, re-armed only when it fires, so traffic costs no timer work.
        let timer = tokio::time::sleep(interval);
        tokio::pin!(timer);
        let mut pinged_at: Option<Instant> = None;
        let mut pings = 0u64;
        // Offline stores queued by this session, settled before anything else
        // it does is written to its client (see `sm::inflight`).
        let mut inflight = InFlight::default();
        let close = loop {
            tokio::select! {
                // The writer ended: kicked by a conflict, or the socket broke.
                _ = session.tx.closed() => break None,
                // The oldest queued store is done: count it or bounce it now,
                // even if the client sends nothing more. Boxed like `dispatch`.
                result = inflight.oldest(), if !inflight.is_empty() => {
                    Box::pin(inflight.finish_oldest(&svc, result)).await
                }
                // XEP-0199 §4.2: a silent client is pinged; one that stays
                // silent after the ping is a dead connection.
                _ = &mut timer, if pinging => {
                    let last = Instant::from_std(reader.last_read());
                    match pinged_at {
                        Some(at) if last > at => {
                            pinged_at = None;
                            timer.as_mut().reset(last + interval);
                        }
                        Some(_) => {
                            let e = StreamError::new(StreamCondition::ConnectionTimeout).with_text("no answer to ping");
                            break Some(Outbound::Close(Some(Box::new(e))));
                        }
                        None if Instant::now() >= last + interval => {
                            pings += 1;
                            session.send(&ping(&session, pings)).await;
                            let now = Instant::now();
                            pinged_at = Some(now);
                            timer.as_mut().reset(now + timeout);
                        }
                        None => timer.as_mut().reset(last + interval),
                    }
                }
                ev = reader.next_event() => match ev {
                    Ok(StreamEvent::Stanza(el)) => {
                        // Boxed: handling a stanza (plugins, database, presence
                        // fan-out) needs a large future; inline, it would size
                        // every idle session's task.
                        if let Err(e) = Box::pin(sm::dispatch(&svc, &session, &mut inflight, el)).await {
                            break Some(Outbound::Close(Some(Box::new(e))));
                        }
                    }
                    Ok(StreamEvent::Close) => break Some(Outbound::Close(None)),
                    Ok(StreamEvent::Open(_)) => {
                        let e = StreamError::new(StreamCondition::NotWellFormed).with_text("unexpected stream header");
                        break Some(Outbound::Close(Some(Box::new(e))));
                    }
                    Err(ReadError::Xml(e)) => break Some(Outbound::Close(Some(Box::new(e.to_stream_error())))),
                    Err(ReadError::Eof | ReadError::Io(_)) => break Some(Outbound::Close(None)),
                },
            }
        };
        // Bounces for refused stores still reach the client before it goes.
        Box::pin(inflight.settle(&svc)).await;
        let departed = svc.registry.unbind(&session.key);
        tracing::info!(jid = %session.key.jid, "session ended");
        // RFC 6121 §4.5.2: clean close or lost connection, contacts hear of it.
        // Boxed like `dispatch`: a large future, needed once.
        Box::pin(sm::session_ended(&svc, departed)).await;
        if let Some(close) = close {
            let _ = session.tx.send(close).await;
        }
        drop(session);
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    }
}

/// The server's XEP-0199 ping to its own client.
fn ping(session: &Session, n: u64) -> Element {
    let jid = &session.key.jid;
    Element::new("iq", ns::CLIENT)
        .with_attr("type", "get")
        .with_attr("id", format!("s2c-ping-{n}"))
        .with_attr("from", jid.domain().as_str())
        .with_attr("to", jid.as_str())
        .with_child(Element::new("ping", ns::PING))
}

/// Drains the queue to the socket, batching whatever is already queued into
/// one write. Ends on `Close`, on a write error, or when every sender is gone.
/// Counts each stanza as it leaves the queue (`wasmpp_stanzas_sent`).
async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Outbound>, metrics: Arc<ServerMetrics>) {
    // A batch starts as its first stanza's own bytes (no copy for a lone
    // stanza) and is dropped once written: an idle session holds no write
    // buffer (issue 6: memory per idle connection).
    let mut buf = Vec::new();
    let mut acks = Vec::new();
    let mut next = rx.recv().await;
    while let Some(first) = next.take() {
        let mut close = None;
        let mut item = Some(first);
        while let Some(out) = item.take() {
            match out {
                Outbound::Data(d) => {
                    metrics.written(&d);
                    if buf.is_empty() {
                        buf = d;
                    } else {
                        buf.extend_from_slice(&d);
                    }
                }
                Outbound::Ack(ack) => acks.push(ack),
                Outbound::Close(err) => {
                    close = Some(err);
                    break;
                }
            }
            if buf.len() < WRITE_BATCH {
                item = rx.try_recv().ok();
            }
        }
        if let Some(err) = &close {
            if let Some(e) = err {
                e.to_element().write_to(&mut buf, ns::CLIENT);
            }
            buf.extend_from_slice(STREAM_CLOSE.as_bytes());
        }
        if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
            break;
        }
        buf = Vec::new();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if close.is_some() {
            let _ = wr.shutdown().await;
            break;
        }
        next = rx.recv().await;
    }
    // Dropping `rx` here wakes the reader through `tx.closed()`.
}

#[cfg(test)]
mod tests {
    use super::super::future_size;
    use super::super::stream::Io;
    use super::*;

    /// The session future lives inline in the connection's task; the
    /// writer is a task of its own. Both are paid by every idle session.
    #[test]
    fn session_futures_are_small() {
        let run = future_size(run);
        assert!(run <= 1280, "session::run future is {run} bytes");
        let writer = future_size(write_loop::<tokio::io::WriteHalf<Box<dyn Io>>>);
        assert!(writer <= 512, "write_loop future is {writer} bytes");
    }
}
