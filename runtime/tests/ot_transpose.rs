//! Every transpose kernel agrees with the naive bit-by-bit transpose.

use garnet_runtime::Block;
use garnet_runtime::ot::transpose::Kernel;
use proptest::prelude::*;

fn naive(m: &[Block], stride: usize) -> Vec<Block> {
    let mut out = vec![Block::ZERO; 128];
    for i in 0..128 {
        for (j, o) in out.iter_mut().enumerate() {
            if (m[i * stride].0 >> j) & 1 == 1 {
                o.0 |= 1u128 << i;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kernels_match_naive(rows in prop::collection::vec(any::<u128>(), 128), stride in 1usize..5, fill in any::<u128>()) {
        let mut src = vec![Block(fill); 127 * stride + 1];
        for (i, r) in rows.iter().enumerate() {
            src[i * stride] = Block(*r);
        }
        let want = naive(&src, stride);
        for k in Kernel::available() {
            let mut got = vec![Block(fill); 128];
            k.transpose(&src, stride, &mut got);
            prop_assert!(got == want, "{:?} disagrees with the naive transpose", k);
        }
    }

    #[test]
    fn sparse_matrices(bits in prop::collection::vec((0usize..128, 0usize..128), 0..20)) {
        let mut src = vec![Block::ZERO; 128];
        for &(i, j) in &bits {
            src[i].0 |= 1u128 << j;
        }
        let want = naive(&src, 1);
        for k in Kernel::available() {
            let mut got = vec![Block::ZERO; 128];
            k.transpose(&src, 1, &mut got);
            prop_assert!(got == want, "{:?} disagrees on a sparse matrix", k);
        }
    }
}

#[test]
fn simd_kernels_are_available_and_tested_on_this_machine() {
    // Guard against silently testing only the fallback on x86-64 hosts with AVX2.
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        assert!(Kernel::available().contains(&Kernel::Avx2));
        if std::is_x86_feature_detected!("gfni") {
            assert!(Kernel::available().contains(&Kernel::Gfni));
            assert_eq!(Kernel::best(), Kernel::Gfni);
        } else {
            assert_eq!(Kernel::best(), Kernel::Avx2);
        }
    }
    assert!(Kernel::available().contains(&Kernel::Portable));
}
