//! A store that throttles: an HTTP proxy on 127.0.0.1 in front of the test MinIO that
//! answers `503 SlowDown` (or `429 Too Many Requests`) itself whenever a request arrives
//! while `capacity` requests are already in flight through it, and forwards the others
//! (§14). Toxiproxy works below HTTP and cannot answer 503, hence this one.
//!
//! A forwarded request counts as in flight from the moment its whole request has arrived
//! until MinIO's whole answer has: the count drops before the client can see the answer, so
//! the proxy never counts a request the client already considers done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::proxy::{answer, read_request, with_connection_close};

/// How the proxy says "slow down".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// `503 Slow Down` with the S3 code `SlowDown` (AWS S3, MinIO).
    SlowDown,
    /// `429 Too Many Requests` with the code `TooManyRequests` (other S3-compatible stores).
    TooManyRequests,
}

/// One request as the proxy took it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Requests in flight through the proxy with this one (it included).
    pub in_flight: usize,
    /// Answered with a throttle instead of forwarded.
    pub throttled: bool,
}

#[derive(Default)]
struct Counts {
    in_flight: AtomicUsize,
    arrivals: Mutex<Vec<Arrival>>,
}

pub struct ThrottlingProxy {
    pub endpoint: String,
    pub capacity: usize,
    counts: Arc<Counts>,
}

impl ThrottlingProxy {
    /// A proxy that lets at most `capacity` requests in flight to MinIO and answers the
    /// others with `throttle`.
    pub async fn start(capacity: usize, throttle: Throttle) -> ThrottlingProxy {
        let upstream = super::minio().endpoint.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let (counts, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, capacity, throttle, &counts).await;
                });
            }
        });
        ThrottlingProxy {
            endpoint,
            capacity,
            counts,
        }
    }

    /// Every request so far, in order of arrival.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.counts.arrivals.lock().unwrap().clone()
    }

    /// How many requests were answered with a throttle.
    pub fn throttled(&self) -> usize {
        self.arrivals().iter().filter(|a| a.throttled).count()
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    capacity: usize,
    throttle: Throttle,
    counts: &Counts,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let throttled = {
        // Under the lock, so that the log's order is the order of the counts.
        let mut arrivals = counts.arrivals.lock().unwrap();
        let in_flight = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let throttled = in_flight > capacity;
        arrivals.push(Arrival { in_flight, throttled });
        throttled
    };
    if throttled {
        counts.in_flight.fetch_sub(1, Ordering::SeqCst);
        let (status, code) = match throttle {
            Throttle::SlowDown => ("503 Slow Down", "SlowDown"),
            Throttle::TooManyRequests => ("429 Too Many Requests", "TooManyRequests"),
        };
        return answer(client, head.starts_with("HEAD "), status, code, 0).await;
    }
    let forwarded = async {
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(with_connection_close(&head).as_bytes()).await?;
        server.write_all(&body).await?;
        let mut reply = Vec::new();
        server.read_to_end(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    }
    .await;
    counts.in_flight.fetch_sub(1, Ordering::SeqCst);
    client.write_all(&forwarded?).await?;
    client.shutdown().await
}
