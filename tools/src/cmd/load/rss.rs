//! [`RssSampler`]: another process's resident memory (`VmRSS` of `/proc/PID/status`),
//! sampled once a second on a thread of its own while the load runs.

use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

/// Time between two samples.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Resident memory at the start, at most, and at the end, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    pub start_kib: u64,
    pub max_kib: u64,
    pub end_kib: u64,
}

/// A running sampler.
#[derive(Debug)]
pub struct RssSampler {
    stop: Sender<()>,
    thread: JoinHandle<Rss>,
}

impl RssSampler {
    /// Takes the first sample now (failing if the process cannot be read) and then
    /// one a second.
    pub fn start(pid: u32) -> anyhow::Result<RssSampler> {
        let start_kib = read_kib(pid).with_context(|| format!("reading the RSS of pid {pid}"))?;
        let (stop, stopped) = bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let mut rss = Rss {
                    start_kib,
                    max_kib: start_kib,
                    end_kib: start_kib,
                };
                let mut gone = false;
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(SAMPLE_INTERVAL),
                        Err(RecvTimeoutError::Timeout)
                    );
                    match read_kib(pid) {
                        Ok(kib) => {
                            rss.end_kib = kib;
                            rss.max_kib = rss.max_kib.max(kib);
                        }
                        Err(e) if !gone => {
                            gone = true;
                            eprintln!("warning: cannot read the RSS of pid {pid} any more: {e:#}");
                        }
                        Err(_) => {}
                    }
                    if last {
                        return rss;
                    }
                }
            })
            .context("starting the RSS sampler")?;
        Ok(RssSampler { stop, thread })
    }

    /// Takes a last sample and returns the figures.
    pub fn finish(self) -> anyhow::Result<Rss> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the RSS sampler panicked"))
    }
}

fn read_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    vm_rss_kib(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// The `VmRSS:   1234 kB` value of a `/proc/PID/status` text, in KiB.
fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tsealogd\nVmPeak:\t  99999 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_kib(status), Some(20480));
        assert_eq!(vm_rss_kib("Name:\tkthreadd\n"), None);
        assert_eq!(vm_rss_kib("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let sampler = RssSampler::start(std::process::id()).unwrap();
        let rss = sampler.finish().unwrap();
        assert!(rss.start_kib > 0 && rss.max_kib >= rss.start_kib.max(rss.end_kib));
        assert!(RssSampler::start(u32::MAX).is_err());
    }
}
