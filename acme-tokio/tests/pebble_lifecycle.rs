//! The account and certificate lifecycle end to end against Pebble (issue 6): account key
//! types, persisted credentials, lookups by key, contacts, deactivation, key rollover,
//! revocation, orders list paging, authorization deactivation, terms of service, External
//! Account Binding (`pebble_eab`, phase `e2e-eab`) and alternate chains (`pebble_alt_roots`,
//! phase `e2e-alt-roots`). Run by `cargo xtask ci`.
//!
//! Challenges are solved with dns-01 through pebble-challtestsrv, so this binary binds no
//! port. Every request is recorded (`lifecycle::Log`) so the tests can assert what was sent.
//! Pre-authorization (`newAuthz`) is not offered by Pebble: its fake-server tests are in
//! `acme-proto/tests/fake_server_lifecycle.rs`; here we assert how its absence is reported.

#[path = "../../tests-support/e2e.rs"]
mod e2e;
#[path = "../../tests-support/lifecycle.rs"]
mod lifecycle;

use acme_tokio::crypto::{
    AccountFile, Algorithm, CertificateChain, CertificateInfo, KeyPair, select_chain_pem,
};
use acme_tokio::http_client::{BoxFuture, DefaultClient, HttpClient};
use acme_tokio::proto::flow::{
    Account, ChallengeSelector, Event, IssueFlow, NewAccount, NewOrder, RevocationReason,
};
use acme_tokio::proto::http::{Endpoint, Request, Response, TransportError};
use acme_tokio::proto::msgs::identifier::Identifier;
use acme_tokio::proto::msgs::problem::ProblemType;
use acme_tokio::proto::msgs::resources::{AuthorizationStatus, ChallengeType, OrderStatus};
use acme_tokio::proto::signer::Signer;
use acme_tokio::{Client, ClientBuilder, Error, IssuedCertificate, Solver, SolverError, Step};
use lifecycle::{Exchange, Log};
use std::sync::Arc;

/// The adapter's default HTTP client, recording every exchange into a [`Log`].
struct Recording {
    inner: DefaultClient,
    log: Log,
}

impl HttpClient for Recording {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let (endpoint, method, url, body) = (
            request.endpoint,
            request.method.clone(),
            request.url.clone(),
            request.body.clone(),
        );
        Box::pin(async move {
            let result = self.inner.execute(request).await;
            self.log
                .push(Exchange::record(endpoint, method, url, body, &result));
            result
        })
    }
}

/// dns-01 through pebble-challtestsrv's management API.
struct Dns01 {
    challtestsrv: String,
}

impl Solver for Dns01 {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Dns01]
    }

    fn present<'a>(
        &'a self,
        c: &'a acme_tokio::proto::flow::ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>> {
        let r = lifecycle::set_txt(
            &self.challtestsrv,
            &c.dns01_record_name(),
            &c.dns01_txt_value(),
        );
        Box::pin(async move { r.map_err(SolverError::from) })
    }

    fn cleanup<'a>(
        &'a self,
        c: &'a acme_tokio::proto::flow::ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>> {
        let r = lifecycle::clear_txt(&self.challtestsrv, &c.dns01_record_name());
        Box::pin(async move { r.map_err(SolverError::from) })
    }
}

fn http(env: &e2e::PebbleEnv) -> DefaultClient {
    DefaultClient::builder()
        .add_root_pem(&env.ca_cert_pem)
        .expect("Pebble's listener CA")
        .build()
        .expect("HTTP client")
}

/// A client builder for Pebble whose requests are recorded into `log`.
fn builder(env: &e2e::PebbleEnv, log: &Log) -> ClientBuilder {
    Client::builder(&env.directory).http_client(Recording {
        inner: http(env),
        log: log.clone(),
    })
}

fn solver(env: &e2e::PebbleEnv) -> Dns01 {
    Dns01 {
        challtestsrv: env.challtestsrv.clone(),
    }
}

fn key(alg: Algorithm) -> Arc<KeyPair> {
    Arc::new(KeyPair::generate(alg).expect("key"))
}

fn agreed(contact: &str) -> NewAccount {
    NewAccount::new(vec![contact.to_owned()]).agree_to_terms_of_service(true)
}

