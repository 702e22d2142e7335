//! Hostile-server scenarios: what real CAs, proxies and networks send, against the fake
//! server in virtual time. One section per class of issue 7 (nonces, timing, error bodies,
//! legal variations, dead ends), each test asserting the exact outcome.

use acme_proto::Error;
use acme_proto::flow::*;
use acme_proto::http::{TransportError, TransportErrorKind};
use acme_proto::msgs::headers::MAX_RETRY_AFTER_DELAY;
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::problem::ProblemType;
use acme_proto::msgs::resources::{AuthorizationStatus, ChallengeType, OrderStatus};
use acme_proto::signer::Signer;
use acme_proto::testing::{
    self, FakeConfig, FakeServer, Injection, LoggedRequest, TestSigner, drive, solve_all,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SECOND: Duration = Duration::from_secs(1);

fn ids(names: &[&str]) -> Vec<Identifier> {
    names
        .iter()
        .map(|n| Identifier::parse(n).unwrap())
        .collect()
}

fn key(id: &str) -> Arc<dyn Signer> {
    Arc::new(TestSigner::new(id))
}

fn respond(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Injection {
    Injection::Respond {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_vec(),
    }
}

/// A problem document (`application/problem+json`) with extra headers.
fn problem_with(status: u16, kind: &str, headers: &[(&str, &str)]) -> Injection {
    let mut h = vec![("Content-Type", "application/problem+json")];
    h.extend_from_slice(headers);
    let body = json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": "scripted"});
    respond(status, &h, body.to_string().as_bytes())
}

fn transport(kind: TransportErrorKind) -> Injection {
    Injection::Transport(TransportError::new(kind, "scripted"))
}

struct World {
    session: Session,
    server: FakeServer,
    clock: SystemTime,
}

impl World {
    fn new(config: FakeConfig) -> World {
        World::with_policy(config, Policy::default())
    }

    fn with_policy(config: FakeConfig, policy: Policy) -> World {
        let mut server = FakeServer::new(config);
        let directory = server.public_url(&FakeServer::directory_url());
        World {
            session: Session::new(directory).with_policy(policy),
            server,
            clock: testing::epoch(),
        }
    }

    fn run<F: Flow>(&mut self, mut flow: F) -> Result<F::Output, Error> {
        drive(
            &mut flow,
            &mut self.session,
            &mut self.server,
            &mut self.clock,
            |_, _, _| {},
        )
    }

    fn account(&mut self) -> Result<Account, Error> {
        self.run(AccountFlow::create(
            key("k1"),
            NewAccount::default().agree_to_terms_of_service(true),
        ))
    }

    fn issue(&mut self, names: &[&str]) -> Result<CertificateBundle, Error> {
        self.issue_with(names, solve_all)
    }

    fn issue_with(
        &mut self,
        names: &[&str],
        on_event: impl FnMut(&mut IssueFlow, &mut FakeServer, Event),
    ) -> Result<CertificateBundle, Error> {
        let mut flow = IssueFlow::new(
            NewOrder::new(ids(names)),
            ChallengeSelector::default(),
            b"csr".to_vec(),
        );
        drive(
            &mut flow,
            &mut self.session,
            &mut self.server,
            &mut self.clock,
            on_event,
        )
    }

    /// `METHOD /path-prefix` of every request, numbers dropped.
    fn paths(&self) -> Vec<String> {
        self.server
            .log
            .iter()
            .map(|l| {
                format!(
                    "{} {}",
                    l.method,
                    l.path.split(|c: char| c.is_ascii_digit()).next().unwrap()
                )
            })
            .collect()
    }

    fn requests(&self, prefix: &str) -> Vec<&LoggedRequest> {
        self.server
            .log
            .iter()
            .filter(|l| l.path.starts_with(prefix))
            .collect()
    }

    /// Delays between consecutive requests to `prefix`.
    fn gaps(&self, prefix: &str) -> Vec<Duration> {
        self.requests(prefix)
            .windows(2)
            .map(|w| w[1].at.duration_since(w[0].at).unwrap())
            .collect()
    }

    /// Every signed request carried a nonce never used before.
    fn assert_nonces_fresh(&self) {
        let nonces: Vec<&String> = self
            .server
            .log
            .iter()
            .filter_map(|l| l.nonce.as_ref())
            .collect();
        let mut unique = nonces.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), nonces.len(), "a nonce was reused: {nonces:?}");
    }

    fn status_count(&self, status: u16) -> usize {
        self.server
            .log
            .iter()
            .filter(|l| l.status == status)
            .count()
    }
}

const FULL_ISSUANCE: [&str; 10] = [
    "GET /dir",
    "HEAD /nonce",
    "POST /new-account",
    "POST /new-order",
    "POST /authz/",
    "POST /chall/",
    "POST /order/",
    "POST /finalize/",
    "POST /order/",
    "POST /cert/",
];

// ---------------------------------------------------------------------------------------
// 1. Nonce trouble
// ---------------------------------------------------------------------------------------

#[test]
fn half_of_all_nonces_rejected_still_issues() {
    let mut w = World::new(FakeConfig {
        reject_every_nth_nonce: 2,
        ..FakeConfig::default()
    });
    w.account().unwrap();
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    // 8 signed requests succeed; every second valid nonce is refused, so each success after
    // the first costs one rejection: 15 signed requests, 7 of them refused, and the nonce of
    // each refusal is enough for the retry (no newNonce round trip).
    assert_eq!(w.status_count(400), 7);
    assert_eq!(w.server.log.len(), 2 + 15);
    assert_eq!(w.requests("/nonce").len(), 1);
    w.assert_nonces_fresh();
}

