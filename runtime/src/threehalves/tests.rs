use super::*;
use rand::{Rng, SeedableRng};

/// A 0-label with a chosen colour bit.
fn label(rng: &mut impl Rng, colour: bool) -> Block {
    Block((rng.r#gen::<u128>() & !1) | colour as u128)
}

#[test]
fn and_gate_all_inputs_colours_and_random_choices() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    for trial in 0..100u64 {
        let h = Tccr::random(&mut rng);
        let delta = Delta::random(&mut rng);
        let d = delta.block();
        let j = trial * 7919;
        for pa in [false, true] {
            for pb in [false, true] {
                for rand in 0..4u8 {
                    let a0 = label(&mut rng, pa);
                    let b0 = label(&mut rng, pb);
                    let (c0, t) = garble_and(&h, &delta, a0, b0, j, rand);
                    for x in [false, true] {
                        for y in [false, true] {
                            let a = a0 ^ d.select(x);
                            let b = b0 ^ d.select(y);
                            let c = eval_and(&h, a, b, &t, j);
                            assert_eq!(c, c0 ^ d.select(x & y), "pa={pa} pb={pb} x={x} y={y}");
                            let bad = eval_and(&h, a, b, &t, j + 1);
                            assert!(bad != c0 && bad != c0 ^ d, "a wrong tweak decodes");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn xor_stays_free_around_three_halves_ands() {
    // (a ⊕ b) ∧ (b ⊕ c) through free XOR on both sides.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let h = Tccr::random(&mut rng);
    let delta = Delta::random(&mut rng);
    let d = delta.block();
    let w: Vec<Block> = (0..3).map(|_| Block(rng.r#gen())).collect();
    let (c0, t) = garble_and(&h, &delta, w[0] ^ w[1], w[1] ^ w[2], 0, 2);
    for bits in 0..8u8 {
        let v: Vec<bool> = (0..3).map(|k| bits >> k & 1 == 1).collect();
        let act: Vec<Block> = (0..3).map(|k| w[k] ^ d.select(v[k])).collect();
        let c = eval_and(&h, act[0] ^ act[1], act[1] ^ act[2], &t, 0);
        assert_eq!(c, c0 ^ d.select((v[0] ^ v[1]) & (v[1] ^ v[2])));
    }
}

/// The evaluator's decrypted control bits of a gate.
fn control(h: &Tccr, a: Block, b: Block, t: &Table, j: u64) -> (u8, u8) {
    let (ta, tb, ts) = tweaks(j);
    let hs = h.hash(a ^ b, ts);
    let (xl, xr) = (h.hash(a, ta) ^ hs, h.hash(b, tb) ^ hs);
    let (i, jj, z) = (a.lsb() as u8, b.lsb() as u8, t.bits);
    let x = (bit64(xl) ^ z ^ (i & (z >> 2)) ^ ((i ^ jj) & (z >> 4))) & 1;
    let y = (bit64(xr) ^ (z >> 1) ^ (jj & (z >> 3)) ^ ((i ^ jj) & (z >> 4))) & 1;
    (x, y)
}

#[test]
fn every_rows_control_bits_are_uniform_whatever_the_truth_values() {
    // For each row the evaluator may be in and each colour offset (the secret that
    // maps colours to truth values), the four random choices give four distinct
    // control-bit pairs: what the evaluator decrypts is independent of the offsets.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let h = Tccr::random(&mut rng);
    let delta = Delta::random(&mut rng);
    let d = delta.block();
    for pa in [false, true] {
        for pb in [false, true] {
            let a0 = label(&mut rng, pa);
            let b0 = label(&mut rng, pb);
            for i in [false, true] {
                for j in [false, true] {
                    let a = a0 ^ d.select(pa ^ i);
                    let b = b0 ^ d.select(pb ^ j);
                    let mut seen: Vec<(u8, u8)> = (0..4u8)
                        .map(|r| control(&h, a, b, &garble_and(&h, &delta, a0, b0, 9, r).1, 9))
                        .collect();
                    seen.sort();
                    seen.dedup();
                    assert_eq!(seen.len(), 4, "pa={pa} pb={pb} row {i}{j}");
                }
            }
        }
    }
}

#[test]
fn a_flipped_table_bit_gives_a_wrong_label() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let h = Tccr::random(&mut rng);
    let delta = Delta::random(&mut rng);
    let d = delta.block();
    let (a0, b0) = (Block(rng.r#gen()), Block(rng.r#gen()));
    let (c0, t) = garble_and(&h, &delta, a0, b0, 4, 1);
    let mut wrong = 0;
    for bit in 0..(64 * 3 + 5) {
        let mut u = t;
        if bit < 192 {
            u.g[bit / 64] ^= 1 << (bit % 64);
        } else {
            u.bits ^= 1 << (bit - 192);
        }
        for (x, y) in [(false, false), (false, true), (true, false), (true, true)] {
            let c = eval_and(&h, a0 ^ d.select(x), b0 ^ d.select(y), &u, 4);
            if c != c0 && c != c0 ^ d {
                wrong += 1;
            }
        }
    }
    // Each half-ciphertext bit reaches two rows or more; each control bit at least one.
    assert!(wrong >= 192 * 2 + 5, "{wrong}");
}

#[test]
fn table_layout_round_trips_and_costs_24_625_bytes_per_and() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    for n in [1usize, 2, 3, 7, 8, 9, 63, 64, 65, 128] {
        let ts: Vec<Table> = (0..n)
            .map(|_| Table {
                g: [rng.r#gen(), rng.r#gen(), rng.r#gen()],
                bits: rng.r#gen::<u8>() & 0x1f,
            })
            .collect();
        let mut buf = vec![0xffu8; table_bytes(n)];
        write_tables(ts.iter().copied(), &mut buf);
        for (k, t) in ts.iter().enumerate() {
            assert_eq!(read_table(&buf, n, k), *t, "n={n} k={k}");
        }
    }
    assert_eq!(table_bytes(8), 197);
    assert_eq!(table_bytes(128) as f64 / 128.0, 24.625);
}

#[test]
fn batch_equals_one_gate_at_a_time() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(34);
    for n in [1usize, 5, 8, 13, 64, 100, 129] {
        let h = Tccr::random(&mut rng);
        let delta = Delta::random(&mut rng);
        let d = delta.block();
        let first: u64 = rng.gen_range(0..1 << 40);
        let xs: Vec<Block> = (0..2 * n).map(|_| Block(rng.r#gen())).collect();
        let rand: Vec<Block> = (0..n.div_ceil(64)).map(|_| Block(rng.r#gen())).collect();
        let mut s = vec![vec![Block::ZERO; 3 * n]; 3];
        let [x3, h0, h1] = &mut s[..] else {
            unreachable!()
        };
        let mut table = vec![0u8; table_bytes(n)];
        let mut out = vec![Block::ZERO; n];
        garble_batch(
            (&h, d),
            first,
            &xs,
            &rand,
            (x3, h0, h1),
            &mut table,
            |k, c| out[k] = c,
        );
        let mut single = Vec::new();
        for k in 0..n {
            let r = (rand[k / 64].0 >> (2 * (k % 64))) as u8 & 3;
            let (c0, t) = garble_and(&h, &delta, xs[2 * k], xs[2 * k + 1], first + k as u64, r);
            assert_eq!(out[k], c0, "n={n} gate {k}");
            single.push(t);
        }
        let mut expect = vec![0u8; table_bytes(n)];
        write_tables(single.iter().copied(), &mut expect);
        assert_eq!(table, expect, "n={n}");
        // The evaluator's batch on random active labels.
        let bits: Vec<bool> = (0..2 * n).map(|_| rng.r#gen()).collect();
        let act: Vec<Block> = xs
            .iter()
            .zip(&bits)
            .map(|(x, &v)| *x ^ d.select(v))
            .collect();
        let mut got = vec![Block::ZERO; n];
        eval_batch(&h, first, &act, (x3, h0), &table, |k, l| got[k] = l);
        for k in 0..n {
            let one = eval_and(&h, act[2 * k], act[2 * k + 1], &single[k], first + k as u64);
            assert_eq!(got[k], one);
            assert_eq!(got[k], out[k] ^ d.select(bits[2 * k] & bits[2 * k + 1]));
        }
    }
}

#[test]
fn every_kernel_gives_the_same_tables() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(55);
    let key = Block(rng.r#gen());
    let d = Delta::random(&mut rng).block();
    let n = 77;
    let xs: Vec<Block> = (0..2 * n).map(|_| Block(rng.r#gen())).collect();
    let rand: Vec<Block> = (0..2).map(|_| Block(rng.r#gen())).collect();
    let mut tables = Vec::new();
    for k in crate::aes::Kernel::available() {
        let h = Tccr::new(key).with_kernel(k).expect("available");
        let mut s = vec![vec![Block::ZERO; 3 * n]; 3];
        let [x3, h0, h1] = &mut s[..] else {
            unreachable!()
        };
        let mut table = vec![0u8; table_bytes(n)];
        garble_batch((&h, d), 3, &xs, &rand, (x3, h0, h1), &mut table, |_, _| {});
        tables.push(table);
    }
    assert!(tables.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn dice_row_is_the_dicing_matrix() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for _ in 0..50 {
        let (a, b) = (Block(rng.r#gen()), Block(rng.r#gen()));
        for (i, j, x, y) in (0..16u8).map(|v| (v & 1, v >> 1 & 1, v >> 2 & 1, v >> 3)) {
            let m = P[(2 * i + j) as usize] ^ (S1 * x) ^ (S2 * y);
            assert_eq!(dice_row(i, j, x, y, a, b), dice(m, a, b));
        }
    }
}

#[test]
fn chunks_are_batches_laid_end_to_end() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let h = Tccr::random(&mut rng);
    let d = Delta::random(&mut rng).block();
    for n in [0usize, 1, 127, 128, 129, 300, 512] {
        let xs: Vec<Block> = (0..2 * n).map(|_| Block(rng.r#gen())).collect();
        let mut table = vec![0u8; table_bytes(n)];
        let mut out = vec![Block::ZERO; n];
        let mut s = Scratch::default();
        let mut prg = Prg::new(Block(5));
        garble_chunks((&h, d), 9, &xs, (&mut s, &mut prg), &mut table, |k, c| {
            out[k] = c
        });
        // The same chunks one batch each, with the same random stream.
        let mut prg = Prg::new(Block(5));
        let mut at = 0;
        for (c, xc) in xs.chunks(2 * CHUNK).enumerate() {
            let m = xc.len() / 2;
            let mut rand = vec![Block::ZERO; m.div_ceil(64)];
            prg.fill_blocks(&mut rand);
            let mut sc = vec![vec![Block::ZERO; 3 * m]; 3];
            let [x3, h0, h1] = &mut sc[..] else {
                unreachable!()
            };
            let mut t = vec![0u8; table_bytes(m)];
            let first = 9 + (c * CHUNK) as u64;
            garble_batch((&h, d), first, xc, &rand, (x3, h0, h1), &mut t, |k, c0| {
                assert_eq!(out[c * CHUNK + k], c0)
            });
            assert_eq!(&table[at..at + t.len()], &t[..], "n={n} chunk {c}");
            at += t.len();
        }
        assert_eq!(at, table.len());
        // And the evaluator's chunks read them back.
        let bits: Vec<bool> = (0..2 * n).map(|_| rng.r#gen()).collect();
        let act: Vec<Block> = xs
            .iter()
            .zip(&bits)
            .map(|(x, &v)| *x ^ d.select(v))
            .collect();
        eval_chunks(&h, 9, &act, &mut s, &table, |k, l| {
            assert_eq!(
                l,
                out[k] ^ d.select(bits[2 * k] & bits[2 * k + 1]),
                "n={n} gate {k}"
            )
        });
    }
}
