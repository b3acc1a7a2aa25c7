//! An ordinary Rust `std` program for Linux: Ostrog runs it unchanged through the Linux
//! personality. It prints a greeting, its arguments and an environment variable, counts
//! words on a second thread, and uses a `HashMap`.

use std::collections::HashMap;

fn main() {
    println!("hello: Hello from a Linux program on Ostrog!");
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("hello: arguments: {args:?}");
    match std::env::var("GREETING") {
        Ok(greeting) => println!("hello: GREETING = {greeting}"),
        Err(e) => println!("hello: GREETING: {e}"),
    }

    let counter = std::thread::spawn(|| {
        let text = "ostrog linux ".repeat(50);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for word in text.split_whitespace() {
            *counts.entry(word.to_string()).or_default() += 1;
        }
        counts
    });
    let counts = counter.join().expect("the thread did not panic");
    println!(
        "hello: the thread counted {} words",
        counts.values().sum::<usize>()
    );

    let lengths: HashMap<&str, usize> = counts.keys().map(|w| (w.as_str(), w.len())).collect();
    let mut sorted: Vec<_> = lengths.into_iter().collect();
    sorted.sort();
    println!("hello: {sorted:?}");
}
