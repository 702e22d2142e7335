//! The bridge to [`acme_async`]: the [`Blocking`] runtime binding, the adapters that present
//! this crate's synchronous [`HttpClient`] and [`Solver`] as acme-async's asynchronous ones,
//! and [`block_on`], which runs the async client's futures on the calling thread.
//!
//! Every future the client polls here is ready on its first poll: the adapters do their work
//! (the HTTP exchange, the solver call) before returning, and [`Blocking::sleep`] blocks the
//! thread. So no executor is needed, only a loop that polls; it parks the thread in case a
//! future ever returns `Pending`, and the waker unparks it.

use crate::http_client::HttpClient;
use crate::solver::{Solver, SolverError};
use acme_async::BoxFuture;
use acme_proto::flow::{ChallengeSelector, ChallengeToSolve};
use acme_proto::http::{Request, Response, TransportError};
use acme_proto::msgs::resources::ChallengeType;
use std::future::{Future, ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

/// Binds [`acme_async::Client`] to plain threads: sleeping blocks the thread, and the default
/// HTTP client is the ureq-based [`DefaultClient`](crate::DefaultClient).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Blocking;

impl acme_async::Runtime for Blocking {
    const USER_AGENT: &'static str = concat!("acme-blocking/", env!("CARGO_PKG_VERSION"));

    fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
        // Blocking is what this crate does: the thread waits, as it did before the client
        // was shared with the async crates.
        Box::pin(async move { thread::sleep(duration) })
    }

    fn default_http_client(
        extra_roots: &[Vec<u8>],
        allow_http: bool,
    ) -> Result<Arc<dyn acme_async::HttpClient>, String> {
        #[cfg(feature = "default-client")]
        {
            let mut b = crate::http_client::DefaultClient::builder().allow_http(allow_http);
            for pem in extra_roots {
                b = b.add_root_pem(pem).map_err(|e| e.to_string())?;
            }
            Ok(Arc::new(AsyncHttp(b.build())))
        }
        #[cfg(not(feature = "default-client"))]
        {
            let _ = (extra_roots, allow_http);
            Err("no HTTP client: enable `default-client` or call http_client()".into())
        }
    }
}

/// A synchronous [`HttpClient`] as an [`acme_async::HttpClient`]: the exchange happens in
/// `execute`, which returns a ready future.
pub(crate) struct AsyncHttp<H>(pub(crate) H);

impl<H: HttpClient> acme_async::HttpClient for AsyncHttp<H> {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(ready(self.0.execute(request)))
    }
}

/// A synchronous [`Solver`] as an [`acme_async::Solver`]: `present` and `cleanup` run at the
/// call and return ready futures; the challenge types and the selection are the solver's own.
pub(crate) struct AsyncSolver<'s>(pub(crate) &'s dyn Solver);

impl acme_async::Solver for AsyncSolver<'_> {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        self.0.challenge_types()
    }

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        Box::pin(ready(self.0.present(c)))
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        Box::pin(ready(self.0.cleanup(c)))
    }

    fn selector(&self) -> ChallengeSelector {
        self.0.selector()
    }
}

/// Polls `future` to completion on the calling thread, parking the thread while it is
/// pending; its waker unparks the thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake-up before this park makes it return at once; a spurious return only costs
        // one more poll.
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::block_on;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll};
    use std::time::Duration;

    /// Pending until another thread sets the flag and wakes it.
    #[derive(Default)]
    struct WokenLater {
        done: Arc<AtomicBool>,
        started: bool,
    }

    impl Future for WokenLater {
        type Output = u8;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
            if self.done.load(Ordering::Acquire) {
                return Poll::Ready(7);
            }
            if !self.started {
                self.started = true;
                let (done, waker) = (self.done.clone(), cx.waker().clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    done.store(true, Ordering::Release);
                    waker.wake();
                });
            }
            Poll::Pending
        }
    }

    #[test]
    fn block_on_returns_ready_and_waits_for_wakeups() {
        assert_eq!(block_on(async { 1 + 1 }), 2);
        assert_eq!(block_on(WokenLater::default()), 7);
    }
}
