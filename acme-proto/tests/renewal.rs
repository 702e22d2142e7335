//! Renewal against the scripted fake server: ARI checks (RFC 9773) and the decisions they
//! lead to, `replaces`, and certificate profiles, in virtual time.

use acme_proto::Error;
use acme_proto::flow::*;
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::problem::ProblemType;
use acme_proto::msgs::time::parse_rfc3339;
use acme_proto::renewal::{
    Basis, CertificateFacts, FallbackReason, Renew, RenewalCheck, RenewalCheckFlow, RenewalState,
    RenewalWindow,
};
use acme_proto::signer::Signer;
use acme_proto::testing::{self, FakeConfig, FakeServer, Injection, TestSigner, drive, solve_all};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The RFC 9773 §4.1 example certificate ID.
const ID: &str = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

fn t(s: &str) -> SystemTime {
    parse_rfc3339(s).unwrap()
}

/// A 90-day certificate, 2025-12-01 – 2026-03-01; the fallback renews it on 2026-01-30.
fn cert() -> CertificateFacts {
    CertificateFacts::new(t("2025-12-01T00:00:00Z"), t("2026-03-01T00:00:00Z"))
        .with_certificate_id(ID)
}

struct World {
    session: Session,
    server: FakeServer,
    clock: SystemTime,
}

impl World {
    /// At 2026-01-01T00:00:00Z, against a CA that offers ARI when `ari`.
    fn new(ari: bool, meta: Value) -> World {
        World {
            session: Session::new(FakeServer::directory_url()),
            server: FakeServer::new(FakeConfig {
                renewal_info: ari,
                meta,
                ..FakeConfig::default()
            }),
            clock: testing::epoch(),
        }
    }

    fn check(&mut self, state: RenewalState, random: u64) -> RenewalCheck {
        let mut flow = RenewalCheckFlow::new(cert(), state, random);
        drive(
            &mut flow,
            &mut self.session,
            &mut self.server,
            &mut self.clock,
            |_, _, _| {},
        )
        .unwrap()
    }

    fn account(&mut self) {
        let key: Arc<dyn Signer> = Arc::new(TestSigner::new("k1"));
        let mut flow =
            AccountFlow::create(key, NewAccount::new(vec![]).agree_to_terms_of_service(true));
        drive(
            &mut flow,
            &mut self.session,
            &mut self.server,
            &mut self.clock,
            |_, _, _| {},
        )
        .unwrap();
    }

    fn order(&mut self, order: NewOrder) -> Result<CertificateBundle, Error> {
        let mut flow = IssueFlow::new(order, ChallengeSelector::default(), b"csr".to_vec());
        drive(
            &mut flow,
            &mut self.session,
            &mut self.server,
            &mut self.clock,
            solve_all,
        )
    }

    fn ari_requests(&self) -> usize {
        self.server.count("/renewal-info/")
    }
}

fn order() -> NewOrder {
    NewOrder::new(vec![Identifier::dns("example.org").unwrap()])
}

/// A suggested window as the CA writes it.
type Window = (&'static str, &'static str);