#[test]
fn twenty_consecutive_bad_nonces_are_survived_twenty_one_are_not() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    for _ in 0..20 {
        w.server
            .inject("/new-order", Injection::problem(400, "badNonce", "stale"));
    }
    w.issue(&["example.org"]).unwrap();
    assert_eq!(w.requests("/new-order").len(), 21);
    w.assert_nonces_fresh();

    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    for _ in 0..21 {
        w.server
            .inject("/new-order", Injection::problem(400, "badNonce", "stale"));
    }
    let err = w.issue(&["example.org"]).unwrap_err();
    match &err {
        Error::Server {
            url,
            status,
            problem,
        } => {
            assert_eq!(
                (url.as_str(), *status, &problem.kind),
                ("https://acme.test/new-order", 400, &ProblemType::BadNonce)
            );
            assert_eq!(problem.detail.as_deref(), Some("stale"));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(w.requests("/new-order").len(), 21);
}

#[test]
fn bad_nonce_without_replay_nonce_fetches_a_fresh_one() {
    let mut w = World::new(FakeConfig {
        nonce_on_errors: false,
        ..FakeConfig::default()
    });
    w.account().unwrap();
    w.server
        .inject("/new-order", Injection::problem(400, "badNonce", "stale"));
    w.issue(&["example.org"]).unwrap();
    assert_eq!(
        &w.paths()[3..6],
        ["POST /new-order", "HEAD /nonce", "POST /new-order"]
    );
    w.assert_nonces_fresh();
}

#[test]
fn no_error_response_carries_a_nonce() {
    let mut w = World::new(FakeConfig {
        nonce_on_errors: false,
        reject_every_nth_nonce: 3,
        ..FakeConfig::default()
    });
    w.server.inject(
        "/finalize/",
        problem_with(503, "serverInternal", &[("Retry-After", "1")]),
    );
    w.server.inject(
        "/finalize/",
        Injection::problem(403, "orderNotReady", "not yet"),
    );
    w.account().unwrap();
    w.issue(&["example.org"]).unwrap();
    let errors = w.server.log.iter().filter(|l| l.status >= 400).count();
    assert!(errors >= 4, "{:?}", w.paths());
    // Every error left the pool empty: one newNonce round trip each, plus the first.
    assert_eq!(w.requests("/nonce").len(), 1 + errors);
    w.assert_nonces_fresh();
}

#[test]
fn new_nonce_may_answer_any_2xx() {
    for status in [200, 201, 202, 203, 204, 205, 206, 226, 299] {
        let mut w = World::new(FakeConfig {
            nonce_success_status: Some(status),
            ..FakeConfig::default()
        });
        w.account().unwrap();
        assert_eq!(
            w.paths(),
            ["GET /dir", "HEAD /nonce", "POST /new-account"],
            "{status}"
        );
        assert_eq!(w.server.log[1].status, status);
    }
}

#[test]
fn new_nonce_answering_only_get_is_detected_whatever_the_refusal() {
    for refusal in [405, 400, 403, 404, 501] {
        let mut w = World::new(FakeConfig {
            nonce_head: false,
            nonce_refusal_status: refusal,
            nonce_on_errors: false,
            ..FakeConfig::default()
        });
        w.account().unwrap();
        assert_eq!(
            w.paths(),
            ["GET /dir", "HEAD /nonce", "GET /nonce", "POST /new-account"],
            "{refusal}"
        );
        // The next nonce is fetched with GET straight away.
        w.server
            .inject("/new-order", Injection::problem(400, "badNonce", "stale"));
        w.issue(&["example.org"]).unwrap();
        let nonce_requests: Vec<&str> = w
            .requests("/nonce")
            .iter()
            .map(|l| l.method.as_str())
            .collect();
        assert_eq!(nonce_requests, ["HEAD", "GET", "GET"], "{refusal}");
    }
}

#[test]
fn new_nonce_answering_only_head_is_used_as_is() {
    let mut w = World::new(FakeConfig {
        nonce_get: false,
        ..FakeConfig::default()
    });
    w.account().unwrap();
    assert_eq!(w.paths(), ["GET /dir", "HEAD /nonce", "POST /new-account"]);
}

#[test]
fn new_nonce_answering_neither_method_is_an_error() {
    let mut w = World::new(FakeConfig {
        nonce_head: false,
        nonce_get: false,
        ..FakeConfig::default()
    });
    let err = w.account().unwrap_err();
    match err {
        Error::Server {
            url,
            status,
            problem,
        } => {
            assert_eq!((url.as_str(), status), ("https://acme.test/nonce", 405));
            assert_eq!(problem.kind, ProblemType::Malformed);
            assert_eq!(problem.detail.as_deref(), Some("method not allowed"));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(w.paths(), ["GET /dir", "HEAD /nonce", "GET /nonce"]);
}

#[test]
fn head_answer_stripped_of_its_nonce_falls_back_to_get() {
    for nonce_header in [None, Some("padded="), Some("not a nonce"), Some("")] {
        let mut w = World::new(FakeConfig {
            nonce_on_errors: false,
            ..FakeConfig::default()
        });
        let headers: Vec<(&str, &str)> = nonce_header
            .map(|n| vec![("Replay-Nonce", n)])
            .unwrap_or_default();
        w.server.inject("/nonce", respond(200, &headers, b""));
        w.account().unwrap();
        assert_eq!(
            w.paths(),
            ["GET /dir", "HEAD /nonce", "GET /nonce", "POST /new-account"],
            "{nonce_header:?}"
        );
        assert_eq!(
            w.clock,
            testing::epoch(),
            "no back-off for a switch of method"
        );
    }
}

#[test]
fn new_nonce_that_never_yields_a_nonce_is_given_up_on() {
    let mut w = World::new(FakeConfig {
        nonce_on_errors: false,
        ..FakeConfig::default()
    });
    for _ in 0..10 {
        w.server.inject("/nonce", respond(200, &[], b""));
    }
    let err = w.account().unwrap_err();
    assert_eq!(
        err,
        Error::Protocol {
            url: "https://acme.test/nonce".into(),
            status: 200,
            reason: "newNonce response carries no valid Replay-Nonce".into(),
            body_snippet: String::new(),
        }
    );
    // HEAD, then GET and its 3 retries after 1 s, 2 s and 4 s.
    assert_eq!(
        w.paths(),
        [
            "GET /dir",
            "HEAD /nonce",
            "GET /nonce",
            "GET /nonce",
            "GET /nonce",
            "GET /nonce"
        ]
    );
    assert_eq!(w.gaps("/nonce")[1..], [SECOND, 2 * SECOND, 4 * SECOND]);
}

// ---------------------------------------------------------------------------------------
// 2. Timing
// ---------------------------------------------------------------------------------------

/// A world with an account, whose next newOrder is answered 503 with this `Retry-After`.
fn new_order_503_with_retry_after(value: &str) -> (World, Result<CertificateBundle, Error>) {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/new-order",
        problem_with(503, "serverInternal", &[("Retry-After", value)]),
    );
    let result = w.issue(&["example.org"]);
    (w, result)
}

#[test]
fn retry_after_on_5xx_in_every_form() {
    let ms = Duration::from_millis;
    // epoch() is Thu, 01 Jan 2026 00:00:00 GMT and the account costs no virtual time.
    for (value, wait) in [
        ("3", 3 * SECOND),
        (" 3 ", 3 * SECOND),
        ("0", ms(100)),
        ("60", 60 * SECOND),
        ("Thu, 01 Jan 2026 00:00:05 GMT", 5 * SECOND),
        ("Thursday, 01-Jan-26 00:00:05 GMT", 5 * SECOND),
        ("Thu Jan  1 00:00:05 2026", 5 * SECOND),
        // In the past: retried after the minimum, never at once in a loop.
        ("Wed, 31 Dec 2025 23:59:00 GMT", ms(100)),
        // Malformed: ignored, the default back-off applies.
        ("soon", SECOND),
        ("-5", SECOND),
        ("1.5", SECOND),
        ("", SECOND),
        ("Thu, 01 Jan 2026 25:00:00 GMT", SECOND),
    ] {
        let (w, result) = new_order_503_with_retry_after(value);
        result.unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(w.gaps("/new-order"), [wait], "{value:?}");
    }
}

#[test]
fn retry_after_beyond_the_cap_ends_the_call_with_the_retry_time() {
    let t0 = testing::epoch();
    for (value, retry_at) in [
        ("61", t0 + 61 * SECOND),
        ("86400", t0 + 86_400 * SECOND),
        ("99999999999999999999", t0 + MAX_RETRY_AFTER_DELAY),
        (
            "Fri, 31 Dec 9999 23:59:59 GMT",
            SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799),
        ),
    ] {
        let (w, result) = new_order_503_with_retry_after(value);
        let err = result.unwrap_err();
        match &err {
            Error::Server {
                status, problem, ..
            } => {
                assert_eq!(
                    (*status, &problem.kind),
                    (503, &ProblemType::ServerInternal)
                );
            }
            e => panic!("{value:?}: unexpected {e:?}"),
        }
        assert_eq!(err.retry_after(), Some(retry_at), "{value:?}");
        assert_eq!(w.requests("/new-order").len(), 1, "{value:?}");
        assert_eq!(w.clock, t0, "{value:?}: the library must not sleep");
    }
}

#[test]
fn rate_limits_are_returned_at_once_whatever_the_status() {
    let t0 = testing::epoch();
    for (prefix, status) in [
        ("/dir", 503),
        ("/nonce", 503),
        ("/nonce", 429),
        ("/new-account", 400),
        ("/new-order", 429),
        ("/new-order", 403),
        ("/new-order", 503),
        ("/new-order", 500),
        ("/authz/", 429),
        ("/chall/", 502),
        ("/finalize/", 503),
    ] {
        let mut w = World::new(FakeConfig::default());
        let before_account = matches!(prefix, "/dir" | "/nonce" | "/new-account");
        if !before_account {
            w.account().unwrap();
        }
        // 30 s is within what a transient failure would be retried after: a rate limit
        // still is not.
        w.server.inject(
            prefix,
            problem_with(status, "rateLimited", &[("Retry-After", "30")]),
        );
        let err = if before_account {
            w.account().unwrap_err()
        } else {
            w.issue(&["example.org"]).unwrap_err()
        };
        let at_failure = w.requests(prefix).last().unwrap().at;
        assert!(err.is_rate_limited(), "{prefix} {status}: {err:?}");
        assert_eq!(
            err.retry_after(),
            Some(at_failure + 30 * SECOND),
            "{prefix} {status}"
        );
        match &err {
            Error::Server { status: s, .. } => assert_eq!(*s, status),
            e => panic!("{prefix}: unexpected {e:?}"),
        }
        assert_eq!(w.requests(prefix).len(), 1, "{prefix} {status}: retried");
        assert!(
            w.server.log.last().unwrap().path.starts_with(prefix),
            "{prefix} {status}: went on after the rate limit"
        );
        if prefix != "/finalize/" && prefix != "/chall/" {
            assert_eq!(w.clock, t0, "{prefix} {status}: slept");
        }
    }
}

#[test]
fn rate_limit_variants_keep_their_retry_time() {
    let t0 = testing::epoch();
    type Case = (&'static [(&'static str, &'static str)], Option<SystemTime>);
    let cases: [Case; 4] = [
        // An HTTP date.
        (
            &[("Retry-After", "Thu, 01 Jan 2026 06:00:00 GMT")],
            Some(t0 + 6 * 3600 * SECOND),
        ),
        // No Retry-After: no retry time, still not retried.
        (&[], None),
        // Unparsable Retry-After.
        (&[("Retry-After", "later")], None),
        // Served as plain JSON rather than problem+json.
        (
            &[("Content-Type", "application/json"), ("Retry-After", "10")],
            Some(t0 + 10 * SECOND),
        ),
    ];
    for (headers, retry_at) in cases {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        let body = br#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many"}"#;
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if !h.iter().any(|(k, _)| *k == "Content-Type") {
            h.push(("Content-Type", "application/problem+json"));
        }
        w.server.inject("/new-order", respond(429, &h, body));
        let err = w.issue(&["example.org"]).unwrap_err();
        assert!(err.is_rate_limited(), "{headers:?}: {err:?}");
        assert_eq!(err.retry_after(), retry_at, "{headers:?}");
        assert_eq!(w.requests("/new-order").len(), 1);
        assert_eq!(w.clock, t0);
    }
}

#[test]
fn polling_honours_retry_after_within_bounds() {
    let ms = Duration::from_millis;
    for (value, wait) in [
        ("2", 2 * SECOND),
        ("0", ms(100)),
        ("Wed, 31 Dec 2025 23:59:00 GMT", ms(100)),
        ("7200", 60 * SECOND),
        ("99999999999999999999", 60 * SECOND),
        // Unusable: the default schedule (a 50 ms first look).
        ("whenever", ms(50)),
    ] {
        let mut w = World::new(FakeConfig {
            retry_after: Some(value.into()),
            processing_polls: 1,
            ..FakeConfig::default()
        });
        w.account().unwrap();
        w.issue(&["example.org"]).unwrap();
        let finalize = w.requests("/finalize/")[0].at;
        let poll = w.requests("/order/")[1].at;
        assert_eq!(poll.duration_since(finalize).unwrap(), wait, "{value:?}");
    }
}

#[test]
fn validation_deadline_is_checked_at_the_deadline_itself() {
    let mut policy = Policy::default();
    policy.validation_timeout = 100 * SECOND;
    let mut w = World::with_policy(
        FakeConfig {
            pending_polls: u32::MAX,
            retry_after: Some("45".into()),
            ..FakeConfig::default()
        },
        policy,
    );
    w.account().unwrap();
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: "authorizations to become valid (pending: dns:example.org)".into(),
            url: "https://acme.test/order/5".into(),
        }
    );
    let triggered = w.requests("/chall/")[0].at;
    let polls: Vec<Duration> = w
        .requests("/order/")
        .iter()
        .map(|l| l.at.duration_since(triggered).unwrap())
        .collect();
    assert_eq!(polls, [45 * SECOND, 90 * SECOND, 100 * SECOND]);
    assert_eq!(w.clock, triggered + 100 * SECOND);
}

