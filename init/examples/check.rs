//! `cargo run -p ostrog-init --features std --example check -- init.yaml...`: prints the
//! rendered diagnostics of each file, or a summary of its Einit table.

fn main() {
    let files: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let options = ostrog_init::Options::default();
    for file in &files {
        match ostrog_init::load(file, &options) {
            Ok(solution) => match solution.to_table() {
                Ok(bytes) => println!(
                    "{}: {} processes, {} channels, table of {} bytes",
                    file.display(),
                    solution.processes.len(),
                    solution.channels.len(),
                    bytes.len()
                ),
                Err(e) => println!("{}: {e}", file.display()),
            },
            Err(diagnostics) => {
                for d in diagnostics {
                    println!("{}", d.render());
                }
            }
        }
    }
}