/// A fresh client with a fresh account of `alg`.
async fn with_account(
    env: &e2e::PebbleEnv,
    log: &Log,
    alg: Algorithm,
) -> (Client, Arc<KeyPair>, Account) {
    let client = builder(env, log).build().expect("client");
    let k = key(alg);
    let account = client
        .create_account(k.clone(), agreed("mailto:lifecycle@example.com"))
        .await
        .expect("newAccount");
    assert!(account.created);
    (client, k, account)
}

/// `GET` a PEM document from Pebble's management interface.
async fn management_pem(env: &e2e::PebbleEnv, path: &str) -> Vec<u8> {
    let resp = http(env)
        .execute(lifecycle::management_request(&env.management, path))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.into_body()
}

/// Pebble's revocation record of a certificate: (status, reason code).
async fn revocation_status(env: &e2e::PebbleEnv, cert_der: &[u8]) -> (String, Option<u64>) {
    let serial: String = CertificateInfo::from_der(cert_der)
        .expect("certificate")
        .serial
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02x}"))
        .collect();
    let body = management_pem(env, &format!("/cert-status-by-serial/{serial}")).await;
    let v: serde_json::Value = serde_json::from_slice(&body).expect("cert status JSON");
    (
        v["Status"].as_str().unwrap_or_default().to_owned(),
        v["Reason"].as_u64(),
    )
}

async fn issue(
    client: &Client,
    env: &e2e::PebbleEnv,
    prefix: &str,
    cert_key: Option<KeyPair>,
) -> (String, IssuedCertificate) {
    let name = e2e::unique_name(prefix);
    let cert = client
        .issue(&[&name], &solver(env), cert_key)
        .await
        .unwrap_or_else(|e| panic!("issue {name}: {e}"));
    (name, cert)
}

fn leaf_der(cert: &IssuedCertificate) -> Vec<u8> {
    CertificateChain::from_pem(cert.chain_pem.as_bytes())
        .expect("chain")
        .leaf_der()
        .to_vec()
}

/// The CA's problem of a failed operation: (HTTP status, type, detail).
fn problem(err: &Error) -> (u16, ProblemType, String) {
    match err {
        Error::Acme(acme_tokio::proto::Error::Server {
            status, problem, ..
        }) => (
            *status,
            problem.kind.clone(),
            problem.detail.clone().unwrap_or_default(),
        ),
        other => panic!("expected the CA's problem, got {other:?}"),
    }
}

// ---- account key types -------------------------------------------------------------------

async fn account_key_type_gets_a_certificate(alg: Algorithm) {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, account_key, account) = with_account(&env, &log, alg).await;
    assert_eq!(
        account.resource.status.as_ref().map(|s| s.as_str()),
        Some("valid")
    );
    // newAccount is signed by the new key with its JWK; everything after by `kid`.
    let created = &log.all()[..];
    let new_account = created
        .iter()
        .find(|e| e.endpoint == Endpoint::NewAccount)
        .expect("newAccount sent");
    let header = new_account.protected().expect("JWS");
    assert_eq!(header["alg"], alg.jws_name());
    assert_eq!(
        header["jwk"],
        account_key.public_jwk().to_json_value(),
        "newAccount carries the account JWK"
    );
    log.clear();
    // The certificate key is of the same type as the account key.
    let cert_key = KeyPair::generate(alg).expect("certificate key");
    let (name, cert) = issue(
        &client,
        &env,
        &format!("keytype-{}", alg.jws_name().to_ascii_lowercase()),
        Some(cert_key),
    )
    .await;
    e2e::assert_chain(
        &cert.chain_pem,
        &management_pem(&env, "/roots/0").await,
        &[&name],
    );
    assert_eq!(cert.key.algorithm(), alg);
    for e in log.all().iter().filter(|e| e.method == "POST") {
        let h = e.protected().expect("JWS");
        assert_eq!(h["alg"], alg.jws_name(), "{:?}", e.endpoint);
        assert_eq!(h["kid"], account.url.as_str(), "{:?}", e.endpoint);
    }
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn account_key_es256_creates_an_account_and_gets_a_certificate() {
    account_key_type_gets_a_certificate(Algorithm::Es256).await;
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn account_key_es384_creates_an_account_and_gets_a_certificate() {
    account_key_type_gets_a_certificate(Algorithm::Es384).await;
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn account_key_es512_creates_an_account_and_gets_a_certificate() {
    account_key_type_gets_a_certificate(Algorithm::Es512).await;
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn account_key_rs256_creates_an_account_and_gets_a_certificate() {
    account_key_type_gets_a_certificate(Algorithm::Rs256 { bits: 2048 }).await;
}

// ---- terms of service --------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn terms_of_service_are_shown_and_agreeing_is_explicit() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let client = builder(&env, &log).build().expect("client");
    assert_eq!(
        client
            .terms_of_service()
            .await
            .expect("directory")
            .as_deref(),
        Some(lifecycle::PEBBLE_TERMS_OF_SERVICE)
    );
    // Not agreeing: nothing is sent on the caller's behalf, and Pebble refuses.
    let k = key(Algorithm::Es256);
    let err = client
        .create_account(k.clone(), NewAccount::new(vec![]))
        .await
        .expect_err("Pebble requires agreement");
    assert_eq!(
        problem(&err),
        (
            403,
            ProblemType::Other("urn:ietf:params:acme:error:agreementRequired".into()),
            "Provided account did not agree to the terms of service".into()
        )
    );
    let refused = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::NewAccount)
        .expect("newAccount sent");
    assert_eq!(refused.payload(), Some(serde_json::json!({})));
    assert_eq!(client.account().map(|a| a.url), None);
    // Agreeing explicitly.
    log.clear();
    let account = client
        .create_account(k, NewAccount::new(vec![]).agree_to_terms_of_service(true))
        .await
        .expect("account");
    assert!(account.created);
    let sent = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::NewAccount)
        .expect("newAccount sent");
    assert_eq!(
        sent.payload(),
        Some(serde_json::json!({"termsOfServiceAgreed": true}))
    );
}

