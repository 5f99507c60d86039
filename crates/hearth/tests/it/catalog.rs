//! The data catalog and the live schema must agree, column for column, on both backends.

use crate::harness::{Backend, fresh_database, on_both_backends};
use hearth_app::{Store, StoreError, StoreOptions};
use hearth_core::catalog;

on_both_backends!(
    every_live_column_is_declared_in_the_catalog_and_back,
    an_undeclared_column_is_caught,
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
