//! Scenario tests: every flow against the scripted fake server, in virtual time.

use acme_proto::Error;
use acme_proto::flow::*;
use acme_proto::http::{TransportError, TransportErrorKind};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use acme_proto::msgs::problem::ProblemType;
use acme_proto::msgs::resources::{AuthorizationStatus, ChallengeType, OrderStatus};
use acme_proto::signer::{MacKey, Signer};
use acme_proto::testing::{self, FakeConfig, FakeServer, Injection, TestSigner, drive, solve_all};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn ids(names: &[&str]) -> Vec<Identifier> {
    names
        .iter()
        .map(|n| Identifier::parse(n).unwrap())
        .collect()
}

fn key(id: &str) -> Arc<dyn Signer> {
    Arc::new(TestSigner::new(id))
}

struct World {
    session: Session,
    server: FakeServer,
    clock: SystemTime,
}

impl World {
    fn new(config: FakeConfig) -> World {
        World {
            session: Session::new(FakeServer::directory_url()),
            server: FakeServer::new(config),
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

    fn account(&mut self, k: &str) -> Account {
        let flow = AccountFlow::create(
            key(k),
            NewAccount::new(vec!["mailto:a@example.org".into()]).agree_to_terms_of_service(true),
        );
        self.run(flow).unwrap()
    }

    fn issue(&mut self, names: &[&str]) -> Result<CertificateBundle, Error> {
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
            solve_all,
        )
    }

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
}

#[test]
fn new_account_and_one_name_takes_ten_round_trips() {
    let mut w = World::new(FakeConfig::default());
    let acct = w.account("k1");
    assert!(acct.created);
    let bundle = w.issue(&["example.org"]).unwrap();
    assert_eq!(
        w.paths(),
        [
            "GET /dir",
            "HEAD /nonce",
            "POST /new-account",
            "POST /new-order",
            "POST /authz/",
            "POST /chall/",
            "POST /order/",
            "POST /finalize/",
            "POST /order/",
            "POST /cert/"
        ]
    );
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    assert!(bundle.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(
        bundle.certificate_url,
        bundle.order_url.replace("/order/", "/cert/")
    );
}

#[test]
fn n_names_take_eight_plus_two_n() {
    for n in [2usize, 5] {
        let mut w = World::new(FakeConfig::default());
        w.account("k1");
        let names: Vec<String> = (0..n).map(|i| format!("n{i}.example.org")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        w.issue(&refs).unwrap();
        assert_eq!(w.server.log.len(), 8 + 2 * n, "{:?}", w.paths());
    }
}

#[test]
fn restored_account_with_valid_authorizations_takes_six() {
    let mut w = World::new(FakeConfig::default());
    let acct = w.account("k1");
    w.issue(&["example.org"]).unwrap();
    // A new process: fresh session, account restored from storage, authorizations reused.
    w.session = Session::new(FakeServer::directory_url()).with_account(AccountCredentials {
        url: acct.url,
        key: key("k1"),
    });
    w.server.log.clear();
    w.issue(&["example.org"]).unwrap();
    assert_eq!(
        w.paths(),
        [
            "GET /dir",
            "HEAD /nonce",
            "POST /new-order",
            "POST /finalize/",
            "POST /order/",
            "POST /cert/"
        ]
    );
}

#[test]
fn bad_nonce_on_every_kind_of_request_is_retried_with_a_fresh_nonce() {
    for prefix in [
        "/new-account",
        "/new-order",
        "/authz/",
        "/chall/",
        "/order/",
        "/finalize/",
        "/cert/",
    ] {
        let mut w = World::new(FakeConfig::default());
        w.server
            .inject(prefix, Injection::problem(400, "badNonce", "stale"));
        w.account("k1");
        w.issue(&["example.org"]).unwrap();
        assert_eq!(
            w.server.log.len(),
            11,
            "one extra request for {prefix}: {:?}",
            w.paths()
        );
        let retried = w
            .server
            .log
            .iter()
            .filter(|l| l.path.starts_with(prefix))
            .count();
        assert_eq!(retried, if prefix == "/order/" { 3 } else { 2 }, "{prefix}");
    }
}

#[test]
fn bad_nonce_retries_are_bounded() {
    let mut w = World::new(FakeConfig {
        reject_every_nth_nonce: 1,
        ..FakeConfig::default()
    });
    let err = w
        .run(AccountFlow::create(key("k1"), NewAccount::default()))
        .unwrap_err();
    match err {
        Error::Server {
            status, problem, ..
        } => {
            assert_eq!((status, problem.kind), (400, ProblemType::BadNonce));
            assert_eq!(problem.detail.as_deref(), Some("nonce rejected (scripted)"));
        }
        e => panic!("unexpected {e:?}"),
    }
    // First attempt plus `max_bad_nonce_retries` re-signed attempts.
    assert_eq!(w.server.count("/new-account"), 21);
}

#[test]
fn processing_with_retry_after_seconds_waits_exactly_that_long() {
    let mut w = World::new(FakeConfig {
        processing_polls: 2,
        retry_after: Some("7".into()),
        ..FakeConfig::default()
    });
    w.account("k1");
    let t0 = w.clock;
    w.issue(&["example.org"]).unwrap();
    // Challenge trigger → poll after 7 s; finalize → two polls, 7 s apart.
    assert_eq!(w.clock.duration_since(t0).unwrap(), Duration::from_secs(21));
}

#[test]
fn processing_with_retry_after_http_date() {
    let date = "Thu, 01 Jan 2026 00:00:30 GMT"; // epoch() + 30 s
    let mut w = World::new(FakeConfig {
        processing_polls: 1,
        retry_after: Some(date.into()),
        ..FakeConfig::default()
    });
    w.account("k1");
    w.issue(&["example.org"]).unwrap();
    // First wait reaches the date; later waits see it in the past and use the minimum.
    assert_eq!(
        w.clock.duration_since(testing::epoch()).unwrap(),
        Duration::from_millis(30_100)
    );
}

#[test]
fn invalid_authorization_ends_with_the_servers_problem() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let mut flow = IssueFlow::new(
        NewOrder::new(ids(&["example.org"])),
        ChallengeSelector::default(),
        b"csr".to_vec(),
    );
    let err = drive(
        &mut flow,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        |f, s, ev| {
            if let Event::Challenges(list) = ev {
                s.publish_raw(list[0].token(), "wrong.key-authorization");
                f.challenges_ready();
            }
        },
    )
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
                Some("key authorization mismatch: got \"wrong.key-authorization\"")
            );
            assert_eq!(p.status, Some(403));
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn compound_problem_keeps_subproblems() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    w.server.inject("/new-order", Injection::Respond {
        status: 400,
        headers: vec![("Content-Type".into(), "application/problem+json; charset=utf-8".into())],
        body: br#"{"type":"urn:ietf:params:acme:error:compound","detail":"2 identifiers rejected",
                   "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"policy forbids","identifier":{"type":"dns","value":"bad.example"}},
                                  {"type":"urn:ietf:params:acme:error:caa","identifier":{"type":"dns","value":"caa.example"}}]}"#.to_vec(),
    });
    let err = w.issue(&["bad.example", "caa.example"]).unwrap_err();
    let p = err.problem().unwrap();
    assert_eq!(p.kind, ProblemType::Compound);
    assert_eq!(p.subproblems.len(), 2);
    assert_eq!(p.subproblems[0].kind, ProblemType::RejectedIdentifier);
    assert_eq!(
        p.subproblems[0].identifier.as_ref().unwrap().value,
        "bad.example"
    );
    assert_eq!(p.subproblems[1].kind, ProblemType::Caa);
    assert_eq!(
        err.to_string(),
        "the CA refused (HTTP 400 from https://acme.test/new-order): compound: 2 identifiers rejected [dns:bad.example: rejectedIdentifier: policy forbids] [dns:caa.example: caa]"
    );
}

