use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(LtU {}, |s, g, x| vec![lt_unsigned(g, &x[0], &x[1])]);
gadget!(LtS {}, |s, g, x| vec![lt_signed(g, &x[0], &x[1])]);
gadget!(Eq {}, |s, g, x| vec![eq(g, &x[0], &x[1])]);
gadget!(Relu {}, |s, g, x| relu(g, &x[0]));
gadget!(Max {}, |s, g, x| max_signed(g, &x[0], &x[1]));
gadget!(Min {}, |s, g, x| min_signed(g, &x[0], &x[1]));
gadget!(Select { sel: bool }, |s, g, x| {
    let c = g.constant(s.sel);
    // A known select bit would fold away; route it through an XOR with an input
    // bit so the select stays a real gate: sel' = sel ⊕ x0 ⊕ x0.
    let t = g.xor(c, x[0][0]);
    let sel = g.xor(t, x[0][0]);
    select(g, sel, &x[0], &x[1])
});
gadget!(SelectBit {}, |s, g, x| {
    let n = x[1].len();
    select(g, x[0][0], &x[1][..n], &x[2][..n])
});

#[test]
fn lt_unsigned_is_borrow() {
    binary_suite(
        |n| LtU { widths: vec![n, n] },
        false,
        1,
        Read::Unsigned,
        |a, b, _| (a < b) as i128,
    );
}

#[test]
fn lt_signed_orders_twos_complement() {
    binary_suite(
        |n| LtS { widths: vec![n, n] },
        true,
        1,
        Read::Unsigned,
        |a, b, _| (a < b) as i128,
    );
}

#[test]
fn eq_matches() {
    binary_suite(
        |n| Eq { widths: vec![n, n] },
        true,
        1,
        Read::Unsigned,
        |a, b, _| (a == b) as i128,
    );
    // Equal pairs are rare among random ones: check them explicitly.
    for n in [16, 32] {
        let t = Eq { widths: vec![n, n] };
        prop_check(500, &[n], true, |v| {
            proptest::prop_assert_eq!(plain_u(&t, &[v[0], v[0]]), 1);
            Ok(())
        });
    }
}

#[test]
fn relu_clears_negatives() {
    unary_suite(
        |n| Relu { widths: vec![n] },
        true,
        1,
        Read::Signed,
        |a, _| a.max(0),
    );
}

#[test]
fn max_and_min_signed() {
    binary_suite(
        |n| Max { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, _| a.max(b),
    );
    binary_suite(
        |n| Min { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, _| a.min(b),
    );
}

#[test]
fn select_picks() {
    for sel in [false, true] {
        binary_suite(
            |n| Select {
                widths: vec![n, n],
                sel,
            },
            true,
            1,
            Read::Signed,
            |a, b, _| {
                if sel { a } else { b }
            },
        );
    }
    // With a private select bit, in a built circuit.
    let t = SelectBit {
        widths: vec![1, 16, 16],
    };
    let samples = rand_samples(&t.widths(), true, 64);
    for s in &samples {
        let want = if s[0] != 0 { s[1] } else { s[2] };
        assert_eq!(plain_s(&t, s), want);
    }
    check_builder(&t, &samples);
}
