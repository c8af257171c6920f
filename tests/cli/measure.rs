//! Running the binary as a child with bounded memory, and measuring it: an
//! address-space cap (`ulimit -v`, so a runaway allocation fails inside the cap
//! instead of taking the machine) and the child's peak RSS (`VmHWM`, polled).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a capped run gave: its output and the highest peak RSS seen, in MiB.
pub struct Measured {
    pub out: Output,
    pub peak_mib: u64,
}

/// The peak RSS of a running process, in KiB (`None` once it has exited).
pub fn peak_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The binary under test: this build's, or `GARNET_TEST_BIN` (to show that these
/// tests fail on another build, say the one before a fix).
fn binary() -> String {
    std::env::var("GARNET_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_garnet").into())
}

/// `garnet ARGS` under an address-space cap of `cap_mib`, with `envs` set.
pub fn command(args: &[&str], envs: &[(&str, &str)], cap_mib: u64) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", cap_mib * 1024))
        .arg(binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Few malloc arenas: their reserved (not used) address space counts in the cap.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for `child` (killed after `deadline`), polling its peak RSS.
pub fn wait(mut child: Child, deadline: Duration) -> Measured {
    let pid = child.id();
    // Read by threads (a full pipe would stall the child); taken ones read as empty.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let t1 = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let t2 = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(k) = peak_kib(pid) {
            peak = peak.max(k);
        }
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        out: Output {
            status,
            stdout: t1.join().unwrap(),
            stderr: t2.join().unwrap(),
        },
        peak_mib: peak / 1024,
    }
}

/// `garnet ARGS` run to the end under a cap of `cap_mib` (see [`command`]).
pub fn run(args: &[&str], envs: &[(&str, &str)], cap_mib: u64) -> Measured {
    let child = command(args, envs, cap_mib).spawn().expect("sh runs");
    wait(child, Duration::from_secs(120))
}

/// A `.gcirc` file at `path` holding `c`.
pub fn write_gcirc(path: &Path, c: &garnet_circuits::Circuit) {
    garnet_circuits::format::write_file(path, c, garnet_circuits::format::Format::Gcirc)
        .expect("writes");
}