#[test]
fn issuance_deadline_bounds_processing() {
    let mut policy = Policy::default();
    policy.issuance_timeout = 30 * SECOND;
    let mut w = World::with_policy(
        FakeConfig {
            processing_polls: u32::MAX,
            retry_after: Some("20".into()),
            ..FakeConfig::default()
        },
        policy,
    );
    w.account().unwrap();
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: "the order to leave `processing`".into(),
            url: "https://acme.test/order/5".into(),
        }
    );
    let finalized = w.requests("/finalize/")[0].at;
    let polls: Vec<Duration> = w
        .requests("/order/")
        .iter()
        .skip(1)
        .map(|l| l.at.duration_since(finalized).unwrap())
        .collect();
    assert_eq!(polls, [20 * SECOND, 30 * SECOND]);
}

#[test]
fn transient_failures_are_retried_with_backoff_and_fresh_nonces() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/finalize/",
        respond(
            503,
            &[("Content-Type", "text/html")],
            b"<h1>Service Unavailable</h1>",
        ),
    );
    w.server
        .inject("/finalize/", transport(TransportErrorKind::Timeout));
    w.server
        .inject("/finalize/", respond(502, &[], b"bad gateway"));
    w.issue(&["example.org"]).unwrap();
    let finalize = w.requests("/finalize/");
    assert_eq!(
        finalize.iter().map(|l| l.status).collect::<Vec<_>>(),
        [503, 0, 502, 200]
    );
    assert_eq!(w.gaps("/finalize/"), [SECOND, 2 * SECOND, 4 * SECOND]);
    // Re-signed with a fresh nonce each time.
    let mut nonces: Vec<&str> = finalize
        .iter()
        .map(|l| l.nonce.as_deref().unwrap())
        .collect();
    nonces.sort_unstable();
    nonces.dedup();
    assert_eq!(nonces.len(), 4);
    w.assert_nonces_fresh();
}

#[test]
fn backoff_is_capped() {
    let mut policy = Policy::default();
    policy.max_transient_retries = 6;
    policy.transient_backoff = 10 * SECOND;
    let mut w = World::with_policy(FakeConfig::default(), policy);
    w.account().unwrap();
    for _ in 0..6 {
        w.server
            .inject("/new-order", transport(TransportErrorKind::Connect));
    }
    w.issue(&["example.org"]).unwrap();
    assert_eq!(
        w.gaps("/new-order"),
        [10, 20, 40, 60, 60, 60].map(|s| s * SECOND)
    );
    w.assert_nonces_fresh();
}

#[test]
fn transient_budget_ends_with_a_typed_transport_error() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    for _ in 0..4 {
        w.server
            .inject("/finalize/", transport(TransportErrorKind::Timeout));
    }
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err,
        Error::Transport {
            url: "https://acme.test/finalize/5".into(),
            error: TransportError::new(TransportErrorKind::Timeout, "scripted"),
        }
    );
    assert_eq!(w.requests("/finalize/").len(), 4);
    w.assert_nonces_fresh();
}

#[test]
fn permanent_transport_failures_are_not_retried() {
    for kind in [
        TransportErrorKind::Tls,
        TransportErrorKind::BodyTooLarge,
        TransportErrorKind::InvalidUrl,
        TransportErrorKind::Other,
    ] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        w.server.inject("/new-order", transport(kind));
        let err = w.issue(&["example.org"]).unwrap_err();
        assert_eq!(
            err,
            Error::Transport {
                url: "https://acme.test/new-order".into(),
                error: TransportError::new(kind, "scripted"),
            }
        );
        assert_eq!(w.requests("/new-order").len(), 1, "{kind:?}");
    }
}

#[test]
fn only_transient_5xx_are_retried() {
    for (status, attempts) in [(500, 2), (502, 2), (503, 2), (504, 2), (501, 1), (505, 1)] {
        let mut w = World::new(FakeConfig::default());
        w.server.inject(
            "/dir",
            respond(status, &[("Content-Type", "text/plain")], b"x"),
        );
        let result = w.account();
        assert_eq!(w.requests("/dir").len(), attempts, "{status}");
        assert_eq!(result.is_ok(), attempts == 2, "{status}");
    }
}

// ---------------------------------------------------------------------------------------
// 3. Error bodies that are not clean problem documents
// ---------------------------------------------------------------------------------------

