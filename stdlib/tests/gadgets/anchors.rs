//! The anchor compositions (dense, convolution, max-pool) against a plaintext
//! fixed-point reference, as built circuits, with pinned AND counts.

use garnet_circuits::{Builder, Party, Recipient, bits};
use garnet_stdlib::anchors::{self, BITS, FRAC};
use rand::Rng;

use crate::common::*;

fn neuron_ref(x: &[i128], w: &[i128], b: i128) -> i128 {
    let acc: i128 = x.iter().zip(w).map(|(a, b)| a * b).sum::<i128>() + (b << FRAC);
    (acc >> FRAC).clamp(smin(BITS), smax(BITS)).max(0)
}

/// Values around ±2^r, so that some outputs saturate and most do not.
fn values(rng: &mut impl Rng, count: usize, r: u32) -> Vec<i128> {
    (0..count)
        .map(|_| {
            if rng.gen_bool(0.05) {
                rand_val(rng, BITS, true)
            } else {
                rng.gen_range(-(1i128 << r)..(1i128 << r))
            }
        })
        .collect()
}

/// Builds `f` on one input per value, evaluates `samples` and returns the outputs.
fn build_eval(
    count: usize,
    samples: &[Vec<i128>],
    f: impl FnOnce(&mut Builder, &[Vec<garnet_circuits::Wire>]) -> Vec<Vec<garnet_circuits::Wire>>,
) -> (Vec<Vec<i128>>, u64) {
    let mut b = Builder::new();
    let ins: Vec<_> = (0..count)
        .map(|i| b.input(&format!("v{i}"), Party::Evaluator, BITS as u32))
        .collect();
    let outs = f(&mut b, &ins);
    for (i, o) in outs.iter().enumerate() {
        b.output(&format!("y{i}"), Recipient::Evaluator, o);
    }
    let c = b.finish();
    let inputs: Vec<Vec<Vec<bool>>> = samples
        .iter()
        .map(|s| s.iter().map(|&v| bits::from_i128(v, BITS)).collect())
        .collect();
    let got = c.eval_many(&inputs).expect("evaluates");
    (
        got.iter()
            .map(|o| o.iter().map(|v| bits::to_i128(v)).collect())
            .collect(),
        c.and_count(),
    )
}

#[test]
fn dense_64_to_16_relu() {
    let mut rng = rand::thread_rng();
    let samples: Vec<Vec<i128>> = (0..8)
        .map(|_| {
            let mut v = values(&mut rng, 64, 9);
            v.extend(values(&mut rng, 16 * 64, 7));
            v.extend(values(&mut rng, 16, 10));
            v
        })
        .collect();
    let (got, ands) = build_eval(64 + 1024 + 16, &samples, |g, x| {
        let w: Vec<Vec<Vec<_>>> = (0..16)
            .map(|o| x[64 + 64 * o..128 + 64 * o].to_vec())
            .collect();
        anchors::dense_relu(g, &x[..64], &w, &x[64 + 1024..])
    });
    for (s, out) in samples.iter().zip(got) {
        for o in 0..16 {
            let want = neuron_ref(&s[..64], &s[64 + 64 * o..128 + 64 * o], s[64 + 1024 + o]);
            assert_eq!(out[o], want, "output {o}");
        }
    }
    assert_eq!(ands, 280_336, "dense 64→16 + bias + ReLU AND count changed");
}

#[test]
fn conv3x3_on_8x8_relu() {
    let mut rng = rand::thread_rng();
    let samples: Vec<Vec<i128>> = (0..64)
        .map(|_| {
            let mut v = values(&mut rng, 64, 10);
            v.extend(values(&mut rng, 10, 9));
            v
        })
        .collect();
    let (got, ands) = build_eval(74, &samples, |g, x| {
        anchors::conv3x3_relu(g, &x[..64], 8, 8, &x[64..73], &x[73])
    });
    for (s, out) in samples.iter().zip(got) {
        assert_eq!(out.len(), 36);
        for r in 0..6 {
            for c in 0..6 {
                let patch: Vec<i128> = (0..9).map(|i| s[(r + i / 3) * 8 + c + i % 3]).collect();
                assert_eq!(
                    out[r * 6 + c],
                    neuron_ref(&patch, &s[64..73], s[73]),
                    "({r},{c})"
                );
            }
        }
    }
    assert_eq!(ands, 90_056, "3×3 conv + bias + ReLU AND count changed");
}

#[test]
fn maxpool_2x2_on_6x6() {
    let samples = rand_samples(&[BITS; 36], true, 200);
    let (got, ands) = build_eval(36, &samples, |g, x| anchors::maxpool2x2(g, x, 6, 6));
    for (s, out) in samples.iter().zip(got) {
        for r in 0..3 {
            for c in 0..3 {
                let m = [
                    s[12 * r + 2 * c],
                    s[12 * r + 2 * c + 1],
                    s[12 * r + 6 + 2 * c],
                    s[12 * r + 6 + 2 * c + 1],
                ];
                assert_eq!(out[3 * r + c], *m.iter().max().expect("four"));
            }
        }
    }
    assert_eq!(ands, 864, "2×2 max-pool AND count changed");
}

#[test]
fn anchor_counts_are_pinned() {
    let measured = anchors::all();
    let got: Vec<(&str, u64)> = measured
        .iter()
        .map(|a| (a.function, a.garnet_and))
        .collect();
    let want = [15, 150, 286, 18_304, 18_367, 280_336, 90_056, 864];
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), want, "{got:?}");
    // Every anchor beats Garble.
    for a in &measured {
        assert!(a.garnet_and < a.garble_and, "{}", a.function);
    }
}
