use breakerbox::Lagged;

let registry = breakerbox::registry();
for b in registry.iter() {
    println!("{}: {} {:?}", b.name(), b.state(), b.metrics());
}
let payments = registry.get("payments").unwrap();
payments.force_open(); // or .disable(), .reset()

// Every state transition from now on: breaker, from, to, when, why. The stream is bounded: a
// subscriber more than `breakerbox::EVENTS_CAPACITY` transitions behind loses the oldest, is told
// how many, and reads on from the oldest still held.
let mut events = registry.subscribe();
loop {
    match events.recv().await {
        Ok(t) => println!("{t}"), // payments: closed -> open (5 failures in a row)
        Err(Lagged(lost)) => eprintln!("missed {lost} transitions"),
    }
}
