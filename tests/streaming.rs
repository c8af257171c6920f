//! `garnet compile`'s streaming path (compact gate store, passes streamed to the
//! `.gcirc` writer) gives exactly the bytes of the in-memory path,
//! `gcirc::to_bytes(&compile(net, weights)?)`, on the bundled networks.

use garnet_circuits::format::gcirc;
use garnet_compiler::weights::load_safetensors;
use garnet_compiler::{Sources, compile, compile_to_gcirc, frontend};
use std::process::Command;

fn model(dir: &str, file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(dir)
        .join(file)
}

/// Compiles `src` (with the weights file, if any) both ways and compares the bytes.
fn check(what: &str, src: &str, weights: Option<&str>) {
    let net = frontend(src, &mut Sources::new()).unwrap_or_else(|_| panic!("{what}: front end"));
    let w = weights.map(|p| load_safetensors(&net, &std::fs::read(p).unwrap()).unwrap());
    let want = gcirc::to_bytes(&compile(&net, w.as_ref()).unwrap());
    let mut got = Vec::new();
    let summary = compile_to_gcirc(&net, w.as_ref(), &mut got)
        .unwrap()
        .unwrap();
    assert!(
        got == want,
        "{what}: streamed .gcirc differs from the in-memory one"
    );
    let back = gcirc::read(&mut &got[..]).unwrap();
    assert_eq!(summary.gates, back.gates.len() as u64, "{what}");
    assert_eq!(summary.and_gates, back.and_count(), "{what}");
    assert_eq!(summary.wires, back.wires, "{what}");
}

fn source(dir: &str) -> String {
    std::fs::read_to_string(model(dir, &format!("{dir}.gnet"))).unwrap()
}

#[test]
fn bundled_networks_stream_identically() {
    for dir in ["digits", "digits_binarized", "breast_cancer", "binarized"] {
        let src = source(dir);
        let weights = model(dir, &format!("{dir}.safetensors"));
        let weights = weights
            .exists()
            .then(|| weights.to_string_lossy().into_owned());
        check(dir, &src, weights.as_deref());
        // Public parameters become constants: much folding and many dead gates.
        if let Some(w) = &weights {
            let public = src.replacen("params from server;", "params public;", 1);
            assert_ne!(public, src, "{dir}: no `params from server;` to replace");
            check(&format!("{dir} (params public)"), &public, Some(w));
        }
    }
}

#[test]
fn small_networks_stream_identically() {
    let cases = [
        (
            "relu of a sum",
            "network t { format q = fixed(8, 2); params from server; input x : q[4] from client; \
             input y : q[4] from server; s = add(x, y); r = relu(s); \
             output r to client; }",
        ),
        (
            "argmax",
            "network t { format q = fixed(10, 3); params from server; input x : q[7] from client; \
             output c = argmax(x) to both; }",
        ),
    ];
    for (what, src) in cases {
        check(what, src, None);
    }
}

#[test]
fn garnet_compile_writes_the_in_memory_bytes() {
    let out = std::env::temp_dir().join(format!("garnet-stream-{}.gcirc", std::process::id()));
    let gnet = model("digits", "digits.gnet");
    let status = Command::new(env!("CARGO_BIN_EXE_garnet"))
        .arg("compile")
        .arg(&gnet)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let got = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let net = frontend(
        &std::fs::read_to_string(&gnet).unwrap(),
        &mut Sources::new(),
    )
    .unwrap();
    // The gates are those of the in-memory compile; the file also holds the source.
    assert!(gcirc::read(&mut &got[..]).unwrap() == compile(&net, None).unwrap());
    let h = gcirc::GateReader::new(&got[..]).unwrap().into_header();
    let src = String::from_utf8(h.annotations[0].value.clone()).unwrap();
    assert!(src.contains("network digits"), "{src}");
}
