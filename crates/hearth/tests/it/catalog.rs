//! The data catalog and the live schema must agree, column for column, on both backends.

use crate::harness::{Backend, fresh_database, on_both_backends};
use hearth_app::{Store, StoreError, StoreOptions};
use hearth_core::catalog;

on_both_backends!(
    every_live_column_is_declared_in_the_catalog_and_back,
    an_undeclared_column_is_caught,
    every_link_to_a_person_does_what_erasure_declares,
);

async fn open(backend: Backend, dir: &std::path::Path) -> Store {
    let url = fresh_database(backend, dir).await;
    Store::open(&StoreOptions::new(url)).await.unwrap()
}

async fn live_columns(store: &Store) -> Vec<(String, String)> {
    let mut reader = store.reader().await.unwrap();
    reader.conn().live_columns().await.unwrap()
}

async fn every_live_column_is_declared_in_the_catalog_and_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(backend, dir.path()).await;
    let live = live_columns(&store).await;
    assert!(live.len() > 50, "the schema looks empty: {live:?}");
    let drift = catalog::drift(live.iter().map(|(t, c)| (t.as_str(), c.as_str())));
    assert!(
        drift.is_empty(),
        "schema and data catalog disagree.\n  in the schema but not the catalog: {:?}\n  in the catalog but not the schema: {:?}",
        drift.undeclared,
        drift.missing
    );
    store.close().await;
}

async fn an_undeclared_column_is_caught(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(backend, dir.path()).await;
    store
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked("ALTER TABLE users ADD COLUMN shoe_size TEXT".into())
                    .await
            })
        })
        .await
        .map_err(|e: StoreError| e)
        .unwrap();
    let live = live_columns(&store).await;
    let drift = catalog::drift(live.iter().map(|(t, c)| (t.as_str(), c.as_str())));
    assert_eq!(drift.undeclared, ["users.shoe_size"]);
    assert!(drift.missing.is_empty());
    store.close().await;
}

async fn every_link_to_a_person_does_what_erasure_declares(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(backend, dir.path()).await;
    let keys = {
        let mut reader = store.reader().await.unwrap();
        reader.conn().live_foreign_keys().await.unwrap()
    };
    let to_people = keys.iter().filter(|k| k.2 == "users").count();
    assert!(to_people >= 8, "too few links to people found: {keys:?}");
    let drift = catalog::link_drift(keys.iter().map(|(table, column, references, on_delete)| {
        catalog::ForeignKey {
            table,
            column,
            references,
            on_delete: catalog::OnDelete::parse(on_delete),
        }
    }));
    assert!(
        drift.is_empty(),
        "what the schema does when a person's account row goes disagrees with the catalog:\n  {}",
        drift.join("\n  ")
    );
    store.close().await;
}
