//! Fake-server tests for the parts of the account and certificate lifecycle Pebble cannot
//! exercise (issue 6): pre-authorization through `newAuthz`, which Pebble's directory does
//! not offer. Everything else of the lifecycle is tested end to end against Pebble
//! (`acme-tokio/tests/pebble_lifecycle.rs`).

use acme_proto::Error;
use acme_proto::flow::*;
use acme_proto::msgs::challenge::key_authorization;
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::resources::{
    AuthorizationStatus, ChallengeStatus, ChallengeType, OrderStatus,
};
use acme_proto::signer::Signer;
use acme_proto::testing::{self, FakeConfig, FakeServer, TestSigner, drive, solve_all};
use std::sync::Arc;
use std::time::SystemTime;

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

    /// The requests since the log was last cleared, as `METHOD /path` with ids cut off.
    fn paths(&self) -> Vec<String> {
        self.server
            .log
            .iter()
            .map(|l| {
                let path = l.path.split(|c: char| c.is_ascii_digit()).next().unwrap();
                format!("{} {path} {}", l.method, l.status)
            })
            .collect()
    }
}

fn pre_authz_world() -> (World, Arc<dyn Signer>) {
    let mut w = World::new(FakeConfig {
        new_authz: true,
        ..FakeConfig::default()
    });
    let key: Arc<dyn Signer> = Arc::new(TestSigner::new("pre-authz account"));
    let params = NewAccount::new(vec![]).agree_to_terms_of_service(true);
    w.run(AccountFlow::create(key.clone(), params)).unwrap();
    (w, key)
}

#[test]
fn fake_server_pre_authorization_via_new_authz_then_the_order_needs_no_challenge() {
    let (mut w, key) = pre_authz_world();
    let id = Identifier::dns("pre.example").unwrap();

    // newAuthz: a pending authorization offering the usual challenges.
    w.server.log.clear();
    let (authz_url, authz) = w.run(AuthorizationFlow::new_authz(&id)).unwrap();
    assert_eq!(w.paths(), ["POST /new-authz 201"]);
    assert!(
        authz_url.starts_with("https://acme.test/authz/"),
        "{authz_url}"
    );
    assert_eq!(authz.status, AuthorizationStatus::Pending);
    assert_eq!(authz.identifier, id);
    let kinds: Vec<ChallengeType> = authz.challenges.iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01
        ]
    );

    // Publish the http-01 response, respond to the challenge, poll the authorization.
    let http01 = &authz.challenges[0];
    let token = http01.token.clone().unwrap();
    w.server
        .publish_raw(&token, &key_authorization(&token, &key.jwk().thumbprint()));
    let responded = w.run(ChallengeFlow::respond(http01.url.clone())).unwrap();
    assert_eq!(responded.status, ChallengeStatus::Processing);
    assert_eq!(responded.url, http01.url);
    let (_, validated) = w.run(AuthorizationFlow::fetch(authz_url.clone())).unwrap();
    assert_eq!(validated.status, AuthorizationStatus::Valid);
    assert_eq!(validated.challenges[0].status, ChallengeStatus::Valid);

    // An order for the pre-authorized name is `ready` at once: straight to finalize, with no
    // authorization fetched and no challenge presented.
    w.server.log.clear();
    let mut issue = IssueFlow::new(
        NewOrder::new(vec![id.clone()]),
        ChallengeSelector::default(),
        b"csr".to_vec(),
    );
    let mut events = Vec::new();
    let bundle = drive(
        &mut issue,
        &mut w.session,
        &mut w.server,
        &mut w.clock,
        |f, s, ev| {
            events.push(format!("{ev:?}"));
            solve_all(f, s, ev)
        },
    )
    .unwrap();
    assert_eq!(bundle.order.status, OrderStatus::Valid);
    assert_eq!(bundle.order.authorizations, [authz_url]);
    assert_eq!(
        w.paths(),
        [
            "POST /new-order 201",
            "POST /finalize/ 200",
            "POST /order/ 200",
            "POST /cert/ 200"
        ]
    );
    assert!(
        events.iter().all(|e| !e.starts_with("Challenges")),
        "{events:?}"
    );
}

#[test]
fn fake_server_pre_authorization_with_a_wrong_response_ends_invalid() {
    let (mut w, _) = pre_authz_world();
    let id = Identifier::dns("wrong.example").unwrap();
    let (authz_url, authz) = w.run(AuthorizationFlow::new_authz(&id)).unwrap();
    let http01 = &authz.challenges[0];
    w.server.publish_raw(
        http01.token.as_deref().unwrap(),
        "not.the-key-authorization",
    );
    w.run(ChallengeFlow::respond(http01.url.clone())).unwrap();
    let (_, failed) = w.run(AuthorizationFlow::fetch(authz_url)).unwrap();
    assert_eq!(failed.status, AuthorizationStatus::Invalid);
    let (challenge, problem) = failed.failure().unwrap();
    assert_eq!(challenge.kind, ChallengeType::Http01);
    assert_eq!(
        problem.unwrap().detail.as_deref(),
        Some("key authorization mismatch: got \"not.the-key-authorization\"")
    );
}

#[test]
fn fake_server_pre_authorization_can_be_deactivated() {
    let (mut w, _) = pre_authz_world();
    let id = Identifier::dns("deactivate.example").unwrap();
    let (authz_url, _) = w.run(AuthorizationFlow::new_authz(&id)).unwrap();
    let (url, deactivated) = w
        .run(AuthorizationFlow::deactivate(authz_url.clone()))
        .unwrap();
    assert_eq!(url, authz_url);
    assert_eq!(deactivated.status, AuthorizationStatus::Deactivated);
    // Deactivation is final: a second one is refused with the CA's problem.
    let err = w.run(AuthorizationFlow::deactivate(authz_url)).unwrap_err();
    match err {
        Error::Server {
            status, problem, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(
                problem.detail.as_deref(),
                Some("only deactivation is allowed")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fake_server_without_new_authz_pre_authorization_is_a_usage_error() {
    let mut w = World::new(FakeConfig::default());
    let key: Arc<dyn Signer> = Arc::new(TestSigner::new("k"));
    w.run(AccountFlow::create(
        key,
        NewAccount::default().agree_to_terms_of_service(true),
    ))
    .unwrap();
    w.server.log.clear();
    let err = w
        .run(AuthorizationFlow::new_authz(
            &Identifier::dns("x.example").unwrap(),
        ))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Usage("the CA's directory has no `newAuthz` endpoint".into())
    );
    assert_eq!(w.paths(), Vec::<String>::new());
}
