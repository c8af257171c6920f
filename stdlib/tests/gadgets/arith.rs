use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(Add {}, |s, g, x| add(g, &x[0], &x[1]));
gadget!(AddCarry {}, |s, g, x| {
    let (mut v, c) = add_carry(g, &x[0], &x[1]);
    v.push(c);
    v
});
gadget!(Sub {}, |s, g, x| sub(g, &x[0], &x[1]));
gadget!(SubBorrow {}, |s, g, x| {
    let (mut v, c) = sub_borrow(g, &x[0], &x[1]);
    v.push(c);
    v
});
gadget!(Negate {}, |s, g, x| negate(g, &x[0]));
gadget!(SignExtend { to: usize }, |s, g, x| sign_extend(
    g, &x[0], s.to
));
gadget!(ZeroExtend { to: usize }, |s, g, x| zero_extend(
    g, &x[0], s.to
));
gadget!(Shl { k: usize }, |s, g, x| shl(g, &x[0], s.k));
gadget!(Shr { k: usize }, |s, g, x| shr_arith(g, &x[0], s.k));

#[test]
fn add_wraps() {
    binary_suite(
        |n| Add { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, n| wrap_s(a + b, n),
    );
}

#[test]
fn add_carry_is_exact() {
    binary_suite(
        |n| AddCarry { widths: vec![n, n] },
        false,
        1,
        Read::Unsigned,
        |a, b, _| a + b,
    );
}

#[test]
fn sub_wraps() {
    binary_suite(
        |n| Sub { widths: vec![n, n] },
        true,
        1,
        Read::Signed,
        |a, b, n| wrap_s(a - b, n),
    );
}

#[test]
fn sub_borrow_flags_unsigned_underflow() {
    binary_suite(
        |n| SubBorrow { widths: vec![n, n] },
        false,
        1,
        Read::Unsigned,
        |a, b, n| wrap_u(a - b, n) | (((a < b) as i128) << n),
    );
}

#[test]
fn negate_wraps() {
    unary_suite(
        |n| Negate { widths: vec![n] },
        true,
        1,
        Read::Signed,
        |a, n| wrap_s(-a, n),
    );
}

#[test]
fn reshaping_is_free_and_exact() {
    unary_suite(
        |n| SignExtend {
            widths: vec![n],
            to: n + 5,
        },
        true,
        1,
        Read::Signed,
        |a, _| a,
    );
    unary_suite(
        |n| SignExtend {
            widths: vec![n],
            to: n - 1,
        },
        true,
        2,
        Read::Signed,
        |a, n| wrap_s(a, n - 1),
    );
    unary_suite(
        |n| ZeroExtend {
            widths: vec![n],
            to: n + 3,
        },
        false,
        1,
        Read::Unsigned,
        |a, _| a,
    );
    unary_suite(
        |n| Shl {
            widths: vec![n],
            k: 3,
        },
        true,
        1,
        Read::Signed,
        |a, _| a << 3,
    );
    unary_suite(
        |n| Shr {
            widths: vec![n],
            k: 2,
        },
        true,
        1,
        Read::Signed,
        |a, _| a >> 2,
    );
    for n in [8, 16] {
        let c = garnet_stdlib::table::measure("shifts", n.to_string(), &[n], |g, x| {
            let a = sign_extend(g, &x[0], n + 4);
            let b = shl(g, &a, 3);
            shr_arith(g, &b, 5)
        });
        assert_eq!(
            c.counts.and + c.counts.xor + c.counts.not,
            0,
            "reshaping must be free"
        );
    }
}