fn new_order_error(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Error {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server
        .inject("/new-order", respond(status, headers, body));
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(w.requests("/new-order").len(), 1);
    err
}

fn protocol(status: u16, reason: &str, snippet: &str) -> Error {
    Error::Protocol {
        url: "https://acme.test/new-order".into(),
        status,
        reason: reason.into(),
        body_snippet: snippet.into(),
    }
}

#[test]
fn error_bodies_that_are_not_problem_documents_name_status_url_and_snippet() {
    let html = "<html><head><title>403 Forbidden</title></head><body>nginx</body></html>";
    type Case = (u16, Vec<(&'static str, &'static str)>, Vec<u8>, Error);
    let cases: Vec<Case> = vec![
        (
            403,
            vec![("Content-Type", "text/html; charset=utf-8")],
            html.into(),
            protocol(403, "HTTP 403 without a problem document (text/html)", html),
        ),
        (
            404,
            vec![("Content-Type", "text/plain")],
            b"404 page not found\n".to_vec(),
            protocol(
                404,
                "HTTP 404 without a problem document (text/plain)",
                "404 page not found",
            ),
        ),
        (
            400,
            vec![],
            Vec::new(),
            protocol(
                400,
                "HTTP 400 without a problem document (no content type)",
                "",
            ),
        ),
        (
            400,
            vec![("Content-Type", "application/json")],
            b"[1,2,3]".to_vec(),
            protocol(
                400,
                "HTTP 400 without a problem document (application/json)",
                "[1,2,3]",
            ),
        ),
        (
            400,
            vec![("Content-Type", "application/json")],
            br#"{"error":{"code":400,"message":"denied"}}"#.to_vec(),
            protocol(
                400,
                "HTTP 400 without a problem document (application/json)",
                r#"{"error":{"code":400,"message":"denied"}}"#,
            ),
        ),
        (
            400,
            vec![("Content-Type", "application/problem+json")],
            br#"{"type":"urn:ietf:params:acme:error:malformed","det"#.to_vec(),
            protocol(
                400,
                "HTTP 400 without a problem document (application/problem+json)",
                r#"{"type":"urn:ietf:params:acme:error:malformed","det"#,
            ),
        ),
        // A problem document missing both `type` and `detail` explains nothing.
        (
            403,
            vec![("Content-Type", "application/problem+json")],
            br#"{"status":403}"#.to_vec(),
            protocol(
                403,
                "HTTP 403 with a problem document that has neither type nor detail",
                r#"{"status":403}"#,
            ),
        ),
        // Members of the wrong type are dropped, which leaves nothing either.
        (
            400,
            vec![("Content-Type", "application/problem+json")],
            br#"{"type":5,"detail":["x"]}"#.to_vec(),
            protocol(
                400,
                "HTTP 400 with a problem document that has neither type nor detail",
                r#"{"type":5,"detail":["x"]}"#,
            ),
        ),
        // Binary junk and control characters: lossy, cleaned.
        (
            400,
            vec![("Content-Type", "application/octet-stream")],
            b"\xff\xfe<h1>\x00bad\tgateway\r\n</h1>".to_vec(),
            protocol(
                400,
                "HTTP 400 without a problem document (application/octet-stream)",
                "\u{fffd}\u{fffd}<h1> bad gateway  </h1>",
            ),
        ),
    ];
    for (status, headers, body, expected) in cases {
        let err = new_order_error(status, &headers, &body);
        assert_eq!(err, expected, "{}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn error_text_names_status_url_and_a_short_snippet() {
    let big = format!("<html><body>{}</body></html>", "x".repeat(10_000));
    let err = new_order_error(403, &[("Content-Type", "text/html")], big.as_bytes());
    let Error::Protocol { body_snippet, .. } = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(body_snippet.chars().count(), 201);
    assert_eq!(body_snippet, &format!("<html><body>{}…", "x".repeat(188)));
    assert_eq!(
        err.to_string(),
        format!(
            "protocol violation by the server (HTTP 403 from https://acme.test/new-order): \
             HTTP 403 without a problem document (text/html); body starts: \"<html><body>{}…\"",
            "x".repeat(188)
        )
    );
}

#[test]
fn problem_documents_missing_members_are_still_problems() {
    // No `type`: about:blank with the detail, when declared as a problem document.
    let err = new_order_error(
        403,
        &[("Content-Type", "application/problem+json")],
        br#"{"detail":"account suspended"}"#,
    );
    match &err {
        Error::Server {
            url,
            status,
            problem,
        } => {
            assert_eq!(
                (url.as_str(), *status),
                ("https://acme.test/new-order", 403)
            );
            assert_eq!(problem.kind, ProblemType::Other("about:blank".into()));
            assert_eq!(problem.detail.as_deref(), Some("account suspended"));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the CA refused (HTTP 403 from https://acme.test/new-order): about:blank: account suspended"
    );
    // No `detail`, and an ACME type served with the wrong media type.
    let err = new_order_error(
        401,
        &[("Content-Type", "text/html")],
        br#"{"type":"urn:ietf:params:acme:error:unauthorized"}"#,
    );
    match err {
        Error::Server {
            status, problem, ..
        } => {
            assert_eq!((status, problem.kind), (401, ProblemType::Unauthorized));
            assert_eq!(problem.detail, None);
        }
        e => panic!("unexpected {e:?}"),
    }
    // An unknown type is kept verbatim.
    let err = new_order_error(
        400,
        &[("Content-Type", "application/problem+json")],
        br#"{"type":"urn:ietf:params:acme:error:somethingNew","detail":"d","extra":{"a":1}}"#,
    );
    assert_eq!(
        err.problem_type(),
        Some(&ProblemType::Other(
            "urn:ietf:params:acme:error:somethingNew".into()
        ))
    );
}

#[test]
fn success_bodies_of_the_wrong_shape_are_protocol_errors() {
    // newOrder answered with HTML.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/new-order",
        respond(
            201,
            &[
                ("Content-Type", "text/html"),
                ("Location", "https://acme.test/order/99"),
            ],
            b"<html>ok</html>",
        ),
    );
    match w.issue(&["example.org"]).unwrap_err() {
        Error::Protocol {
            url,
            status,
            reason,
            body_snippet,
        } => {
            assert_eq!((url.as_str(), status), ("https://acme.test/new-order", 201));
            assert!(reason.starts_with("invalid order object: "), "{reason}");
            assert_eq!(body_snippet, "<html>ok</html>");
        }
        e => panic!("unexpected {e:?}"),
    }
    // An authorization that is a JSON array.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject("/authz/", respond(200, &[], b"[]"));
    match w.issue(&["example.org"]).unwrap_err() {
        Error::Protocol {
            url,
            reason,
            body_snippet,
            ..
        } => {
            assert_eq!(url, "https://acme.test/authz/4");
            assert!(
                reason.starts_with("invalid authorization object: "),
                "{reason}"
            );
            assert_eq!(body_snippet, "[]");
        }
        e => panic!("unexpected {e:?}"),
    }
    // A certificate that is JSON.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/cert/",
        respond(200, &[("Content-Type", "application/json")], b"{}"),
    );
    assert_eq!(
        w.issue(&["example.org"]).unwrap_err(),
        Error::Protocol {
            url: "https://acme.test/cert/5".into(),
            status: 200,
            reason: "certificate response is not a PEM certificate chain".into(),
            body_snippet: "{}".into(),
        }
    );
    // A directory that is an HTML page (a captive portal, a wrong URL).
    let mut w = World::new(FakeConfig::default());
    w.server.inject(
        "/dir",
        respond(
            200,
            &[("Content-Type", "text/html")],
            b"<html>Welcome</html>",
        ),
    );
    match w.account().unwrap_err() {
        Error::Protocol {
            url,
            status,
            reason,
            body_snippet,
        } => {
            assert_eq!((url.as_str(), status), ("https://acme.test/dir", 200));
            assert!(reason.starts_with("invalid directory: "), "{reason}");
            assert_eq!(body_snippet, "<html>Welcome</html>");
        }
        e => panic!("unexpected {e:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 4. Legal variations, parsed liberally
// ---------------------------------------------------------------------------------------

#[test]
fn any_2xx_is_success() {
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/new-account", |s, _, _| *s = 200);
    w.server.rewrite("/new-order", |s, _, _| *s = 200);
    w.server.rewrite("/authz/", |s, _, _| *s = 203);
    w.server.rewrite("/chall/", |s, _, _| *s = 202);
    w.server.rewrite("/order/", |s, _, _| *s = 203);
    w.server.rewrite("/finalize/", |s, _, _| *s = 201);
    w.server.rewrite("/cert/", |s, _, _| *s = 203);
    let account = w.account().unwrap();
    assert!(!account.created, "only 201 means created");
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    assert_eq!(w.paths(), FULL_ISSUANCE);
    assert_eq!(
        w.server.log.iter().map(|l| l.status).collect::<Vec<_>>(),
        [200, 200, 200, 200, 203, 202, 203, 201, 203, 203]
    );
}

#[test]
fn media_types_with_parameters_and_odd_case() {
    let mut w = World::new(FakeConfig::default());
    fn json_ct(_: &mut u16, h: &mut Vec<(String, String)>, _: &mut Value) {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        h.push((
            "content-type".into(),
            "Application/JSON ; Charset=UTF-8".into(),
        ));
    }
    #[allow(clippy::ptr_arg)] // the signature of `Rewrite`
    fn pem_ct(_: &mut u16, h: &mut Vec<(String, String)>, _: &mut Value) {
        for (k, v) in h.iter_mut() {
            if k.eq_ignore_ascii_case("content-type") {
                *v = "application/PEM-Certificate-Chain; charset=us-ascii".into();
            }
        }
    }
    for prefix in [
        "/dir",
        "/new-account",
        "/new-order",
        "/authz/",
        "/chall/",
        "/order/",
        "/finalize/",
    ] {
        w.server.rewrite(prefix, json_ct);
    }
    w.server.rewrite("/cert/", pem_ct);
    w.account().unwrap();
    w.issue(&["example.org"]).unwrap();
    // A problem document without `type` is recognised by its declared media type, whatever
    // its case and parameters.
    w.server.inject(
        "/new-order",
        respond(
            403,
            &[("Content-Type", "APPLICATION/Problem+JSON ;charset=utf-8")],
            br#"{"detail":"no"}"#,
        ),
    );
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err.problem_type(),
        Some(&ProblemType::Other("about:blank".into()))
    );
}

#[test]
fn absent_optional_members() {
    fn strip(v: &mut Value, members: &[&str]) {
        if let Value::Object(m) = v {
            for k in members {
                m.remove(*k);
            }
        }
    }
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/dir", |_, _, v| {
        strip(
            v,
            &["meta", "revokeCert", "keyChange", "newAuthz", "renewalInfo"],
        )
    });
    w.server.rewrite("/new-account", |_, _, v| {
        strip(v, &["status", "contact", "orders"])
    });
    for prefix in ["/new-order", "/order/", "/finalize/"] {
        w.server.rewrite(prefix, |_, _, v| {
            strip(
                v,
                &["expires", "identifiers", "notBefore", "notAfter", "error"],
            )
        });
    }
    w.server.rewrite("/authz/", |_, _, v| {
        strip(v, &["expires", "wildcard"]);
        if let Some(Value::Array(challenges)) = v.get_mut("challenges") {
            for c in challenges {
                strip(c, &["status", "validated", "error"]);
                // Only http-01 keeps its token: the others cannot be chosen.
                if c["type"] != "http-01" {
                    strip(c, &["token"]);
                }
            }
        }
    });
    w.server.rewrite("/chall/", |_, _, v| {
        strip(v, &["status", "validated", "token"])
    });
    let account = w.account().unwrap();
    assert_eq!(account.resource.orders, None);
    let mut chosen = Vec::new();
    let bundle = w
        .issue_with(&["example.org"], |f, s, ev| {
            if let Event::Challenges(list) = &ev {
                chosen.extend(list.iter().map(|c| c.kind().clone()));
            }
            solve_all(f, s, ev)
        })
        .unwrap();
    assert_eq!(chosen, [ChallengeType::Http01]);
    assert_eq!(w.paths(), FULL_ISSUANCE);
    assert_eq!(bundle.order.expires, None);
    assert_eq!(bundle.order.identifiers, Vec::<Identifier>::new());
}

#[test]
fn account_answers_without_a_body() {
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/new-account", |_, h, v| {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        *v = Value::Null;
    });
    let created = w.account().unwrap();
    assert!(created.created);
    assert_eq!(created.url, "https://acme.test/acct/2");
    assert_eq!(created.resource.status, None);
    let found = w.run(AccountFlow::find(key("k1"))).unwrap();
    assert_eq!(
        (found.url.as_str(), found.created),
        ("https://acme.test/acct/2", false)
    );
}

#[test]
fn unknown_members_and_values() {
    fn sprinkle(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.values_mut().for_each(sprinkle);
                m.insert("x-vendor".into(), json!({"nested": [1, "two", null]}));
                m.insert("zzTopLevelFlag".into(), json!(true));
            }
            Value::Array(items) => items.iter_mut().for_each(sprinkle),
            _ => {}
        }
    }
    let mut w = World::new(FakeConfig {
        extra_challenges: vec!["dns-persist-99".into(), "http-02".into()],
        ..FakeConfig::default()
    });
    for prefix in [
        "/dir",
        "/new-account",
        "/new-order",
        "/authz/",
        "/chall/",
        "/order/",
        "/finalize/",
    ] {
        w.server.rewrite(prefix, |_, _, v| sprinkle(v));
    }
    // An unknown challenge type offered first, and an unknown directory endpoint.
    w.server.rewrite("/authz/", |_, _, v| {
        if let Some(Value::Array(c)) = v.get_mut("challenges") {
            c.insert(
                0,
                json!({"type": "quantum-01", "url": "https://acme.test/chall/q", "token": "q"}),
            );
        }
    });
    w.server.rewrite("/dir", |_, _, v| {
        v["newQuantumThing"] = json!("https://acme.test/quantum");
    });
    w.account().unwrap();
    let mut offered = Vec::new();
    let bundle = w
        .issue_with(&["example.org"], |f, s, ev| {
            if let Event::Challenges(list) = &ev {
                offered.extend(list.iter().map(|c| c.kind().clone()));
            }
            solve_all(f, s, ev)
        })
        .unwrap();
    assert_eq!(offered, [ChallengeType::Http01]);
    assert_eq!(w.paths(), FULL_ISSUANCE);
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    let dir = w.session.directory().unwrap();
    assert_eq!(dir.new_order, "https://acme.test/new-order");
}