// ---- persisted credentials and lookups by key ---------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn persisted_account_restores_without_a_new_account_request() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, account_key, account) = with_account(&env, &log, Algorithm::Es384).await;
    let dir = std::env::temp_dir().join(format!("acme-tokio-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("account.json");
    let file = client
        .account_file(account_key.clone())
        .expect("account file");
    assert_eq!(file.directory_url(), env.directory);
    assert_eq!(file.account_url(), account.url);
    file.save(&path).expect("save");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(!format!("{file:?}").contains("PRIVATE KEY"));

    // A new process: load the file, restore, issue. No newAccount request at all.
    let restored_log = Log::default();
    let restored = builder(&env, &restored_log).build().expect("client");
    let loaded = AccountFile::load(&path).expect("load");
    restored.restore_account(&loaded).expect("restore");
    assert_eq!(restored_log.all().len(), 0, "restoring makes no request");
    let (name, cert) = issue(&restored, &env, "restored", None).await;
    e2e::assert_chain(
        &cert.chain_pem,
        &management_pem(&env, "/roots/0").await,
        &[&name],
    );
    assert_eq!(restored_log.count(Endpoint::NewAccount), 0);
    let order = restored_log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::NewOrder)
        .expect("newOrder sent");
    assert_eq!(order.protected().expect("JWS")["kid"], account.url.as_str());
    assert_eq!(
        restored.fetch_account().await.expect("account").url,
        account.url
    );

    // A file for another CA is refused before any request.
    let other = AccountFile::new(
        "https://other.example/dir",
        account.url.clone(),
        account_key,
    )
    .expect("file");
    let err = restored.restore_account(&other).expect_err("other CA");
    match err {
        Error::Config(m) => assert_eq!(
            m,
            format!(
                "the account file is for the CA at https://other.example/dir, not {}",
                env.directory
            )
        ),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn a_key_alone_finds_its_account_and_a_key_without_one_is_account_does_not_exist() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (_, account_key, account) = with_account(&env, &log, Algorithm::Es256).await;

    let lookup_log = Log::default();
    let lookup = builder(&env, &lookup_log).build().expect("client");
    let found = lookup.find_account(account_key).await.expect("found");
    assert_eq!(found.url, account.url);
    assert!(!found.created);
    assert_eq!(lookup.account().map(|a| a.url), Some(account.url.clone()));
    let sent = lookup_log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::NewAccount)
        .expect("newAccount sent");
    assert_eq!(
        sent.payload(),
        Some(serde_json::json!({"onlyReturnExisting": true}))
    );
    assert_eq!(sent.status, 200);

    let stranger = builder(&env, &Log::default()).build().expect("client");
    let err = stranger
        .find_account(key(Algorithm::Es256))
        .await
        .expect_err("no account");
    assert_eq!(
        problem(&err),
        (
            400,
            ProblemType::AccountDoesNotExist,
            "unable to find existing account for only-return-existing request".into()
        )
    );
    assert_eq!(stranger.account().map(|a| a.url), None);
}