#[test]
fn windows_past_future_begun_inverted_and_missing() {
    let six_hours_later = "2026-01-01T06:00:00Z";
    let cases: [(&str, Option<Window>, Renew, Basis); 5] = [
        (
            "future",
            Some(("2026-01-20T00:00:00Z", "2026-01-22T00:00:00Z")),
            Renew::CheckAgain(t(six_hours_later)),
            Basis::Ari,
        ),
        (
            "past",
            Some(("2025-12-20T00:00:00Z", "2025-12-21T00:00:00Z")),
            Renew::Now,
            Basis::Ari,
        ),
        (
            "begun",
            Some(("2025-12-31T00:00:00Z", "2026-01-02T00:00:00Z")),
            Renew::Now,
            Basis::Ari,
        ),
        (
            "inverted",
            Some(("2026-01-22T00:00:00Z", "2026-01-20T00:00:00Z")),
            Renew::CheckAgain(t(six_hours_later)),
            Basis::Fallback(FallbackReason::InvalidWindow),
        ),
        (
            "missing",
            None,
            Renew::CheckAgain(t(six_hours_later)),
            Basis::Fallback(FallbackReason::FetchFailed),
        ),
    ];
    for (name, window, renew, basis) in cases {
        let mut w = World::new(true, json!({}));
        if let Some((start, end)) = window {
            w.server.set_renewal_window(ID, start, end);
        }
        let check = w.check(RenewalState::new(), 1 << 63);
        assert_eq!(check.decision.renew, renew, "{name}");
        assert_eq!(check.decision.basis, basis, "{name}");
        assert_eq!(check.decision.explanation_url, None, "{name}");
        assert_eq!(check.replaces.as_deref(), Some(ID), "{name}");
        assert_eq!(check.state.next_check(), Some(t(six_hours_later)), "{name}");
        assert_eq!(w.ari_requests(), 1, "{name}");
        match name {
            "future" => assert_eq!(check.state.renew_at(), Some(t("2026-01-21T00:00:00Z"))),
            "past" => assert_eq!(check.state.renew_at(), Some(t("2025-12-20T00:00:00Z"))),
            "begun" => assert_eq!(check.state.renew_at(), Some(t("2025-12-31T00:00:00Z"))),
            _ => assert_eq!((check.state.window(), check.state.renew_at()), (None, None)),
        }
        match (name, &check.ari_error) {
            (
                "missing",
                Some(Error::Server {
                    status, problem, ..
                }),
            ) => {
                assert_eq!(*status, 404);
                assert_eq!(problem.kind, ProblemType::Malformed);
                assert_eq!(problem.detail.as_deref(), Some("unknown certificate"));
            }
            ("missing", e) => panic!("{e:?}"),
            (_, e) => assert_eq!(*e, None, "{name}"),
        }
    }
}

#[test]
fn a_ca_without_renewal_info_means_the_lifetime_fallback() {
    let mut w = World::new(false, json!({}));
    let check = w.check(RenewalState::new(), 0);
    assert_eq!(check.decision.renew, Renew::At(t("2026-01-30T00:00:00Z")));
    assert_eq!(
        check.decision.basis,
        Basis::Fallback(FallbackReason::NotOffered)
    );
    assert_eq!(check.decision.explanation_url, None);
    assert_eq!(check.replaces, None);
    assert_eq!(check.ari_error, None);
    assert_eq!(check.state.next_check(), None);
    assert_eq!(w.server.log.len(), 1, "only the directory is fetched");
}

#[test]
fn a_certificate_without_id_is_never_checked() {
    let mut w = World::new(true, json!({}));
    let facts = CertificateFacts::new(cert().not_before, cert().not_after);
    let mut flow = RenewalCheckFlow::new(facts, RenewalState::new(), 0);
    let check = drive(
        &mut flow,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        |_, _, _| {},
    )
    .unwrap();
    assert_eq!(
        check.decision.basis,
        Basis::Fallback(FallbackReason::NoCertificateId)
    );
    assert_eq!(check.decision.renew, Renew::At(t("2026-01-30T00:00:00Z")));
    assert_eq!(check.replaces, None);
    assert_eq!(w.ari_requests(), 0);
}

