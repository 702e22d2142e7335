//! The HTTP seam: what the async client needs from an HTTP stack, and the request loop the
//! runtime crates' default clients share (timeout and logging, redirects).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use acme_proto::http::transport::{self, Uri};
use acme_proto::http::{Method, Request, Response, TransportError, TransportErrorKind};
use tracing::debug;

/// A boxed, `Send` future; what [`HttpClient::execute`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Performs the HTTP requests the sans-IO core emits.
///
/// Implement it to bring your own HTTP stack (a proxy-aware client, a test double, …).
/// An implementation must:
///
/// - send `request.method` to `request.url` with `request.headers` and `request.body` as-is;
/// - follow redirects only when `request.follow_redirects` is true;
/// - return the response with its whole body, refusing bodies over
///   [`acme_proto::http::MAX_BODY_SIZE`] with
///   [`TransportErrorKind::BodyTooLarge`];
/// - report HTTP error statuses (4xx, 5xx) as responses, not as errors: ACME problem
///   documents travel in them.
pub trait HttpClient: Send + Sync + 'static {
    /// Performs `request` and returns the response with its whole body.
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>>;
}

impl<T: HttpClient + ?Sized> HttpClient for Arc<T> {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        (**self).execute(request)
    }
}

impl<T: HttpClient + ?Sized> HttpClient for Box<T> {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        (**self).execute(request)
    }
}

/// Runs `run(request)` for an [`HttpClient`] implementation, failing with
/// [`TransportErrorKind::Timeout`] when `sleep` (a timer of `timeout`) completes first, and
/// logs the request and its outcome at `debug` level.
pub async fn run_with_timeout<Fut>(
    request: Request,
    timeout: Duration,
    sleep: impl Future<Output = ()>,
    run: impl FnOnce(Request) -> Fut,
) -> Result<Response, TransportError>
where
    Fut: Future<Output = Result<Response, TransportError>>,
{
    let (id, endpoint) = (request.id, request.endpoint);
    debug!(?id, ?endpoint, method = %request.method, url = %request.url, "sending request");
    let started = Instant::now();
    let mut work = pin!(run(request));
    let mut sleep = pin!(sleep);
    let result = poll_fn(|cx| {
        if let Poll::Ready(result) = work.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        sleep.as_mut().poll(cx).map(|()| {
            Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!("no complete response within {timeout:?}"),
            ))
        })
    })
    .await;
    match &result {
        Ok(response) => debug!(
            ?id,
            status = %response.status(),
            body_len = response.body().len(),
            elapsed = ?started.elapsed(),
            "response received"
        ),
        Err(error) => {
            debug!(?id, kind = ?error.kind, message = %error.message, "request failed")
        }
    }
    result
}

/// Sends `request` with `send_once` (one exchange, no redirects), following redirects as
/// [`acme_proto::http::transport`] says when the request allows them (`GET` with
/// `follow_redirects`). `parse_url` checks the request URL and every redirect target (the
/// scheme policy, see [`transport::parse_url`]).
pub async fn follow_redirects<Fut>(
    request: &Request,
    parse_url: impl Fn(&str) -> Result<Uri, TransportError>,
    mut send_once: impl FnMut(Uri) -> Fut,
) -> Result<Response, TransportError>
where
    Fut: Future<Output = Result<Response, TransportError>>,
{
    let mut uri = parse_url(&request.url)?;
    let follow = request.follow_redirects && request.method == Method::GET;
    let mut hops = 0;
    loop {
        let response = send_once(uri.clone()).await?;
        if !follow {
            return Ok(response);
        }
        let Some(next) = transport::redirect_target(&uri, &response, hops)? else {
            return Ok(response);
        };
        hops += 1;
        debug!(id = ?request.id, status = %response.status(), location = %next, "following redirect");
        uri = parse_url(&next)?;
    }
}

/// Bounds what one connection may read between two requests, for the default clients'
/// socket wrappers (no HTTP stack caps it): a server may otherwise keep one exchange going
/// forever with interim `1xx` answers, which hyper skips in a loop without ever returning
/// `Pending` while bytes keep arriving, so that no deadline is ever looked at.
///
/// Wrap the connection's reads in [`ReadBudget::before_read`] / [`ReadBudget::after_read`]
/// and call [`ReadBudget::wrote`] when request bytes are written.
#[derive(Debug, Default)]
pub struct ReadBudget {
    bytes: usize,
    reads_in_a_row: u32,
}

impl ReadBudget {
    /// Most bytes read for one request: the largest body the core accepts, twice over for
    /// chunked framing and headers.
    pub const MAX_BYTES: usize = 2 * acme_proto::http::MAX_BODY_SIZE;

    /// Reads that return data without a `Pending` in between before the reader yields once.
    pub const READS_BEFORE_YIELD: u32 = 32;

    /// Call before reading: `true` means yield now (wake the task and return `Pending`) so
    /// that timers polled alongside get their turn.
    pub fn before_read(&mut self) -> bool {
        if self.reads_in_a_row >= Self::READS_BEFORE_YIELD {
            self.reads_in_a_row = 0;
            return true;
        }
        false
    }

    /// Call with the outcome of a read: `Some(n)` bytes read, `None` for `Pending`. Fails when
    /// the connection has read more than [`ReadBudget::MAX_BYTES`] since the last request.
    pub fn after_read(&mut self, read: Option<usize>) -> std::io::Result<()> {
        let Some(n) = read else {
            self.reads_in_a_row = 0;
            return Ok(());
        };
        self.reads_in_a_row += 1;
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > Self::MAX_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the server sent more than {} bytes in answer to one request",
                    Self::MAX_BYTES
                ),
            ));
        }
        Ok(())
    }

    /// Call when request bytes are written: a new exchange starts.
    pub fn wrote(&mut self) {
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::ReadBudget;

    #[test]
    fn a_connection_yields_every_32_reads_and_stops_past_the_cap() {
        let mut budget = ReadBudget::default();
        let mut yields = 0;
        for _ in 0..100 {
            if budget.before_read() {
                yields += 1;
            }
            budget.after_read(Some(1)).unwrap();
        }
        assert_eq!(yields, 3);
        budget.after_read(None).unwrap();
        assert!(!budget.before_read());

        budget
            .after_read(Some(ReadBudget::MAX_BYTES - 100))
            .unwrap();
        let err = budget.after_read(Some(1)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "the server sent more than 2097152 bytes in answer to one request"
        );
        budget.wrote();
        budget.after_read(Some(ReadBudget::MAX_BYTES)).unwrap();
    }
}
