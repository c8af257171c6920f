//! Test harness: run a gadget on plain bits, on a built circuit, or count it.

use garnet_circuits::{Builder, Gates, Party, PlainBits, Recipient, bits};
use rand::Rng;

/// A gadget under test, generic over the gate builder.
pub trait Gadget {
    /// Widths of the input values.
    fn widths(&self) -> Vec<usize>;
    fn run<G: Gates>(&self, g: &mut G, x: &[Vec<G::Bit>]) -> Vec<G::Bit>;
}

/// Declares a gadget struct with `widths` and extra parameter fields.
#[macro_export]
macro_rules! gadget {
    ($name:ident { $($f:ident : $t:ty),* }, |$s:ident, $g:ident, $x:ident| $body:expr) => {
        #[derive(Clone, Debug)]
        pub struct $name {
            pub widths: Vec<usize>,
            $(pub $f: $t,)*
        }
        impl $crate::common::Gadget for $name {
            fn widths(&self) -> Vec<usize> {
                self.widths.clone()
            }
            #[allow(unused_variables)]
            fn run<G: garnet_circuits::Gates>(&self, $g: &mut G, $x: &[Vec<G::Bit>]) -> Vec<G::Bit> {
                let $s = self;
                $body
            }
        }
    };
}

/// Two's-complement wrap of `v` to `n` bits.
pub fn wrap_s(v: i128, n: usize) -> i128 {
    let sh = 128 - n;
    (v << sh) >> sh
}

/// Unsigned wrap of `v` to `n` bits.
pub fn wrap_u(v: i128, n: usize) -> i128 {
    if n >= 127 { v } else { v & ((1i128 << n) - 1) }
}

fn to_bits(widths: &[usize], vals: &[i128]) -> Vec<Vec<bool>> {
    assert_eq!(widths.len(), vals.len(), "one value per input");
    widths
        .iter()
        .zip(vals)
        .map(|(&w, &v)| bits::from_i128(v, w))
        .collect()
}

/// Plain evaluation that, like the circuit builder, treats only true constants as
/// known. `PlainBits` reports every bit as known, which lets gadgets fold whole
/// computations into constants; this evaluator makes them run their gate logic.
#[derive(Debug, Default, Clone, Copy)]
pub struct Traced;

impl Gates for Traced {
    /// (value, is a build-time constant)
    type Bit = (bool, bool);
    fn constant(&mut self, v: bool) -> (bool, bool) {
        (v, true)
    }
    fn xor(&mut self, a: (bool, bool), b: (bool, bool)) -> (bool, bool) {
        (a.0 ^ b.0, a.1 && b.1)
    }
    fn and(&mut self, a: (bool, bool), b: (bool, bool)) -> (bool, bool) {
        let known_zero = (a.1 && !a.0) || (b.1 && !b.0);
        (a.0 & b.0, known_zero || (a.1 && b.1))
    }
    fn not(&mut self, a: (bool, bool)) -> (bool, bool) {
        (!a.0, a.1)
    }
    fn known(&self, b: (bool, bool)) -> Option<bool> {
        b.1.then_some(b.0)
    }
}

/// Runs the gadget on `PlainBits` and on [`Traced`] bits and checks they agree.
pub fn plain<T: Gadget>(t: &T, vals: &[i128]) -> Vec<bool> {
    let ins = to_bits(&t.widths(), vals);
    let p = t.run(&mut PlainBits, &ins);
    let traced_in: Vec<Vec<(bool, bool)>> = ins
        .iter()
        .map(|v| v.iter().map(|&b| (b, false)).collect())
        .collect();
    let tr: Vec<bool> = t
        .run(&mut Traced, &traced_in)
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(
        p, tr,
        "PlainBits and traced evaluation disagree on {vals:?}"
    );
    p
}

/// The output read as a signed integer.
pub fn plain_s<T: Gadget>(t: &T, vals: &[i128]) -> i128 {
    bits::to_i128(&plain(t, vals))
}

/// The output read as an unsigned integer.
pub fn plain_u<T: Gadget>(t: &T, vals: &[i128]) -> i128 {
    bits::to_u128(&plain(t, vals)) as i128
}

/// Builds the gadget's circuit with the `Builder` and checks that evaluating it
/// gives the plain-bit answers on `samples`.
pub fn check_builder<T: Gadget>(t: &T, samples: &[Vec<i128>]) {
    let mut b = Builder::new();
    let ins: Vec<_> = t
        .widths()
        .iter()
        .enumerate()
        .map(|(i, &w)| b.input(&format!("in{i}"), Party::Evaluator, w as u32))
        .collect();
    let out = t.run(&mut b, &ins);
    b.output("out", Recipient::Evaluator, &out);
    let c = b.finish();
    let inputs: Vec<Vec<Vec<bool>>> = samples.iter().map(|s| to_bits(&t.widths(), s)).collect();
    let got = c.eval_many(&inputs).expect("evaluates");
    for (s, g) in samples.iter().zip(got) {
        assert_eq!(
            g[0],
            plain(t, s),
            "circuit and plain bits disagree on {s:?}"
        );
    }
}

