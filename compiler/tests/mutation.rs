//! Mutation harness for the `.gnet` front end: the example networks with bytes
//! flipped, inserted, deleted or cut off (and long identifiers, huge numbers and
//! block calls spliced in) must give a network or diagnostics that render, without
//! panicking and within a cap on the bytes allocated (a counting allocator, so this
//! is its own test binary). Small networks that check are also counted through
//! the lowering. The case count is bounded for CI.

use garnet_circuits::testing::PeakAlloc;
use garnet_compiler::resolve::MemLoader;
use garnet_compiler::{Sources, frontend_with, render};
use proptest::prelude::*;
use std::path::Path;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

/// Peak heap per case.
const CAP: usize = 64 << 20;

const MODELS: &[&str] = &[
    "binarized/binarized.gnet",
    "breast_cancer/breast_cancer.gnet",
    "deepsecure_b1/deepsecure_b1.gnet",
    "digits/digits.gnet",
    "digits_binarized/digits_binarized.gnet",
    "minionn/minionn.gnet",
    "secureml/secureml.gnet",
];

const BLOCKS: &str = "block r(a) { c = conv2d(a, 1, kernel=3, padding=1); return add(a, c); }
block rr(a) { x = r(a); y = r(x); return y; }
";

fn sources() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut v: Vec<String> = MODELS
        .iter()
        .map(|m| std::fs::read_to_string(dir.join(m)).expect("example model"))
        .collect();
    v.push(format!(
        "{BLOCKS}network n {{ format q = fixed(8, 4); input x : [1, 4, 4] from client; params from server; y = rr(x); z = rr(y); output z; }}"
    ));
    v
}

const SPLICES: &[&str] = &[
    "99999999999999999999",
    "65536",
    "-1",
    "rr(x)",
    "use \"lib.gnet\";",
    "\x1b[2J",
    "\n",
    "{",
    "}",
    ";",
    "/*",
];

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, String),
    LongIdent(usize, usize),
    Delete(usize, usize),
    Truncate(usize),
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut b = src.as_bytes().to_vec();
    for e in edits {
        let n = b.len().max(1);
        match e {
            Edit::Flip(p, bit) => {
                if let Some(x) = b.get_mut(p % n) {
                    *x ^= 1 << (bit % 8);
                }
            }
            Edit::Insert(p, s) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, s.bytes());
            }
            Edit::LongIdent(p, len) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, std::iter::repeat_n(b'z', *len));
            }
            Edit::Delete(p, len) => {
                let at = p % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Truncate(p) => b.truncate(p % n),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), proptest::sample::select(SPLICES))
            .prop_map(|(p, s)| Edit::Insert(p, s.to_string())),
        (any::<usize>(), 1000usize..200_000).prop_map(|(p, l)| Edit::LongIdent(p, l)),
        (any::<usize>(), 1usize..20).prop_map(|(p, l)| Edit::Delete(p, l)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..4)
}

fn run(src: &str) -> usize {
    let loader = MemLoader::new().with("lib.gnet", BLOCKS);
    let mut s = Sources::new();
    match frontend_with(Path::new("main.gnet"), src, &loader, &mut s) {
        Ok(net) => {
            let elements: usize = net.tensors.iter().map(|t| t.len()).sum();
            if elements <= 256 {
                let _ = garnet_compiler::count(&net, None);
            }
            0
        }
        Err(d) => {
            assert!(!d.is_empty());
            render(&d, &s).len()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_networks(which in 0usize..MODELS.len() + 1, edits in edits()) {
        let src = apply(&sources()[which], &edits);
        let (rendered, peak) = ALLOC.measure(|| run(&src));
        prop_assert!(peak < CAP, "{peak} bytes for {edits:?}");
        // Diagnostics stay short whatever the file holds (a 200 KB identifier
        // prints as 48 characters).
        prop_assert!(rendered < 64 << 10, "{rendered} bytes of diagnostics for {edits:?}");
    }
}

#[test]
fn the_seeds_check() {
    for src in sources() {
        let mut s = Sources::new();
        let loader = MemLoader::new();
        if let Err(d) = frontend_with(Path::new("main.gnet"), &src, &loader, &mut s) {
            panic!("{}", render(&d, &s));
        }
    }
}
