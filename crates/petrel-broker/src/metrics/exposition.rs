//! Prometheus text exposition format 0.0.4: `# HELP` / `# TYPE` lines, then one sample per
//! line, `name{label="value",...} number`. Label values are escaped (`\\`, `\"`, `\n`); the
//! writer keeps at most [`SERIES_PER_FAMILY_MAX`] series per family (RocketMQ's
//! `metricsOtelCardinalityLimit`), so a broker with many groups and topics cannot make a
//! scrape unbounded.

use std::fmt::Write;

/// Most series one metric family exposes (RocketMQ's `metricsOtelCardinalityLimit` default);
/// series beyond it are counted in `petrel_metrics_series_dropped`.
pub const SERIES_PER_FAMILY_MAX: usize = 50_000;

/// The kinds of metric families Petrel exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Builds one scrape's text.
pub struct Exposition {
    out: String,
    /// Labels on every sample (`cluster`, `node_type`, `node_id`), already rendered.
    common: String,
    in_family: usize,
    /// Series dropped per family name, over the cardinality limit.
    pub dropped: Vec<(&'static str, usize)>,
    family: &'static str,
}

/// Escapes a label value as the text format requires.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn render_labels(labels: &[(&str, &str)], out: &mut String) {
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape(v, out);
        out.push('"');
    }
}

/// A float as the text format writes it (`+Inf`, integers without a fraction).
fn number(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if value.is_nan() {
        "NaN".to_string()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

impl Exposition {
    /// A new scrape whose samples all carry `common` labels.
    pub fn new(common: &[(&str, &str)]) -> Self {
        let mut rendered = String::new();
        render_labels(common, &mut rendered);
        Self {
            out: String::new(),
            common: rendered,
            in_family: 0,
            dropped: Vec::new(),
            family: "",
        }
    }

    /// Starts a family: its help text and type.
    pub fn family(&mut self, name: &'static str, help: &str, kind: Kind) {
        self.family = name;
        self.in_family = 0;
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// Whether one more series fits the family's limit (counts it as dropped otherwise).
    fn admit(&mut self) -> bool {
        if self.in_family >= SERIES_PER_FAMILY_MAX {
            match self.dropped.iter_mut().find(|(f, _)| *f == self.family) {
                Some((_, n)) => *n += 1,
                None => self.dropped.push((self.family, 1)),
            }
            return false;
        }
        self.in_family += 1;
        true
    }

    fn line(&mut self, name: &str, labels: &[(&str, &str)], extra: Option<(&str, &str)>, v: f64) {
        let mut all = self.common.clone();
        let mut rest = String::new();
        render_labels(labels, &mut rest);
        if let Some(pair) = extra {
            if !rest.is_empty() {
                rest.push(',');
            }
            render_labels(&[pair], &mut rest);
        }
        if !all.is_empty() && !rest.is_empty() {
            all.push(',');
        }
        all.push_str(&rest);
        let _ = writeln!(self.out, "{name}{{{all}}} {}", number(v));
    }

    /// One counter or gauge sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        if self.admit() {
            let name = self.family;
            self.line(name, labels, None, value);
        }
    }

    /// One histogram series of the current family: cumulative bucket counts for `bounds`
    /// (`counts` has one more entry, the overflow), the sum and the count.
    pub fn histogram(&mut self, labels: &[(&str, &str)], bounds: &[f64], counts: &[u64], sum: f64) {
        if !self.admit() {
            return;
        }
        let name = self.family;
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += counts.get(i).copied().unwrap_or(0);
            let le = number(*bound);
            self.line(&bucket, labels, Some(("le", &le)), cumulative as f64);
        }
        cumulative += counts.get(bounds.len()).copied().unwrap_or(0);
        self.line(&bucket, labels, Some(("le", "+Inf")), cumulative as f64);
        self.line(&format!("{name}_sum"), labels, None, sum);
        self.line(&format!("{name}_count"), labels, None, cumulative as f64);
    }

    /// The text, ending with the families' dropped-series counts.
    pub fn finish(mut self) -> String {
        let dropped = std::mem::take(&mut self.dropped);
        self.family(
            "petrel_metrics_series_dropped",
            "Series left out of this scrape by the per-family limit (metricsOtelCardinalityLimit).",
            Kind::Gauge,
        );
        for (family, n) in dropped {
            self.line(
                "petrel_metrics_series_dropped",
                &[("metric", family)],
                None,
                n as f64,
            );
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_text_format() {
        let mut e = Exposition::new(&[("cluster", "c\"1")]);
        e.family("m_total", "Help.", Kind::Counter);
        e.sample(&[("topic", "a\\b\nc")], 3.0);
        e.family("h", "Latency.", Kind::Histogram);
        e.histogram(&[("code", "10")], &[1.0, 5.0], &[2, 1, 4], 12.5);
        let text = e.finish();
        assert!(text.contains("# TYPE m_total counter\n"), "{text}");
        assert!(
            text.contains("m_total{cluster=\"c\\\"1\",topic=\"a\\\\b\\nc\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("h_bucket{cluster=\"c\\\"1\",code=\"10\",le=\"1\"} 2\n"));
        assert!(text.contains("h_bucket{cluster=\"c\\\"1\",code=\"10\",le=\"5\"} 3\n"));
        assert!(text.contains("h_bucket{cluster=\"c\\\"1\",code=\"10\",le=\"+Inf\"} 7\n"));
        assert!(text.contains("h_sum{cluster=\"c\\\"1\",code=\"10\"} 12.5\n"));
        assert!(text.contains("h_count{cluster=\"c\\\"1\",code=\"10\"} 7\n"));
    }

    #[test]
    fn a_family_keeps_at_most_its_limit() {
        let mut e = Exposition::new(&[]);
        e.family("g", "Many.", Kind::Gauge);
        for i in 0..SERIES_PER_FAMILY_MAX + 3 {
            e.sample(&[("k", &i.to_string())], 1.0);
        }
        let text = e.finish();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("g{")).count(),
            SERIES_PER_FAMILY_MAX
        );
        assert!(
            text.contains("petrel_metrics_series_dropped{metric=\"g\"} 3\n"),
            "tail"
        );
    }
}