#[test]
fn new_account_201_then_existing_200() {
    let mut w = World::new(FakeConfig::default());
    let a = w.account("k1");
    assert!(a.created);
    assert_eq!(a.url, "https://acme.test/acct/2");
    let b = w.account("k1");
    assert!(!b.created);
    assert_eq!(b.url, a.url);
    let found = w.run(AccountFlow::find(key("k1"))).unwrap();
    assert_eq!(found.url, a.url);
    let err = w.run(AccountFlow::find(key("nobody"))).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AccountDoesNotExist));
}

struct Mac(Vec<u8>, &'static str);
impl MacKey for Mac {
    fn alg(&self) -> &str {
        "HS256"
    }
    fn key_id(&self) -> &str {
        self.1
    }
    fn mac(&self, input: &[u8]) -> Vec<u8> {
        testing::hmac_sha256(&self.0, input)
    }
}

#[test]
fn external_account_binding() {
    let keys = [("kid-1".to_string(), b"secret-mac-key".to_vec())]
        .into_iter()
        .collect();
    let mut w = World::new(FakeConfig {
        eab_keys: Some(keys),
        ..FakeConfig::default()
    });
    let err = w
        .run(AccountFlow::create(key("k1"), NewAccount::default()))
        .unwrap_err();
    assert_eq!(
        err.problem_type(),
        Some(&ProblemType::ExternalAccountRequired)
    );
    let bad =
        NewAccount::default().external_account_binding(Arc::new(Mac(b"wrong".to_vec(), "kid-1")));
    let err = w.run(AccountFlow::create(key("k1"), bad)).unwrap_err();
    assert_eq!(
        (err.problem_type(), err.problem().unwrap().detail.as_deref()),
        (Some(&ProblemType::Unauthorized), Some("EAB MAC is invalid"))
    );
    let good = NewAccount::default()
        .external_account_binding(Arc::new(Mac(b"secret-mac-key".to_vec(), "kid-1")));
    let a = w.run(AccountFlow::create(key("k1"), good)).unwrap();
    assert!(a.created);
}

#[test]
fn key_rollover_then_issue_with_new_key() {
    let mut w = World::new(FakeConfig::default());
    let a = w.account("old");
    w.run(KeyRolloverFlow::new(key("new"))).unwrap();
    assert_eq!(w.session.account().unwrap().key.jwk(), key("new").jwk());
    w.issue(&["example.org"]).unwrap();
    assert_eq!(w.run(AccountFlow::find(key("new"))).unwrap().url, a.url);
    let err = w.run(AccountFlow::find(key("old"))).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AccountDoesNotExist));
}