// ---- contacts and deactivation ------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn update_contact_replaces_the_contacts() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, account) = with_account(&env, &log, Algorithm::Es256).await;
    assert_eq!(account.resource.contact, ["mailto:lifecycle@example.com"]);
    let new = vec![
        "mailto:ops@example.com".to_owned(),
        "mailto:security@example.com".to_owned(),
    ];
    log.clear();
    let updated = client.update_contact(new.clone()).await.expect("update");
    assert_eq!(updated.url, account.url);
    assert_eq!(updated.resource.contact, new);
    let sent = &log.all()[..];
    let update = sent
        .iter()
        .find(|e| e.endpoint == Endpoint::Account)
        .expect("account update sent");
    assert_eq!(update.payload(), Some(serde_json::json!({"contact": new})));
    assert_eq!(update.url, account.url);
    assert_eq!(
        client
            .fetch_account()
            .await
            .expect("fetch")
            .resource
            .contact,
        new
    );
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn deactivated_account_requests_fail_with_unauthorized() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, account_key, account) = with_account(&env, &log, Algorithm::Es256).await;
    let deactivated = client.deactivate_account().await.expect("deactivate");
    assert_eq!(deactivated.url, account.url);
    assert_eq!(
        deactivated.resource.status.as_ref().map(|s| s.as_str()),
        Some("deactivated")
    );
    let expected = (
        403,
        ProblemType::Unauthorized,
        "Account has been deactivated".to_owned(),
    );
    let err = client.fetch_account().await.expect_err("deactivated");
    assert_eq!(problem(&err), expected);
    let name = e2e::unique_name("deactivated");
    let err = client
        .issue(&[&name], &solver(&env), None)
        .await
        .expect_err("deactivated");
    assert_eq!(problem(&err), expected);
    // The key cannot come back either.
    let again = builder(&env, &Log::default()).build().expect("client");
    let err = again
        .find_account(account_key)
        .await
        .expect_err("deactivated");
    assert_eq!(
        problem(&err),
        (
            403,
            ProblemType::Unauthorized,
            "An account with the provided public key exists but is deactivated".into()
        )
    );
}

// ---- key rollover -------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn key_rollover_to_another_key_type_then_issue_and_the_old_key_is_gone() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, old_key, account) = with_account(&env, &log, Algorithm::Es256).await;
    let new_key = key(Algorithm::Rs256 { bits: 2048 });
    log.clear();
    client
        .rollover_key(new_key.clone())
        .await
        .expect("rollover");
    let change = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::KeyChange)
        .expect("keyChange sent");
    assert_eq!(change.status, 200);
    let outer = change.protected().expect("JWS");
    assert_eq!(
        (outer["alg"].as_str(), outer["kid"].as_str()),
        (Some("ES256"), Some(account.url.as_str()))
    );
    let inner = acme_tokio::proto::msgs::jws::parse(
        change.payload().expect("payload").to_string().as_bytes(),
    )
    .expect("inner JWS");
    assert_eq!(inner.protected["alg"], "RS256");
    assert_eq!(inner.protected["jwk"], new_key.public_jwk().to_json_value());
    let inner_payload: serde_json::Value =
        serde_json::from_slice(&inner.payload).expect("inner payload");
    assert_eq!(
        inner_payload,
        serde_json::json!({"account": account.url, "oldKey": old_key.public_jwk().to_json_value()})
    );
    assert_eq!(client.account().expect("account").key.alg(), "RS256");

    // Issue with the new key.
    log.clear();
    let (name, cert) = issue(&client, &env, "rolled", None).await;
    e2e::assert_chain(
        &cert.chain_pem,
        &management_pem(&env, "/roots/0").await,
        &[&name],
    );
    for e in log.all().iter().filter(|e| e.method == "POST") {
        assert_eq!(e.protected().expect("JWS")["alg"], "RS256");
    }

    // The new key finds the account; the old one no longer does.
    let fresh = builder(&env, &Log::default()).build().expect("client");
    assert_eq!(
        fresh.find_account(new_key).await.expect("new key").url,
        account.url
    );
    let fresh = builder(&env, &Log::default()).build().expect("client");
    let err = fresh.find_account(old_key).await.expect_err("old key");
    assert_eq!(
        problem(&err),
        (
            400,
            ProblemType::AccountDoesNotExist,
            "unable to find existing account for only-return-existing request".into()
        )
    );
}

