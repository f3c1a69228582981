//! Latency samples and the few summary figures the benchmarks quote.

use std::path::Path;
use std::time::Duration;

#[derive(Debug, Default, Clone)]
pub struct Samples {
    nanos: Vec<u64>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.nanos.push(d.as_nanos() as u64);
    }

    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    fn sorted(&self) -> Vec<u64> {
        let mut v = self.nanos.clone();
        v.sort_unstable();
        v
    }

    /// Nearest-rank percentile (`q` in 0..=1), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1e6
    }

    pub fn median_ms(&self) -> f64 {
        self.percentile_ms(0.5)
    }

    pub fn p99_ms(&self) -> f64 {
        self.percentile_ms(0.99)
    }

    pub fn mean_ms(&self) -> f64 {
        if self.nanos.is_empty() {
            return f64::NAN;
        }
        self.nanos.iter().sum::<u64>() as f64 / self.nanos.len() as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.nanos.iter().copied().max().unwrap_or(0) as f64 / 1e6
    }
}

/// Total size of the files under `path` (a file or a directory), in bytes.
pub fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    if !meta.is_dir() {
        return 0;
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| disk_size(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// This process's peak resident memory (VmHWM), in MiB.
pub fn rss_peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