#[test]
fn revocation_by_account_and_by_certificate_key() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let b1 = w.issue(&["one.example"]).unwrap();
    let der1 = w
        .server
        .certificate_der(&b1.certificate_url)
        .unwrap()
        .to_vec();
    w.run(RevocationFlow::by_account(
        &der1,
        Some(RevocationReason::Superseded),
    ))
    .unwrap();
    assert!(w.server.is_revoked(&der1));
    let err = w.run(RevocationFlow::by_account(&der1, None)).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AlreadyRevoked));

    let b2 = w.issue(&["two.example"]).unwrap();
    let der2 = w
        .server
        .certificate_der(&b2.certificate_url)
        .unwrap()
        .to_vec();
    let cert_key = key("certificate-key");
    w.server
        .bind_certificate_key(&der2, &cert_key.jwk().thumbprint());
    let err = w
        .run(RevocationFlow::by_certificate_key(
            &der2,
            key("someone-else"),
            None,
        ))
        .unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::Unauthorized));
    w.run(RevocationFlow::by_certificate_key(
        &der2,
        cert_key,
        Some(RevocationReason::KeyCompromise),
    ))
    .unwrap();
    assert!(w.server.is_revoked(&der2));
}

#[test]
fn orders_list_follows_next_links() {
    let mut w = World::new(FakeConfig {
        orders_per_page: 2,
        ..FakeConfig::default()
    });
    let a = w.account("k1");
    let mut urls = Vec::new();
    for i in 0..5 {
        urls.push(w.issue(&[&format!("n{i}.example")]).unwrap().order_url);
    }
    let listed = w
        .run(OrdersListFlow::new(a.resource.orders.unwrap()))
        .unwrap();
    assert_eq!(listed, urls);
    assert_eq!(w.server.count("/orders/"), 3);
}

