//! Builder rules, passes and evaluation, checked against independent references.

use garnet_circuits::passes::{
    allocate_slots, dead_gates, optimize, schedule_and_levels, validate,
};
use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{Builder, Circuit, Counter, Gates, Op, OutBit, Party, PlainBits, Recipient};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A random straight-line program over the `Gates` trait, so the same program runs
/// on plain bools (the reference) and on the simplifying builder.
#[derive(Clone, Debug)]
enum Step {
    Xor(usize, usize),
    And(usize, usize),
    Not(usize),
    Or(usize, usize),
    Mux(usize, usize, usize),
    Const(bool),
}

fn random_program(rng: &mut StdRng, inputs: usize, steps: usize) -> Vec<Step> {
    let mut prog = Vec::new();
    for k in 0..steps {
        let n = inputs + k;
        let lo = n.saturating_sub(24);
        let mut p = || rng.gen_range(lo..n);
        let (x, y) = (p(), p());
        let z = p();
        prog.push(match rng.gen_range(0..14) {
            0..=3 => Step::Xor(x, y),
            4..=7 => Step::And(x, y),
            8 => Step::And(x, x),
            9 => Step::Xor(x, x),
            10 => Step::Not(x),
            11 => Step::Or(x, y),
            12 => Step::Mux(x, y, z),
            _ => Step::Const(rng.r#gen()),
        });
    }
    prog
}

fn run<G: Gates>(g: &mut G, inputs: Vec<G::Bit>, prog: &[Step]) -> Vec<G::Bit> {
    let mut v = inputs;
    for s in prog {
        let b = match *s {
            Step::Xor(x, y) => g.xor(v[x], v[y]),
            Step::And(x, y) => g.and(v[x], v[y]),
            Step::Not(x) => g.not(v[x]),
            Step::Or(x, y) => g.or(v[x], v[y]),
            Step::Mux(s, x, y) => g.mux(v[s], v[x], v[y]),
            Step::Const(c) => g.constant(c),
        };
        v.push(b);
    }
    v
}

/// Bit-at-a-time evaluation written independently of the library's evaluator.
fn eval_bits(c: &Circuit, inputs: &[bool]) -> Vec<bool> {
    let mut w = vec![false; c.wires as usize];
    w[..inputs.len()].copy_from_slice(inputs);
    for g in &c.gates {
        w[g.out as usize] = match g.op {
            Op::Xor => w[g.a as usize] ^ w[g.b as usize],
            Op::And => w[g.a as usize] & w[g.b as usize],
            Op::Not => !w[g.a as usize],
        };
    }
    c.outputs
        .iter()
        .flat_map(|o| o.bits.iter())
        .map(|b| match *b {
            OutBit::Wire(x) => w[x as usize],
            OutBit::Const(v) => v,
        })
        .collect()
}

fn random_bits(rng: &mut StdRng, n: usize) -> Vec<bool> {
    (0..n).map(|_| rng.r#gen()).collect()
}

/// The program built into a circuit whose single output is every step's value.
fn build(prog: &[Step], n_in: usize) -> (Circuit, Counter) {
    let mut b = Builder::new();
    let ins = b.input("x", Party::Evaluator, n_in as u32);
    let all = run(&mut b, ins, prog);
    b.output("all", Recipient::Evaluator, &all[n_in..]);
    let mut c = Counter::new();
    let ins = c.input("x", Party::Evaluator, n_in as u32);
    let all_c = run(&mut c, ins, prog);
    c.output("all", Recipient::Evaluator, &all_c[n_in..]);
    (b.finish(), c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn builder_simplifications_never_change_a_result(seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let n_in = rng.gen_range(1..16);
        let prog = random_program(&mut rng, n_in, 3000);
        let (circuit, counter) = build(&prog, n_in);
        validate(&circuit).unwrap();
        // The counter applies the same rules, so it predicts the builder's gates exactly.
        let st = garnet_circuits::stats::Stats::of(&circuit);
        let k = counter.counts();
        prop_assert_eq!((k.and, k.xor, k.not), (st.and_gates, st.xor_gates, st.not_gates));
        for _ in 0..8 {
            let x = random_bits(&mut rng, n_in);
            let reference = run(&mut PlainBits, x.clone(), &prog);
            let got = eval_bits(&circuit, &x);
            prop_assert_eq!(&got[..], &reference[n_in..]);
        }
    }

    #[test]
    fn passes_preserve_results(seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let spec = RandomSpec {
            input_widths: vec![rng.gen_range(1..20), rng.gen_range(1..20)],
            gates: rng.gen_range(1000..5000),
            output_widths: vec![rng.gen_range(1..20), rng.gen_range(1..10), rng.gen_range(1..5)],
            and_fraction: 0.4,
            window: if rng.r#gen() { 0 } else { 48 },
        };
        let c = random_circuit(&mut rng, &spec);
        validate(&c).unwrap();
        let variants = [
            ("dead_gates", dead_gates(c.clone())),
            ("allocate_slots", allocate_slots(c.clone())),
            ("optimize", optimize(c.clone())),
            ("optimize twice", optimize(optimize(c.clone()))),
            ("slots then dead", dead_gates(allocate_slots(c.clone()))),
            ("schedule", schedule_and_levels(c.clone(), 1 << 16)),
            ("schedule small windows", schedule_and_levels(c.clone(), 7)),
            ("schedule after slots (left as is)", schedule_and_levels(allocate_slots(c.clone()), 64)),
        ];
        for (name, v) in &variants {
            prop_assert!(validate(v).is_ok(), "{name}: {:?}", validate(v));
        }
        for _ in 0..8 {
            let x = random_bits(&mut rng, c.input_bits() as usize);
            let want = eval_bits(&c, &x);
            for (name, v) in &variants {
                prop_assert_eq!(&eval_bits(v, &x), &want, "pass {}", name);
            }
        }
        let opt = &variants[2].1;
        prop_assert!(opt.wires <= c.wires);
        prop_assert!(opt.gates.len() <= c.gates.len());
    }

    #[test]
    fn bit_sliced_equals_bit_at_a_time(seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let spec = RandomSpec { gates: 2000, ..RandomSpec::default() };
        let c = optimize(random_circuit(&mut rng, &spec));
        let n = c.input_bits() as usize;
        let samples: Vec<Vec<bool>> = (0..64).map(|_| random_bits(&mut rng, n)).collect();
        let lanes: Vec<u64> = (0..n)
            .map(|i| (0..64).fold(0u64, |acc, j| acc | (samples[j][i] as u64) << j))
            .collect();
        let out = c.eval_lanes(&lanes).unwrap();
        for (j, s) in samples.iter().enumerate() {
            let want = eval_bits(&c, s);
            let got: Vec<bool> = out.iter().map(|l| (l >> j) & 1 == 1).collect();
            prop_assert_eq!(got, want, "lane {}", j);
        }
        // And the per-value API agrees too.
        let split = |s: &Vec<bool>| -> Vec<Vec<bool>> {
            let mut at = 0;
            c.inputs.iter().map(|i| { let v = s[at..at + i.bits as usize].to_vec(); at += i.bits as usize; v }).collect()
        };
        let many = c.eval_many(&samples.iter().map(split).collect::<Vec<_>>()).unwrap();
        for (s, got) in samples.iter().zip(many) {
            prop_assert_eq!(got.concat(), eval_bits(&c, s));
        }
    }
}

#[test]
fn builder_rules() {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 2);
    let (p, q) = (x[0], x[1]);
    let zero = b.zero();
    let one = b.one();
    let t = b.xor(p, p);
    assert_eq!(b.known(t), Some(false), "x^x");
    let np = b.not(p);
    let t = b.xor(p, np);
    assert_eq!(b.known(t), Some(true), "x^!x");
    assert_eq!(b.and(p, p), p, "x&x");
    let t = b.and(p, np);
    assert_eq!(b.known(t), Some(false), "x&!x");
    assert_eq!(b.not(np), p, "double NOT");
    assert_eq!(b.and(p, one), p);
    assert_eq!(b.and(p, zero), zero);
    assert_eq!(b.xor(p, zero), p);
    assert_eq!(b.xor(p, one), np);
    assert_eq!(b.counts().total(), 0, "no gate for any of the above");
    let a1 = b.and(p, q);
    let a2 = b.and(q, p);
    assert_eq!(a1, a2, "operand order is normalized and the gate reused");
    let x1 = b.xor(p, q);
    let nq = b.not(q);
    let x2 = b.xor(np, nq);
    assert_eq!(x1, x2, "!p ^ !q is p ^ q");
    assert_eq!(b.counts().and, 1);
    assert_eq!(b.counts().xor, 1);
    let _ = b.and(np, q);
    assert_eq!(
        b.counts().not,
        1,
        "an AND reading a complement needs a real NOT"
    );
}

#[test]
fn slots_reach_peak_live_wires_on_a_chain() {
    // A chain x0 ^ x1 ^ ... keeps few values live at once.
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 64);
    let mut acc = x[0];
    for &w in &x[1..] {
        let t = b.and(acc, w);
        acc = b.xor(t, w);
    }
    b.output("y", Recipient::Evaluator, &[acc]);
    let c = optimize(b.finish());
    validate(&c).unwrap();
    // 64 input slots plus at most two temporaries reused along the chain.
    assert!(c.wires <= 66, "wires = {}", c.wires);
}

#[test]
fn counter_sections_match_builder_sections() {
    let mut rng = StdRng::seed_from_u64(7);
    let prog = random_program(&mut rng, 8, 400);
    let mut b = Builder::new();
    let mut k = Counter::new();
    let ib = b.input("x", Party::Garbler, 8);
    let ik = k.input("x", Party::Garbler, 8);
    b.section("first");
    k.section("first");
    let vb = run(&mut b, ib, &prog[..200]);
    let vk = run(&mut k, ik, &prog[..200]);
    b.section("second");
    k.section("second");
    let vb = run(&mut b, vb, &prog[200..]);
    let vk = run(&mut k, vk, &prog[200..]);
    b.output("o", Recipient::Both, &vb[8..]);
    k.output("o", Recipient::Both, &vk[8..]);
    let c = b.finish();
    let st = garnet_circuits::stats::Stats::of(&c);
    let ks = k.section_counts();
    assert_eq!(st.sections.len(), 2);
    for (s, (name, cnt)) in st.sections.iter().zip(&ks) {
        assert_eq!(&s.name, name);
        assert_eq!(
            (s.and_gates, s.xor_gates, s.not_gates),
            (cnt.and, cnt.xor, cnt.not)
        );
    }
}

/// Runs of consecutive AND gates, the batches the garbler can hash together.
fn and_runs(c: &Circuit) -> usize {
    let mut runs = 0;
    let mut prev_and = false;
    for g in &c.gates {
        let is_and = g.op == Op::And;
        runs += (is_and && !prev_and) as usize;
        prev_and = is_and;
    }
    runs
}

#[test]
fn scheduling_groups_independent_ands_and_keeps_sections() {
    // 32 independent 16-bit ripple-carry chains, built one after the other: each
    // chain alone has one AND ready at a time, but together 32 per level.
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 32 * 16);
    let y = b.input("y", Party::Evaluator, 32 * 16);
    let mut outs = Vec::new();
    for chain in 0..32 {
        b.section(&format!("chain{chain}"));
        let mut carry = b.zero();
        for i in 0..16 {
            let (p, q) = (x[chain * 16 + i], y[chain * 16 + i]);
            let s = b.xor(p, q);
            outs.push(b.xor(s, carry));
            let pc = b.xor(p, carry);
            let qc = b.xor(q, carry);
            let t = b.and(pc, qc);
            carry = b.xor(carry, t);
        }
        outs.push(carry);
    }
    b.output("sum", Recipient::Evaluator, &outs);
    let plain = b.finish();
    let sections_before = plain.sections.clone();
    let within_sections = allocate_slots(schedule_and_levels(plain.clone(), 1 << 16));
    // One window across everything: the levels of all chains interleave.
    let mut unsectioned = plain.clone();
    unsectioned.sections.clear();
    let merged = allocate_slots(schedule_and_levels(unsectioned, 1 << 16));
    validate(&within_sections).unwrap();
    validate(&merged).unwrap();
    assert_eq!(
        within_sections.sections, sections_before,
        "sections keep their ranges"
    );
    let before = and_runs(&allocate_slots(plain.clone()));
    assert!(
        before >= 32 * 16 - 32,
        "unscheduled chains alternate AND and XOR: {before} runs"
    );
    assert_eq!(and_runs(&merged), 16, "one run per AND level");
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..16 {
        let input = random_bits(&mut rng, 2 * 32 * 16);
        let want = eval_bits(&plain, &input);
        assert_eq!(eval_bits(&within_sections, &input), want);
        assert_eq!(eval_bits(&merged, &input), want);
    }
}

