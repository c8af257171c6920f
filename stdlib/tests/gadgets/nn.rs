use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(Requant { f: usize, b: usize }, |s, g, x| requantize(
    g, &x[0], s.f, s.b
));
gadget!(RequantRelu { f: usize, b: usize }, |s, g, x| {
    requantize_relu(g, &x[0], s.f, s.b)
});
gadget!(Argmax {}, |s, g, x| argmax(g, x));

fn requant_ref(v: i128, f: usize, b: usize) -> i128 {
    (v >> f).clamp(smin(b), smax(b))
}

#[test]
fn requantize_exhaustive() {
    for w in 1..=13 {
        for f in 0..=w.min(6) {
            for b in 1..=w + 1 {
                let t = Requant {
                    widths: vec![w],
                    f,
                    b,
                };
                let r = RequantRelu {
                    widths: vec![w],
                    f,
                    b,
                };
                for v in all(w, true) {
                    let want = requant_ref(v, f, b);
                    assert_eq!(plain_s(&t, &[v]), want, "w={w} f={f} b={b} v={v}");
                    assert_eq!(
                        plain_s(&r, &[v]),
                        want.max(0),
                        "relu w={w} f={f} b={b} v={v}"
                    );
                }
            }
        }
    }
}

#[test]
fn requantize_prop() {
    for (n, f) in [(16usize, 8usize), (32, 16), (16, 0), (32, 3)] {
        let w = 2 * n + 6;
        let t = Requant {
            widths: vec![w],
            f,
            b: n,
        };
        let r = RequantRelu {
            widths: vec![w],
            f,
            b: n,
        };
        prop_check(2000, &[w], true, |v| {
            // Mostly in range after the shift, so both branches get exercised.
            let small = v[0] >> (w - n - f);
            for x in [v[0], small] {
                let want = requant_ref(x, f, n);
                proptest::prop_assert_eq!(plain_s(&t, &[x]), want);
                proptest::prop_assert_eq!(plain_s(&r, &[x]), want.max(0));
            }
            Ok(())
        });
        check_builder(&t, &rand_samples(&[w], true, 64));
        check_builder(&r, &rand_samples(&[w], true, 64));
    }
}

fn argmax_ref(v: &[i128]) -> i128 {
    let m = *v.iter().max().expect("nonempty");
    v.iter().position(|&x| x == m).expect("max exists") as i128
}

#[test]
fn argmax_exhaustive_small_with_ties() {
    for (n, k) in [(1usize, 5usize), (2, 4), (3, 4), (2, 6), (2, 7), (1, 9)] {
        let t = Argmax { widths: vec![n; k] };
        for code in 0..(1u64 << (n * k)) {
            let v: Vec<i128> = (0..k)
                .map(|i| wrap_s((code >> (i * n)) as i128, n))
                .collect();
            assert_eq!(plain_u(&t, &v), argmax_ref(&v), "n={n} k={k} {v:?}");
        }
    }
}

#[test]
fn argmax_sampled_and_prop() {
    let mut rng = rand::thread_rng();
    for n in 1..=8 {
        for k in [1usize, 2, 3, 5, 10, 16, 17] {
            let t = Argmax { widths: vec![n; k] };
            for _ in 0..300 {
                let v: Vec<i128> = (0..k).map(|_| rand_val(&mut rng, n, true)).collect();
                assert_eq!(plain_u(&t, &v), argmax_ref(&v), "n={n} k={k} {v:?}");
            }
        }
    }
    for n in [16usize, 32] {
        for k in [10usize, 16] {
            let t = Argmax { widths: vec![n; k] };
            prop_check(1000, &vec![n; k], true, |v| {
                proptest::prop_assert_eq!(plain_u(&t, v), argmax_ref(v));
                // Duplicate the maximum further right: the first one must still win.
                let mut d = v.to_vec();
                let i = argmax_ref(v) as usize;
                d[k - 1] = d[i];
                proptest::prop_assert_eq!(plain_u(&t, &d), argmax_ref(&d));
                Ok(())
            });
        }
    }
    let t = Argmax {
        widths: vec![16; 16],
    };
    check_builder(&t, &rand_samples(&t.widths, true, 64));
}
