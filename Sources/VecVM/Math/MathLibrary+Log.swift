// log for f64 and f32 lanes, and the extended-precision logarithms pow uses.
//
// x = 2^e m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), log x = e ln2 + log(1 + f). The sum
// e ln2 + f is formed exactly (an exact product and an exact sum, or a two-sum), so that the one
// rounding at the size of the result is the last addition. Zero, negative, subnormal, infinite and
// NaN arguments take a slow path under `whereAny` (a subnormal is scaled into the normal range).

extension MathLibrary {
    // MARK: f32

    /// log x for f32 lanes, computed in f32: log(1 + f) = f + f^2 P(f) with P of degree 8. 21
    /// primitives on the fast path (normal positive finite x), plus the test and the branch.
    static func log<B: LaneBuilder>(_ x: F32<B>) -> F32<B> {
        let fast = logCore32(x, nil)
        // Not a positive normal finite number: bits(x) + 0x7f800000 (wrapping) is above
        // bits(FLT_MAX) + 0x7f800000 = -2^24 - 1 exactly then, as a signed integer.
        let special = (x.bits &+ 0x7F80_0000) .> -0x100_0001
        return whereAny(special, { logSlow32(x) }, otherwise: fast)
    }

    /// log x for positive normal x; `eAdjust` is added to the exponent (subnormals scaled by 2^23).
    private static func logCore32<B>(_ x: F32<B>, _ eAdjust: F32<B>?) -> F32<B> {
        typealias C = MathCoefficients
        let ix = x.bits
        // e such that m = x / 2^e is in [sqrt(1/2), sqrt(2)): the exponent of x / sqrt(1/2).
        let e = (ix &- 0x3F35_04F3).shiftRightArithmetic(23)
        let m = (ix &- (e << 23)).asF32
        var ef = e.toF32
        if let eAdjust { ef = ef + eAdjust }
        let f = m - 1.0
        let p = horner(f, C.log32)
        // A = fl(e ln2Hi + f); e ln2Hi + f is a multiple of 2^-24, so v = A - e ln2Hi = f + (rounding
        // error of A) is exact (below 0.5 in magnitude), and so is rho = f - v: A + rho = e ln2Hi + f.
        let a = fma(ef, C.ln2HiF32, f)
        let v = fma(ef, -C.ln2HiF32, a)
        let rho = f - v
        let tail = fma(f * f, p, fma(ef, C.ln2LoF32, rho))
        return a + tail
    }

    private static func logSlow32<B>(_ x: F32<B>) -> F32<B> {
        let sub = x .< 0x1p-126
        let xs = select(sub, x * 0x1p23, x)
        let r = logCore32(xs, select(sub, x.constant(-23.0), x.constant(0.0)))
        var out = select(x .== 0.0, x.constant(-.infinity), r)
        out = select(x .== .infinity, x.constant(.infinity), out)
        return select((x .< 0.0) | x.isNaN, x.constant(.nan), out)
    }

    // MARK: f64

