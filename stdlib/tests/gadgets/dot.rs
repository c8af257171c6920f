use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(Dot { k: usize, out: usize, addend: Option<usize> }, |s, g, x| {
    let (a, rest) = x.split_at(s.k);
    let (b, rest) = rest.split_at(s.k);
    let add = s.addend.map(|shift| (&rest[0][..], shift));
    dot_signed(g, a, b, add, s.out)
});
gadget!(DotConst { c: Vec<i128>, out: usize, addend: Option<usize> }, |s, g, x| {
    let k = s.c.len();
    let add = s.addend.map(|shift| (&x[k][..], shift));
    dot_const(g, &x[..k], &s.c, add, s.out)
});

fn reference(v: &[i128], k: usize, addend: Option<usize>) -> i128 {
    let mut sum: i128 = (0..k).map(|t| v[t] * v[k + t]).sum();
    if let Some(sh) = addend {
        sum += v[2 * k] << sh;
    }
    sum
}

fn make(n: usize, k: usize, addend: Option<(usize, usize)>) -> Dot {
    let out = exact_width(n, n, k, addend);
    let mut widths = vec![n; 2 * k];
    if let Some((bits, _)) = addend {
        widths.push(bits);
    }
    Dot {
        widths,
        k,
        out,
        addend: addend.map(|a| a.1),
    }
}

gadget!(DotShared { k: usize, out: usize, addend: Option<usize> }, |s, g, x| {
    let (a, rest) = x.split_at(s.k);
    let (b, rest) = rest.split_at(s.k);
    let sum = shared_sum(g, a);
    let add = s.addend.map(|shift| (&rest[0][..], shift));
    dot_signed_shared(g, a, &sum, b, add, s.out)
});

#[test]
fn exact_width_is_tight() {
    for n in 1..=10 {
        for k in 1..=70 {
            let w = exact_width(n, n, k, None);
            let top = k as i128 * smin(n) * smin(n);
            assert!(top <= smax(w), "n={n} k={k} w={w}");
            assert!(top > smax(w - 1), "n={n} k={k}: {w} is not the narrowest");
        }
    }
    assert_eq!(exact_width(16, 16, 64, None), 38);
}

#[test]
fn dot_exhaustive_small() {
    // Every pair of 4-bit products (k = 2): 2^16 cases; every 3-term 2-bit dot.
    for (n, k) in [(4usize, 2usize), (2, 3), (1, 5)] {
        let t = make(n, k, None);
        let total = 2 * k * n;
        for code in 0..(1u64 << total) {
            let v: Vec<i128> = (0..2 * k)
                .map(|i| wrap_s((code >> (i * n)) as i128, n))
                .collect();
            assert_eq!(plain_s(&t, &v), reference(&v, k, None), "n={n} k={k} {v:?}");
        }
    }
}

#[test]
fn dot_sampled_up_to_8_bits() {
    let mut rng = rand::thread_rng();
    for n in 1..=8 {
        for k in [1usize, 2, 3, 7, 16] {
            for addend in [None, Some((n, n / 2)), Some((2 * n, 3))] {
                let t = make(n, k, addend);
                for _ in 0..300 {
                    let v: Vec<i128> = t
                        .widths
                        .iter()
                        .map(|&w| rand_val(&mut rng, w, true))
                        .collect();
                    assert_eq!(
                        plain_s(&t, &v),
                        reference(&v, k, t.addend),
                        "n={n} k={k} {v:?}"
                    );
                }
                // Extremes: the largest products must not overflow.
                for fill in [smin(n), smax(n)] {
                    let mut v = vec![smin(n); 2 * k];
                    v[k..].iter_mut().for_each(|x| *x = fill);
                    if let Some((bits, _)) = addend {
                        v.push(if fill < 0 { smax(bits) } else { smin(bits) });
                    }
                    assert_eq!(
                        plain_s(&t, &v),
                        reference(&v, k, t.addend),
                        "extreme n={n} k={k}"
                    );
                }
            }
        }
    }
}

#[test]
fn dot_prop_16_and_32() {
    for (n, k, cases) in [(16usize, 16usize, 400u32), (32, 16, 200), (16, 64, 60)] {
        for addend in [None, Some((n, n / 2))] {
            let t = make(n, k, addend);
            prop_check(cases, &t.widths.clone(), true, |v| {
                proptest::prop_assert_eq!(plain_s(&t, v), reference(v, k, t.addend));
                Ok(())
            });
        }
    }
    let t = make(16, 16, Some((16, 8)));
    check_builder(&t, &rand_samples(&t.widths, true, 64));
    // Truncated accumulators wrap.
    let mut t = make(16, 16, None);
    t.out = 32;
    prop_check(200, &t.widths.clone(), true, |v| {
        proptest::prop_assert_eq!(plain_s(&t, v), wrap_s(reference(v, 16, None), 32));
        Ok(())
    });
}

