//! Prints the AND count of each example network (private weights), via the Counter.
//! `cargo run --release -p garnet-compiler --example counts -- models/digits/digits.gnet ...`

use garnet_compiler::{Sources, count, frontend_file, render};
use std::path::PathBuf;

fn main() {
    for arg in std::env::args().skip(1) {
        let mut s = Sources::new();
        let net = match frontend_file(&PathBuf::from(&arg), &mut s) {
            Ok(n) => n,
            Err(d) => {
                eprintln!("{}", render(&d, &s));
                continue;
            }
        };
        let t = std::time::Instant::now();
        match count(&net, None) {
            Ok((c, sections)) => {
                println!(
                    "{arg}: {} AND, {} XOR, {} NOT ({:.1?})",
                    c.and,
                    c.xor,
                    c.not,
                    t.elapsed()
                );
                for (name, c) in sections {
                    println!("  {name:<10} {:>12}", c.and);
                }
            }
            Err(e) => println!("{arg}: {e}"),
        }
    }
}