// ---- revocation ---------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn revocation_by_the_account_key_with_a_reason_then_already_revoked() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, _) = with_account(&env, &log, Algorithm::Es256).await;
    let (_, cert) = issue(&client, &env, "revoke-account", None).await;
    let der = leaf_der(&cert);
    assert_eq!(revocation_status(&env, &der).await, ("Valid".into(), None));
    log.clear();
    client
        .revoke(&der, Some(RevocationReason::Superseded))
        .await
        .expect("revoke");
    let sent = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::RevokeCert)
        .expect("revokeCert sent");
    assert_eq!(sent.status, 200);
    assert_eq!(sent.payload().expect("payload")["reason"], 4);
    assert!(sent.protected().expect("JWS").get("kid").is_some());
    assert_eq!(
        revocation_status(&env, &der).await,
        ("Revoked".into(), Some(4))
    );
    // Twice: the typed `alreadyRevoked` outcome, which callers may treat as done.
    let err = client
        .revoke(&der, Some(RevocationReason::Superseded))
        .await
        .expect_err("already revoked");
    assert_eq!(
        problem(&err),
        (
            400,
            ProblemType::AlreadyRevoked,
            "Certificate has already been revoked.".into()
        )
    );
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn revocation_by_the_certificate_key_with_reason_key_compromise() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, _) = with_account(&env, &log, Algorithm::Es256).await;
    let (_, cert) = issue(&client, &env, "revoke-certkey", None).await;
    let der = leaf_der(&cert);
    let cert_key: Arc<dyn Signer> = Arc::new(cert.key);

    // A key that is neither the account's nor the certificate's is refused.
    let err = client
        .revoke_with_key(
            &der,
            key(Algorithm::Es256),
            Some(RevocationReason::KeyCompromise),
        )
        .await
        .expect_err("not authorized");
    assert_eq!(
        problem(&err),
        (
            403,
            ProblemType::Unauthorized,
            "JWK embedded in revocation request must be the same public key as the cert to be revoked"
                .into()
        )
    );

    // The certificate's own key, from a client with no account at all.
    let anonymous_log = Log::default();
    let anonymous = builder(&env, &anonymous_log).build().expect("client");
    anonymous
        .revoke_with_key(
            &der,
            cert_key.clone(),
            Some(RevocationReason::KeyCompromise),
        )
        .await
        .expect("revoke with the certificate key");
    let sent = anonymous_log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::RevokeCert)
        .expect("revokeCert sent");
    let header = sent.protected().expect("JWS");
    assert_eq!(header["jwk"], cert_key.jwk().to_json_value());
    assert_eq!(header.get("kid"), None);
    assert_eq!(sent.payload().expect("payload")["reason"], 1);
    assert_eq!(
        revocation_status(&env, &der).await,
        ("Revoked".into(), Some(1))
    );
    let err = anonymous
        .revoke_with_key(&der, cert_key, None)
        .await
        .expect_err("already revoked");
    assert_eq!(problem(&err).1, ProblemType::AlreadyRevoked);
}

// ---- chains -------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn preferred_chain_with_no_alternates_offered_uses_the_default_chain() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let client = builder(&env, &log)
        .preferred_chain("Some Other Root X9")
        .build()
        .expect("client");
    client
        .create_account(key(Algorithm::Es256), agreed("mailto:chains@example.com"))
        .await
        .expect("account");
    let (name, cert) = issue(&client, &env, "default-chain", None).await;
    assert_eq!(cert.bundle.alternates.len(), 0);
    assert_eq!(cert.chain_pem, cert.bundle.pem);
    e2e::assert_chain(
        &cert.chain_pem,
        &management_pem(&env, "/roots/0").await,
        &[&name],
    );
}

// ---- orders list and authorizations -------------------------------------------------------