#[test]
fn dot_const_matches() {
    let mut rng = rand::thread_rng();
    for n in [2usize, 5, 8, 16, 32] {
        for k in [1usize, 3, 16] {
            for addend in [None, Some(4usize)] {
                let c: Vec<i128> = (0..k).map(|_| rand_val(&mut rng, n, true)).collect();
                let out = exact_width(n, n, k, addend.map(|s| (n, s)));
                let mut widths = vec![n; k];
                if addend.is_some() {
                    widths.push(n);
                }
                let t = DotConst {
                    widths: widths.clone(),
                    c: c.clone(),
                    out,
                    addend,
                };
                let cases = if n <= 8 { 2000 } else { 300 };
                prop_check(cases, &widths, true, |v| {
                    let mut want: i128 = (0..k).map(|i| c[i] * v[i]).sum();
                    if let Some(sh) = addend {
                        want += v[k] << sh;
                    }
                    proptest::prop_assert_eq!(plain_s(&t, v), want);
                    Ok(())
                });
                if n == 16 && k == 16 {
                    check_builder(&t, &rand_samples(&widths, true, 64));
                }
            }
        }
    }
}

gadget!(DotSplit { k: usize, out: usize, addend: Option<usize> }, |s, g, x| {
    let a = SplitVector::new(g, &x[..s.k], true);
    let b: Vec<Split<_>> = x[s.k..2 * s.k].iter().map(|v| Split::new(g, v)).collect();
    let b = SplitVector::from_splits(g, b);
    let add = s.addend.map(|shift| (&x[2 * s.k][..], shift));
    dot_signed_split(g, &a, &b, add, s.out)
});

#[test]
fn karatsuba_split_is_exact_at_every_width() {
    let mut rng = rand::thread_rng();
    for n in 2..=33 {
        for k in [1usize, 2, 3, 9] {
            for addend in [None, Some((n, n / 2))] {
                let exact = exact_width(n, n, k, addend);
                for out in [exact, exact - n / 2, n] {
                    let mut widths = vec![n; 2 * k];
                    if let Some((bits, _)) = addend {
                        widths.push(bits);
                    }
                    let t = DotSplit {
                        widths: widths.clone(),
                        k,
                        out,
                        addend: addend.map(|a| a.1),
                    };
                    let mut cases: Vec<Vec<i128>> = (0..20)
                        .map(|_| {
                            widths
                                .iter()
                                .map(|&w| rand_val(&mut rng, w, true))
                                .collect()
                        })
                        .collect();
                    cases.push(widths.iter().map(|&w| smin(w)).collect());
                    cases.push(
                        widths
                            .iter()
                            .enumerate()
                            .map(|(i, &w)| if i < k { smin(w) } else { smax(w) })
                            .collect(),
                    );
                    for v in &cases {
                        let want = wrap_s(reference(v, k, t.addend), out);
                        assert_eq!(plain_s(&t, v), want, "n={n} k={k} out={out} {v:?}");
                    }
                }
            }
        }
    }
    let t = make(16, 9, Some((16, 8)));
    check_builder(&t, &rand_samples(&t.widths, true, 64));
}

#[test]
fn shared_side_dot_matches() {
    let mut rng = rand::thread_rng();
    for n in 1..=10 {
        for k in [1usize, 2, 5, 16] {
            for addend in [None, Some((n, n / 2))] {
                let d = make(n, k, addend);
                for out in [d.out, n + 1] {
                    let t = DotShared {
                        widths: d.widths.clone(),
                        k,
                        out,
                        addend: d.addend,
                    };
                    let mut cases: Vec<Vec<i128>> = (0..150)
                        .map(|_| {
                            d.widths
                                .iter()
                                .map(|&w| rand_val(&mut rng, w, true))
                                .collect()
                        })
                        .collect();
                    cases.push(d.widths.iter().map(|&w| smin(w)).collect());
                    for v in &cases {
                        let want = wrap_s(reference(v, k, d.addend), out);
                        assert_eq!(plain_s(&t, v), want, "n={n} k={k} out={out} {v:?}");
                    }
                }
            }
        }
    }
    for n in [16usize, 32] {
        let d = make(n, 16, Some((n, n / 2)));
        let t = DotShared {
            widths: d.widths.clone(),
            k: 16,
            out: d.out,
            addend: d.addend,
        };
        prop_check(300, &d.widths.clone(), true, |v| {
            proptest::prop_assert_eq!(plain_s(&t, v), reference(v, 16, d.addend));
            Ok(())
        });
        check_builder(&t, &rand_samples(&t.widths, true, 64));
    }
}