/// One run of a program with sections, checkpoints and outputs, on any `Gates`.
#[derive(Clone, Debug)]
struct Plan {
    prog: Vec<Step>,
    n_in: usize,
    /// Step index → section starting there.
    sections: Vec<usize>,
    /// (step index, values taken as roots there).
    checkpoints: Vec<(usize, Vec<usize>)>,
    outputs: Vec<usize>,
}

fn random_plan(rng: &mut StdRng) -> Plan {
    let n_in = rng.gen_range(1..10);
    let steps = rng.gen_range(1..600);
    let prog = random_program(rng, n_in, steps);
    let mut sections: Vec<usize> = (0..rng.gen_range(0..4))
        .map(|_| rng.gen_range(0..steps))
        .collect();
    sections.sort();
    let mut checkpoints: Vec<(usize, Vec<usize>)> = (0..rng.gen_range(0..40))
        .map(|_| {
            let at = rng.gen_range(0..steps);
            let n = n_in + at;
            let roots = (0..rng.gen_range(0..6))
                .map(|_| rng.gen_range(n.saturating_sub(30)..n))
                .collect();
            (at, roots)
        })
        .collect();
    checkpoints.sort_by_key(|c| c.0);
    let outputs = (0..rng.gen_range(0..30))
        .map(|_| rng.gen_range(0..n_in + steps))
        .collect();
    Plan {
        prog,
        n_in,
        sections,
        checkpoints,
        outputs,
    }
}