/// Create an order for one new name and stop at its challenges: (order URL, authz URL).
async fn pending_order(client: &Client, prefix: &str) -> (String, String) {
    let id = Identifier::dns(&e2e::unique_name(prefix)).expect("identifier");
    let mut flow = IssueFlow::new(
        NewOrder::new(vec![id]),
        ChallengeSelector::new(vec![ChallengeType::Dns01]),
        b"never finalized".to_vec(),
    );
    loop {
        match client.step(&mut flow).await {
            Step::Event(Event::Challenges(list)) => {
                let order = flow.order_url().expect("order URL").to_owned();
                return (order, list[0].authorization_url.clone());
            }
            Step::Done(r) => panic!("the order ended before its challenges: {r:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn orders_list_follows_every_page() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, _) = with_account(&env, &log, Algorithm::Es256).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(pending_order(&client, &format!("list{i}")).await.0);
    }
    log.clear();
    let mut listed = client.list_orders().await.expect("orders");
    // Pebble's default page size is 3 (`PEBBLE_WFE_ORDERS_PER_PAGE`): 7 orders, 3 pages.
    assert_eq!(log.count(Endpoint::OrdersList), 3);
    listed.sort();
    created.sort();
    assert_eq!(listed, created);
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn authorization_deactivation() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, _) = with_account(&env, &log, Algorithm::Es256).await;
    let (order_url, authz_url) = pending_order(&client, "deactivate-authz").await;
    assert_eq!(
        client
            .fetch_authorization(&authz_url)
            .await
            .expect("authz")
            .status,
        AuthorizationStatus::Pending
    );
    log.clear();
    let authz = client
        .deactivate_authorization(&authz_url)
        .await
        .expect("deactivate");
    assert_eq!(authz.status, AuthorizationStatus::Deactivated);
    let sent = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::Authorization)
        .expect("authorization update sent");
    assert_eq!(
        sent.payload(),
        Some(serde_json::json!({"status": "deactivated"}))
    );
    assert_eq!(
        client
            .fetch_authorization(&authz_url)
            .await
            .expect("authz")
            .status,
        AuthorizationStatus::Deactivated
    );
    // RFC 8555 §7.1.6 would make the order `invalid`; Pebble 2.4 reports `deactivated`,
    // a status the RFC does not define for orders (kept verbatim by the core).
    assert_eq!(
        client.fetch_order(&order_url).await.expect("order").status,
        OrderStatus::Unknown("deactivated".into())
    );
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn pre_authorization_is_not_offered_by_pebble() {
    let env = e2e::PebbleEnv::get();
    let log = Log::default();
    let (client, _, _) = with_account(&env, &log, Algorithm::Es256).await;
    assert_eq!(client.directory().await.expect("directory").new_authz, None);
    log.clear();
    let err = client
        .new_authorization(&Identifier::dns(&e2e::unique_name("preauthz")).expect("id"))
        .await
        .expect_err("no newAuthz");
    match err {
        Error::Acme(acme_tokio::proto::Error::Usage(m)) => {
            assert_eq!(m, "the CA's directory has no `newAuthz` endpoint")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(log.all().len(), 0);
}

// ---- External Account Binding (phase e2e-eab: Pebble requires EAB) ------------------------

mod pebble_eab {
    use super::*;
    use acme_tokio::crypto::{EabKey, MacAlgorithm};

    fn eab(alg: MacAlgorithm) -> Arc<EabKey> {
        let (kid, mac) = lifecycle::eab_env();
        Arc::new(EabKey::new(kid, &mac, alg).expect("EAB key"))
    }

    #[tokio::test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    async fn pebble_eab_account_without_a_binding_is_refused() {
        let env = e2e::PebbleEnv::get();
        let client = builder(&env, &Log::default()).build().expect("client");
        let err = client
            .create_account(key(Algorithm::Es256), agreed("mailto:eab@example.com"))
            .await
            .expect_err("EAB required");
        assert_eq!(
            problem(&err),
            (
                403,
                ProblemType::ExternalAccountRequired,
                "ACME server policy requires newAccount requests must include a value for the 'externalAccountBinding' field"
                    .into()
            )
        );
    }

    #[tokio::test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    async fn pebble_eab_wrong_mac_key_fails_with_the_servers_problem() {
        let env = e2e::PebbleEnv::get();
        let (kid, _) = lifecycle::eab_env();
        let wrong =
            Arc::new(EabKey::from_bytes(kid, &[7u8; 32], MacAlgorithm::Hs256).expect("EAB key"));
        let client = builder(&env, &Log::default()).build().expect("client");
        let err = client
            .create_account(
                key(Algorithm::Es256),
                agreed("mailto:eab@example.com").external_account_binding(wrong),
            )
            .await
            .expect_err("wrong MAC");
        assert_eq!(
            problem(&err),
            (
                403,
                ProblemType::Unauthorized,
                "external account binding JWS verification error: square/go-jose: error in cryptographic primitive"
                    .into()
            )
        );
        // The caller sees the server's problem in the message too.
        let new_account = client.directory().await.expect("directory").new_account;
        let (status, kind, detail) = problem(&err);
        assert_eq!(
            err.to_string(),
            format!(
                "the CA refused (HTTP {status} from {new_account}): {}: {detail}",
                kind.name()
            )
        );
    }

    #[tokio::test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    async fn pebble_eab_hs256_creates_and_no_other_operation_sends_eab() {
        let env = e2e::PebbleEnv::get();
        let log = Log::default();
        let client = builder(&env, &log).build().expect("client");
        let account_key = key(Algorithm::Es256);
        let account = client
            .create_account(
                account_key.clone(),
                agreed("mailto:eab@example.com").external_account_binding(eab(MacAlgorithm::Hs256)),
            )
            .await
            .expect("account with EAB");
        assert!(account.created);
        let created = log.all();
        let with_eab: Vec<&Exchange> = created.iter().filter(|e| e.sends_eab()).collect();
        assert_eq!(with_eab.len(), 1);
        let binding = &with_eab[0].payload().expect("payload")["externalAccountBinding"];
        let parsed =
            acme_tokio::proto::msgs::jws::parse(binding.to_string().as_bytes()).expect("EAB JWS");
        let (kid, _) = lifecycle::eab_env();
        assert_eq!(parsed.protected["alg"], "HS256");
        assert_eq!(parsed.protected["kid"], kid.as_str());
        assert_eq!(parsed.protected["url"], with_eab[0].url.as_str());
        assert_eq!(parsed.protected.get("nonce"), None);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&parsed.payload).expect("JWK"),
            account_key.public_jwk().to_json_value()
        );

        // Lookups and every other account operation: never an EAB.
        log.clear();
        let lookup = builder(&env, &log).build().expect("client");
        assert_eq!(
            lookup
                .find_account(account_key.clone())
                .await
                .expect("find")
                .url,
            account.url
        );
        client.fetch_account().await.expect("fetch");
        client
            .update_contact(vec!["mailto:eab-ops@example.com".into()])
            .await
            .expect("update");
        let (name, cert) = issue(&client, &env, "eab", None).await;
        e2e::assert_chain(
            &cert.chain_pem,
            &management_pem(&env, "/roots/0").await,
            &[&name],
        );
        client.revoke(&leaf_der(&cert), None).await.expect("revoke");
        client
            .rollover_key(key(Algorithm::Es384))
            .await
            .expect("rollover");
        client.deactivate_account().await.expect("deactivate");
        let sent = log.all();
        for endpoint in [
            Endpoint::NewAccount,
            Endpoint::Account,
            Endpoint::NewOrder,
            Endpoint::Finalize,
            Endpoint::RevokeCert,
            Endpoint::KeyChange,
        ] {
            assert!(
                sent.iter().any(|e| e.endpoint == endpoint),
                "{endpoint:?} was exercised"
            );
        }
        let offending: Vec<Endpoint> = sent
            .iter()
            .filter(|e| e.sends_eab())
            .map(|e| e.endpoint)
            .collect();
        assert_eq!(offending, Vec::<Endpoint>::new());
    }

    #[tokio::test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    async fn pebble_eab_hs384_and_hs512_bindings_are_accepted_too() {
        let env = e2e::PebbleEnv::get();
        for alg in [MacAlgorithm::Hs384, MacAlgorithm::Hs512] {
            let log = Log::default();
            let client = builder(&env, &log).build().expect("client");
            let result = client
                .create_account(
                    key(Algorithm::Es256),
                    agreed("mailto:eab@example.com").external_account_binding(eab(alg)),
                )
                .await;
            let account = result.unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert!(account.created, "{alg}");
            assert_eq!(
                account.resource.status.as_ref().map(|s| s.as_str()),
                Some("valid")
            );
            let sent = log
                .all()
                .into_iter()
                .find(|e| e.sends_eab())
                .expect("the binding was sent");
            let binding = &sent.payload().expect("payload")["externalAccountBinding"];
            let parsed = acme_tokio::proto::msgs::jws::parse(binding.to_string().as_bytes())
                .expect("EAB JWS");
            assert_eq!(parsed.protected["alg"], alg.jws_name());
        }
    }
}