    /// log x for f64 lanes: s = f / (2 + f), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with R of
    /// degree 7 (so only the small last term carries the rounding of s), e ln2 + f - f^2/2 formed by two
    /// exact sums with f^2/2 split exactly.
    static func log<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        let fast = logCore64(x, nil)
        // Not a positive normal finite number (as in the f32 version): bits + 0x7ff0... above
        // bits(DBL_MAX) + 0x7ff0... = -2^53 - 1.
        let special = (x.bits &+ 0x7FF0_0000_0000_0000) .> -0x20_0000_0000_0001
        return whereAny(special, { logSlow64(x) }, otherwise: fast)
    }

    /// m in [sqrt(1/2), sqrt(2)) and e with x = 2^e m, for positive normal x (f64). Only logical
    /// shifts: the biased exponent of x / sqrt(1/2) is that of bits(x) + (bits(1) - bits(sqrt(1/2))).
    static func decompose<B>(_ x: F64<B>) -> (m: F64<B>, e: F64<B>) {
        let ix = x.bits
        let eb = (ix &+ 0x0009_5F61_9980_C433) >> 52
        let m = ((ix &- (eb << 52)) &+ (1023 << 52)).asF64
        let e = (eb | 0x4330_0000_0000_0000).asF64 - (0x1p52 + 1023.0)
        return (m, e)
    }

    private static func logCore64<B>(_ x: F64<B>, _ eAdjust: F64<B>?) -> F64<B> {
        typealias C = MathCoefficients
        var (m, e) = decompose(x)
        if let eAdjust { e = e + eAdjust }
        let f = m - 1.0
        let s = f / (2.0 + f)
        let z = s * s
        let r = z * horner(z, C.log64)
        let hf = 0.5 * f
        let hh = hf * f
        let hl = fma(hf, f, -hh)
        let corr = s * (hh + r)
        // e ln2Hi42 is exact (|e| < 2^11); |e ln2| >= |f| when e != 0, |a1| > |hh|.
        let (a1, e1) = fastTwoSum(e * C.ln2Hi42, f)
        let (a2, e2) = fastTwoSum(a1, -hh)
        let tail = ((e1 + e2) + fma(e, C.ln2Lo42, corr)) - hl
        return a2 + tail
    }

    private static func logSlow64<B>(_ x: F64<B>) -> F64<B> {
        let sub = x .< 0x1p-1022
        let xs = select(sub, x * 0x1p52, x)
        let r = logCore64(xs, select(sub, x.constant(-52.0), x.constant(0.0)))
        var out = select(x .== 0.0, x.constant(-.infinity), r)
        out = select(x .== .infinity, x.constant(.infinity), out)
        return select((x .< 0.0) | x.isNaN, x.constant(.nan), out)
    }

    // MARK: for pow

    /// log x as hi + lo with a relative error near 2^-70, for positive finite x (subnormals too).
    /// x = 2^e m with m within 1/256 of c_j = 1 + j/128 (j from the top 7 bits of the mantissa,
    /// rounded; a carry out of the mantissa goes to the exponent, so m in [1 - 2^-9, 2 - 2^-8)),
    /// r = m / c_j - 1 = m invc_j - 1 exactly as hi + lo (an exact product less 1),
    /// log x = e ln2 + log c_j + r - r^2/2 + r^3 P(r), summed by exact two-sums from the largest term.
    /// Near x = 1, j = 0 and c_j = 1, so e ln2 + log c_j is exactly 0.
    static func logDD<B>(_ x: F64<B>) -> (F64<B>, F64<B>) {
        typealias C = MathCoefficients
        let sub = x .< 0x1p-1022
        let xs = select(sub, x * 0x1p52, x)
        let ix = xs.bits
        let t = ix &+ (1 << 44)
        let j = (t >> 45) & 127
        let eb = t >> 52
        let m = ((ix &- (eb << 52)) &+ (1023 << 52)).asF64
        let e = (eb | 0x4330_0000_0000_0000).asF64 - (0x1p52 + 1023.0) + select(sub, -52.0, x.constant(0.0))
        let invc = gather(MathTables.powInvC, j)
        let logcHi = gather(MathTables.powLogCHi, j)
        let logcLo = gather(MathTables.powLogCLo, j)
        let (ph, pl) = twoProd(m, invc)
        let (rh, rl) = fastTwoSum(ph - 1.0, pl)
        let hr = 0.5 * rh
        let hh = hr * rh
        let hl = fma(hr, rh, -hh)
        let p3 = (rh * rh) * rh * horner(rh, C.powLog)
        let (b1, be) = fastTwoSum(e * C.ln2Hi42, logcHi)
        let (c1, ce) = fastTwoSum(b1, rh)
        let (d1, de) = fastTwoSum(c1, -hh)
        let small = fma(e, C.ln2Lo42, logcLo) + (rl - fma(rh, rl, hl))
        let lo = ((be + ce) + de) + (small + p3)
        return fastTwoSum(d1, lo)
    }

    /// log x in f64 with a relative error near 2^-45, for positive normal x (pow of f32 values, whose
    /// logarithm need not be more precise): log x = e ln2 + 2s + s R(s^2), s = f / (2 + f).
    static func logShort<B>(_ x: F64<B>) -> F64<B> {
        typealias C = MathCoefficients
        let (m, e) = decompose(x)
        let f = m - 1.0
        let s = f / (2.0 + f)
        let z = s * s
        let l1p = fma(s, z * horner(z, C.log64Short), s + s)
        return fma(e, C.ln2Hi, l1p)
    }
}
