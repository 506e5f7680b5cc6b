//! An HTTP actuator for the breakers of a process: list them as JSON, force one open, disable it,
//! reset it.
//!
//! ```text
//! cargo run --example actuator              # serves on 127.0.0.1:3000
//! cargo run --example actuator -- 127.0.0.1:8080
//!
//! curl -s localhost:3000/breakers
//! curl -s -X POST localhost:3000/breakers/inventory/force-open
//! curl -s -X POST localhost:3000/breakers/inventory/reset
//! ```
//!
//! The routes are in `actuator/routes.rs`; the breakers they show belong to the small shop in
//! `actuator/shop.rs`, which a background task keeps calling so the counts move. `tests/actuator.rs`
//! serves the same router and checks its answers.

#[path = "actuator/routes.rs"]
mod routes;
#[path = "actuator/shop.rs"]
mod shop;

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("breaker actuator on {base}");
    println!();
    println!("  curl -s {base}/breakers");
    println!("  curl -s {base}/breakers/payments");
    println!("  curl -s -X POST {base}/breakers/inventory/force-open");
    println!("  curl -s -X POST {base}/breakers/inventory/disable");
    println!("  curl -s -X POST {base}/breakers/inventory/reset");
    println!();
    println!("The payments service goes down for 10 s every 20 s. Ctrl-C stops.");
    tokio::spawn(traffic());
    axum::serve(listener, routes::router()).await
}

/// Calls the shop's fns four times a second, so the counts and states move.
async fn traffic() {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    for i in 0u32.. {
        tick.tick().await;
        shop::set_payments_down((i / 40) % 2 == 1);
        let _ = shop::stock(i % 23).await;
        let _ = shop::charge(u64::from(i) * 100).await;
        if i % 5 == 0 {
            let _ = shop::refund(100).await;
        }
    }
}
