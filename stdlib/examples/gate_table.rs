//! Prints the gate-count table of every gadget and the anchor comparison (the
//! README's tables): `cargo run -p garnet-stdlib --example gate_table`.
fn main() {
    print!(
        "{}",
        garnet_stdlib::table::markdown(&garnet_stdlib::table::all_rows())
    );
    println!();
    print!(
        "{}",
        garnet_stdlib::anchors::markdown(&garnet_stdlib::anchors::all())
    );
}