// ---- alternate chains (phase e2e-alt-roots: PEBBLE_ALTERNATE_ROOTS=2) ----------------------

mod pebble_alt_roots {
    use super::*;

    /// The common name of a PEM certificate.
    fn common_name(pem: &[u8]) -> String {
        CertificateChain::from_pem(pem)
            .expect("certificate")
            .leaf()
            .expect("parses")
            .subject_common_name
            .expect("a common name")
    }

    #[tokio::test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    async fn pebble_alt_roots_every_chain_is_offered_and_the_caller_picks_by_root_name() {
        let env = e2e::PebbleEnv::get();
        let mut roots = Vec::new();
        for i in 0..3 {
            let pem = management_pem(&env, &format!("/roots/{i}")).await;
            roots.push((common_name(&pem), pem));
        }
        let log = Log::default();
        let (client, account_key, account) = with_account(&env, &log, Algorithm::Es256).await;
        let (name, cert) = issue(&client, &env, "altroots", None).await;

        // The default chain and two alternates, each leading to a different root.
        assert_eq!(cert.bundle.alternates.len(), 2);
        assert_eq!(
            cert.chain_pem, cert.bundle.pem,
            "no preference: the default chain"
        );
        let mut pems = vec![cert.bundle.pem.clone()];
        pems.extend(cert.bundle.alternates.iter().map(|(_, p)| p.clone()));
        let mut tops = Vec::new();
        for pem in &pems {
            let chain = CertificateChain::from_pem(pem.as_bytes()).expect("chain");
            let top = chain.top_issuer_common_name().expect("issuer");
            let (_, root_pem) = roots
                .iter()
                .find(|(cn, _)| *cn == top)
                .unwrap_or_else(|| panic!("a chain leads to unknown root {top}"));
            e2e::assert_chain(pem, root_pem, &[&name]);
            tops.push(top);
        }
        let mut expected: Vec<String> = roots.iter().map(|(cn, _)| cn.clone()).collect();
        assert_eq!(tops[0], expected[0], "the default chain leads to /roots/0");
        tops.sort();
        expected.sort();
        assert_eq!(tops, expected);

