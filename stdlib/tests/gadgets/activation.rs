use garnet_stdlib::*;
use rand::Rng;

use crate::common::*;
use crate::gadget;

gadget!(
    Pwl {
        table: PiecewiseLinear
    },
    |s, g, x| piecewise_linear(g, &x[0], &s.table)
);

#[test]
fn plan_tables_exhaustive_at_8_and_16_bits() {
    for (n, frac) in [(8usize, 4u32), (16, 8), (12, 6)] {
        for table in [PiecewiseLinear::sigmoid(frac), PiecewiseLinear::tanh(frac)] {
            let t = Pwl {
                widths: vec![n],
                table: table.clone(),
            };
            for x in all(n, true) {
                assert_eq!(plain_s(&t, &[x]), table.eval(x, n), "n={n} x={x}");
            }
        }
    }
    let t = Pwl {
        widths: vec![16],
        table: PiecewiseLinear::sigmoid(8),
    };
    check_builder(&t, &rand_samples(&[16], true, 64));
}

#[test]
fn plan_tables_approximate_the_functions() {
    let frac = 12;
    let scale = (1 << frac) as f64;
    let s = PiecewiseLinear::sigmoid(frac);
    let th = PiecewiseLinear::tanh(frac);
    for x in (-8 * (1 << frac)..8 * (1 << frac)).step_by(7) {
        let r = x as f64 / scale;
        let sig = 1.0 / (1.0 + (-r).exp());
        assert!(
            (s.eval(x, 16 + 4) as f64 / scale - sig).abs() < 0.02,
            "sigmoid({r})"
        );
        assert!(
            (th.eval(x, 16 + 4) as f64 / scale - r.tanh()).abs() < 0.04,
            "tanh({r})"
        );
    }
}

fn random_table(rng: &mut impl Rng, n: usize) -> PiecewiseLinear {
    let m = rng.gen_range(0..6);
    let mut bps: Vec<i128> = (0..m).map(|_| rand_val(rng, n + 1, true)).collect();
    bps.sort();
    let segments = (0..=m)
        .map(|_| Segment {
            slope: rng.gen_range(-100..100),
            intercept: rand_val(rng, n, true),
        })
        .collect();
    PiecewiseLinear {
        breakpoints: bps,
        segments,
        slope_frac: rng.gen_range(0..6),
    }
}

#[test]
fn random_tables_match_reference() {
    let mut rng = rand::thread_rng();
    for n in 2..=8 {
        for _ in 0..40 {
            let table = random_table(&mut rng, n);
            let t = Pwl {
                widths: vec![n],
                table: table.clone(),
            };
            for x in all(n, true) {
                assert_eq!(plain_s(&t, &[x]), table.eval(x, n), "n={n} x={x} {table:?}");
            }
        }
    }
    for n in [16usize, 32] {
        for _ in 0..10 {
            let table = random_table(&mut rng, n);
            let t = Pwl {
                widths: vec![n],
                table: table.clone(),
            };
            prop_check(200, &[n], true, |v| {
                proptest::prop_assert_eq!(plain_s(&t, v), table.eval(v[0], n));
                Ok(())
            });
        }
    }
}
