//! Health, readiness, metrics and the OpenAPI document.

use crate::harness::{Backend, TestServer, on_both_backends};

on_both_backends!(
    behind_a_trusted_proxy_forwarded_headers_name_the_client,
    health_readiness_and_metrics_answer,
    the_openapi_document_describes_every_endpoint,
    metrics_can_require_a_token_or_an_address_of_their_own,
);

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = crate::harness::http();
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.text().await.unwrap(), expected);
    }
    let alice = server.member("alice").await;
    alice.get("/api/v1/me").await.expect_status(200);
    let metrics = server.metrics().await;
    for name in [
        "hearth_http_requests_total",
        "hearth_http_request_duration_seconds_bucket",
        "hearth_commit_batch_size_bucket",
        "hearth_commit_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(
        metrics.contains("route=\"/api/v1/me\""),
        "routes are labelled by template"
    );
    assert!(!metrics.contains("alice"), "metrics hold no personal data");
}

async fn the_openapi_document_describes_every_endpoint(backend: Backend) {
    let server = TestServer::start(backend).await;
    let doc = server
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect_status(200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/accounts", "post"),
        ("/api/v1/sessions", "post"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/me", "get"),
        ("/api/v1/me/password", "put"),
        ("/api/v1/me/tokens", "post"),
        ("/api/v1/me/tokens/{token_id}", "delete"),
        ("/api/v1/communities", "post"),
        ("/api/v1/communities/{community_id}", "patch"),
        ("/api/v1/communities/{community_id}/join", "post"),
        (
            "/api/v1/communities/{community_id}/members/{user_id}",
            "delete",
        ),
        ("/api/v1/communities/{community_id}/invites", "post"),
        ("/api/v1/invites/accept", "post"),
        ("/api/v1/communities/{community_id}/channels", "post"),
        ("/api/v1/channels/{channel_id}/messages", "get"),
        ("/api/v1/channels/{channel_id}/messages", "post"),
        ("/api/v1/direct", "post"),
        ("/api/v1/messages/{message_id}", "patch"),
        ("/api/v1/messages/{message_id}", "delete"),
        ("/api/v1/messages/{message_id}/thread", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
}

async fn behind_a_trusted_proxy_forwarded_headers_name_the_client(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.sign_ins_per_minute_per_address = 2;
    })
    .await;
    let http = crate::harness::http();
    let url = format!("{}/api/v1/sessions", server.base);
    let attempt = |client: &'static str| {
        http.post(&url)
            .header("x-forwarded-for", client)
            .json(&serde_json::json!({ "login": "nobody", "password": "whatever it is" }))
            .send()
    };
    // Each client behind the proxy has its own allowance.
    let mut statuses = Vec::new();
    for client in ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"] {
        statuses.push(attempt(client).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 401]);

    // The session cookie is Secure when the proxy says the browser used HTTPS.
    let anon = server.anonymous();
    anon.post(
        "/api/v1/accounts",
        serde_json::json!({
            "email": "p@example.org", "username": "proxied", "display_name": "P",
            "password": "a long enough password",
        }),
    )
    .await
    .expect_status(202);
    let signed_in = http
        .post(&url)
        .header("x-forwarded-for", "203.0.113.3")
        .header("x-forwarded-proto", "https")
        .json(&serde_json::json!({ "login": "proxied", "password": "a long enough password" }))
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

async fn metrics_can_require_a_token_or_an_address_of_their_own(backend: Backend) {
    let server =
        TestServer::start_with(backend, |c| c.metrics_token = "scrape-secret".into()).await;
    let http = crate::harness::http();
    let url = format!("{}/metrics", server.base);
    for presented in [None, Some("Bearer wrong"), Some("scrape-secret")] {
        let mut request = http.get(&url);
        if let Some(value) = presented {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{presented:?}");
    }
    let scraped = http
        .get(&url)
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("hearth_http_requests_total")
    );

    // On an address of its own, /metrics leaves the main listener, and the API stays off the
    // metrics one.
    let server = TestServer::start_with(backend, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics_addr = server.server.as_ref().unwrap().metrics_addr.unwrap();
    let main = http.get(format!("{}/metrics", server.base)).send().await;
    assert_eq!(main.unwrap().status().as_u16(), 404);
    let own = http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
    assert!(own.text().await.unwrap().contains("hearth_"));
    let api = http
        .get(format!("http://{metrics_addr}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 404);
    server
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect_status(200);
}
