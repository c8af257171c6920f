//! The README's gate-count and anchor tables are generated from the code; this
//! test fails when they are stale. `UPDATE_README=1 cargo test -p garnet-stdlib
//! --test gadgets readme` rewrites them.

use std::path::Path;

fn replace_between(text: &str, start: &str, end: &str, body: &str) -> String {
    let i = text
        .find(start)
        .unwrap_or_else(|| panic!("README lacks `{start}`"))
        + start.len();
    let j = text[i..]
        .find(end)
        .unwrap_or_else(|| panic!("README lacks `{end}`"))
        + i;
    format!("{}\n{}{}", &text[..i], body, &text[j..])
}

#[test]
fn readme_tables_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).expect("stdlib/README.md exists");
    let rows = garnet_stdlib::table::all_rows();
    let mut want = replace_between(
        &text,
        "<!-- gate-table:start -->",
        "<!-- gate-table:end -->",
        &garnet_stdlib::table::markdown(&rows),
    );
    want = replace_between(
        &want,
        "<!-- anchor-table:start -->",
        "<!-- anchor-table:end -->",
        &garnet_stdlib::anchors::markdown(&garnet_stdlib::anchors::all()),
    );
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, &want).expect("writes README.md");
        return;
    }
    assert!(
        text == want,
        "stdlib/README.md tables are stale: run `UPDATE_README=1 cargo test -p garnet-stdlib --test gadgets readme`"
    );
}
