use sqlx::Connection;
use std::str::FromStr;
use std::time::Instant;
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let _ = std::fs::remove_file("/tmp/probe.db");
    let o = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite:///tmp/probe.db")?
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut c = sqlx::SqliteConnection::connect_with(&o).await?;
    sqlx::raw_sql("create table m(id integer primary key, b blob)")
        .execute(&mut c)
        .await?;
    sqlx::raw_sql("begin").execute(&mut c).await?;
    let n = 20000;
    let t = Instant::now();
    for i in 0..n {
        sqlx::query("insert into m values ($1, $2)")
            .bind(i as i64)
            .bind(vec![0u8; 200])
            .execute(&mut c)
            .await?;
    }
    println!(
        "insert: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        let _: (i32,) = sqlx::query_as("select 1").fetch_one(&mut c).await?;
    }
    println!(
        "select 1: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        sqlx::raw_sql("savepoint job").execute(&mut c).await?;
    }
    println!(
        "savepoint (raw): {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for i in 0..n {
        sqlx::query("savepoint job2; insert into m values ($1, $2)")
            .bind(100000 + i as i64)
            .bind(vec![0u8; 200])
            .execute(&mut c)
            .await?;
    }
    println!(
        "savepoint+insert in one query: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let (cnt,): (i64,) = sqlx::query_as("select count(*) from m")
        .fetch_one(&mut c)
        .await?;
    println!("rows {cnt}");
    sqlx::raw_sql("commit").execute(&mut c).await?;
    Ok(())
}
