//! The web pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! the test command installs), driven over WebDriver: what a person does, with JavaScript on
//! and off, at phone and desktop widths. Screenshots of each page land in
//! `target/screenshots/`.

use crate::harness::{Backend, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Phone and desktop window widths.
pub(crate) const PHONE: (u32, u32) = (360, 780);
pub(crate) const DESKTOP: (u32, u32) = (1280, 860);

/// A Chromium driven through its own chromedriver, both ended on drop.
pub(crate) struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A fresh browser with JavaScript on.
    pub(crate) async fn start() -> Self {
        Self::start_with(true).await
    }

    /// A fresh browser (its own profile: no cookies), with JavaScript on or off.
    pub(crate) async fn start_with(javascript: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver did not start ({e}): install Debian's chromium and \
                     chromium-driver (scripts/test does)"
                )
            });
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not reach chromedriver: {last_error}");
    }

    /// Opens `path` on `server`.
    pub(crate) async fn open(&self, server: &TestServer, path: &str) {
        self.client
            .goto(&format!("{}{path}", server.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Types `text` into the field `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets the value of the field `css` as a script would: for inputs whose typing depends on
    /// the browser's locale (dates).
    pub(crate) async fn set_value(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![css.into(), value.into()],
            )
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    /// Clicks `css` and waits for the page it leads to.
    pub(crate) async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// The text of the first `css` (looked up again if the page changed under it).
    pub(crate) async fn text(&self, css: &str) -> String {
        let mut last_error = String::new();
        for _ in 0..20 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("text of {css}: {last_error}")
    }

    /// Waits until the first `css` holds `text` (up to 10 s); returns what it held last.
    pub(crate) async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if last.contains(text) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let path = self.path().await;
        let error = match self.client.find(Locator::Css(".error, main")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!("{css} never held {text:?}; it held {last:?} (on {path}, error: {error:?})");
    }

    /// Signs in through the sign-in page.
    pub(crate) async fn sign_in(&self, server: &TestServer, login: &str) {
        self.open(server, "/sign-in").await;
        self.fill("#login", login).await;
        self.fill("#password", &crate::harness::password_of(login))
            .await;
        self.click("form.stack button[type=submit]").await;
        self.wait_for_text("h1", "My communities").await;
    }

    /// Signs out with the header's button and waits until the page it leads to is signed
    /// out: opening another page before then would still carry the session.
    pub(crate) async fn sign_out(&self) {
        self.click("form[action='/sign-out'] button").await;
        for _ in 0..100 {
            let signed_in = self
                .client
                .execute(
                    "if (document.readyState !== 'complete') return null; \
                     return !!document.querySelector(\"form[action='/sign-out']\");",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool());
            if signed_in == Some(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still signed in after signing out");
    }

    /// Waits until the page's websocket said hello.
    pub(crate) async fn wait_for_live(&self) {
        for _ in 0..100 {
            let live = self
                .client
                .execute("return document.body.dataset.live || '';", vec![])
                .await
                .unwrap_or_default();
            if live.as_str() == Some("connected") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never went live");
    }

    /// Runs axe-core over the current page and fails on any WCAG 2.1 A or AA violation.
    pub(crate) async fn assert_accessible(&self, page: &str) {
        let path = std::env::var("HEARTH_AXE_JS").unwrap_or_else(|_| {
            panic!("HEARTH_AXE_JS is not set: run the browser tests through scripts/test")
        });
        let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        self.client
            .execute(&format!("{axe}\nreturn true;"), vec![])
            .await
            .unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                       help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done([{ id: 'axe-failed', help: String(e) }]));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("running axe-core: {e}"));
        let violations = result.as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "accessibility violations on {page}: {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }

    /// Waits until the browser is on `expected` (up to 10 s): a click returns before the page
    /// it leads to has loaded.
    pub(crate) async fn wait_for_path(&self, expected: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.path().await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {expected}; still on {last}");
    }

    /// The path of the current page.
    pub(crate) async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        url.path().to_string()
    }

    /// Saves screenshots of the current page at phone and desktop widths as
    /// `target/screenshots/{name}-phone.png` and `-desktop.png`.
    pub(crate) async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        for (label, (width, height)) in [("phone", PHONE), ("desktop", DESKTOP)] {
            self.client
                .set_window_size(width, height)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let png = self
                .client
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(dir.join(format!("{name}-{label}.png")), png)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// How much wider the page is than the window (0 when nothing overflows sideways).
    pub(crate) async fn sideways_overflow(&self) -> i64 {
        let value = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        value.as_i64().unwrap_or(i64::MAX)
    }
}

/// Where screenshots go: `target/screenshots` of the workspace.
fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_registers_creates_a_community_and_talks() {
    let server = TestServer::start(Backend::Sqlite).await;
    let browser = Browser::start().await;
    browser.open(&server, "/").await;
    assert_eq!(browser.text("h1").await, "Welcome to Hearth");
    browser.screenshots("landing").await;
    browser.assert_accessible("the landing page").await;
    browser
        .client
        .set_window_size(DESKTOP.0, DESKTOP.1)
        .await
        .unwrap();

    browser.click("a.button.primary[href='/register']").await;
    browser.fill("#email", "newcomer@example.org").await;
    browser.fill("#username", "newcomer").await;
    browser.fill("#display_name", "New Comer").await;
    browser.fill("#password", "a long enough password").await;
    browser.screenshots("register").await;
    browser.assert_accessible("the registration page").await;
    browser.click("form.stack button[type=submit]").await;
    assert!(browser.text("[role=status]").await.contains("Thank you"));

    browser.open(&server, "/sign-in").await;
    browser.fill("#login", "newcomer").await;
    browser.fill("#password", "a long enough password").await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_path("/communities").await;
    assert_eq!(browser.text("h1").await, "My communities");

    browser.fill("#name", "Garden Club").await;
    browser.fill("#slug", "garden").await;
    browser.fill("#description", "Roses & <weeds>").await;
    browser.screenshots("communities").await;
    browser.assert_accessible("my communities").await;
    browser.click("form.stack button[type=submit]").await;
    // A new community opens at its #general channel.
    assert_eq!(browser.text("#channel-heading").await, "#general");
    let channel_path = browser.path().await;
    assert!(channel_path.starts_with("/channels/"));

    // Enter sends; what was written is shown as text, never as markup.
    let composer = browser.find("#body").await;
    composer
        .send_keys("Hello <b>garden</b>\u{E007}")
        .await
        .unwrap();
    let said = browser.text(".message:last-child .body").await;
    assert_eq!(said, "Hello <b>garden</b>");
    assert_eq!(
        browser.text(".message:last-child .author").await,
        "New Comer"
    );
    browser.screenshots("channel").await;
    browser.assert_accessible("the channel page").await;
    // The message's own pages (axe-core needs the page's scripts on, so they are checked
    // here rather than in the test without JavaScript).
    let message = browser
        .find(".message:last-child")
        .await
        .attr("data-id")
        .await
        .unwrap()
        .unwrap();
    for (page, path) in [
        ("the thread page", format!("/messages/{message}/thread")),
        ("the edit page", format!("/messages/{message}/edit")),
        ("the delete page", format!("/messages/{message}/delete")),
        ("the directory", "/directory".to_string()),
        ("direct messages", "/direct".to_string()),
    ] {
        browser.open(&server, &path).await;
        browser.assert_accessible(page).await;
    }
    browser.screenshots("direct").await;
    browser.open(&server, &channel_path).await;

    // Search from the sidebar: the message is found, its matching word marked.
    browser.fill("#sidebar-q", "garden\u{E007}").await;
    browser.wait_for_text("h1", "Search in").await;
    assert_eq!(browser.text(".hits mark").await.to_lowercase(), "garden");
    browser.assert_accessible("the search page").await;
    browser.screenshots("search").await;
    browser.click(".hits a").await;
    browser
        .wait_for_path(&format!("/messages/{message}/thread"))
        .await;
    browser.open(&server, &channel_path).await;

    // Account settings: a new name shows on the next page; a token's secret shows once.
    browser.click("a.me").await;
    browser.wait_for_text("h1", "Account settings").await;
    browser.assert_accessible("account settings").await;
    browser.fill("#display_name", "Newly Named").await;
    browser
        .click("form[action='/settings/profile'] button")
        .await;
    browser.wait_for_text("a.me", "Newly Named").await;
    browser.fill("#token_name", "backup script").await;
    browser
        .click("form[action='/settings/tokens'] button")
        .await;
    let secret = browser.text("code.secret").await;
    assert!(secret.starts_with("hth_"), "{secret}");
    browser.screenshots("settings").await;
    let api = crate::harness::http()
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    browser.click("form[action$='/revoke'] button").await;
    browser.wait_for_text(".tokens", "revoked").await;
    let revoked = crate::harness::http()
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    browser.open(&server, &channel_path).await;
    for (width, height) in [PHONE, DESKTOP] {
        browser.client.set_window_size(width, height).await.unwrap();
        assert_eq!(browser.sideways_overflow().await, 0, "at {width} px");
    }
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_posting_work_with_javascript_off() {
    let server = TestServer::start(Backend::Sqlite).await;
    let member = server.member("plain").await;
    let community = member.create_community("plain-text").await;
    let general = member.general_channel(&community).await;
    let browser = Browser::start_with(false).await;
    browser.open(&server, "/sign-in").await;
    browser.fill("#login", "plain").await;
    browser
        .fill("#password", &crate::harness::password_of("plain"))
        .await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_path("/communities").await;
    browser.click(".community a").await;
    browser.wait_for_path(&format!("/channels/{general}")).await;
    browser.fill("#body", "sent without a script").await;
    browser.click(".composer button").await;
    assert_eq!(
        browser.text(".message:last-child .body").await,
        "sent without a script"
    );

    // A picture, chosen with the file button, goes with the form; it shows inline, without
    // the location it carried.
    let folder = tempfile::tempdir().unwrap();
    let picture = folder.path().join("harbour.png");
    std::fs::write(&picture, crate::uploads::png_with_location(96, 64)).unwrap();
    browser
        .find("#files")
        .await
        .send_keys(&picture.display().to_string())
        .await
        .unwrap();
    browser.fill("#body", "the view from here").await;
    browser.click(".composer button[type=submit]").await;
    browser
        .wait_for_text(".message:last-child .body", "the view from here")
        .await;
    let image = browser.find(".message:last-child .attachments img").await;
    assert_eq!(
        image.attr("alt").await.unwrap().as_deref(),
        Some("harbour.png")
    );
    let shown: bool = browser
        .client
        .execute(
            "const img = document.querySelector('.message:last-child .attachments img'); \
             return img.complete && img.naturalWidth === 96;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false);
    assert!(shown, "the picture did not load");
    let stored: Vec<_> = std::fs::read_dir(server.config.data_dir.join("uploads").join(&member.id))
        .unwrap()
        .map(|f| std::fs::read(f.unwrap().path()).unwrap())
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0]).contains("GPS"));
    browser.screenshots("picture").await;

    // A thread: reply, and come back to the channel.
    browser
        .click(".message:last-child a[href$='/thread']")
        .await;
    assert_eq!(browser.text("#thread-heading").await, "Thread");
    // The reply carries a picture too.
    browser
        .find("#files")
        .await
        .send_keys(&picture.display().to_string())
        .await
        .unwrap();
    browser.fill("#body", "a reply in the thread").await;
    browser.click(".composer button[type=submit]").await;
    browser
        .wait_for_text(".replies", "a reply in the thread")
        .await;
    let in_reply = browser.find(".replies .attachments img").await;
    assert_eq!(
        in_reply.attr("alt").await.unwrap().as_deref(),
        Some("harbour.png")
    );
    browser.screenshots("thread").await;
    // Edit, then delete, without a script.
    browser.open(&server, &format!("/channels/{general}")).await;
    browser.click(".message:last-child a[href$='/edit']").await;
    browser.wait_for_text("h1", "Edit message").await;
    browser.fill("#body", "sent and *corrected*").await;
    browser.click("form.stack button[type=submit]").await;
    browser
        .wait_for_text(".message:last-child .body", "sent and corrected")
        .await;
    browser
        .wait_for_text(".message:last-child .meta", "(edited)")
        .await;
    browser
        .click(".message:last-child a[href$='/delete']")
        .await;
    browser.click("form.actions button[type=submit]").await;
    browser
        .wait_for_text(".message:last-child", "This message was deleted.")
        .await;

    browser.sign_out().await;
    browser.wait_for_path("/").await;
    browser.open(&server, &format!("/channels/{general}")).await;
    browser.wait_for_path("/sign-in").await;
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_see_each_other_live_and_a_broken_connection_loses_nothing() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("live-garden").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let random = alice.create_channel(&community, "random", "public").await;
    bob.post(&format!("/api/v1/channels/{random}/members"), json!({}))
        .await
        .expect_status(204);

    let (alices, bobs) = tokio::join!(Browser::start(), Browser::start());
    alices.sign_in(&server, "alice").await;
    bobs.sign_in(&server, "bob").await;
    alices.open(&server, &format!("/channels/{general}")).await;
    bobs.open(&server, &format!("/channels/{general}")).await;
    bobs.wait_for_live().await;

    // Alice types and presses Enter: her page does not reload, and Bob's shows it.
    let composer = alices.find("#body").await;
    composer.send_keys("first light\u{E007}").await.unwrap();
    bobs.wait_for_text(".messages", "first light").await;
    alices
        .wait_for_text(".message:last-child .body", "first light")
        .await;
    assert_eq!(
        alices
            .find("#body")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );

    // Alice edits in place: the box opens where the message stands, Enter saves, and Bob's
    // page follows.
    alices.click(".message:last-child a[href$='/edit']").await;
    let field = alices
        .find(".message:last-child form.inline-edit textarea")
        .await;
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some("first light")
    );
    field.clear().await.unwrap();
    field
        .send_keys("first light, *edited*\u{E007}")
        .await
        .unwrap();
    alices
        .wait_for_text(".message:last-child .body", "first light, edited")
        .await;
    bobs.wait_for_text(".messages", "first light, edited").await;

    // A picture goes through the script too, and reaches Bob's page live.
    let folder = tempfile::tempdir().unwrap();
    let picture = folder.path().join("sunrise.png");
    std::fs::write(&picture, crate::uploads::png_with_location(120, 80)).unwrap();
    alices
        .find("#files")
        .await
        .send_keys(&picture.display().to_string())
        .await
        .unwrap();
    alices.click(".composer button[type=submit]").await;
    let seen = bobs
        .find(".message:last-child .attachments img[alt='sunrise.png']")
        .await;
    assert!(seen.attr("src").await.unwrap().is_some());
    alices
        .find(".message:last-child .attachments img[alt='sunrise.png']")
        .await;
    assert_eq!(alices.path().await, format!("/channels/{general}"));
    bobs.screenshots("channel-picture").await;
    assert_eq!(alices.path().await, format!("/channels/{general}"));

    // An edit and a delete made elsewhere show in place.
    let id = alice.say(&general, "soon to change").await;
    bobs.wait_for_text(&format!("#m{id} .body"), "soon to change")
        .await;
    alice
        .patch(
            &format!("/api/v1/messages/{id}"),
            json!({ "body": "changed **text**" }),
        )
        .await
        .expect_status(200);
    bobs.wait_for_text(&format!("#m{id} .body"), "changed text")
        .await;
    bobs.wait_for_text(&format!("#m{id} .meta"), "(edited)")
        .await;
    alice
        .delete(&format!("/api/v1/messages/{id}"))
        .await
        .expect_status(204);
    bobs.wait_for_text(&format!("#m{id}"), "This message was deleted.")
        .await;

    // A thread page is live too: a reply made elsewhere appears in it.
    let root = alice.say(&general, "start of a thread").await;
    bobs.open(&server, &format!("/messages/{root}/thread"))
        .await;
    bobs.wait_for_live().await;
    alice
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            json!({ "body": "a live reply", "reply_to": root }),
        )
        .await
        .expect_status(201);
    bobs.wait_for_text(".replies", "a live reply").await;
    bobs.open(&server, &format!("/channels/{general}")).await;
    bobs.wait_for_live().await;

    // A message in another channel counts as unread in Bob's sidebar.
    alice.say(&random, "over here").await;
    bobs.wait_for_text(".sidebar .unread", "1").await;

    // The server goes away and comes back; what was said meanwhile shows once, in order.
    server.restart().await;
    let missed = alice.say(&general, "said while you were away").await;
    let after = alice.say(&general, "and after that").await;
    bobs.wait_for_text(".messages", "and after that").await;
    let order: Vec<String> = {
        let items = bobs
            .client
            .find_all(Locator::Css("li.message"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for item in items {
            ids.push(item.attr("data-id").await.unwrap().unwrap_or_default());
        }
        ids
    };
    let position = |wanted: &str| order.iter().position(|id| id == wanted);
    assert!(position(&missed) < position(&after), "{order:?}");
    assert_eq!(order.iter().filter(|id| **id == missed).count(), 1);
    bobs.screenshots("channel-live").await;
    bobs.assert_accessible("the live channel page").await;
    alices.client.clone().close().await.unwrap();
    bobs.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_invites_a_second_member_who_joins_by_the_link() {
    let server = TestServer::start(Backend::Sqlite).await;
    let _owner = server.member("owner").await;
    let _friend = server.member("friend").await;
    let (owners, friends) = tokio::join!(Browser::start(), Browser::start());
    owners.sign_in(&server, "owner").await;
    owners.fill("#name", "Quiet Room").await;
    owners.fill("#slug", "quiet-room").await;
    owners.click("input[name=invite_only]").await;
    owners.click("form.stack button[type=submit]").await;
    owners.wait_for_text("#channel-heading", "#general").await;

    // Settings: an invitation link for two joins, and a new channel.
    owners.click(".sidebar-more a[href$='/settings']").await;
    owners.wait_for_text("h1", "Settings of Quiet Room").await;
    owners.fill("#uses", "2").await;
    owners.click("form[action$='/invites'] button").await;
    let link = owners.text("#invites-heading ~ ul code.secret").await;
    assert!(link.contains("/invite/"), "{link}");
    owners.assert_accessible("community settings").await;
    owners.screenshots("community-settings").await;
    owners.fill("#channel_name", "plans").await;
    owners.fill("#topic", "what we will do").await;
    owners.click("form[action$='/channels'] button").await;
    owners.wait_for_text("#channel-heading", "#plans").await;

    // The friend follows the link, accepts, and is in.
    friends.sign_in(&server, "friend").await;
    let path = link
        .split_once("/invite/")
        .map(|(_, code)| format!("/invite/{code}"))
        .unwrap();
    friends.open(&server, &path).await;
    friends.assert_accessible("the invitation page").await;
    friends.click("main form button[type=submit]").await;
    friends.wait_for_text("#channel-heading", "#general").await;
    // A public channel they have not joined offers to join instead of a composer.
    friends
        .click(".sidebar a[href^='/channels/']:not([aria-current])")
        .await;
    friends.wait_for_text("#channel-heading", "#plans").await;
    friends.click(".join-channel button").await;
    friends.find("#body").await;

    // The owner sees them among the members and makes them a moderator.
    owners.click(".sidebar-more a[href$='/members']").await;
    owners.wait_for_text(".people", "friend Example").await;
    owners.assert_accessible("the members page").await;
    let select = owners.find(".people select").await;
    select.select_by_value("moderator").await.unwrap();
    owners.click(".people form[action$='/role'] button").await;
    owners
        .wait_for_text(".people li:nth-child(2) .badge", "Moderator")
        .await;
    owners.screenshots("members").await;

    // The owner hands the community over, after a confirmation, and stays on as an admin.
    owners.click(".people a[href*='/transfer/']").await;
    owners
        .wait_for_text("h1", "Make friend Example the owner of Quiet Room?")
        .await;
    owners.assert_accessible("the transfer page").await;
    owners.screenshots("transfer").await;
    owners.click("form.actions button[type=submit]").await;
    owners
        .wait_for_text(".people li:nth-child(2) .badge", "Owner")
        .await;
    assert_eq!(owners.text(".people li:first-child .badge").await, "Admin");
    assert!(
        owners
            .client
            .find_all(fantoccini::Locator::Css(".people a[href*='/transfer/']"))
            .await
            .unwrap()
            .is_empty(),
        "an admin is offered the transfer"
    );
    owners.client.clone().close().await.unwrap();
    friends.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_consent_blocks_a_join_until_ticked_and_profiles_show_it() {
    let server = TestServer::start(Backend::Sqlite).await;
    let owner = server.member("owner").await;
    let friend = server.member("friend").await;
    let community = owner.create_community("youth-club").await;
    let (owners, friends) = tokio::join!(Browser::start(), Browser::start());

    // The owner asks for a consent and for pronouns, on the profile fields page.
    owners.sign_in(&server, "owner").await;
    owners
        .open(&server, &format!("/communities/{community}/fields"))
        .await;
    owners
        .wait_for_text("h1", "Profile fields of youth-club")
        .await;
    owners.assert_accessible("the profile fields page").await;
    owners
        .find("#kind")
        .await
        .select_by_value("checkbox")
        .await
        .unwrap();
    owners
        .fill("#label", "I am 13 to 16 and my parent agrees I may join")
        .await;
    owners.click("input[name=required]").await;
    owners.click("input[name=visibility][value=admins]").await;
    owners
        .find("#category")
        .await
        .select_by_value("protected_characteristics")
        .await
        .unwrap();
    owners
        .click("form[action$='/fields'] button[type=submit]")
        .await;
    owners
        .wait_for_text("#fields-heading ~ ul", "I am 13 to 16")
        .await;
    owners
        .find("#kind")
        .await
        .select_by_value("choice")
        .await
        .unwrap();
    owners.fill("#label", "Pronouns").await;
    owners.fill("#choices", "she\nhe\nthey").await;
    owners
        .click("form[action$='/fields'] button[type=submit]")
        .await;
    owners
        .wait_for_text("#fields-heading ~ ul", "Pronouns")
        .await;
    owners.screenshots("profile-fields").await;
    // A field's own page, where it is changed or deleted.
    owners.click("#fields-heading ~ ul li:last-child a").await;
    owners.wait_for_text("h1", "Pronouns").await;
    owners.assert_accessible("a profile field's page").await;
    owners.screenshots("profile-field").await;
    // Its long category names do not push the form past a phone's width.
    owners
        .client
        .set_window_size(PHONE.0, PHONE.1)
        .await
        .unwrap();
    assert_eq!(owners.sideways_overflow().await, 0);
    owners
        .client
        .set_window_size(DESKTOP.0, DESKTOP.1)
        .await
        .unwrap();

    // The friend cannot join without ticking the box: the browser stops the form, and so
    // does the server when the browser's check is taken away.
    friends.sign_in(&server, "friend").await;
    friends
        .open(&server, &format!("/communities/{community}"))
        .await;
    friends.wait_for_text("main", "I am 13 to 16").await;
    friends
        .assert_accessible("the join page with questions")
        .await;
    friends.screenshots("join-with-questions").await;
    friends.click("main form button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(friends.path().await, format!("/communities/{community}"));
    friends
        .client
        .execute(
            "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'));",
            vec![],
        )
        .await
        .unwrap();
    friends.click("main form button[type=submit]").await;
    friends.wait_for_text(".error", "must be ticked").await;
    friend
        .get(&format!("/api/v1/communities/{community}/members"))
        .await
        .expect_problem(404, "not-found");

    // Ticked, it joins, and the consent is on record.
    friends.click("input[type=checkbox][name^=field_]").await;
    friends
        .find("select[name^=field_]")
        .await
        .select_by_value("they")
        .await
        .unwrap();
    friends.click("main form button[type=submit]").await;
    friends.wait_for_text("#channel-heading", "#general").await;
    let answers = owner
        .get(&format!(
            "/api/v1/communities/{community}/members/{}/profile",
            friend.id
        ))
        .await
        .expect_status(200);
    assert_eq!(answers.body[0]["value"], "true");
    assert_eq!(answers.body[1]["value"], "they");

    // The friend adds a picture and a few words about themself.
    let picture = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(picture.path(), crate::uploads::png_with_location(96, 96)).unwrap();
    friends.open(&server, "/settings").await;
    friends.fill("#about", "Climbs on Saturdays.").await;
    friends
        .click("form[action='/settings/profile'] button")
        .await;
    friends
        .wait_for_text(".notice", "Your profile is saved")
        .await;
    friends
        .find("#avatar")
        .await
        .send_keys(&picture.path().display().to_string())
        .await
        .unwrap();
    friends
        .click("form[action='/settings/avatar'] button")
        .await;
    friends
        .wait_for_text(".notice", "Your picture is changed")
        .await;
    friends
        .assert_accessible("account settings with a picture")
        .await;
    friends.screenshots("settings-with-picture").await;
    // The friend's other session (the one the test signed in through the API) is listed, and
    // "Sign out everywhere else" ends it but not this browser's.
    // Each session says what signed in and from where (the API client sends no user agent).
    let listed = friends
        .wait_for_text("#sessions-heading ~ ul", "Unknown device")
        .await;
    assert!(
        listed.contains("Chrome on Linux\nthis browser") && listed.contains("from 127.0.0.0/24"),
        "{listed}"
    );
    friends
        .click("form[action='/settings/sessions/end-others'] button")
        .await;
    friends.wait_for_text(".notice", "Signed out.").await;
    friend
        .session
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    assert!(
        !friends
            .text("#sessions-heading ~ ul")
            .await
            .contains("Unknown device")
    );
    friends
        .open(&server, &format!("/communities/{community}/profile"))
        .await;
    friends
        .wait_for_text("h1", "Your profile in youth-club")
        .await;
    friends
        .assert_accessible("one's answers in a community")
        .await;
    friends.screenshots("community-profile").await;

    // The owner sees it all on the friend's page in the community.
    owners
        .open(
            &server,
            &format!("/communities/{community}/members/{}", friend.id),
        )
        .await;
    owners.wait_for_text("main", "Climbs on Saturdays.").await;
    let text = owners.text("main").await;
    assert!(text.contains("Pronouns") && text.contains("they"), "{text}");
    assert!(text.contains("admins only"), "{text}");
    let shown = owners
        .client
        .execute(
            "const img = document.querySelector('img.avatar');
             return img !== null && img.complete && img.naturalWidth === 96;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(true), "the picture is not shown");
    owners.assert_accessible("a member's profile").await;
    owners.screenshots("member-profile").await;
    owners.client.clone().close().await.unwrap();
    friends.client.clone().close().await.unwrap();
}
