//! What a bench run measured, and how it is printed (a table, or one JSON object).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency histogram in microseconds, 1 µs to 60 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

#[derive(Debug, Serialize)]
pub struct LatencyUs {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl LatencyUs {
    pub fn from(h: &Histogram<u64>) -> Self {
        Self {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

/// The summary `--json` prints; the table shows the same numbers.
#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub topic: String,
    /// Messages sent (produce) or received (consume) successfully.
    pub messages: u64,
    pub seconds: f64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    pub size_bytes: usize,
    pub threads: usize,
    pub batch: usize,
    #[serde(rename = "async")]
    pub async_send: bool,
    /// Send latency (produce) or store-to-receive latency (consume), µs.
    pub latency_us: Option<LatencyUs>,
    /// Failed calls by response code name (or TIMEOUT / CONNECTION / CLIENT), and sends
    /// stored but answered other than SEND_OK (FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE,
    /// FLUSH_DISK_TIMEOUT), which `messages` does not count.
    pub errors: BTreeMap<String, u64>,
    /// End-to-end mode: born-to-consumed latency, µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_latency_us: Option<LatencyUs>,
}

impl Report {
    pub fn rates(messages: u64, size: usize, elapsed: Duration) -> (f64, f64, f64) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let per_sec = messages as f64 / secs;
        let mb = per_sec * size as f64 / (1024.0 * 1024.0);
        (
            (secs * 1000.0).round() / 1000.0,
            per_sec.round(),
            (mb * 100.0).round() / 100.0,
        )
    }

    pub fn print(&self, json: bool) {
        if json {
            println!(
                "{}",
                serde_json::to_string(self).expect("a report serialises")
            );
            return;
        }
        let errors: u64 = self.errors.values().sum();
        println!(
            "{} {}: {} messages of {} B in {:.2} s",
            self.mode, self.topic, self.messages, self.size_bytes, self.seconds
        );
        println!(
            "  threads {}  batch {}  async {}",
            self.threads, self.batch, self.async_send
        );
        println!(
            "  {:>12} msgs/s  {:>10} MB/s",
            format!("{:.0}", self.msgs_per_sec),
            format!("{:.2}", self.mb_per_sec)
        );
        let print_latency = |name: &str, l: &LatencyUs| {
            println!(
                "  {name} (ms): p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
                l.p50 as f64 / 1000.0,
                l.p90 as f64 / 1000.0,
                l.p99 as f64 / 1000.0,
                l.p999 as f64 / 1000.0,
                l.max as f64 / 1000.0
            );
        };
        if let Some(l) = &self.latency_us {
            print_latency(
                if self.mode == "consume" {
                    "store-to-consume latency (ms resolution)"
                } else {
                    "send latency"
                },
                l,
            );
        }
        if let Some(l) = &self.end_to_end_latency_us {
            print_latency("end-to-end latency (ms resolution)", l);
        }
        if errors == 0 {
            println!("  errors: none");
        } else {
            println!("  errors: {errors}");
            for (code, n) in &self.errors {
                println!("    {code:<28} {n}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_percentiles() {
        let (secs, per_sec, mb) = Report::rates(2_048, 1024, Duration::from_secs(2));
        assert_eq!(secs, 2.0);
        assert_eq!(per_sec, 1024.0);
        assert_eq!(mb, 1.0);
        let mut h = new_histogram();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let l = LatencyUs::from(&h);
        assert!((499..=501).contains(&l.p50), "{}", l.p50);
        assert!((989..=991).contains(&l.p99), "{}", l.p99);
        assert_eq!(l.max, 1000);
    }
}
