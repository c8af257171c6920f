//! Pinned AND counts: a construction that gets worse fails here. Each pin is also
//! checked against the ceiling for that gadget.

use garnet_stdlib::table::gadget;

/// (gadget, k, AND count at n = 8, 16, 32).
const PINS: &[(&str, usize, [u64; 3])] = &[
    ("add", 0, [7, 15, 31]),
    ("add_carry", 0, [8, 16, 32]),
    ("sub", 0, [7, 15, 31]),
    ("sub_borrow", 0, [8, 16, 32]),
    ("negate", 0, [6, 14, 30]),
    ("lt_unsigned", 0, [8, 16, 32]),
    ("lt_signed", 0, [8, 16, 32]),
    ("eq", 0, [7, 15, 31]),
    ("select", 0, [8, 16, 32]),
    ("relu", 0, [7, 15, 31]),
    ("max_signed", 0, [16, 32, 64]),
    ("mul_trunc", 0, [42, 150, 558]),
    ("mul_full_unsigned", 0, [85, 301, 1106]),
    ("mul_full_signed", 0, [78, 286, 1086]),
    ("mul_const", 0, [28, 79, 353]),
    ("dot_signed", 16, [1263, 4591, 16024]),
    ("dot_signed", 64, [5055, 18367, 63700]),
    ("dot_const", 16, [342, 1357, 5367]),
    ("dot_const", 64, [1447, 5656, 21708]),
    ("requantize", 0, [16, 28, 52]),
    ("requantize_relu", 0, [17, 29, 53]),
    ("argmax", 16, [243, 475, 939]),
    ("popcount", 0, [7, 15, 31]),
    ("binarized_neuron", 0, [8, 16, 32]),
    ("sigmoid", 0, [81, 167, 343]),
    ("tanh", 0, [92, 187, 362]),
    ("max_pool", 4, [48, 96, 192]),
    ("max_pool", 9, [128, 256, 512]),
    ("sum_pool", 4, [24, 48, 96]),
    ("avg_pool", 4, [24, 48, 96]),
];

/// The AND ceiling for a gadget at width n (and k), where it gives one.
fn ceiling(name: &str, n: u64, k: u64) -> Option<u64> {
    let log2k = (64 - k.saturating_sub(1).leading_zeros()) as u64;
    Some(match name {
        "add" | "sub" | "negate" | "eq" | "relu" => n - 1,
        "add_carry" | "sub_borrow" | "lt_unsigned" | "lt_signed" | "select" => n,
        "max_signed" => 2 * n,
        "mul_trunc" => n * n - n + 1,
        "mul_full_unsigned" | "mul_full_signed" => 2 * n * n - n,
        "dot_signed" => 2 * k * n * n + 4 * n * log2k,
        // requantize's b is n here.
        "requantize" | "requantize_relu" => 3 * n,
        "argmax" => (k - 1) * (3 * n + log2k),
        "popcount" => n,
        "max_pool" => (k - 1) * 2 * n,
        _ => return None,
    })
}

#[test]
fn and_counts_are_pinned_and_within_ceilings() {
    let mut failures = Vec::new();
    for &(name, k, pins) in PINS {
        for (i, n) in [8usize, 16, 32].into_iter().enumerate() {
            let row = gadget(name, n, k);
            if row.counts.and != pins[i] {
                failures.push(format!(
                    "{name} n={n} k={k}: {} ANDs, pinned {}",
                    row.counts.and, pins[i]
                ));
            }
            if let Some(c) = ceiling(name, n as u64, k as u64) {
                assert!(
                    row.counts.and <= c,
                    "{name} n={n} k={k}: {} ANDs above ceiling {c}",
                    row.counts.and
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "AND counts changed (update the pins if better):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_gadget_is_pinned() {
    for &(name, ks) in garnet_stdlib::table::GADGETS {
        for &k in ks {
            assert!(
                PINS.iter().any(|p| p.0 == name && p.1 == k),
                "{name} k={k} has no pin"
            );
        }
    }
}

#[test]
fn builder_and_counter_agree() {
    // The Builder's circuit has exactly the ANDs the Counter counted.
    use garnet_circuits::{Builder, Party, Recipient};
    let mut b = Builder::new();
    let x: Vec<_> = (0..16)
        .map(|i| b.input(&format!("x{i}"), Party::Evaluator, 16))
        .collect();
    let w: Vec<_> = (0..16)
        .map(|i| b.input(&format!("w{i}"), Party::Garbler, 16))
        .collect();
    let out = garnet_stdlib::dot_signed(
        &mut b,
        &x,
        &w,
        None,
        garnet_stdlib::exact_width(16, 16, 16, None),
    );
    b.output("y", Recipient::Evaluator, &out);
    let c = b.finish();
    assert_eq!(c.and_count(), gadget("dot_signed", 16, 16).counts.and);
}

#[test]
fn karatsuba_is_used_only_where_it_pays() {
    use garnet_stdlib::dot::karatsuba_pays;
    use garnet_stdlib::table::measure;
    use garnet_stdlib::{dot_signed, dot_signed_schoolbook, exact_width};
    for n in [8usize, 12, 14, 15, 16, 20, 32] {
        for k in [1usize, 2, 4, 9, 64] {
            let w = exact_width(n, n, k, None);
            let ins = vec![n; 2 * k];
            let school = measure("school", String::new(), &ins, |g, x| {
                dot_signed_schoolbook(g, &x[..k], &x[k..], None, w)
            });
            let auto = measure("auto", String::new(), &ins, |g, x| {
                dot_signed(g, &x[..k], &x[k..], None, w)
            });
            assert!(
                auto.counts.and <= school.counts.and,
                "n={n} k={k}: {} > {}",
                auto.counts.and,
                school.counts.and
            );
            if karatsuba_pays(n, k) {
                assert!(
                    auto.counts.and < school.counts.and,
                    "n={n} k={k}: Karatsuba does not pay"
                );
            }
        }
    }
}

#[test]
fn split_sum_is_cheap() {
    // The hi+lo−128 adder of a 16-bit split: two signed bytes into 9 bits.
    let row = garnet_stdlib::table::measure("split", "16".into(), &[16], |g, x| {
        garnet_stdlib::Split::new(g, &x[0]).sum
    });
    assert_eq!(row.counts.and, 8);
}
