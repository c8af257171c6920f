use garnet_stdlib::*;

use crate::common::*;
use crate::gadget;

gadget!(Pop {}, |s, g, x| popcount(g, &x[0]));
gadget!(Neuron {}, |s, g, x| vec![binarized_neuron(
    g, &x[0], &x[1], &x[2]
)]);
gadget!(NeuronConst { t: u32 }, |s, g, x| {
    let t: Vec<_> = (0..7).map(|i| g.constant((s.t >> i) & 1 == 1)).collect();
    vec![binarized_neuron(g, &x[0], &x[1], &t)]
});

fn agree(x: i128, w: i128, n: usize) -> i128 {
    (!(x ^ w) & ((1i128 << n) - 1)).count_ones() as i128
}

#[test]
fn popcount_exhaustive_and_prop() {
    for n in 1..=14 {
        let t = Pop { widths: vec![n] };
        for x in all(n, false) {
            assert_eq!(plain_u(&t, &[x]), x.count_ones() as i128, "n={n} x={x}");
        }
    }
    unary_suite(
        |n| Pop { widths: vec![n] },
        false,
        1,
        Read::Unsigned,
        |x, _| x.count_ones() as i128,
    );
    for n in [31usize, 33, 100] {
        let t = Pop { widths: vec![n] };
        prop_check(500, &[n], false, |v| {
            proptest::prop_assert_eq!(plain_u(&t, v), v[0].count_ones() as i128);
            Ok(())
        });
    }
}

#[test]
fn binarized_neuron_exhaustive_small() {
    for n in 1..=5 {
        let tb = 4;
        let t = Neuron {
            widths: vec![n, n, tb],
        };
        for x in all(n, false) {
            for w in all(n, false) {
                for th in all(tb, false) {
                    let want = (agree(x, w, n) >= th) as i128;
                    assert_eq!(plain_u(&t, &[x, w, th]), want, "n={n} x={x} w={w} t={th}");
                }
            }
        }
    }
}

#[test]
fn binarized_neuron_prop() {
    for n in [8usize, 16, 32, 64] {
        let t = Neuron {
            widths: vec![n, n, 7],
        };
        prop_check(1500, &[n, n, 7], false, |v| {
            let th = v[2] % (n as i128 + 2);
            let want = (agree(v[0], v[1], n) >= th) as i128;
            proptest::prop_assert_eq!(plain_u(&t, &[v[0], v[1], th]), want);
            // Near the decision boundary too.
            let a = agree(v[0], v[1], n);
            for th in [a, a + 1] {
                let want = (a >= th) as i128;
                proptest::prop_assert_eq!(plain_u(&t, &[v[0], v[1], th]), want);
                let c = NeuronConst {
                    widths: vec![n, n],
                    t: th as u32,
                };
                proptest::prop_assert_eq!(plain_u(&c, &[v[0], v[1]]), want);
            }
            Ok(())
        });
    }
    let t = Neuron {
        widths: vec![16, 16, 7],
    };
    check_builder(&t, &rand_samples(&t.widths, false, 64));
}
