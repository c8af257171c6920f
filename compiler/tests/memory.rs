//! Bounded memory on hostile `.gnet` sources, measured with a counting allocator:
//! `use "/dev/zero";` and blocks that double the network at every level must be
//! clear errors after a bounded amount of memory. (A separate test binary: the
//! allocator counts the whole process.)

use garnet_circuits::testing::PeakAlloc;
use garnet_compiler::limits::Limits;
use garnet_compiler::resolve::MemLoader;
use garnet_compiler::{Sources, frontend_file, frontend_limited, frontend_with, render};
use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

const MB: usize = 1 << 20;

#[test]
fn using_dev_zero_reads_at_most_the_source_limit() {
    let dir = std::env::temp_dir().join(format!("garnet-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let main = dir.join("main.gnet");
    std::fs::write(&main, "use \"/dev/zero\";\nnetwork n { }\n").unwrap();
    let (out, peak) = ALLOC.measure(|| {
        let mut s = Sources::new();
        let d = frontend_file(&main, &mut s).unwrap_err();
        render(&d, &s)
    });
    assert!(
        out.contains("cannot read used file `/dev/zero`")
            && out.contains("longer than the limit of 16777216 bytes")
            && out.contains("main.gnet:1:"),
        "{out}"
    );
    assert!(peak < 40 * MB, "{peak} bytes");
    // The main file itself is capped too.
    let (d, peak) = ALLOC.measure(|| {
        let mut s = Sources::new();
        frontend_file(Path::new("/dev/zero"), &mut s).unwrap_err()
    });
    assert!(
        d[0].message.contains("/dev/zero") && d[0].message.contains("limit of 16777216 bytes"),
        "{}",
        d[0].message
    );
    assert!(peak < 40 * MB, "{peak} bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 40 blocks, each calling the previous one twice: 2^40 layers once inlined, from
/// a 2 KB file.
fn doubling_blocks() -> String {
    let mut src = String::from("block b0(x) { y = relu(x); return y; }\n");
    for i in 1..40 {
        src.push_str(&format!(
            "block b{i}(x) {{ a = b{}(x); c = b{}(a); return c; }}\n",
            i - 1,
            i - 1
        ));
    }
    src.push_str(
        "network n {\n    format q = fixed(16, 8);\n    input x : [4] from client;\n    y = b39(x);\n    output y;\n}\n",
    );
    src
}

#[test]
fn exponential_block_inlining_stops_at_the_layer_limit() {
    let src = doubling_blocks();
    assert!(src.len() < 3000, "{} bytes", src.len());
    let start = Instant::now();
    let (out, peak) = ALLOC.measure(|| {
        let mut s = Sources::new();
        let d = frontend_with(Path::new("main.gnet"), &src, &MemLoader::new(), &mut s).unwrap_err();
        assert_eq!(d.len(), 1, "{}", render(&d, &s));
        render(&d, &s)
    });
    assert!(
        out.contains("makes the network larger than the limit of 100000 layers")
            && out.contains("calls being inlined: b39 -> b38 -> b37 -> ...")
            && out.contains("in this call of `b39`")
            && !out.contains("in this call of `b38`"),
        "{out}"
    );
    eprintln!("inlining error after {peak} bytes:\n{out}");
    assert!(peak < 256 * MB, "{peak} bytes");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );

    // A lower limit is a smaller bound, and the error points at the call.
    let limits = Limits {
        max_layers: 100,
        ..Limits::default()
    };
    let (out, peak) = ALLOC.measure(|| {
        let mut s = Sources::new();
        let d = frontend_limited(
            Path::new("main.gnet"),
            &src,
            &MemLoader::new(),
            &mut s,
            &limits,
        )
        .unwrap_err();
        render(&d, &s)
    });
    assert!(
        out.contains("limit of 100 layers") && out.contains("main.gnet:"),
        "{out}"
    );
    assert!(peak < 4 * MB, "{peak} bytes");
}

#[test]
fn a_megabyte_identifier_gives_a_short_diagnostic() {
    let long = "a".repeat(1 << 20);
    let src = format!(
        "network n {{ format q = fixed(16, 8); input x : [4] from client; y = relu({long}); output y; }}"
    );
    let (out, peak) = ALLOC.measure(|| {
        let mut s = Sources::new();
        let d = frontend_with(Path::new("main.gnet"), &src, &MemLoader::new(), &mut s).unwrap_err();
        render(&d, &s)
    });
    assert!(
        out.contains("undefined name `aaaa") && out.contains('…'),
        "{out}"
    );
    eprintln!(
        "{} bytes of diagnostics after {peak} bytes:\n{out}",
        out.len()
    );
    assert!(out.len() < 4096, "{} bytes of diagnostics", out.len());
    assert!(peak < 32 * MB, "{peak} bytes");
}