#[test]
fn rfc3339_timestamps_of_any_precision() {
    let t = |secs: u64, nanos: u32| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    // 2026-02-01T00:00:00Z = 1769904000.
    let feb1 = 1_769_904_000;
    for (start, end, expected) in [
        (
            "2026-02-01T00:00:00Z",
            "2026-02-02T00:00:00Z",
            (t(feb1, 0), t(feb1 + 86_400, 0)),
        ),
        (
            "2026-02-01T00:00:00.5Z",
            "2026-02-02T00:00:00.25Z",
            (t(feb1, 500_000_000), t(feb1 + 86_400, 250_000_000)),
        ),
        (
            "2026-02-01T00:00:00.123456789Z",
            "2026-02-02T00:00:00.000000001Z",
            (t(feb1, 123_456_789), t(feb1 + 86_400, 1)),
        ),
        // More than nine digits: truncated to nanoseconds.
        (
            "2026-02-01t00:00:00.123456789987654321z",
            "2026-02-02T00:00:00.9999999999Z",
            (t(feb1, 123_456_789), t(feb1 + 86_400, 999_999_999)),
        ),
        // Offsets.
        (
            "2026-02-01T01:00:00.1+01:00",
            "2026-02-01T19:30:00-05:30",
            (t(feb1, 100_000_000), t(feb1 + 90_000, 0)),
        ),
    ] {
        let mut w = World::new(FakeConfig {
            renewal_info: true,
            ..FakeConfig::default()
        });
        w.server.set_renewal_window("aaaa.bbbb", start, end);
        let info = w.run(RenewalInfoFlow::new("aaaa.bbbb")).unwrap();
        assert_eq!(
            (info.window_start, info.window_end),
            expected,
            "{start} {end}"
        );
    }
    // Order timestamps are kept as written.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/order/", |_, _, v| {
        v["expires"] = json!("2026-01-08T00:00:00.123456789012+00:00");
    });
    w.account().unwrap();
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(
        bundle.order.expires.as_deref(),
        Some("2026-01-08T00:00:00.123456789012+00:00")
    );
}

#[test]
fn several_link_headers_and_several_links_in_one() {
    let mut w = World::new(FakeConfig {
        alternate_chains: 3,
        ..FakeConfig::default()
    });
    // The three alternates, spread over two headers among other relations, odd spacing,
    // case and quoting.
    w.server.rewrite("/cert/", |_, h, _| {
        let alts: Vec<String> = h
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("link"))
            .map(|(_, v)| v.split(['<', '>']).nth(1).unwrap_or_default().to_owned())
            .collect();
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("link"));
        if alts.len() == 3 {
            h.push((
                "Link".into(),
                format!(
                    "<https://acme.test/dir>;rel=\"index\", <{}> ; REL = alternate ; title=\"a, b; c\", <https://acme.test/x>; rel=up",
                    alts[0]
                ),
            ));
            h.push((
                "link".into(),
                format!("<{}>;rel=\"Alternate\",<{}>; rel=\"up alternate\"", alts[1], alts[2]),
            ));
        }
    });
    w.account().unwrap();
    let bundle = w.issue(&["example.org"]).unwrap();
    let urls: Vec<&str> = bundle.alternates.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://acme.test/cert/5/alt/1",
            "https://acme.test/cert/5/alt/2",
            "https://acme.test/cert/5/alt/3",
        ]
    );
    // Orders list: `next` among other links in one header.
    let mut w = World::new(FakeConfig {
        orders_per_page: 1,
        ..FakeConfig::default()
    });
    w.server.rewrite("/orders/", |_, h, _| {
        for (k, v) in h.iter_mut() {
            if k.eq_ignore_ascii_case("link") {
                *v = format!("<https://acme.test/dir>;rel=index, {v}, <https://acme.test/tos>;rel=\"terms-of-service\"");
            }
        }
    });
    let account = w.account().unwrap();
    let mut orders = Vec::new();
    for name in ["a.example", "b.example", "c.example"] {
        orders.push(w.issue(&[name]).unwrap().order_url);
    }
    let listed = w
        .run(OrdersListFlow::new(account.resource.orders.unwrap()))
        .unwrap();
    assert_eq!(listed, orders);
}

/// Odd but legal: upper-case scheme and host, an explicit default port, sub-delimiters,
/// `~`, `:` and `@` and percent-encoding in the path, and a query string.
fn odd_url(canonical: &str) -> String {
    let rest = canonical.strip_prefix(testing::BASE).unwrap_or(canonical);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, format!("{q}&x=%7E~")),
        None => (rest, "x=%7E~".to_owned()),
    };
    format!("HTTPS://ACME.Test:443/acme%2Dv02/~u;p=1/!$&'()*+,=:@{path}?{query}")
}

#[test]
fn urls_are_kept_and_signed_exactly_as_the_server_wrote_them() {
    let mut w = World::new(FakeConfig {
        url_map: Some(odd_url),
        alternate_chains: 1,
        orders_per_page: 1,
        ..FakeConfig::default()
    });
    assert_eq!(
        w.session.directory_url(),
        "HTTPS://ACME.Test:443/acme%2Dv02/~u;p=1/!$&'()*+,=:@/dir?x=%7E~"
    );
    let account = w.account().unwrap();
    assert_eq!(account.url, odd_url("https://acme.test/acct/2"));
    let first = w.issue(&["one.example"]).unwrap();
    let second = w.issue(&["two.example"]).unwrap();
    assert_eq!(first.order_url, odd_url("https://acme.test/order/5"));
    assert_eq!(first.certificate_url, odd_url("https://acme.test/cert/5"));
    assert_eq!(
        first.alternates[0].0,
        odd_url("https://acme.test/cert/5/alt/1")
    );
    let listed = w
        .run(OrdersListFlow::new(account.resource.orders.unwrap()))
        .unwrap();
    assert_eq!(listed, [first.order_url.clone(), second.order_url.clone()]);
    w.run(KeyRolloverFlow::new(key("k2"))).unwrap();
    let der = w
        .server
        .certificate_der("https://acme.test/cert/5")
        .unwrap()
        .to_vec();
    w.run(RevocationFlow::by_account(&der, None)).unwrap();
    assert!(w.server.is_revoked(&der));
    // Every request went to the odd URL, and every signed one carried it verbatim.
    assert_eq!(w.server.log.len(), 23, "{:?}", w.paths());
    for l in &w.server.log {
        assert!(
            l.url
                .starts_with("HTTPS://ACME.Test:443/acme%2Dv02/~u;p=1/!$&'()*+,=:@/"),
            "{}",
            l.url
        );
        if l.method == "POST" {
            assert_eq!(l.jws_url.as_deref(), Some(l.url.as_str()));
            assert_eq!(l.status / 100, 2, "{l:?}");
        }
    }
}

#[test]
fn relative_location_and_link_references_are_resolved() {
    let mut w = World::new(FakeConfig {
        alternate_chains: 1,
        ..FakeConfig::default()
    });
    #[allow(clippy::ptr_arg)] // the signature of `Rewrite`
    fn relative(_: &mut u16, h: &mut Vec<(String, String)>, _: &mut Value) {
        for (k, v) in h.iter_mut() {
            if k.eq_ignore_ascii_case("location") {
                *v = v.replace("https://acme.test", "");
            }
            if k.eq_ignore_ascii_case("link") {
                *v = v.replace("https://acme.test/cert/", "");
            }
        }
    }
    for prefix in ["/new-account", "/new-order", "/cert/"] {
        w.server.rewrite(prefix, relative);
    }
    let account = w.account().unwrap();
    assert_eq!(account.url, "https://acme.test/acct/2");
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(bundle.order_url, "https://acme.test/order/5");
    assert_eq!(bundle.alternates[0].0, "https://acme.test/cert/5/alt/1");
}

// ---------------------------------------------------------------------------------------
// 5. Dead ends, detected and never looped on
// ---------------------------------------------------------------------------------------

fn authz_body(status: &str, challenge_status: &str, error: Option<Value>) -> Vec<u8> {
    let mut challenge = json!({"type": "http-01", "url": "https://acme.test/chall/x",
                               "status": challenge_status, "token": "t"});
    if let Some(e) = error {
        challenge["error"] = e;
    }
    json!({"identifier": {"type": "dns", "value": "example.org"}, "status": status,
           "challenges": [challenge]})
    .to_string()
    .into_bytes()
}

#[test]
fn dead_authorizations_found_on_fetch_end_the_flow() {
    let error = json!({"type": "urn:ietf:params:acme:error:dns", "detail": "NXDOMAIN"});
    for (status, challenge_status, expected_status) in [
        ("invalid", "invalid", AuthorizationStatus::Invalid),
        ("expired", "pending", AuthorizationStatus::Expired),
        ("deactivated", "pending", AuthorizationStatus::Deactivated),
        ("revoked", "valid", AuthorizationStatus::Revoked),
    ] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        let failed = challenge_status == "invalid";
        w.server.inject(
            "/authz/",
            respond(
                200,
                &[],
                &authz_body(status, challenge_status, failed.then(|| error.clone())),
            ),
        );
        let err = w.issue(&["example.org"]).unwrap_err();
        match err {
            Error::Authorization {
                identifier,
                status: got,
                challenge,
                problem,
            } => {
                assert_eq!(identifier, Identifier::dns("example.org").unwrap());
                assert_eq!(got, expected_status);
                assert_eq!(challenge, failed.then_some(ChallengeType::Http01));
                assert_eq!(
                    problem.map(|p| (p.kind, p.detail)),
                    failed.then(|| (ProblemType::Dns, Some("NXDOMAIN".to_owned())))
                );
            }
            e => panic!("{status}: unexpected {e:?}"),
        }
        assert_eq!(w.requests("/chall/").len(), 0, "{status}");
    }
}

