//! Feature `serde`: an open breaker snapshotted to JSON comes back open in a fresh process, for the
//! time it had left, and half-open after.
//!
//! The test runs twice: as the parent, which opens the breaker and writes the snapshot, and as a
//! child process of the same binary, which restores it (the environment variable tells which).

use std::process::Command;
use std::time::Duration;

use breakerbox::{
    Rejected, RestoreError, SNAPSHOT_FORMAT, Snapshot, State, circuit_breaker, registry,
};

const SNAPSHOT_VAR: &str = "BREAKER_TEST_SNAPSHOT";

#[derive(Debug)]
pub struct Down;

impl From<Rejected> for Down {
    fn from(_: Rejected) -> Self {
        Down
    }
}

#[circuit_breaker(name = "snapshot.payments", threshold = 1, reset = "60s")]
async fn charge() -> Result<(), Down> {
    Err(Down)
}

#[circuit_breaker(name = "snapshot.forced")]
pub fn forced() -> Result<(), Down> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_survives_a_restart() {
    match std::env::var(SNAPSHOT_VAR) {
        Ok(json) => restore_in_the_new_process(&json).await,
        Err(_) => snapshot_and_restart().await,
    }
}

async fn snapshot_and_restart() {
    let payments = registry().get("snapshot.payments").unwrap();
    let _ = charge().await;
    assert_eq!(payments.state(), State::Open);
    tokio::time::advance(Duration::from_secs(20)).await;
    registry().get("snapshot.forced").unwrap().force_open();

    let snapshot = registry().snapshot();
    let saved = snapshot
        .breakers
        .iter()
        .find(|b| b.name == "snapshot.payments")
        .unwrap();
    assert_eq!(
        (saved.state, saved.open_remaining_ms),
        (State::Open, Some(40_000))
    );
    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(json.contains(r#""state":"open""#), "{json}");

    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "an_open_breaker_survives_a_restart",
            "--exact",
            "--nocapture",
        ])
        .env(SNAPSHOT_VAR, &json)
        .output()
        .unwrap();
    let output = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "the restored process failed:\n{output}"
    );
    assert!(output.contains("1 passed"), "{output}");
}

async fn restore_in_the_new_process(json: &str) {
    let payments = registry().get("snapshot.payments").unwrap();
    assert_eq!(payments.state(), State::Closed, "a fresh process");
    let snapshot: Snapshot = serde_json::from_str(json).unwrap();
    registry().restore(&snapshot).unwrap();

    assert_eq!(payments.state(), State::Open);
    assert_eq!(
        registry().get("snapshot.forced").unwrap().state(),
        State::ForcedOpen
    );
    // 40 s were left; the wall-clock time the restart took is taken off.
    let left = payments.remaining_open().unwrap();
    assert!(
        left <= Duration::from_secs(40) && left > Duration::from_secs(30),
        "{left:?}"
    );
    tokio::time::advance(left - Duration::from_millis(1)).await;
    assert!(
        payments.try_acquire().is_err(),
        "still open until its time is up"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    let probe = payments
        .try_acquire()
        .expect("half-open once the time is up");
    assert!(probe.is_probe());
    assert_eq!(payments.state(), State::HalfOpen);
    probe.success();
    assert_eq!(payments.state(), State::Closed);
}

#[test]
fn a_bad_snapshot_is_refused_whole() {
    let mut snapshot = registry().snapshot();
    let forced = registry().get("snapshot.forced").unwrap();
    let state_before = forced.state();
    for b in &mut snapshot.breakers {
        b.state = State::Disabled;
    }
    let mut unknown = snapshot.clone();
    unknown.breakers[0].name = "snapshot.gone".to_owned();
    assert_eq!(
        registry().restore(&unknown),
        Err(RestoreError::UnknownBreakers(vec![
            "snapshot.gone".to_owned()
        ]))
    );
    let mut old = snapshot.clone();
    old.format = SNAPSHOT_FORMAT + 1;
    assert!(matches!(
        registry().restore(&old),
        Err(RestoreError::IncompatibleFormat { .. })
    ));
    assert_eq!(forced.state(), state_before, "nothing applied half-way");
}