fn replay<G: Gates>(g: &mut G, ins: Vec<G::Bit>, p: &Plan) -> Vec<G::Bit> {
    let mut v = ins;
    for (k, s) in p.prog.iter().enumerate() {
        for _ in p.sections.iter().filter(|&&at| at == k) {
            g.section(&format!("s{k}"));
        }
        for (_, roots) in p.checkpoints.iter().filter(|c| c.0 == k) {
            let bits: Vec<G::Bit> = roots.iter().map(|&r| v[r]).collect();
            g.checkpoint(&bits);
        }
        let one = run(g, v.clone(), std::slice::from_ref(s));
        v = one;
    }
    p.outputs.iter().map(|&o| v[o]).collect()
}

/// Live counts of a plan, counting again without the unused roots until none is
/// reported; also the number of runs.
fn live_counts(p: &Plan) -> (garnet_circuits::LiveCounts, usize) {
    let mut unused = garnet_circuits::UnusedRoots::default();
    for runs in 1..100 {
        let mut c = garnet_circuits::LiveCounter::with_unused_roots(unused.clone());
        let ins = c.input("x", Party::Evaluator, p.n_in as u32);
        let outs = replay(&mut c, ins, p);
        c.output("o", Recipient::Evaluator, &outs);
        let r = c.finish();
        if r.unused_roots.is_empty() {
            return (r, runs);
        }
        unused = unused.union(r.unused_roots.clone());
    }
    panic!("the unused roots did not settle");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Counting with checkpoints gives the gates that survive dead-gate removal,
    /// per section, whichever bits the checkpoints name.
    #[test]
    fn live_counter_counts_what_dead_gate_removal_keeps(seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let p = random_plan(&mut rng);
        let mut b = Builder::new();
        let ins = b.input("x", Party::Evaluator, p.n_in as u32);
        let outs = replay(&mut b, ins, &p);
        b.output("o", Recipient::Evaluator, &outs);
        let c = dead_gates(b.finish());
        let st = garnet_circuits::stats::Stats::of(&c);
        let (live, _) = live_counts(&p);
        prop_assert_eq!(
            (live.total.and, live.total.xor, live.total.not),
            (st.and_gates, st.xor_gates, st.not_gates)
        );
        prop_assert_eq!(live.sections.len(), st.sections.len());
        for (s, (name, k)) in st.sections.iter().zip(&live.sections) {
            prop_assert_eq!(&s.name, name);
            prop_assert_eq!((k.and, k.xor, k.not), (s.and_gates, s.xor_gates, s.not_gates));
        }
    }
}

#[test]
fn live_counter_needs_a_second_run_only_for_unused_roots() {
    let run = |unused: garnet_circuits::UnusedRoots| {
        let mut c = garnet_circuits::LiveCounter::with_unused_roots(unused);
        let x = c.input("x", Party::Evaluator, 3);
        let a = c.and(x[0], x[1]);
        let d = c.and(x[1], x[2]);
        c.checkpoint(&[a, d]);
        let o = c.xor(a, x[2]);
        c.output("o", Recipient::Evaluator, &[o]);
        c.finish()
    };
    let r = run(Default::default());
    // d was named a root but nothing read it: reported, and counted meanwhile
    assert_eq!(r.unused_roots.len(), 1);
    assert_eq!((r.total.and, r.total.xor), (2, 1));
    let r = run(r.unused_roots);
    assert!(r.unused_roots.is_empty());
    assert_eq!((r.total.and, r.total.xor), (1, 1));
}
