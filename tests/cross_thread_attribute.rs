//! An annotated `async fn` whose future resumes on another worker still counts every call once
//! (R10).
//!
//! The attribute acquires the permit when the call starts and records the outcome when it ends; on
//! a multi-threaded runtime the two often run on different worker threads, since each
//! `yield_now` lets another worker steal the task. Many tasks run the fn at once, every call
//! succeeds, and the breaker must count exactly as many successes as admissions.

use breakerbox::{Rejected, circuit_breaker, registry};

const TASKS: u64 = 64;
const CALLS_PER_TASK: u64 = 3_000;

#[derive(Debug)]
struct Unavailable;

impl From<Rejected> for Unavailable {
    fn from(_: Rejected) -> Self {
        Unavailable
    }
}

// Nothing here fails, so the threshold is only there to make that plain.
#[circuit_breaker(name = "cross_thread_attribute.hop", threshold = 1000000)]
async fn hop() -> Result<(), Unavailable> {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
    Ok(())
}

#[test]
fn calls_resumed_on_other_workers_are_all_counted() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..CALLS_PER_TASK {
                        hop().await.expect("it cannot open");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no task panics");
        }
    });
    let m = registry()
        .get("cross_thread_attribute.hop")
        .expect("registered at link time")
        .metrics();
    let total = TASKS * CALLS_PER_TASK;
    assert_eq!(
        (m.admitted, m.successes, m.failures, m.late, m.rejected),
        (total, total, 0, 0, 0),
        "{} successes lost",
        total.saturating_sub(m.successes)
    );
}