#[test]
fn authorizations_that_die_during_validation_end_the_flow() {
    for status in ["expired", "deactivated", "revoked", "invalid"] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        let err = w
            .issue_with(&["example.org"], |f, s, ev| {
                if let Event::Challenges(list) = &ev {
                    s.set_authorization_status(&list[0].authorization_url, status);
                }
                solve_all(f, s, ev)
            })
            .unwrap_err();
        match err {
            Error::Authorization {
                identifier,
                status: got,
                challenge,
                problem,
            } => {
                assert_eq!(identifier, Identifier::dns("example.org").unwrap());
                assert_eq!(got.as_str(), status);
                assert_eq!(challenge, None);
                let p = problem.unwrap();
                assert_eq!(p.kind, ProblemType::Unauthorized);
                assert_eq!(p.detail, Some(format!("an authorization is {status}")));
            }
            e => panic!("{status}: unexpected {e:?}"),
        }
        // One order poll saw it invalid; one authorization fetch explained it.
        assert_eq!(w.requests("/order/").len(), 1, "{status}");
        assert_eq!(w.requests("/authz/").len(), 2, "{status}");
    }
}

#[test]
fn order_invalid_for_another_reason() {
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/order/", |_, _, v| {
        if v["status"] == "valid" {
            v["status"] = json!("invalid");
            v["error"] =
                json!({"type": "urn:ietf:params:acme:error:badCSR", "detail": "key too weak"});
            if let Value::Object(m) = v {
                m.remove("certificate");
            }
        }
    });
    w.account().unwrap();
    let err = w.issue(&["example.org"]).unwrap_err();
    match err {
        Error::OrderInvalid { url, problem } => {
            assert_eq!(url, "https://acme.test/order/5");
            let p = problem.unwrap();
            assert_eq!(
                (p.kind, p.detail.as_deref()),
                (ProblemType::BadCsr, Some("key too weak"))
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(w.requests("/cert/").len(), 0);
}

#[test]
fn lost_finalize_answer_then_order_not_ready_follows_the_real_state() {
    // The CA accepted the CSR but the answer was lost: the retry is refused as not ready,
    // and the re-read order shows where issuance really is.
    for (processing_polls, after) in [
        (2, &["POST /order/", "POST /order/", "POST /cert/"][..]),
        (0, &["POST /order/", "POST /cert/"][..]),
    ] {
        let mut w = World::new(FakeConfig {
            processing_polls,
            ..FakeConfig::default()
        });
        w.account().unwrap();
        w.server.inject(
            "/finalize/",
            Injection::Lost(TransportError::new(TransportErrorKind::Timeout, "lost")),
        );
        let bundle = w.issue(&["example.org"]).unwrap();
        assert_eq!(bundle.order.status, OrderStatus::Valid);
        let paths = w.paths();
        let first_finalize = paths.iter().position(|p| p == "POST /finalize/").unwrap();
        // The lost answer carried the next nonce too.
        assert_eq!(
            paths[first_finalize + 1..first_finalize + 3],
            ["HEAD /nonce", "POST /finalize/"]
        );
        assert_eq!(&paths[first_finalize + 3..], after, "{processing_polls}");
        let finalize = w.requests("/finalize/");
        assert_eq!(finalize[1].status, 403);
        assert_ne!(finalize[0].nonce, finalize[1].nonce);
        w.assert_nonces_fresh();
    }
}

#[test]
fn lost_finalize_answer_leaves_issuance_its_own_deadline() {
    // Validation uses most of its 5 minutes; the finalize answer is lost; issuance then
    // takes 2 more minutes. The re-read order starts the issuance deadline afresh.
    let mut w = World::new(FakeConfig {
        pending_polls: 3,
        processing_polls: 3,
        retry_after: Some("60".into()),
        ..FakeConfig::default()
    });
    w.account().unwrap();
    w.server.inject(
        "/finalize/",
        Injection::Lost(TransportError::new(TransportErrorKind::Timeout, "lost")),
    );
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    let triggered = w.requests("/chall/")[0].at;
    let polls: Vec<u64> = w
        .requests("/order/")
        .iter()
        .map(|l| l.at.duration_since(triggered).unwrap().as_secs())
        .collect();
    assert_eq!(polls, [60, 120, 180, 240, 241, 301, 361]);
}

#[test]
fn lost_trigger_answer_then_refused_retrigger_goes_on() {
    // The CA took the trigger, the answer was lost, and the retry is refused because the
    // challenge is no longer pending (as Pebble and Boulder do): the authorization is read
    // (never the challenge: its URL only gets triggers) and validation goes on.
    let mut w = World::new(FakeConfig {
        refuse_retrigger: true,
        ..FakeConfig::default()
    });
    w.account().unwrap();
    w.server.inject(
        "/chall/",
        Injection::Lost(TransportError::new(TransportErrorKind::Timeout, "lost")),
    );
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    assert_eq!(
        w.paths()[5..],
        [
            "POST /chall/",
            "HEAD /nonce",
            "POST /chall/",
            "POST /authz/",
            "POST /order/",
            "POST /finalize/",
            "POST /order/",
            "POST /cert/"
        ]
    );
    assert_eq!(
        w.requests("/chall/")
            .iter()
            .map(|l| l.status)
            .collect::<Vec<_>>(),
        [200, 400]
    );
    w.assert_nonces_fresh();
}

#[test]
fn refused_trigger_of_a_pending_challenge_is_an_error() {
    let mut w = World::new(FakeConfig {
        refuse_retrigger: true,
        ..FakeConfig::default()
    });
    w.account().unwrap();
    w.server.inject(
        "/chall/",
        Injection::problem(400, "malformed", "Incorrect key authorization"),
    );
    let err = w.issue(&["example.org"]).unwrap_err();
    match err {
        Error::Server {
            url,
            status,
            problem,
        } => {
            assert_eq!((url.as_str(), status), ("https://acme.test/chall/4-0", 400));
            assert_eq!(problem.kind, ProblemType::Malformed);
            assert_eq!(
                problem.detail.as_deref(),
                Some("Incorrect key authorization")
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    // The refused trigger, then one read of the authorization (challenge still pending); no
    // polling.
    assert_eq!(w.requests("/chall/").len(), 1);
    assert_eq!(w.paths()[5..], ["POST /chall/", "POST /authz/"]);
    assert_eq!(w.requests("/order/").len(), 0);
}

#[test]
fn finalize_refused_then_order_found_invalid_or_pending() {
    // Invalid on re-read: explained.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    let err = w
        .issue_with(&["example.org"], |f, s, ev| {
            if let Event::Progress(Progress::OrderPolled {
                status: OrderStatus::Ready,
            }) = &ev
            {
                let url = f.order_url().unwrap().to_owned();
                let e = json!({"type": "urn:ietf:params:acme:error:serverInternal", "detail": "issuance failed"});
                s.set_order_status(&url, "invalid", Some(e));
            }
            solve_all(f, s, ev)
        })
        .unwrap_err();
    match err {
        Error::OrderInvalid { url, problem } => {
            assert_eq!(url, "https://acme.test/order/5");
            assert_eq!(problem.unwrap().kind, ProblemType::ServerInternal);
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(w.requests("/finalize/")[0].status, 403);

    // Pending again on re-read: polled until ready, then finalized.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    // The CA reopens the authorization just before finalize, and validates it again later.
    let mut stage = 0;
    w.issue_with(&["example.org"], |f, s, ev| {
        if let Event::Progress(Progress::OrderPolled { status }) = &ev {
            let order = f.order_url().unwrap().to_owned();
            let authz = || f.challenges()[0].authorization_url.clone();
            match (stage, status) {
                (0, OrderStatus::Ready) => {
                    s.set_order_status(&order, "pending", None);
                    s.set_authorization_status(&authz(), "pending");
                    stage = 1;
                }
                (1, OrderStatus::Pending) => {
                    s.set_authorization_status(&authz(), "valid");
                    stage = 2;
                }
                _ => {}
            }
        }
        solve_all(f, s, ev)
    })
    .unwrap();
    assert_eq!(stage, 2);
    assert_eq!(
        w.paths()[7..],
        [
            "POST /finalize/",
            "POST /order/",
            "POST /order/",
            "POST /finalize/",
            "POST /order/",
            "POST /cert/"
        ]
    );
    assert_eq!(
        w.requests("/finalize/")
            .iter()
            .map(|l| l.status)
            .collect::<Vec<_>>(),
        [403, 200]
    );
}

#[test]
fn finalize_refused_forever_is_given_up_on() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    for _ in 0..10 {
        w.server.inject(
            "/finalize/",
            Injection::problem(403, "orderNotReady", "not yet"),
        );
    }
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::OrderNotReady));
    assert_eq!(w.requests("/finalize/").len(), 3);
}

#[test]
fn states_the_rfc_does_not_define_are_errors() {
    // An authorization state that is not one (`on-hold`), and a challenge state in its place.
    for status in ["on-hold", "processing", "ready"] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        w.server.inject(
            "/authz/",
            respond(200, &[], &authz_body(status, "pending", None)),
        );
        assert_eq!(
            w.issue(&["example.org"]).unwrap_err(),
            Error::Protocol {
                url: "https://acme.test/authz/4".into(),
                status: 200,
                reason: format!("authorization status {status:?} is not one RFC 8555 defines"),
                body_snippet: String::new(),
            }
        );
        assert_eq!(w.requests("/chall/").len(), 0);
    }
    // A challenge state that is not one, or an order state in its place.
    for status in ["waiting", "ready", "expired"] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        w.server.inject(
            "/chall/",
            respond(
                200,
                &[],
                json!({"type": "http-01", "url": "https://acme.test/chall/4-0", "status": status, "token": "t"})
                    .to_string()
                    .as_bytes(),
            ),
        );
        match w.issue(&["example.org"]).unwrap_err() {
            Error::Protocol {
                url,
                status: code,
                reason,
                ..
            } => {
                assert_eq!((url.as_str(), code), ("https://acme.test/chall/4-0", 200));
                assert_eq!(
                    reason,
                    format!("challenge status {status:?} is not one RFC 8555 defines")
                );
            }
            e => panic!("{status}: unexpected {e:?}"),
        }
        assert_eq!(w.requests("/order/").len(), 0);
    }
    // An order state that is not one, or an authorization state in its place.
    for status in ["suspended", "expired", "deactivated"] {
        let mut w = World::new(FakeConfig::default());
        w.account().unwrap();
        let err = w
            .issue_with(&["example.org"], |f, s, ev| {
                if let Event::Challenges(_) = &ev {
                    let url = f.order_url().unwrap().to_owned();
                    s.set_order_status(&url, status, None);
                }
                solve_all(f, s, ev)
            })
            .unwrap_err();
        match err {
            Error::Protocol {
                url,
                status: code,
                reason,
                ..
            } => {
                assert_eq!((url.as_str(), code), ("https://acme.test/order/5", 200));
                assert_eq!(
                    reason,
                    format!("order status {status:?} is not one RFC 8555 defines")
                );
            }
            e => panic!("{status}: unexpected {e:?}"),
        }
        assert_eq!(w.requests("/order/").len(), 1);
    }
}

#[test]
fn contradictory_orders_are_errors() {
    // Valid without a certificate URL.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/order/", |_, _, v| {
        if let Value::Object(m) = v {
            m.remove("certificate");
        }
    });
    w.account().unwrap();
    match w.issue(&["example.org"]).unwrap_err() {
        Error::Protocol { url, reason, .. } => {
            assert_eq!(url, "https://acme.test/order/5");
            assert_eq!(reason, "order is valid but has no certificate URL");
        }
        e => panic!("unexpected {e:?}"),
    }
    // Pending without authorizations.
    let mut w = World::new(FakeConfig::default());
    w.server
        .rewrite("/new-order", |_, _, v| v["authorizations"] = json!([]));
    w.account().unwrap();
    match w.issue(&["example.org"]).unwrap_err() {
        Error::Protocol { url, reason, .. } => {
            assert_eq!(url, "https://acme.test/new-order");
            assert_eq!(reason, "pending order lists no authorizations");
        }
        e => panic!("unexpected {e:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Secrets stay out of Debug and error text
// ---------------------------------------------------------------------------------------

#[test]
fn requests_errors_and_sessions_never_show_the_jws_or_the_key() {
    let secret_id = "a long and secret account key";
    let mut w = World::new(FakeConfig::default());
    w.run(AccountFlow::create(key(secret_id), NewAccount::default()))
        .unwrap();
    w.server.inject(
        "/new-order",
        respond(
            400,
            &[("Content-Type", "application/problem+json")],
            br#"{"type":"urn:ietf:params:acme:error:malformed","detail":"nope"}"#,
        ),
    );
    let mut flow = IssueFlow::new(
        NewOrder::new(ids(&["example.org"])),
        ChallengeSelector::default(),
        b"csr".to_vec(),
    );
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    let mut debug_text = String::new();
    let err = loop {
        match flow.poll(&mut w.session, w.clock) {
            Output::Send(req) => {
                debug_text.push_str(&format!("{req:?}\n"));
                bodies.push(req.body.clone());
                match w.server.handle(w.clock, &req) {
                    Ok(resp) => flow.handle_response(&mut w.session, w.clock, req.id, resp),
                    Err(e) => flow.handle_transport_error(&mut w.session, w.clock, req.id, e),
                }
            }
            Output::Wait(t) => w.clock = t,
            Output::Event(_) => {}
            Output::Idle => panic!("idle without a request"),
            Output::Done(r) => break r.unwrap_err(),
        }
    };
    assert_eq!(err.problem_type(), Some(&ProblemType::Malformed));
    let err_text = format!("{err:?} {err}");
    assert_eq!(bodies.len(), 1);
    let jws: Value = serde_json::from_slice(&bodies[0]).unwrap();
    for part in ["protected", "payload", "signature"] {
        let s = jws[part].as_str().unwrap();
        assert!(s.len() > 20, "{part}");
        assert!(!debug_text.contains(s), "{part} in the Debug of a request");
        assert!(!err_text.contains(s), "{part} in the error");
    }
    assert!(debug_text.contains(&format!("body_len: {}", bodies[0].len())));
    // The session shows the account URL and algorithm, not the key.
    let session_text = format!("{:?}", w.session);
    let TestSignerJwk { x } = test_signer_x(secret_id);
    assert!(session_text.contains("alg: \"TEST\""), "{session_text}");
    assert!(!session_text.contains(&x), "{session_text}");
    assert!(!session_text.contains(secret_id));
}

struct TestSignerJwk {
    x: String,
}

/// The public part of a [`TestSigner`], which for this test signer is also its secret.
fn test_signer_x(id: &str) -> TestSignerJwk {
    match TestSigner::new(id).jwk() {
        acme_proto::signer::Jwk::Okp { x, .. } => TestSignerJwk { x },
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Refusals without a problem document, dead ends a lazy CA hides, and lost answers to
// requests that must not be applied twice
// ---------------------------------------------------------------------------------------

#[test]
fn a_bare_429_is_a_rate_limit_returned_at_once_with_its_retry_time() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/new-order",
        respond(
            429,
            &[("Content-Type", "text/html"), ("Retry-After", "120")],
            b"<html>Too Many Requests</html>",
        ),
    );
    let err = w.issue(&["example.org"]).unwrap_err();
    let refused_at = w.requests("/new-order")[0].at;
    assert_eq!(
        err,
        Error::Unavailable {
            url: "https://acme.test/new-order".into(),
            status: 429,
            retry_after: Some(refused_at + 120 * SECOND),
            body_snippet: "<html>Too Many Requests</html>".into(),
        }
    );
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(refused_at + 120 * SECOND));
    // Not slept through, not retried.
    assert_eq!(w.requests("/new-order").len(), 1);
    assert_eq!(w.clock, refused_at);
}

#[test]
fn a_bare_503_is_retried_and_its_long_retry_time_is_kept_when_the_budget_ends() {
    // Within the policy's 60 s cap: waited for, then the retry succeeds.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/new-order",
        respond(503, &[("Retry-After", "30")], b"Service Unavailable"),
    );
    w.issue(&["example.org"]).unwrap();
    assert_eq!(w.gaps("/new-order"), [30 * SECOND]);

    // An hour away: returned with that time rather than slept through.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.inject(
        "/new-order",
        respond(503, &[("Retry-After", "3600")], b"down for maintenance"),
    );
    let err = w.issue(&["example.org"]).unwrap_err();
    let refused_at = w.requests("/new-order")[0].at;
    assert_eq!(
        err,
        Error::Unavailable {
            url: "https://acme.test/new-order".into(),
            status: 503,
            retry_after: Some(refused_at + 3600 * SECOND),
            body_snippet: "down for maintenance".into(),
        }
    );
    assert!(!err.is_rate_limited());
    assert_eq!(w.requests("/new-order").len(), 1);
}

