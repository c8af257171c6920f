use garnet_stdlib::table::measure;
use garnet_stdlib::*;
fn main() {
    for n in [12usize, 13, 14, 15, 16, 20, 32] {
        for k in [1usize, 2, 9, 64] {
            let w = exact_width(n, n, k, None);
            let a = measure("school", n.to_string(), &vec![n; 2 * k], |g, x| {
                dot_signed_schoolbook(g, &x[..k], &x[k..], None, w)
            });
            let b = measure("auto", n.to_string(), &vec![n; 2 * k], |g, x| {
                dot_signed(g, &x[..k], &x[k..], None, w)
            });
            println!("n={n} k={k} school={} auto={}", a.counts.and, b.counts.and);
        }
    }
}
