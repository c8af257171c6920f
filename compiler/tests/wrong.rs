//! Every program in `tests/wrong/*.gnet` is rejected by the front end; its
//! rendered diagnostics (plain text) are pinned with insta snapshots.

use garnet_compiler::{Sources, frontend_file, render};
use std::path::{Path, PathBuf};

fn wrong_programs() -> Vec<PathBuf> {
    let dir = Path::new("tests/wrong");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/wrong exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gnet"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_are_at_least_25_wrong_programs() {
    assert!(wrong_programs().len() >= 25);
}

#[test]
fn wrong_programs_are_rejected_with_snapshotted_diagnostics() {
    // Paths relative to the package root, so the snapshots do not depend on
    // where the repository lives.
    let mut accepted = Vec::new();
    for path in wrong_programs() {
        let mut sources = Sources::new();
        match frontend_file(&path, &mut sources) {
            Ok(_) => accepted.push(path.display().to_string()),
            Err(diags) => {
                assert!(!diags.is_empty());
                let out = render(&diags, &sources);
                assert!(!out.contains('\x1b'), "colour codes in {}", path.display());
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                insta::assert_snapshot!(name, out);
            }
        }
    }
    assert!(accepted.is_empty(), "wrong programs accepted: {accepted:?}");
}