/// Rewrite: the order keeps saying `pending`, whatever happened to its authorizations.
fn always_pending(_: &mut u16, _: &mut Vec<(String, String)>, body: &mut Value) {
    if let Some(order) = body.as_object_mut() {
        order.insert("status".into(), json!("pending"));
        order.remove("error");
    }
}

#[test]
fn an_order_left_pending_after_its_authorization_failed_reports_the_authorization() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.rewrite("/order/", always_pending);
    let err = w
        .issue_with(&["example.org"], |flow, server, ev| {
            if let Event::Challenges(list) = ev {
                server.publish_raw(list[0].token(), "not-the-key-authorization");
                flow.challenges_ready();
            }
        })
        .unwrap_err();
    match err {
        Error::Authorization {
            identifier,
            status,
            challenge,
            problem,
        } => {
            assert_eq!(identifier, Identifier::dns("example.org").unwrap());
            assert_eq!(status, AuthorizationStatus::Invalid);
            assert_eq!(challenge, Some(ChallengeType::Http01));
            let p = problem.unwrap();
            assert_eq!(p.kind, ProblemType::IncorrectResponse);
            assert_eq!(
                p.detail.as_deref(),
                Some("key authorization mismatch: got \"not-the-key-authorization\"")
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    // Four polls of the pending order (50 ms, 250 ms, 500 ms, 1 s apart), then its
    // authorization: not five minutes of polling.
    assert_eq!(
        w.paths()[5..],
        [
            "POST /chall/",
            "POST /order/",
            "POST /order/",
            "POST /order/",
            "POST /order/",
            "POST /authz/"
        ]
    );
    let triggered = w.requests("/chall/")[0].at;
    assert_eq!(
        w.clock.duration_since(triggered).unwrap(),
        Duration::from_millis(1800)
    );
}

#[test]
fn a_pending_order_with_pending_authorizations_is_inspected_sparingly_until_the_deadline() {
    // The CA never validates: authorizations stay pending. They are read after polls 4, 8,
    // 16, 32, 64 and once more at the deadline, and the flow then times out naming them.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server.rewrite("/order/", always_pending);
    w.server.rewrite("/authz/", |_, _, body| {
        body["status"] = json!("pending");
    });
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: "authorizations to become valid (pending: dns:example.org)".into(),
            url: "https://acme.test/order/5".into(),
        }
    );
    let polls = w.requests("/order/").len();
    let authz_reads = w.requests("/authz/").len() - 1;
    // Polls at 0.05, 0.3, 0.8, 1.8, 3.8 and 7.8 s, then every 5 s to 297.8 s, and a last
    // one at the deadline (300 s): 6 + 58 + 1.
    assert_eq!((polls, authz_reads), (65, 6));
    let triggered = w.requests("/chall/")[0].at;
    assert_eq!(
        w.clock.duration_since(triggered).unwrap(),
        Duration::from_secs(300)
    );
}

