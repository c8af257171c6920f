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
