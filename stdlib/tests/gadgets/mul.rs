use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(MulTrunc {}, |s, g, x| mul_trunc(g, &x[0], &x[1]));
gadget!(MulFullU {}, |s, g, x| mul_full_unsigned(g, &x[0], &x[1]));
gadget!(MulFullS {}, |s, g, x| mul_full_signed(g, &x[0], &x[1]));
gadget!(
    MulConst {
        c: i128,
        out: usize
    },
    |s, g, x| mul_const(g, &x[0], s.c, s.out)
);

gadget!(
    PlainProduct {
        signed: bool,
        out: usize
    },
    |s, g, x| {
        let mut cs = ColumnSum::new(s.out);
        cs.add_product(g, &x[0], s.signed, &x[1], s.signed, 0, false);
        cs.finish(g)
    }
);

#[test]
fn mul_trunc_wraps_signed_and_unsigned() {
    binary_suite(
        |n| MulTrunc { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, n| wrap_s(a * b, n),
    );
    binary_suite(
        |n| MulTrunc { widths: vec![n, n] },
        false,
        1,
        Read::Unsigned,
        |a, b, n| wrap_u(a * b, n),
    );
}

#[test]
fn mul_full_unsigned_is_exact() {
    binary_suite(
        |n| MulFullU { widths: vec![n, n] },
        false,
        1,
        Read::Unsigned,
        |a, b, _| a * b,
    );
}

#[test]
fn mul_full_signed_is_exact() {
    binary_suite(
        |n| MulFullS { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, _| a * b,
    );
}

#[test]
fn mixed_widths_multiply() {
    for (na, nb) in [(3, 7), (8, 5), (1, 6), (12, 4)] {
        let t = MulFullS {
            widths: vec![na, nb],
        };
        for a in all(na, true) {
            for b in all(nb, true)
                .into_iter()
                .step_by(if nb > 8 { 7 } else { 1 })
            {
                assert_eq!(plain_s(&t, &[a, b]), a * b, "{na}x{nb}: {a}*{b}");
            }
        }
    }
}

#[test]
fn csd_is_canonical_and_exact() {
    use proptest::prelude::*;
    let check = |c: i128| {
        let d = csd(c);
        let v: i128 = d.iter().enumerate().map(|(i, &x)| (x as i128) << i).sum();
        assert_eq!(v, c);
        assert!(
            d.windows(2).all(|w| w[0] == 0 || w[1] == 0),
            "adjacent nonzero digits for {c}"
        );
    };
    for c in -5000..5000 {
        check(c);
    }
    proptest!(ProptestConfig::with_cases(2000), |(c in -(1i128 << 100)..(1i128 << 100))| check(c));
    // 0b0111_0111 = 119 has 6 set bits but 3 signed digits: 128 − 8 − 1.
    assert_eq!(csd(119).iter().filter(|&&d| d != 0).count(), 3);
}

#[test]
fn mul_const_exhaustive_small() {
    for n in 1..=8 {
        for c in -70i128..=70 {
            let out = n + 8;
            let t = MulConst {
                widths: vec![n],
                c,
                out,
            };
            for x in all(n, true) {
                assert_eq!(plain_s(&t, &[x]), wrap_s(x * c, out), "n={n} c={c} x={x}");
            }
        }
    }
}

#[test]
fn mul_const_prop() {
    use proptest::prelude::*;
    for n in [16usize, 32] {
        proptest!(ProptestConfig::with_cases(1000), |(x in any::<i64>(), c in any::<i64>(), extra in 0usize..40)| {
            let x = wrap_s(x as i128, n);
            let c = wrap_s(c as i128, n);
            let out = n + extra;
            let t = MulConst { widths: vec![n], c, out };
            prop_assert_eq!(plain_s(&t, &[x]), wrap_s(x * c, out));
        });
    }
    let t = MulConst {
        widths: vec![16],
        c: -23170,
        out: 32,
    };
    check_builder(&t, &rand_samples(&[16], true, 64));
}

#[test]
fn mul_const_costs_at_most_digit_adders() {
    // (nonzero digits − 1) adders of the output width, each at most `out` ANDs.
    for c in [3i128, 7, 23170, -23170, 1 << 12, -1, 0x5555, 12345] {
        let n = 16;
        let out = 32;
        let row = garnet_stdlib::table::measure("mul_const", n.to_string(), &[n], |g, x| {
            mul_const(g, &x[0], c, out)
        });
        let digits = csd(c).iter().filter(|&&d| d != 0).count() as u64;
        let bound = digits.saturating_sub(1) * out as u64 + if c < 0 { out as u64 } else { 0 };
        assert!(
            row.counts.and <= bound,
            "c={c}: {} ANDs > {bound}",
            row.counts.and
        );
        if c.count_ones() == 1 && c > 0 {
            assert_eq!(row.counts.and, 0, "a power of two is a free shift");
        }
    }
}

#[test]
fn karatsuba_widths_multiply_exactly() {
    for n in 17..=26 {
        let s = MulFullS { widths: vec![n, n] };
        let u = MulFullU { widths: vec![n, n] };
        prop_check(150, &[n, n], true, |v| {
            proptest::prop_assert_eq!(plain_s(&s, v), v[0] * v[1]);
            Ok(())
        });
        prop_check(150, &[n, n], false, |v| {
            proptest::prop_assert_eq!(plain_u(&u, v), v[0] * v[1]);
            Ok(())
        });
        for (a, b) in [(smin(n), smin(n)), (smin(n), smax(n)), (smax(n), smax(n))] {
            assert_eq!(plain_s(&s, &[a, b]), a * b);
        }
        let m = (1i128 << n) - 1;
        assert_eq!(plain_u(&u, &[m, m]), m * m);
    }
    check_builder(
        &MulFullS {
            widths: vec![32, 32],
        },
        &rand_samples(&[32, 32], true, 64),
    );
    check_builder(
        &MulFullU {
            widths: vec![32, 32],
        },
        &rand_samples(&[32, 32], false, 64),
    );
}

#[test]
fn recoded_truncated_and_full_widths() {
    for n in 9..=15 {
        let t = MulTrunc { widths: vec![n, n] };
        let f = MulFullS { widths: vec![n, n] };
        let u = MulFullU { widths: vec![n, n] };
        prop_check(300, &[n, n], true, |v| {
            proptest::prop_assert_eq!(plain_s(&t, v), wrap_s(v[0] * v[1], n));
            proptest::prop_assert_eq!(plain_s(&f, v), v[0] * v[1]);
            Ok(())
        });
        prop_check(300, &[n, n], false, |v| {
            proptest::prop_assert_eq!(plain_u(&u, v), v[0] * v[1]);
            Ok(())
        });
        for (a, b) in [
            (smin(n), smin(n)),
            (smin(n), smax(n)),
            (smax(n), -1),
            (-1, -1),
        ] {
            assert_eq!(plain_s(&f, &[a, b]), a * b);
            assert_eq!(plain_s(&t, &[a, b]), wrap_s(a * b, n));
        }
    }
    check_builder(
        &MulTrunc {
            widths: vec![16, 16],
        },
        &rand_samples(&[16, 16], true, 64),
    );
}

#[test]
fn plain_partial_products_with_free_half_adders() {
    // ColumnSum::add_product (Baugh–Wooley, cross-product pairs as free half adders).
    for (na, nb) in [
        (1usize, 1usize),
        (2, 3),
        (4, 4),
        (5, 3),
        (6, 6),
        (7, 5),
        (8, 8),
    ] {
        for signed in [true, false] {
            for out in [na + nb, (na + nb) / 2 + 1] {
                let t = PlainProduct {
                    widths: vec![na, nb],
                    signed,
                    out,
                };
                for a in all(na, signed) {
                    for b in all(nb, signed) {
                        let want = if signed {
                            wrap_s(a * b, out)
                        } else {
                            wrap_u(a * b, out)
                        };
                        let got = if signed {
                            plain_s(&t, &[a, b])
                        } else {
                            plain_u(&t, &[a, b])
                        };
                        assert_eq!(got, want, "{na}x{nb} signed={signed} out={out}: {a}*{b}");
                    }
                }
            }
        }
    }
    let t = PlainProduct {
        widths: vec![16, 16],
        signed: true,
        out: 32,
    };
    check_builder(&t, &rand_samples(&[16, 16], true, 64));
    let row = garnet_stdlib::table::measure("plain", "16".into(), &[16, 16], |g, x| {
        let mut cs = ColumnSum::new(32);
        cs.add_product(g, &x[0], false, &x[1], false, 0, false);
        cs.finish(g)
    });
    assert_eq!(row.counts.and, 480, "2n²−2n: every half adder is free");
}