        // The caller picks by root name: the client installs that chain.
        for (i, (root_cn, _)) in roots.iter().enumerate() {
            let picky = builder(&env, &Log::default())
                .preferred_chain(root_cn)
                .account(account_file_credentials(&env, &account, &account_key))
                .build()
                .expect("client");
            let (name, cert) = issue(&picky, &env, &format!("altroots-pick{i}"), None).await;
            let chain = CertificateChain::from_pem(cert.chain_pem.as_bytes()).expect("chain");
            assert_eq!(
                chain.top_issuer_common_name().as_deref(),
                Some(root_cn.as_str())
            );
            e2e::assert_chain(&cert.chain_pem, &roots[i].1, &[&name]);
            let served = std::iter::once(&cert.bundle.pem)
                .chain(cert.bundle.alternates.iter().map(|(_, p)| p))
                .any(|p| *p == cert.chain_pem);
            assert!(served, "the chain installed is one the CA served");
        }

        // Pebble cross-signs one intermediate by every root: its name is in every chain, so
        // preferring it keeps the first match, the default chain.
        let intermediates: Vec<String> = pems
            .iter()
            .map(|pem| {
                CertificateChain::from_pem(pem.as_bytes())
                    .expect("chain")
                    .leaf()
                    .expect("leaf")
                    .issuer_common_name
                    .expect("issuer")
            })
            .collect();
        assert_eq!(intermediates, vec![intermediates[0].clone(); 3]);
        assert_eq!(
            select_chain_pem(
                &cert.bundle.pem,
                cert.bundle.alternates.iter().map(|(_, p)| p.as_str()),
                &intermediates[0]
            ),
            cert.bundle.pem
        );
        // A name no chain has: the default chain.
        assert_eq!(
            select_chain_pem(
                &cert.bundle.pem,
                cert.bundle.alternates.iter().map(|(_, p)| p.as_str()),
                "No Such Root"
            ),
            cert.bundle.pem
        );
    }

    fn account_file_credentials(
        env: &e2e::PebbleEnv,
        account: &Account,
        key: &Arc<KeyPair>,
    ) -> acme_tokio::proto::flow::AccountCredentials {
        AccountFile::new(&env.directory, account.url.clone(), key.clone())
            .expect("account file")
            .credentials()
    }
}
