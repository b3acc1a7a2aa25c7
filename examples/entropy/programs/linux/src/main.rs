//! A static Linux program using the services through the personality: `getrandom` (64 KiB,
//! checked with monobit) goes to kl.EntropyEntity and `SystemTime::now` (clock_gettime
//! CLOCK_REALTIME) to kl.RtcClock, because init.yaml gives it channels `entropy` and
//! `clock`. With the argument `denied` it runs as a class the policy refuses the entropy
//! service: `getrandom` must fail with EACCES, which the kernel's own generator would not.

fn getrandom(buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is a writable buffer of `buf.len()` bytes for the whole call.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(n as usize)
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("denied") {
        let mut b = [0u8; 16];
        match getrandom(&mut b) {
            Err(libc::EACCES) => println!("linux: denied: getrandom failed with EACCES"),
            other => {
                println!("linux: FAILED: denied getrandom gave {other:?}");
                std::process::exit(1);
            }
        }
        return;
    }
    let mut sample = vec![0u8; 64 * 1024];
    let mut done = 0;
    while done < sample.len() {
        match getrandom(&mut sample[done..]) {
            Ok(n) if n > 0 => done += n,
            other => {
                println!("linux: FAILED: getrandom gave {other:?}");
                std::process::exit(1);
            }
        }
    }
    let bits = sample.len() as f64 * 8.0;
    let ones: u64 = sample.iter().map(|b| u64::from(b.count_ones())).sum();
    let sigma = (2.0 * ones as f64 - bits).abs() / bits.sqrt();
    println!(
        "linux: getrandom gave {} bytes: {ones} ones, monobit {sigma:.2} sigma {}",
        sample.len(),
        if sigma < 3.89 { "pass" } else { "FAILED" }
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the wall clock is after 1970");
    println!(
        "linux: wall clock unix {} s {} ns",
        now.as_secs(),
        now.subsec_nanos()
    );
}
