use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(MaxPool {}, |s, g, x| max_pool(g, x));
gadget!(SumPool {}, |s, g, x| sum_pool(g, x));
gadget!(AvgPool {}, |s, g, x| avg_pool(g, x));

fn check_all(n: usize, w: usize, v: &[i128]) {
    let ws = vec![n; w];
    let sum: i128 = v.iter().sum();
    assert_eq!(
        plain_s(&MaxPool { widths: ws.clone() }, v),
        *v.iter().max().expect("w ≥ 1")
    );
    assert_eq!(
        plain_s(&SumPool { widths: ws.clone() }, v),
        sum,
        "sum n={n} {v:?}"
    );
    if w.is_power_of_two() {
        let p = w.trailing_zeros();
        assert_eq!(
            plain_s(&AvgPool { widths: ws }, v),
            sum >> p,
            "avg n={n} {v:?}"
        );
    }
}

#[test]
fn pools_exhaustive_small() {
    for (n, w) in [(4usize, 4usize), (3, 4), (2, 8), (8, 2), (5, 3), (1, 9)] {
        for code in 0..(1u64 << (n * w)) {
            let v: Vec<i128> = (0..w)
                .map(|i| wrap_s((code >> (i * n)) as i128, n))
                .collect();
            check_all(n, w, &v);
        }
    }
}

#[test]
fn pools_sampled_and_prop() {
    let mut rng = rand::thread_rng();
    for n in 1..=8 {
        for w in [1usize, 2, 4, 8, 9, 16] {
            for _ in 0..300 {
                let v: Vec<i128> = (0..w).map(|_| rand_val(&mut rng, n, true)).collect();
                check_all(n, w, &v);
            }
            let v = vec![smin(n); w];
            check_all(n, w, &v);
            let v = vec![smax(n); w];
            check_all(n, w, &v);
        }
    }
    for n in [16usize, 32] {
        for w in [4usize, 9] {
            prop_check(1000, &vec![n; w], true, |v| {
                check_all(n, w, v);
                Ok(())
            });
        }
    }
    for ws in [vec![16; 4], vec![16; 9]] {
        check_builder(
            &MaxPool { widths: ws.clone() },
            &rand_samples(&ws, true, 64),
        );
        check_builder(
            &SumPool { widths: ws.clone() },
            &rand_samples(&ws, true, 64),
        );
    }
    check_builder(
        &AvgPool {
            widths: vec![16; 4],
        },
        &rand_samples(&[16; 4], true, 64),
    );
}
