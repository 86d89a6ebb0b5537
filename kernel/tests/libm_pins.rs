//! Pins the results of every floating-point library function the result paths call
//! (docs/determinism.md): `ln`, `exp`, `powf`, `powi`, `sqrt`, `tanh`, `ln_1p`, `exp_m1` and `cos`.
//!
//! Arithmetic (`+ − × ÷`, `sqrt`) is IEEE 754 exactly rounded on every target and Rust never fuses
//! a multiply and an add on its own, so it cannot differ between x86-64 and aarch64. The
//! transcendental functions are another matter: they come from the platform's C library (glibc's
//! libm on Linux), which rounds to within an ulp but not always to the same ulp on every
//! architecture or version. Each case below evaluates one function on 4,096 inputs drawn from the
//! ranges the kernels, the synthetic market and the statistics feed it, and compares a hash of the
//! result bits with the one measured on x86-64 (glibc 2.36). The same test runs on aarch64 under
//! qemu in CI (`.ci/cross-arch`), and on a Pi with `cargo test -p kernel --test libm_pins`: a
//! platform whose libm rounds differently fails here, naming the function, before it changes a
//! research result.

use xxhash_rust::xxh3::xxh3_64;

/// Inputs per case.
const N: u64 = 4096;

/// The `i`-th of a Weyl sequence over all of `u64`: spread evenly, with every bit in use, so
/// the inputs are not round numbers a libm would get right by construction.
fn weyl(i: u64) -> u64 {
    i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The `i`-th of `N` points spread over `[0, 1)` with all 53 bits of the mantissa in use.
fn unit(i: u64) -> f64 {
    (weyl(i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `lo..hi`, evenly.
fn linear(lo: f64, hi: f64) -> impl Fn(u64) -> f64 {
    move |i| lo + (hi - lo) * unit(i)
}

/// `0 < lo..hi`, about evenly in the logarithm: evenly in the bit patterns, which for positive
/// floats grow with the value (integer arithmetic only, so the inputs depend on no libm).
fn spread(lo: f64, hi: f64) -> impl Fn(u64) -> f64 {
    move |i| {
        let (a, b) = (lo.to_bits(), hi.to_bits());
        f64::from_bits(a + ((u128::from(b - a) * u128::from(weyl(i))) >> 64) as u64)
    }
}

/// The hash of `f` applied to the `N` inputs `x(0..N)`, and the first results (for a message).
fn digest(x: impl Fn(u64) -> f64, f: impl Fn(f64) -> f64) -> (u64, Vec<(f64, f64)>) {
    let mut bytes = Vec::with_capacity(N as usize * 8);
    let mut first = Vec::new();
    for i in 0..N {
        let (input, output) = (x(i), f(x(i)));
        bytes.extend_from_slice(&output.to_bits().to_le_bytes());
        if first.len() < 3 {
            first.push((input, output));
        }
    }
    (xxh3_64(&bytes), first)
}

/// One pinned case: its name (function and where such inputs occur) and the expected hash.
struct Case {
    name: &'static str,
    input: Box<dyn Fn(u64) -> f64>,
    f: fn(f64) -> f64,
    pinned: u64,
}

fn case(name: &'static str, input: impl Fn(u64) -> f64 + 'static, f: fn(f64) -> f64, pinned: u64) -> Case {
    Case { name, input: Box::new(input), f, pinned }
}

fn cases() -> Vec<Case> {
    vec![
        // Log returns of consecutive closes (volatility, sizing, descriptors, regime features).
        case("ln(close ratio 0.8..1.25)", linear(0.8, 1.25), f64::ln, 0x9519_a109_38e5_5474),
        // Box–Muller's and the chi-square draw's uniform, and the normal quantile's tail.
        case("ln(u in 1e-12..1)", spread(1e-12, 1.0), f64::ln, 0x9335_0da7_7465_8a96),
        // Market capitalisations and book-to-market in the synthetic profiles; ranking factors.
        case("ln(2e8..3e12)", spread(2e8, 3e12), f64::ln, 0xd2f4_12f8_5056_67ae),
        // Synthetic prices: exp of a scaled normal draw (gaps, returns, volumes, volatilities).
        case("exp(-1..1)", linear(-1.0, 1.0), f64::exp, 0x0eaa_2e9a_695f_e2c9),
        // The normal density and CDF: exp(−x²/2) down to the far tail; GP's log-uniform constants.
        case("exp(-40..25)", linear(-40.0, 25.0), f64::exp, 0x7350_74ac_690b_c749),
        // CAGR: (final / initial)^(1 / years).
        case("powf(0.01..20, 1/years)", spread(0.01, 20.0), |b| b.powf(1.0 / 7.3), 0x3dab_317f_81ca_1dbc),
        // The per-period risk-free rate: (1 + rf)^(1 / periods per year).
        case("powf(1 + rf, 1/252)", linear(1.0, 1.1), |b| b.powf(1.0 / 252.0), 0xada7_13e1_1361_2724),
        // Skewness: m3 / m2^1.5.
        case("powf(m2 1e-10..1, 1.5)", spread(1e-10, 1.0), |b| b.powf(1.5), 0x8cf7_2421_b9fe_535c),
        // Moments: squares, cubes and fourth powers of returns.
        case("powi(-0.5..0.5, 2)", linear(-0.5, 0.5), |x| x.powi(2), 0xd098_4d60_1d36_823f),
        case("powi(-0.5..0.5, 3)", linear(-0.5, 0.5), |x| x.powi(3), 0x6d76_9309_857f_1ab9),
        case("powi(-0.5..0.5, 4)", linear(-0.5, 0.5), |x| x.powi(4), 0xafe8_9e5b_fd8b_5a11),
        // Standard deviations, annualisation, the normal quantile.
        case("sqrt(1e-12..1e4)", spread(1e-12, 1e4), f64::sqrt, 0xd88d_bd64_5504_d826),
        // The novelty descriptor's squashed z-scores.
        case("tanh(-6..6)", linear(-6.0, 6.0), f64::tanh, 0x5ec2_4cd0_9d1c_4f15),
        // Geometric mean trade return: exp_m1(mean(ln_1p(r))).
        case("ln_1p(trade return -0.99..4)", linear(-0.99, 4.0), f64::ln_1p, 0x4701_e6fd_9e77_4e47),
        case("exp_m1(-4.6..1.7)", linear(-4.6, 1.7), f64::exp_m1, 0xb4ee_3613_55a2_d601),
        // Box–Muller's angle in the GA's Gaussian mutation.
        case("cos(0..2π)", linear(0.0, std::f64::consts::TAU), f64::cos, 0xbdba_c5d7_01d9_4871),
    ]
}

#[test]
fn libm_results_are_the_pinned_ones() {
    let mut wrong = Vec::new();
    for c in cases() {
        let (got, first) = digest(&c.input, c.f);
        if got != c.pinned {
            wrong.push(format!(
                "{}: hash {got:#018x}, pinned {:#018x}; first results {first:?}",
                c.name, c.pinned
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "this platform's libm rounds differently from the pinned x86-64 results \
         (docs/determinism.md says what to do):\n{}",
        wrong.join("\n")
    );
}

/// A few results spelled out, so a failure above can be checked by hand on any machine.
#[test]
fn single_values_are_the_pinned_ones() {
    let pins: [(&str, f64, u64); 6] = [
        ("ln(1.1)", 1.1f64.ln(), 0x3fb8_663f_793c_46cc),
        ("exp(0.05)", 0.05f64.exp(), 0x3ff0_d201_a422_a433),
        ("powf(1.02, 1/252)", 1.02f64.powf(1.0 / 252.0), 0x3ff0_0052_66fc_17af),
        ("tanh(0.7)", 0.7f64.tanh(), 0x3fe3_56fb_17af_2e92),
        ("exp_m1(ln_1p(0.03))", 0.03f64.ln_1p().exp_m1(), 0x3f9e_b851_eb85_1eb8),
        ("cos(1)", 1f64.cos(), 0x3fe1_4a28_0fb5_068c),
    ];
    for (name, got, bits) in pins {
        assert_eq!(
            got.to_bits(),
            bits,
            "{name} = {got:e} ({:#018x}), pinned {:e}",
            got.to_bits(),
            f64::from_bits(bits)
        );
    }
}