/// A uniformly random value of `n` bits (signed or unsigned range).
pub fn rand_val(rng: &mut impl Rng, n: usize, signed: bool) -> i128 {
    let v = rng.r#gen::<u128>() as i128;
    if signed { wrap_s(v, n) } else { wrap_u(v, n) }
}

/// Random samples for `check_builder`: one value per width.
pub fn rand_samples(widths: &[usize], signed: bool, count: usize) -> Vec<Vec<i128>> {
    let mut rng = rand::thread_rng();
    (0..count)
        .map(|_| {
            widths
                .iter()
                .map(|&w| rand_val(&mut rng, w, signed))
                .collect()
        })
        .collect()
}

/// Every value of an n-bit input.
pub fn all(n: usize, signed: bool) -> Vec<i128> {
    if signed {
        (-(1i128 << (n - 1))..(1i128 << (n - 1))).collect()
    } else {
        (0..(1i128 << n)).collect()
    }
}

pub fn smin(n: usize) -> i128 {
    -(1i128 << (n - 1))
}

pub fn smax(n: usize) -> i128 {
    (1i128 << (n - 1)) - 1
}

/// How to read a gadget's output bits as an integer.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    Signed,
    Unsigned,
}

pub fn read<T: Gadget>(t: &T, vals: &[i128], r: Read) -> i128 {
    match r {
        Read::Signed => plain_s(t, vals),
        Read::Unsigned => plain_u(t, vals),
    }
}

/// Runs `check` on `cases` proptest-generated value vectors for `widths`.
pub fn prop_check(
    cases: u32,
    widths: &[usize],
    signed: bool,
    check: impl Fn(&[i128]) -> Result<(), proptest::test_runner::TestCaseError>,
) {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let ws = widths.to_vec();
    let strat = proptest::collection::vec(any::<i128>(), widths.len());
    runner
        .run(&strat, |raw| {
            let vals: Vec<i128> = raw
                .iter()
                .zip(&ws)
                .map(|(&v, &w)| if signed { wrap_s(v, w) } else { wrap_u(v, w) })
                .collect();
            check(&vals)
        })
        .unwrap();
}

/// The standard suite for a gadget of two n-bit inputs: exhaustive for every
/// width from `min_n` to 8, proptest at 16 and 32 bits, and a built circuit
/// checked against plain bits at 16 bits.
pub fn binary_suite<T: Gadget>(
    make: impl Fn(usize) -> T,
    signed: bool,
    min_n: usize,
    out: Read,
    reference: impl Fn(i128, i128, usize) -> i128,
) {
    for n in min_n..=8 {
        let t = make(n);
        for &a in &all(n, signed) {
            for &b in &all(n, signed) {
                assert_eq!(
                    read(&t, &[a, b], out),
                    reference(a, b, n),
                    "n={n} a={a} b={b}"
                );
            }
        }
    }
    for n in [16, 32] {
        let t = make(n);
        prop_check(1500, &[n, n], signed, |v| {
            proptest::prop_assert_eq!(
                read(&t, v, out),
                reference(v[0], v[1], n),
                "n={} {:?}",
                n,
                v
            );
            Ok(())
        });
    }
    let t = make(16);
    check_builder(&t, &rand_samples(&t.widths(), signed, 64));
}

/// The standard suite for a gadget of one n-bit input: every value up to 8 bits
/// (from `min_n`), proptest at 16 and 32, a built circuit at 16.
pub fn unary_suite<T: Gadget>(
    make: impl Fn(usize) -> T,
    signed: bool,
    min_n: usize,
    out: Read,
    reference: impl Fn(i128, usize) -> i128,
) {
    for n in min_n..=8 {
        let t = make(n);
        for &a in &all(n, signed) {
            assert_eq!(read(&t, &[a], out), reference(a, n), "n={n} a={a}");
        }
    }
    for n in [16, 32] {
        let t = make(n);
        prop_check(2000, &[n], signed, |v| {
            proptest::prop_assert_eq!(read(&t, v, out), reference(v[0], n), "n={} {:?}", n, v);
            Ok(())
        });
    }
    let t = make(16);
    check_builder(&t, &rand_samples(&t.widths(), signed, 64));
}