fn lost(kind: TransportErrorKind) -> Injection {
    Injection::Lost(TransportError::new(kind, "lost"))
}

#[test]
fn revocation_whose_answer_was_lost_is_done_when_the_retry_finds_it_revoked() {
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    let bundle = w.issue(&["example.org"]).unwrap();
    let der = w
        .server
        .certificate_der(&bundle.certificate_url)
        .unwrap()
        .to_vec();
    w.server.inject("/revoke", lost(TransportErrorKind::Io));
    w.run(RevocationFlow::by_account(&der, None)).unwrap();
    assert!(w.server.is_revoked(&der));
    let statuses: Vec<u16> = w.requests("/revoke").iter().map(|l| l.status).collect();
    // The first was applied (its answer lost), the retry refused.
    assert_eq!(statuses, [200, 400]);

    // Revoked by someone else (no lost answer of ours): the refusal stands, typed.
    let err = w.run(RevocationFlow::by_account(&der, None)).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AlreadyRevoked));
}

#[test]
fn account_deactivation_whose_answer_was_lost_is_done_when_the_retry_is_refused() {
    let mut w = World::new(FakeConfig::default());
    let account = w.account().unwrap();
    w.server.inject("/acct/", lost(TransportErrorKind::Timeout));
    let flow = AccountFlow::deactivate(&w.session).unwrap();
    let deactivated = w.run(flow).unwrap();
    assert_eq!(deactivated.url, account.url);
    assert_eq!(
        deactivated.resource.status,
        Some(acme_proto::msgs::resources::AccountStatus::Deactivated)
    );
    assert_eq!(w.server.account_status(&account.url), Some("deactivated"));
    let statuses: Vec<u16> = w.requests("/acct/").iter().map(|l| l.status).collect();
    assert_eq!(statuses, [200, 401]);
}

#[test]
fn key_rollover_whose_answer_was_lost_is_confirmed_with_the_new_key() {
    let mut w = World::new(FakeConfig::default());
    let account = w.account().unwrap();
    w.server
        .inject("/key-change", lost(TransportErrorKind::Timeout));
    w.run(KeyRolloverFlow::new(key("k2"))).unwrap();
    assert_eq!(w.session.account().unwrap().key.jwk(), key("k2").jwk());
    // The retry, signed by the old key, is refused; one read signed by the new key confirms.
    let paths = w.paths();
    let first = paths.iter().position(|p| p == "POST /key-change").unwrap();
    assert_eq!(
        paths[first..],
        [
            "POST /key-change",
            "HEAD /nonce",
            "POST /key-change",
            "POST /acct/"
        ]
    );
    let statuses: Vec<u16> = w.requests("/key-change").iter().map(|l| l.status).collect();
    assert_eq!(statuses[0], 200);
    assert_ne!(statuses[1], 200);
    assert_eq!(w.requests("/acct/")[0].status, 200);
    // The new key works; the old one is gone.
    w.issue(&["example.org"]).unwrap();
    assert_eq!(
        w.run(AccountFlow::find(key("k2"))).unwrap().url,
        account.url
    );
    let err = w.run(AccountFlow::find(key("k1"))).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AccountDoesNotExist));
}

#[test]
fn key_rollover_refused_after_a_gateway_error_keeps_the_old_key() {
    // A 502 may hide a rollover that went through; here it did not, and the retry is
    // refused for a reason of its own: the check with the new key fails, the old key stays.
    let mut w = World::new(FakeConfig::default());
    w.account().unwrap();
    w.server
        .inject("/key-change", respond(502, &[], b"Bad Gateway"));
    w.server
        .inject("/key-change", problem_with(400, "malformed", &[]));
    let err = w.run(KeyRolloverFlow::new(key("k2"))).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::Malformed));
    assert_eq!(w.session.account().unwrap().key.jwk(), key("k1").jwk());
    assert_ne!(w.requests("/acct/")[0].status, 200);
    w.issue(&["example.org"]).unwrap();
}

// ---------------------------------------------------------------------------------------
// Hostile object graphs: more work than the order asked for, names it never asked for,
// links by the thousand, lists that never end
// ---------------------------------------------------------------------------------------

/// Rewrite: the order lists its first authorization 5,000 times.
fn authorization_flood(_: &mut u16, _: &mut Vec<(String, String)>, v: &mut Value) {
    if let Some(first) = v["authorizations"].get(0).cloned() {
        v["authorizations"] = Value::Array(vec![first; 5000]);
    }
}

#[test]
fn an_order_listing_more_authorizations_than_identifiers_is_refused_at_once() {
    // Each authorization costs a round trip, a solver presentation (a DNS update …) and a
    // trigger: the count must not be the CA's to choose. On creation …
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/new-order", authorization_flood);
    w.account().unwrap();
    match w.issue(&["example.org"]).unwrap_err() {
        Error::Protocol {
            url,
            status,
            reason,
            ..
        } => {
            assert_eq!(url, "https://acme.test/new-order");
            assert_eq!(status, 201);
            assert_eq!(
                reason,
                "the order lists 5000 authorizations for 1 requested identifiers"
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(w.requests("/authz/").is_empty());
    // … and when an invalid order is polled and its authorizations read to explain it.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/order/", authorization_flood);
    w.account().unwrap();
    // Nothing published: the challenge fails.
    let unsolved = |f: &mut IssueFlow, _: &mut FakeServer, ev: Event| {
        if let Event::Challenges(_) = ev {
            f.challenges_ready();
        }
    };
    match w.issue_with(&["example.org"], unsolved).unwrap_err() {
        Error::Protocol {
            url,
            status,
            reason,
            ..
        } => {
            assert_eq!(url, "https://acme.test/order/5");
            assert_eq!(status, 200);
            assert_eq!(
                reason,
                "the order lists 5000 authorizations for 1 requested identifiers"
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(w.requests("/authz/").len(), 1);
}

#[test]
fn an_authorization_for_a_name_never_ordered_is_refused_before_any_challenge() {
    // The solver would publish a record for a name the user never asked for (a DNS solver
    // with zone-wide credentials writes `_acme-challenge.victim.example`).
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/authz/", |_, _, v| {
        v["identifier"] = json!({"type": "dns", "value": "victim.example"});
    });
    w.account().unwrap();
    let mut presented = 0;
    let err = w
        .issue_with(&["example.org"], |f, s, ev| {
            if matches!(ev, Event::Challenges(_)) {
                presented += 1;
            }
            solve_all(f, s, ev)
        })
        .unwrap_err();
    match err {
        Error::Protocol {
            url,
            status,
            reason,
            ..
        } => {
            assert_eq!(url, "https://acme.test/authz/4");
            assert_eq!(status, 200);
            assert_eq!(
                reason,
                "authorization for dns:victim.example, which the order did not request"
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(presented, 0);
    assert!(w.requests("/chall/").is_empty());
    // A wildcard authorization (base name + `wildcard: true`) and case differences are fine.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/authz/", |_, _, v| {
        if let Some(s) = v["identifier"]["value"].as_str() {
            v["identifier"]["value"] = json!(s.to_ascii_uppercase());
        }
    });
    w.account().unwrap();
    w.issue(&["*.example.org", "example.org"]).unwrap();
}

#[test]
fn alternate_chain_links_by_the_thousand_cost_one_download_each_at_most() {
    let mut w = World::new(FakeConfig {
        alternate_chains: 1,
        ..FakeConfig::default()
    });
    // 1,000 `Link` headers: the one alternate over and over, and the default chain itself.
    w.server.rewrite("/cert/", |_, h, _| {
        let Some(alt) = h
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("link"))
            .cloned()
        else {
            return;
        };
        for i in 0..1000 {
            if i % 2 == 0 {
                h.push(alt.clone());
            } else {
                h.push(("Link".into(), "<>;rel=alternate".into()));
            }
        }
    });
    w.account().unwrap();
    let bundle = w.issue(&["example.org"]).unwrap();
    let urls: Vec<&str> = bundle.alternates.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(urls, ["https://acme.test/cert/5/alt/1"]);
    assert_eq!(w.requests("/cert/").len(), 2);
}

static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn orders_lists_that_never_end_or_loop_are_cut_short() {
    // Every page links to a new one: an error after 100 pages, not a silently short list.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/orders/", |_, h, _| {
        let n = PAGE.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        h.push(("Link".into(), format!("<?page={n}>;rel=next")));
    });
    let account = w.account().unwrap();
    w.issue(&["example.org"]).unwrap();
    let err = w
        .run(OrdersListFlow::new(account.resource.orders.unwrap()))
        .unwrap_err();
    let last = w.requests("/orders/").last().unwrap().url.clone();
    assert_eq!(
        err,
        Error::Protocol {
            url: last,
            status: 200,
            reason: "the orders list still goes on after 100 pages (order URLs read: 1)".into(),
            body_snippet: String::new(),
        }
    );
    assert_eq!(w.requests("/orders/").len(), 100);
    // A page that links to itself: read once.
    let mut w = World::new(FakeConfig::default());
    w.server.rewrite("/orders/", |_, h, _| {
        h.push(("Link".into(), "<>;rel=next".into()))
    });
    let account = w.account().unwrap();
    let order = w.issue(&["example.org"]).unwrap().order_url;
    let listed = w
        .run(OrdersListFlow::new(account.resource.orders.unwrap()))
        .unwrap();
    assert_eq!(listed, [order]);
    assert_eq!(w.requests("/orders/").len(), 1);
}