#[test]
fn new_nonce_only_answers_get() {
    let mut w = World::new(FakeConfig {
        nonce_head: false,
        ..FakeConfig::default()
    });
    w.account("k1");
    assert_eq!(
        w.paths(),
        ["GET /dir", "HEAD /nonce", "GET /nonce", "POST /new-account"]
    );
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let t0 = w.clock;
    w.server.inject(
        "/new-order",
        Injection::Respond {
            status: 503,
            headers: vec![("Retry-After".into(), "3".into())],
            body: b"busy".to_vec(),
        },
    );
    w.server.inject(
        "/new-order",
        Injection::Transport(TransportError::new(TransportErrorKind::Io, "reset")),
    );
    w.issue(&["example.org"]).unwrap();
    assert_eq!(w.server.count("/new-order"), 3);
    // 3 s from Retry-After, then the default 2 s back-off (second retry), then polls.
    assert!(w.clock.duration_since(t0).unwrap() >= Duration::from_secs(5));
}

#[test]
fn server_error_budget_is_bounded() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    for _ in 0..10 {
        w.server.inject(
            "/new-order",
            Injection::Respond {
                status: 500,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body>Internal\nError</body></html>".to_vec(),
            },
        );
    }
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(w.server.count("/new-order"), 4);
    assert_eq!(
        err,
        Error::Protocol {
            url: "https://acme.test/new-order".into(),
            status: 500,
            reason: "HTTP 500 without a problem document (text/html)".into(),
            body_snippet: "<html><body>Internal Error</body></html>".into(),
        }
    );
}

#[test]
fn rate_limit_is_returned_not_slept_through() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let t0 = w.clock;
    w.server.inject("/new-order", Injection::Respond {
        status: 429,
        headers: vec![("Content-Type".into(), "application/problem+json".into()), ("Retry-After".into(), "3600".into())],
        body: br#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many certificates"}"#.to_vec(),
    });
    let err = w.issue(&["example.org"]).unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(t0 + Duration::from_secs(3600)));
    assert_eq!(w.clock, t0);
}

#[test]
fn authorization_deactivation_and_pre_authorization() {
    let mut w = World::new(FakeConfig {
        new_authz: true,
        ..FakeConfig::default()
    });
    w.account("k1");
    let (url, authz) = w
        .run(AuthorizationFlow::new_authz(
            &Identifier::dns("pre.example").unwrap(),
        ))
        .unwrap();
    assert_eq!(authz.status, AuthorizationStatus::Pending);
    assert_eq!(authz.identifier.kind, IdentifierType::Dns);
    let (_, deactivated) = w.run(AuthorizationFlow::deactivate(url.clone())).unwrap();
    assert_eq!(deactivated.status, AuthorizationStatus::Deactivated);
    let mut w2 = World::new(FakeConfig::default());
    w2.account("k1");
    let err = w2
        .run(AuthorizationFlow::new_authz(
            &Identifier::dns("pre.example").unwrap(),
        ))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Usage("the CA's directory has no `newAuthz` endpoint".into())
    );
}

#[test]
fn deactivated_account_is_refused() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let flow = AccountFlow::deactivate(&w.session).unwrap();
    let a = w.run(flow).unwrap();
    assert_eq!(a.resource.status.unwrap().as_str(), "deactivated");
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        (err.problem_type(), err.problem().unwrap().detail.as_deref()),
        (
            Some(&ProblemType::Unauthorized),
            Some("account is not valid")
        )
    );
}

#[test]
fn update_contact() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let flow =
        AccountFlow::update_contact(&w.session, vec!["mailto:new@example.org".into()]).unwrap();
    assert_eq!(
        w.run(flow).unwrap().resource.contact,
        vec!["mailto:new@example.org".to_string()]
    );
}

