// exp for f64 and f32 lanes, and the reduction of exp that tanh and pow reuse.
//
// exp(x) = 2^k e^r with k = round(x / ln 2) and r = x - k ln 2 (|r| <= ln2/2), e^r by a minimax
// polynomial, 2^k added into the exponent field. Only |x| <= 708 (f64) / 87 (f32) takes this path;
// larger magnitudes, where the result overflows, underflows or is subnormal, and NaN take a slow path
// under `whereAny` that scales in two steps, so that a subnormal result is rounded once.

extension MathLibrary {
    /// e^(x + xlo) = 2^k (h + t), for |x| <= 746 and |xlo| <= 2^-40: k in `k` (integral) and in the
    /// low bits of `kf`'s bit pattern; h = fl(1 + r1), t the rest, |t| < 0.06. With r1 = x - k ln2Hi
    /// (exact: fma, and the result is a multiple of 2^-54 below 0.35 in magnitude) and
    /// c = xlo - k ln2Lo, e^(r1 + c) = 1 + r1 + c + r^2 S(r) with r = r1 + c, where (h, e) is
    /// 1 + r1 split exactly and t = e + c + r^2 S(r): the only rounding left at the size of the result
    /// is the final h + t.
    static func expReduce<B>(_ x: F64<B>, _ xlo: F64<B>?, _ coefficients: [Double]) -> (
        h: F64<B>, t: F64<B>, kf: F64<B>, k: F64<B>
    ) {
        typealias C = MathCoefficients
        let kf = fma(x, C.log2e, magic64)
        let k = kf - magic64
        let r1 = fma(k, -C.ln2Hi, x)
        let c = xlo.map { fma(k, -C.ln2Lo, $0) } ?? k * -C.ln2Lo
        let r = r1 + c
        let s = horner(r, coefficients)
        let h = 1.0 + r1
        let e = (1.0 - h) + r1
        let t = e + fma(r * r, s, c)
        return (h, t, kf, k)
    }

    /// e^(x + xlo) for any x (`xlo` small, or nil for 0): the fast path for |x| <= 708, else the
    /// slow path. NaN gives NaN.
    static func expDD<B>(_ x: F64<B>, _ xlo: F64<B>?) -> F64<B> {
        let (h, t, kf, _) = expReduce(x, xlo, MathCoefficients.exp64)
        // |x| <= 708: k in -1022 ... 1022 and 2^k (h + t) normal, so adding k to the exponent is exact.
        let fast = ((h + t).bits &+ (kf.bits << 52)).asF64
        let slow = !(x.abs .<= 708.0)
        return whereAny(slow, { expSlow(x, xlo) }, otherwise: fast)
    }

    /// exp beyond |x| <= 708: x clamped to [-746, 710] (the results there are already 0 and inf),
    /// 2^k applied as 2^k1 * 2^k2 with k1 = floor(k / 2): the first product is exact, the second rounds
    /// once, to a subnormal, 0 or inf.
    private static func expSlow<B>(_ x: F64<B>, _ xlo: F64<B>?) -> F64<B> {
        let xc = min(max(x, x.constant(-746.0)), x.constant(710.0))
        // (The low part only matters where the result is finite; beyond, it may be a NaN from inf - inf.)
        let lo = xlo.map { select(x.abs .<= 746.0, $0, x.constant(0.0)) }
        let (h, t, _, k) = expReduce(xc, lo, MathCoefficients.exp64)
        let k1 = (k * 0.5).floor
        let r = ((h + t) * twoTo(k1)) * twoTo(k - k1)
        return select(x.isNaN, x.constant(.nan), r)
    }

    /// e^x for f64 lanes, within 1 ulp (about 0.51 ulp measured).
    static func exp<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        expDD(x, nil)
    }

    /// e^x for f32 lanes, computed in f32: k = round(x / ln 2) by the 1.5 * 2^23 shifter, r = x - k ln2
    /// by Cody-Waite with fma (the first step exact), e^r = 1 + r + r^2 Q(r) with Q of degree 4 and the
    /// sum 1 + r split exactly, then 2^k into the exponent field. 18 primitives on the fast path
    /// (|x| <= 87, no NaN), plus the test and the branch of `whereAny`.
    static func exp<B: LaneBuilder>(_ x: F32<B>) -> F32<B> {
        let (p, kf, _) = expReduce32(x)
        let fast = (p.bits &+ (kf.bits << 23)).asF32
        // |x| > 87 or NaN, by the bit pattern of |x| (NaNs are above every number).
        let slow = (x.bits & Int32.max) .> Float(87.0).bitPatternI32
        return whereAny(slow, { expSlow32(x) }, otherwise: fast)
    }

    /// e^x = 2^k p for f32, |x| <= 104: p in [0.70, 1.42], k in `k` and the low bits of `kf`.
    private static func expReduce32<B>(_ x: F32<B>) -> (p: F32<B>, kf: F32<B>, k: F32<B>) {
        typealias C = MathCoefficients
        let kf = fma(x, C.log2eF32, magic32)
        let k = kf - magic32
        // r1 = x - k ln2HiF32 is exact (a multiple of 2^-25 below 0.35); c = -k ln2LoF32 is tiny.
        let r1 = fma(k, -C.ln2HiF32, x)
        let c = k * -C.ln2LoF32
        let r = r1 + c
        let q = horner(r, C.exp32)
        // e^r = 1 + r1 + (c + r^2 Q(r)), with 1 + r1 split exactly (h + e): the one rounding at the
        // size of the result is the last addition.
        let h = 1.0 + r1
        let e = (1.0 - h) + r1
        let p = h + (e + fma(r * r, q, c))
        return (p, kf, k)
    }

    /// exp32 beyond |x| <= 87: clamped to [-104, 89], 2^k in two factors as in `expSlow`.
    private static func expSlow32<B>(_ x: F32<B>) -> F32<B> {
        let xc = min(max(x, x.constant(-104.0)), x.constant(89.0))
        let (p, _, k) = expReduce32(xc)
        let k1 = (k * 0.5).floor
        let r = (p * twoTo(k1)) * twoTo(k - k1)
        return select(x.isNaN, x.constant(.nan), r)
    }
}

extension Float {
    /// The bit pattern as an Int32 (for comparisons of magnitudes as integers).
    var bitPatternI32: Int32 { Int32(bitPattern: bitPattern) }
}

extension Double {
    var bitPatternI64: Int64 { Int64(bitPattern: bitPattern) }
}
