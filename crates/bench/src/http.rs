//! Sequential HTTP latency of one endpoint over the query set: one keep-alive connection, one
//! request at a time, so each figure is a single request's full round trip through paperboy's
//! server (routing, search, hydration, rendering, the loopback socket). Only 127.0.0.1 is allowed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::queries::{self, url_encode};
use crate::stats::Samples;

pub struct Options {
    pub url: String,
    pub records: PathBuf,
    pub queries: usize,
    pub seed: u64,
    pub rounds: usize,
    pub path: String,
    pub params: String,
    /// How many of the slowest queries to list on stderr (0: none).
    pub slowest: usize,
}

/// `http://127.0.0.1:PORT` (nothing else: benchmarks never leave the machine).
fn loopback(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .context("the URL must start with http://")?;
    let host_port = rest.trim_end_matches('/');
    let addr: SocketAddr = host_port
        .parse()
        .with_context(|| format!("{host_port:?} is not 127.0.0.1:PORT"))?;
    if !addr.ip().is_loopback() || addr.ip().to_string() != "127.0.0.1" {
        bail!(
            "benchmarks only send traffic to 127.0.0.1, not {}",
            addr.ip()
        );
    }
    Ok(addr)
}

struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn connect(&mut self) -> anyhow::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.conn = Some(BufReader::with_capacity(1 << 16, s));
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// GETs `target`; returns (status, body bytes). Reconnects once if the server closed.
    fn get(&mut self, target: &str) -> anyhow::Result<(u16, usize)> {
        match self.try_get(target) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.conn = None;
                self.try_get(target)
            }
        }
    }

    fn try_get(&mut self, target: &str) -> anyhow::Result<(u16, usize)> {
        let host = self.addr.to_string();
        let conn = self.connect()?;
        write!(
            conn.get_mut(),
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"
        )?;
        let mut line = String::new();
        conn.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => length = v.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = 0;
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("bad chunk size {line:?}"))?;
                let mut skip = vec![0; size + 2];
                conn.read_exact(&mut skip)?;
                body += size;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            let mut buf = vec![0; n];
            conn.read_exact(&mut buf)?;
            body = n;
        } else {
            let mut buf = Vec::new();
            conn.read_to_end(&mut buf)?;
            body = buf.len();
            close = true;
        }
        if close {
            self.conn = None;
        }
        Ok((status, body))
    }
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let addr = loopback(&o.url)?;
    let papers = queries::load_papers(&o.records)?;
    let qs = queries::generate(&papers, o.queries, o.seed);
    drop(papers);
    let extra = if o.params.is_empty() {
        String::new()
    } else {
        format!("&{}", o.params.trim_start_matches('&'))
    };
    let targets: Vec<String> = qs
        .iter()
        .map(|q| format!("{}?q={}{extra}", o.path, url_encode(&q.text)))
        .collect();
    let mut client = Client { addr, conn: None };
    let mut bad = 0;
    let mut bytes = Vec::new();
    for t in &targets {
        let (status, n) = client.get(t)?;
        if status != 200 {
            bad += 1;
            eprintln!("warning: {t} answered {status}");
        }
        bytes.push(n);
    }
    let mut s = Samples::default();
    // The slowest round of each query, to say which queries set the tail.
    let mut worst = vec![Duration::ZERO; targets.len()];
    for _ in 0..o.rounds {
        for (t, w) in targets.iter().zip(&mut worst) {
            let start = Instant::now();
            let (status, _) = client.get(t)?;
            let took = start.elapsed();
            s.push(took);
            *w = (*w).max(took);
            if status != 200 {
                bad += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..qs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(worst[i]));
    for &i in order.iter().take(o.slowest) {
        eprintln!(
            "{:>8.2} ms  {:<12} {}",
            worst[i].as_secs_f64() * 1e3,
            qs[i].kind.name(),
            qs[i].text
        );
    }
    bytes.sort_unstable();
    println!(
        "| `GET {}?q=…{}` | {} | {:.3} | {:.3} | {:.3} | {:.2} | {} | {} |",
        o.path,
        extra,
        s.len(),
        s.median_ms(),
        s.p99_ms(),
        s.mean_ms(),
        s.max_ms(),
        bytes[bytes.len() / 2],
        bad
    );
    Ok(())
}

pub fn header() {
    println!("| request (sequential, 1 keep-alive connection) | requests | median ms | p99 ms | mean ms | max ms | median body bytes | non-200 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
}
