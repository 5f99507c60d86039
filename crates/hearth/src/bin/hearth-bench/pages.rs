//! The channel-page benchmark: how many times a second the server renders a channel's page
//! (its newest 50 messages, the sidebar and the composer, signed in) against how many times it
//! answers the JSON history of the same 50 messages, with the same concurrent clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one kind of read measured.
pub(crate) struct Reads {
    /// Reads per second over the run.
    pub rate: f64,
    /// Latencies, sorted.
    pub latencies: Vec<Duration>,
}

/// Reads `url` `total` times with `clients` concurrent clients, each request carrying
/// `header`; every answer must be a success.
async fn read(
    url: &str,
    header: (&'static str, String),
    clients: usize,
    total: usize,
) -> anyhow::Result<Reads> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, next, url, header) =
            (http.clone(), next.clone(), url.to_string(), header.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let sent = Instant::now();
                let response = http.get(&url).header(header.0, &header.1).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "{url} answered {}",
                    response.status()
                );
                response.bytes().await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let wall = started.elapsed();
    latencies.sort();
    Ok(Reads {
        rate: total as f64 / wall.as_secs_f64(),
        latencies,
    })
}

/// Measures the JSON history of `channel` (with `token`) and then its page (with the session
/// `cookie`), each after a warm-up of a tenth of the reads.
pub(crate) async fn run(
    base: &str,
    (token, cookie): (&str, &str),
    channel: &str,
    clients: usize,
    reads: usize,
) -> anyhow::Result<(Reads, Reads)> {
    let api = format!("{base}/api/v1/channels/{channel}/messages?limit=50");
    let page = format!("{base}/channels/{channel}");
    let bearer = ("authorization", format!("Bearer {token}"));
    let session = ("cookie", cookie.to_string());
    read(&api, bearer.clone(), clients, reads / 10 + 1).await?;
    let api_reads = read(&api, bearer, clients, reads).await?;
    read(&page, session.clone(), clients, reads / 10 + 1).await?;
    let page_reads = read(&page, session, clients, reads).await?;
    Ok((api_reads, page_reads))
}