#[test]
fn window_timestamps_with_zero_to_nine_fractional_digits() {
    for digits in 0..=9usize {
        let fraction = if digits == 0 {
            String::new()
        } else {
            format!(".{}", &"123456789"[..digits])
        };
        let start = format!("2026-01-20T00:00:00{fraction}Z");
        let end = format!("2026-01-21T00:00:00{fraction}Z");
        let mut w = World::new(true, json!({}));
        w.server.set_renewal_window(ID, &start, &end);
        let info = drive(
            &mut RenewalInfoFlow::new(ID),
            &mut w.session,
            &mut w.server,
            &mut w.clock,
            |_, _, _| {},
        )
        .unwrap();
        let nanos: u32 = format!("{:0<9}", &"123456789"[..digits]).parse().unwrap();
        let expected_start = t("2026-01-20T00:00:00Z") + Duration::from_nanos(u64::from(nanos));
        assert_eq!(info.window_start, expected_start, "{start}");
        assert_eq!(
            info.window_end,
            expected_start + Duration::from_secs(86_400)
        );
        assert_eq!(
            info.retry_after,
            Some(testing::epoch() + Duration::from_secs(21_600))
        );
        // The random value 0 picks the very start; 2^63 the middle.
        let check = w.check(RenewalState::new(), 0);
        assert_eq!(check.state.renew_at(), Some(expected_start), "{start}");
        let check = w.check(RenewalState::new(), 1 << 63);
        assert_eq!(
            check.state.renew_at(),
            Some(expected_start + Duration::from_secs(43_200)),
            "{start}"
        );
    }
    // More than nine digits are truncated to nanoseconds; a malformed bound is a failed fetch.
    let mut w = World::new(true, json!({}));
    w.server.set_renewal_window(
        ID,
        "2026-01-20T00:00:00.1234567891Z",
        "2026-01-21T00:00:00Z",
    );
    let check = w.check(RenewalState::new(), 0);
    assert_eq!(
        check.state.renew_at(),
        Some(t("2026-01-20T00:00:00.123456789Z"))
    );
    w.server
        .set_renewal_window(ID, "2026-01-20", "2026-01-21T00:00:00Z");
    let check = w.check(RenewalState::new(), 0);
    assert_eq!(
        check.decision.basis,
        Basis::Fallback(FallbackReason::FetchFailed)
    );
    match check.ari_error {
        Some(Error::Protocol { reason, status, .. }) => {
            assert_eq!(status, 200);
            assert_eq!(reason, "suggestedWindow.start is not an RFC 3339 timestamp");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn retry_after_sets_the_next_check_and_explanation_is_surfaced() {
    let incident = "https://ca.example/incident/42";
    for (retry_after, next) in [
        (Some("120"), "2026-01-01T00:02:00Z"),
        (Some("5"), "2026-01-01T00:01:00Z"),
        (Some("604800"), "2026-01-02T00:00:00Z"),
        (
            Some("Thu, 01 Jan 2026 03:00:00 GMT"),
            "2026-01-01T03:00:00Z",
        ),
        (Some("soon"), "2026-01-01T06:00:00Z"),
        (None, "2026-01-01T06:00:00Z"),
    ] {
        let mut w = World::new(true, json!({}));
        w.server
            .set_renewal_window(ID, "2026-01-20T00:00:00Z", "2026-01-22T00:00:00Z");
        w.server
            .set_renewal_details(ID, Some(incident), retry_after);
        let check = w.check(RenewalState::new(), 1 << 63);
        assert_eq!(check.state.next_check(), Some(t(next)), "{retry_after:?}");
        assert_eq!(check.decision.renew, Renew::CheckAgain(t(next)));
        assert_eq!(check.decision.explanation_url.as_deref(), Some(incident));
        assert_eq!(check.state.explanation_url(), Some(incident));
    }
}

#[test]
fn checks_wait_for_their_time_and_the_choice_survives_a_restart() {
    let mut w = World::new(true, json!({}));
    w.server
        .set_renewal_window(ID, "2026-01-20T00:00:00Z", "2026-01-22T00:00:00Z");
    let first = w.check(RenewalState::new(), 1 << 62);
    assert_eq!(first.state.renew_at(), Some(t("2026-01-20T12:00:00Z")));
    let stored = first.state.to_json();

    // An hour later, in a new process: no check is due, so no request at all but the
    // directory; the decision comes from the stored state.
    let mut w2 = World::new(true, json!({}));
    w2.server
        .set_renewal_window(ID, "2026-01-20T00:00:00Z", "2026-01-22T00:00:00Z");
    w2.clock = w.clock + Duration::from_secs(3600);
    let again = w2.check(RenewalState::from_json(&stored).unwrap(), u64::MAX);
    assert_eq!(w2.ari_requests(), 0);
    assert_eq!(
        again.decision.renew,
        Renew::CheckAgain(t("2026-01-01T06:00:00Z"))
    );
    assert_eq!(again.state, first.state);

    // Once the check is due, the same window keeps the same time.
    w2.clock = t("2026-01-01T06:00:00Z");
    let due = w2.check(again.state, u64::MAX);
    assert_eq!(w2.ari_requests(), 1);
    assert_eq!(due.state.renew_at(), Some(t("2026-01-20T12:00:00Z")));
    assert_eq!(due.state.next_check(), Some(t("2026-01-01T12:00:00Z")));

    // The CA moves the window (an incident): a new time, inside the new window.
    w2.server
        .set_renewal_window(ID, "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z");
    w2.clock = t("2026-01-01T12:00:00Z");
    let moved = w2.check(due.state, u64::MAX);
    assert_eq!(
        moved.state.window(),
        RenewalWindow::new(t("2026-01-03T00:00:00Z"), t("2026-01-04T00:00:00Z"))
    );
    assert_eq!(
        moved.state.renew_at(),
        Some(t("2026-01-03T23:59:59.999999999Z"))
    );

    // Near the chosen time the next check comes after it: renew at it, then renew now.
    w2.clock = t("2026-01-03T20:00:00Z");
    let near = w2.check(moved.state, 0);
    assert_eq!(
        near.decision.renew,
        Renew::At(t("2026-01-03T23:59:59.999999999Z"))
    );
    w2.clock = t("2026-01-04T00:00:00Z");
    let now = w2.check(near.state, 0);
    assert_eq!(now.decision.renew, Renew::Now);
}

#[test]
fn due_renewal_orders_with_replaces() {
    let mut w = World::new(true, json!({}));
    w.account();
    w.server
        .set_renewal_window(ID, "2025-12-20T00:00:00Z", "2025-12-21T00:00:00Z");
    let check = w.check(RenewalState::new(), 0);
    assert_eq!(check.decision.renew, Renew::Now);
    let replaces = check.replaces.unwrap();
    let bundle = w.order(order().with_replaces(replaces)).unwrap();
    assert_eq!(bundle.order.replaces.as_deref(), Some(ID));
    assert_eq!(
        w.server.new_order_payloads(),
        [json!({"identifiers": [{"type": "dns", "value": "example.org"}], "replaces": ID})]
    );
}

#[test]
fn already_replaced_then_success_without_replaces() {
    // The fake CA answers `alreadyReplaced` to IDs starting with "replaced".
    let mut w = World::new(true, json!({}));
    w.account();
    let bundle = w.order(order().with_replaces("replaced.AQ")).unwrap();
    assert_eq!(bundle.order.replaces, None);
    let ids = json!([{"type": "dns", "value": "example.org"}]);
    assert_eq!(
        w.server.new_order_payloads(),
        [
            json!({"identifiers": ids, "replaces": "replaced.AQ"}),
            json!({"identifiers": ids}),
        ]
    );
    assert_eq!(
        w.server
            .log
            .iter()
            .filter(|l| l.path == "/new-order")
            .map(|l| l.status)
            .collect::<Vec<_>>(),
        [409, 201]
    );

    // The older `conflict` problem is handled the same way, once.
    let mut w = World::new(true, json!({}));
    w.account();
    w.server.inject(
        "/new-order",
        Injection::problem(409, "conflict", "replaced already"),
    );
    let bundle = w.order(order().with_replaces(ID)).unwrap();
    assert_eq!(bundle.order.replaces, None);
    assert_eq!(w.server.count("/new-order"), 2);

    // A second refusal is the caller's to see.
    let mut w = World::new(true, json!({}));
    w.account();
    w.server.inject(
        "/new-order",
        Injection::problem(409, "alreadyReplaced", "one"),
    );
    w.server.inject(
        "/new-order",
        Injection::problem(409, "alreadyReplaced", "two"),
    );
    let err = w.order(order().with_replaces(ID)).unwrap_err();
    assert_eq!(err.problem_type(), Some(&ProblemType::AlreadyReplaced));
    assert_eq!(err.problem().unwrap().detail.as_deref(), Some("two"));
}

#[test]
fn replaces_is_never_sent_empty_or_null() {
    let mut w = World::new(true, json!({}));
    w.account();
    w.order(order()).unwrap();
    w.order(order().with_replaces("")).unwrap();
    let mut explicit_none = order();
    explicit_none.replaces = None;
    w.order(explicit_none).unwrap();
    let ids = json!([{"type": "dns", "value": "example.org"}]);
    for payload in w.server.new_order_payloads() {
        assert_eq!(payload, &json!({"identifiers": ids}));
    }
    assert_eq!(w.server.new_order_payloads().len(), 3);
}

fn profiles() -> Value {
    json!({"profiles": {"classic": "The same profile you're accustomed to", "shortlived": "6-day certificates"}})
}

#[test]
fn profiles_are_read_from_the_directory() {
    let mut w = World::new(true, profiles());
    let d = drive(
        &mut DirectoryFlow::new(&w.session),
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        |_, _, _| {},
    )
    .unwrap();
    let listed: Vec<(&str, &str)> = d
        .meta
        .profiles
        .as_ref()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("classic", "The same profile you're accustomed to"),
            ("shortlived", "6-day certificates")
        ]
    );
}

#[test]
fn required_profile_is_sent_and_its_refusal_is_returned() {
    // Offered: sent, and the order carries it.
    let mut w = World::new(true, profiles());
    w.account();
    let b = w
        .order(order().with_profile(ProfileRequest::required("shortlived")))
        .unwrap();
    assert_eq!(b.order.profile.as_deref(), Some("shortlived"));
    assert_eq!(
        w.server.new_order_payloads()[0]["profile"],
        json!("shortlived")
    );

    // Not offered: the CA's invalidProfile problem, after one newOrder.
    let mut w = World::new(true, profiles());
    w.account();
    let err = w
        .order(order().with_profile(ProfileRequest::required("tlsserver")))
        .unwrap_err();
    match &err {
        Error::Server {
            status, problem, ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(problem.kind, ProblemType::InvalidProfile);
            assert_eq!(
                problem.detail.as_deref(),
                Some("profile \"tlsserver\" is not offered")
            );
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(w.server.count("/new-order"), 1);
    assert_eq!(
        w.server.new_order_payloads()[0]["profile"],
        json!("tlsserver")
    );
}

#[test]
fn preferred_profile_falls_back_to_the_default() {
    // Listed: sent.
    let mut w = World::new(true, profiles());
    w.account();
    let b = w
        .order(order().with_profile(ProfileRequest::preferred("shortlived")))
        .unwrap();
    assert_eq!(b.order.profile.as_deref(), Some("shortlived"));

    // Not listed (or no profiles at all): not sent, one newOrder, the CA's default.
    for meta in [profiles(), json!({})] {
        let mut w = World::new(true, meta);
        w.account();
        let b = w
            .order(order().with_profile(ProfileRequest::preferred("tlsserver")))
            .unwrap();
        assert_eq!(b.order.profile, None);
        assert_eq!(
            w.server.new_order_payloads(),
            [json!({"identifiers": [{"type": "dns", "value": "example.org"}]})]
        );
    }

    // Listed, yet refused: retried once without it.
    let mut w = World::new(true, profiles());
    w.account();
    w.server.inject(
        "/new-order",
        Injection::problem(400, "invalidProfile", "not for you"),
    );
    let b = w
        .order(order().with_profile(ProfileRequest::preferred("shortlived")))
        .unwrap();
    assert_eq!(b.order.profile, None);
    assert_eq!(w.server.count("/new-order"), 2);
    assert_eq!(
        w.server.new_order_payloads(),
        [json!({"identifiers": [{"type": "dns", "value": "example.org"}]})],
        "the injected refusal is answered before the server reads the payload"
    );
}
