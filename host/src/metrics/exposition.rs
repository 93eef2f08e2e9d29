//! Every counter as one OpenMetrics text exposition, the format Prometheus
//! scrapes (`prometheus-client` writes it; the series are gathered here,
//! on each scrape, from the atomics the server and the plugins bump).
//!
//! Series of every label value are written even at zero (each fault kind
//! of each plugin, each stanza kind…), so a rate over them never starts
//! from a missing series.

use std::fmt::{self, Debug};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{KINDS, MessageStore, ServerMetrics};
use crate::plugin::PluginHost;
use crate::plugin::metrics::{ErrorKind, FaultKind, VerdictKind};
use crate::services::Services;
use crate::sm::registry::Registry as Sessions;

/// The whole exposition, `# EOF` included.
pub fn render(svc: &Services) -> String {
    render_from(svc.metrics.clone(), svc.registry.clone(), svc.plugins.clone())
}

fn render_from(server: Arc<ServerMetrics>, sessions: Arc<Sessions>, plugins: Arc<PluginHost>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ServerCollector { server, sessions }));
    registry.register_collector(Box::new(PluginCollector(plugins)));
    let mut out = String::with_capacity(8 * 1024);
    prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String cannot fail");
    out
}

/// One counter family: a series per label set.
fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        family.encode_family(&labels)?.encode_counter::<NoLabelSet, u64, u64>(&value, None)?;
    }
    Ok(())
}

/// A counter without labels.
fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, u64, u64>(&value, None)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> fmt::Result {
    encoder.encode_descriptor(name, help, None, MetricType::Gauge)?.encode_gauge(&value)
}

/// Connections, authentications, stanzas and stored messages.
struct ServerCollector {
    server: Arc<ServerMetrics>,
    sessions: Arc<Sessions>,
}

impl Debug for ServerCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerCollector")
    }
}

impl Collector for ServerCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &*self.server;
        let (accepted, closed) = (m.connections_accepted.load(Relaxed), m.connections_closed.load(Relaxed));
        counter(&mut e, "wasmpp_c2s_connections_accepted", "Client TCP connections accepted.", accepted)?;
        counter(&mut e, "wasmpp_c2s_connections_closed", "Client TCP connections that ended.", closed)?;
        let open = i64::try_from(accepted.saturating_sub(closed)).unwrap_or(i64::MAX);
        gauge(&mut e, "wasmpp_c2s_connections_open", "Client TCP connections open now.", open)?;
        let bound = i64::try_from(self.sessions.len()).unwrap_or(i64::MAX);
        gauge(&mut e, "wasmpp_sessions_bound", "Sessions with a bound resource now.", bound)?;
        counters(
            &mut e,
            "wasmpp_c2s_authentications",
            "SASL exchanges, by result.",
            [
                ([("result", "success")], m.auth_success.load(Relaxed)),
                ([("result", "failure")], m.auth_failure.load(Relaxed)),
            ],
        )?;
        let by_kind = |c: &[std::sync::atomic::AtomicU64; 3]| {
            KINDS.iter().zip(c).map(|((_, name), n)| ([("kind", *name)], n.load(Relaxed))).collect::<Vec<_>>()
        };
        counters(
            &mut e,
            "wasmpp_stanzas_received",
            "Stanzas received from bound clients, by kind.",
            by_kind(&m.stanzas_in),
        )?;
        counters(
            &mut e,
            "wasmpp_stanzas_sent",
            "Stanzas handed to bound clients' connections, by kind.",
            by_kind(&m.stanzas_out),
        )?;
        let by_store = |c: &[std::sync::atomic::AtomicU64; 2]| {
            MessageStore::ALL.iter().zip(c).map(|(s, n)| ([("store", s.as_str())], n.load(Relaxed))).collect::<Vec<_>>()
        };
        counters(
            &mut e,
            "wasmpp_messages_stored",
            "Messages kept for unavailable recipients, by store.",
            by_store(&m.stored),
        )?;
        counters(
            &mut e,
            "wasmpp_messages_flushed",
            "Stored messages delivered to their recipient and deleted, by store.",
            by_store(&m.flushed),
        )?;
        counter(
            &mut e,
            "wasmpp_amp_messages_expired",
            "Stored XEP-0079 messages discarded because a rule expired them.",
            m.amp_expired.load(Relaxed),
        )
    }
}

/// Per-plugin calls, time, faults, errors and verdicts, and the code cache.
struct PluginCollector(Arc<PluginHost>);

impl Debug for PluginCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PluginCollector")
    }
}

