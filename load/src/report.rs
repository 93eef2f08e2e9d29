//! The result of one run: a summary table for people, one JSON line for
//! scripts. Rows keep their insertion order so related figures stay together.

use std::fmt::Write;

use crate::stats::Summary;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything sent arrived and nothing failed.
    Ok,
    /// Losses, errors or failed operations.
    Failed,
    /// The server refused the feature under test (e.g. every message bounced
    /// with `service-unavailable`): the run measured nothing.
    Unsupported,
}

impl Status {
    /// Lower-case name for the table and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unsupported => "unsupported",
        }
    }

    /// Process exit code: 0, 1 or 2.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Failed => 1,
            Status::Unsupported => 2,
        }
    }
}

/// One figure.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A measurement, printed with the given number of decimals.
    Float(f64, usize),
    /// Anything else.
    Text(String),
}

/// One run's outcome.
#[derive(Clone, Debug)]
pub struct Report {
    /// Scenario name.
    pub scenario: &'static str,
    /// Overall verdict.
    pub status: Status,
    /// Why it is not ok, or anything worth a sentence.
    pub notes: Vec<String>,
    rows: Vec<(String, Value)>,
}

impl Report {
    /// An ok report with no rows yet.
    pub fn new(scenario: &'static str) -> Report {
        Report { scenario, status: Status::Ok, notes: Vec::new(), rows: Vec::new() }
    }

    /// Adds a count.
    pub fn int(&mut self, key: &str, v: u64) -> &mut Self {
        self.rows.push((key.to_owned(), Value::Int(v)));
        self
    }

    /// Adds a measurement with `decimals` places.
    pub fn float(&mut self, key: &str, v: f64, decimals: usize) -> &mut Self {
        self.rows.push((key.to_owned(), Value::Float(v, decimals)));
        self
    }

    /// Adds a text value.
    pub fn text(&mut self, key: &str, v: &str) -> &mut Self {
        self.rows.push((key.to_owned(), Value::Text(v.to_owned())));
        self
    }

    /// Adds `PREFIX_p50_ms` … `PREFIX_max_ms` for a latency summary.
    pub fn latency(&mut self, prefix: &str, s: &Summary) -> &mut Self {
        for (name, v) in [("p50", s.p50), ("p99", s.p99), ("p999", s.p999), ("max", s.max), ("mean", s.mean)] {
            self.float(&format!("{prefix}_{name}_ms"), v, 3);
        }
        self
    }

    /// Marks the run failed (never downgrades `Unsupported`) with a reason.
    pub fn fail(&mut self, why: impl Into<String>) {
        if self.status == Status::Ok {
            self.status = Status::Failed;
        }
        self.notes.push(why.into());
    }

    /// Marks the run unsupported with a reason.
    pub fn unsupported(&mut self, why: impl Into<String>) {
        self.status = Status::Unsupported;
        self.notes.push(why.into());
    }

    /// A row's value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.rows.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A count or measurement as a number (tests and scripts).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f, _) => Some(*f),
            Value::Text(_) => None,
        }
    }

    /// The human summary: a header line, aligned rows, notes.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let values: Vec<String> = self.rows.iter().map(|(_, v)| display(v)).collect();
        let vwidth = values.iter().map(String::len).max().unwrap_or(0);
        let mut s = format!("{} — {}\n", self.scenario, self.status.name());
        for ((k, _), v) in self.rows.iter().zip(&values) {
            let _ = writeln!(s, "  {k:<width$}  {v:>vwidth$}");
        }
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        s
    }

    /// One JSON object on one line: scenario, status, notes, then every row.
    pub fn json(&self) -> String {
        let mut s = format!("{{\"scenario\":{},\"status\":{}", json_str(self.scenario), json_str(self.status.name()));
        let notes: Vec<String> = self.notes.iter().map(|n| json_str(n)).collect();
        let _ = write!(s, ",\"notes\":[{}]", notes.join(","));
        for (k, v) in &self.rows {
            let v = match v {
                Value::Int(i) => i.to_string(),
                Value::Float(f, d) if f.is_finite() => format!("{f:.d$}"),
                Value::Float(..) => "null".into(),
                Value::Text(t) => json_str(t),
            };
            let _ = write!(s, ",{}:{v}", json_str(k));
        }
        s.push('}');
        s
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f, d) => format!("{f:.d$}"),
        Value::Text(t) => t.clone(),
    }
}

/// A JSON string literal (RFC 8259 §7).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("chat");
        r.int("pairs", 100).float("delivered_per_s", 1234.5678, 1).text("tls", "off");
        r
    }

    #[test]
    fn json_is_one_line_in_row_order() {
        let mut r = sample();
        r.float("nan", f64::NAN, 2);
        r.fail("lost 3 \"messages\"\n");
        assert_eq!(
            r.json(),
            "{\"scenario\":\"chat\",\"status\":\"failed\",\"notes\":[\"lost 3 \\\"messages\\\"\\n\"],\
             \"pairs\":100,\"delivered_per_s\":1234.6,\"tls\":\"off\",\"nan\":null}"
        );
        assert_eq!(json_str("\u{1}é"), "\"\\u0001é\"");
    }

    #[test]
    fn the_table_aligns_keys_and_values() {
        let t = sample().table();
        assert_eq!(t, "chat — ok\n  pairs               100\n  delivered_per_s  1234.6\n  tls                 off\n");
    }

    #[test]
    fn status_and_lookups() {
        let mut r = sample();
        assert_eq!(r.number("pairs"), Some(100.0));
        assert_eq!(r.number("tls"), None);
        assert_eq!(r.number("missing"), None);
        r.unsupported("no offline storage");
        r.fail("and lost some");
        assert_eq!(r.status, Status::Unsupported, "fail does not hide unsupported");
        assert_eq!(r.status.exit_code(), 2);
        r.latency("rtt", &Summary { count: 1, p50: 1.0, p99: 2.0, p999: 3.0, max: 4.0, mean: 1.5 });
        assert_eq!(r.number("rtt_p999_ms"), Some(3.0));
    }
}
