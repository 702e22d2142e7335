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
///   [`TransportErrorKind::BodyTooLarge`](acme_proto::http::TransportErrorKind::BodyTooLarge);
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