#[test]
fn wildcard_and_apex_use_dns01_for_the_wildcard() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let mut flow = IssueFlow::new(
        NewOrder::new(ids(&["example.org", "*.example.org"])),
        ChallengeSelector::default(),
        b"csr".to_vec(),
    );
    let mut seen = Vec::new();
    drive(
        &mut flow,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        |f, s, ev| {
            if let Event::Challenges(list) = ev {
                for c in &list {
                    seen.push((
                        c.identifier.value.clone(),
                        c.kind().clone(),
                        c.dns01_record_name(),
                    ));
                    s.publish(c);
                }
                f.challenges_ready();
            }
        },
    )
    .unwrap();
    assert_eq!(
        seen,
        vec![
            (
                "example.org".into(),
                ChallengeType::Http01,
                "_acme-challenge.example.org".into()
            ),
            (
                "*.example.org".into(),
                ChallengeType::Dns01,
                "_acme-challenge.example.org".into()
            ),
        ]
    );
}

#[test]
fn no_acceptable_challenge() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let mut flow = IssueFlow::new(
        NewOrder::new(ids(&["*.example.org"])),
        ChallengeSelector::new(vec![ChallengeType::Http01]),
        b"csr".to_vec(),
    );
    let err = drive(
        &mut flow,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        solve_all,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::NoAcceptableChallenge {
            identifier: Identifier::dns("*.example.org").unwrap(),
            offered: vec![ChallengeType::Dns01]
        }
    );
}

#[test]
fn pending_authorization_times_out() {
    let mut w = World::new(FakeConfig {
        pending_polls: u32::MAX,
        ..FakeConfig::default()
    });
    w.account("k1");
    let t0 = w.clock;
    let err = w.issue(&["example.org"]).unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: "authorizations to become valid (pending: dns:example.org)".into(),
            url: "https://acme.test/order/5".into()
        }
    );
    let waited = w.clock.duration_since(t0).unwrap();
    assert!(
        waited <= Duration::from_secs(300) && waited > Duration::from_secs(290),
        "{waited:?}"
    );
}

#[test]
fn alternate_chains_are_downloaded() {
    let mut w = World::new(FakeConfig {
        alternate_chains: 2,
        ..FakeConfig::default()
    });
    w.account("k1");
    let b = w.issue(&["example.org"]).unwrap();
    assert_eq!(b.alternates.len(), 2);
    assert_eq!(b.alternates[0].0, format!("{}/alt/1", b.certificate_url));
    assert_eq!(b.alternates[1].1.matches("BEGIN CERTIFICATE").count(), 2);
}

#[test]
fn replaces_is_dropped_after_already_replaced() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    let mut order = NewOrder::new(ids(&["example.org"]));
    order.replaces = Some("replaced-cert-id".into());
    let mut flow = IssueFlow::new(order, ChallengeSelector::default(), b"csr".to_vec());
    let b = drive(
        &mut flow,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        solve_all,
    )
    .unwrap();
    assert_eq!(b.order.replaces, None);
    assert_eq!(w.server.count("/new-order"), 2);
}

#[test]
fn finalize_refused_as_not_ready_rereads_the_order() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    w.server.inject(
        "/finalize/",
        Injection::problem(403, "orderNotReady", "not yet"),
    );
    w.issue(&["example.org"]).unwrap();
    assert_eq!(w.server.count("/finalize/"), 2);
}

#[test]
fn server_that_changes_identifiers_is_caught() {
    let mut w = World::new(FakeConfig::default());
    w.account("k1");
    w.server.inject("/new-order", Injection::Respond {
        status: 201,
        headers: vec![("Location".into(), "https://acme.test/order/99".into()), ("Content-Type".into(), "application/json".into())],
        body: br#"{"status":"pending","identifiers":[{"type":"dns","value":"evil.example"}],"authorizations":[],"finalize":"x"}"#.to_vec(),
    });
    let err = w.issue(&["example.org"]).unwrap_err();
    match err {
        Error::Protocol { reason, status, .. } => {
            assert_eq!(status, 201);
            assert_eq!(
                reason,
                "the order's identifiers [dns:evil.example] differ from those requested"
            );
        }
        e => panic!("{e:?}"),
    }
}