impl Collector for PluginCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        let plugins = self.0.metrics().all();
        let calls = plugins.iter().flat_map(|(id, c)| {
            c.entries().iter().map(move |entry| ([("plugin", &**id), ("entry", entry.as_str())], c.durations(*entry)))
        });
        let calls: Vec<_> = calls.collect();
        counters(
            &mut e,
            "wasmpp_plugin_calls",
            "Calls of a plugin's exports (faulted ones included), by plugin and entry point.",
            calls.iter().map(|(labels, d)| (*labels, d.count)),
        )?;
        let mut durations = e.encode_descriptor(
            "wasmpp_plugin_call_duration_seconds",
            "Time a plugin call took, building an instance included when none was warm; _sum is the total time spent.",
            None,
            MetricType::Histogram,
        )?;
        for (labels, d) in &calls {
            durations.encode_family(labels)?.encode_histogram::<NoLabelSet>(
                d.sum_seconds,
                d.count,
                &d.buckets,
                None,
            )?;
        }
        counters(
            &mut e,
            "wasmpp_plugin_faults",
            "Plugin calls stopped by a trap, the deadline, the memory cap, or a failed instantiation.",
            plugins
                .iter()
                .flat_map(|(id, c)| FaultKind::ALL.map(|k| ([("plugin", &**id), ("kind", k.as_str())], c.faults(k)))),
        )?;
        counters(
            &mut e,
            "wasmpp_plugin_errors",
            "Plugin errors that were not faults: answers the host refused (broken contract) and error-level log reports.",
            plugins
                .iter()
                .flat_map(|(id, c)| ErrorKind::ALL.map(|k| ([("plugin", &**id), ("reason", k.as_str())], c.errors(k)))),
        )?;
        counters(
            &mut e,
            "wasmpp_plugin_verdicts",
            "Verdicts session-manager plugins returned from process, by plugin and verdict.",
            plugins.iter().filter(|(_, c)| c.entries().contains(&crate::plugin::metrics::Entry::Process)).flat_map(
                |(id, c)| VerdictKind::ALL.map(|k| ([("plugin", &**id), ("verdict", k.as_str())], c.verdicts(k))),
            ),
        )?;
        let cache = self.0.code_cache().stats();
        counter(
            &mut e,
            "wasmpp_plugin_cache_hits",
            "Plugin components loaded from the compiled-code cache.",
            cache.hits(),
        )?;
        counter(
            &mut e,
            "wasmpp_plugin_cache_misses",
            "Plugin components compiled (not cached, cache file unusable, or cache off).",
            cache.misses(),
        )?;
        counter(
            &mut e,
            "wasmpp_plugin_cache_invalid",
            "Compiled-code cache files found truncated, corrupted or from another build, and replaced.",
            cache.invalid(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Limits;
    use crate::plugin::metrics::Entry;
    use crate::xmpp::StanzaKind;
    use std::time::Duration;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn every_series_is_written_in_the_text_format() {
        let server = Arc::new(ServerMetrics::default());
        let _open = server.connection();
        drop(server.connection());
        server.authentication(true);
        server.stanza_in(StanzaKind::Presence);
        server.written(b"<message/>");
        server.stored(MessageStore::Amp);
        server.flushed(MessageStore::Offline, 3);
        let plugins = Arc::new(PluginHost::new(Limits { pool_size: 1, ..Limits::default() }).unwrap());
        let amp = plugins.metrics().plugin("amp");
        amp.call(Entry::Process, Duration::from_micros(3));
        amp.call(Entry::Process, Duration::from_millis(2));
        amp.fault(FaultKind::Deadline);
        amp.verdict(VerdictKind::Handled);
        plugins.metrics().condition("body-contains").call(Entry::Evaluate, Duration::from_micros(1));

        let text = render_from(server, Arc::new(Sessions::new()), plugins);
        let at = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert_eq!(at("wasmpp_c2s_connections_accepted_total"), 2.0);
        assert_eq!(at("wasmpp_c2s_connections_open"), 1.0);
        assert_eq!(at("wasmpp_sessions_bound"), 0.0);
        assert_eq!(at(r#"wasmpp_c2s_authentications_total{result="success"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_stanzas_received_total{kind="presence"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_stanzas_sent_total{kind="message"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_messages_stored_total{store="amp"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_messages_flushed_total{store="offline"}"#), 3.0);
        assert_eq!(at(r#"wasmpp_plugin_calls_total{plugin="amp",entry="process"}"#), 2.0);
        assert_eq!(at(r#"wasmpp_plugin_calls_total{plugin="amp",entry="recheck"}"#), 0.0);
        assert_eq!(at(r#"wasmpp_plugin_calls_total{plugin="amp-condition:body-contains",entry="evaluate"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_plugin_call_duration_seconds_count{plugin="amp",entry="process"}"#), 2.0);
        assert_eq!(at(r#"wasmpp_plugin_call_duration_seconds_sum{plugin="amp",entry="process"}"#), 0.002003);
        assert_eq!(
            at(r#"wasmpp_plugin_call_duration_seconds_bucket{le="0.000005",plugin="amp",entry="process"}"#),
            1.0
        );
        assert_eq!(at(r#"wasmpp_plugin_call_duration_seconds_bucket{le="+Inf",plugin="amp",entry="process"}"#), 2.0);
        assert_eq!(at(r#"wasmpp_plugin_faults_total{plugin="amp",kind="deadline"}"#), 1.0);
        assert_eq!(at(r#"wasmpp_plugin_faults_total{plugin="amp",kind="trap"}"#), 0.0);
        assert_eq!(at(r#"wasmpp_plugin_errors_total{plugin="amp",reason="refused"}"#), 0.0);
        assert_eq!(at(r#"wasmpp_plugin_verdicts_total{plugin="amp",verdict="handled"}"#), 1.0);
        assert!(!text.contains(r#"verdicts_total{plugin="amp-condition"#), "conditions return no verdicts");
        assert_eq!(at("wasmpp_plugin_cache_misses_total"), 0.0);
        assert!(text.contains("# TYPE wasmpp_plugin_call_duration_seconds histogram\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
