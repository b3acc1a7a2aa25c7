//! Reads lines from standard input with `std::io::stdin().lines()` until end of file and
//! prints each transformed (upper case, reversed, its words counted), then a summary. A
//! read error is printed with its kind and ends the program with status 1.

use std::io::{BufRead, Write};

fn main() {
    println!("stdin-std: type lines, then Ctrl-D");
    let _ = std::io::stdout().flush();
    let mut count = 0;
    let mut bytes = 0;
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(line) => {
                count += 1;
                bytes += line.len();
                let reversed: String = line.chars().rev().collect();
                println!(
                    "stdin-std: {count}: {:?} reversed {reversed:?}, {} words",
                    line.to_uppercase(),
                    line.split_whitespace().count()
                );
            }
            Err(e) => {
                println!("stdin-std: read error: {:?}", e.kind());
                std::process::exit(1);
            }
        }
    }
    println!("stdin-std: end of input after {count} lines, {bytes} bytes");
}
