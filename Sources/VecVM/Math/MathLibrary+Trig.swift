// sin and cos for f64 and f32 lanes.
//
// On a = |x| (sin(-x) = -sin x, cos(-x) = cos x): a = k pi/2 + r with |r| <= pi/4, r as hi + lo, then
// sin or cos of r by minimax polynomials and the quadrant k mod 4 choosing the function and the sign.
// - a <= 2^27: Cody-Waite, pi/2 in three f64 parts; a - k piOver2Hi is exact by fma, the next part is
//   subtracted with an exact product and an exact two-sum, so hi + lo is a - k pi/2 to about 2^-130,
//   far below the smallest |r| a double reaches (about 2^-61 a).
// - larger (and inf, NaN): Payne-Hanek under `whereAny`, a * 2/pi mod 4 from the bits of 2/pi that
//   matter for a's exponent (MathTables.payneHanek: four 53-bit chunks, gathered), with exact products
//   and sums, so that the fraction keeps about 2^-150 absolute accuracy.
// f32 lanes are computed in f64 (one rounding at the end, to f32): a two-part Cody-Waite reduction
// (hi only) up to 2^27, the same Payne-Hanek beyond, shorter polynomials.

extension MathLibrary {
    /// The reduced argument: a = k pi/2 + hi + lo, `q` holding k mod 4 in its low two bits.
    struct Reduced<B: LaneBuilder> {
        var hi: F64<B>
        var lo: F64<B>
        var q: I64<B>
    }

    /// Cody-Waite reduction of a in [0, 2^27]; k = round(a 2/pi) below 2^27.
    static func reduceCodyWaite<B>(_ a: F64<B>) -> Reduced<B> {
        typealias C = MathCoefficients
        let kf = fma(a, C.twoOverPi, magic64)
        let k = kf - magic64
        // a - k piOver2Hi is a multiple of 2^-53 (2^-52 when a >= 1) below 1 in magnitude: exact.
        let r1 = fma(k, -C.piOver2Hi, a)
        let (th, tl) = twoProd(k, a.constant(C.piOver2Mid))
        let (hi, e) = twoSum(r1, -th)
        let lo = fma(k, -C.piOver2Lo, e - tl)
        return Reduced(hi: hi, lo: lo, q: kf.bits)
    }

    /// Cody-Waite reduction of an f32 argument a in [0, 2^27], hi only (lo = 0): k piOver2Lo is below
    /// 2^-80 there and the rounding of a - k piOver2Hi - k piOver2Mid is relative to r, ample for f32 results.
    static func reduceCodyWaiteShort<B>(_ a: F64<B>) -> Reduced<B> {
        typealias C = MathCoefficients
        let kf = fma(a, C.twoOverPi, magic64)
        let k = kf - magic64
        let r = fma(k, -C.piOver2Mid, fma(k, -C.piOver2Hi, a))
        return Reduced(hi: r, lo: a.constant(0.0), q: kf.bits)
    }

    /// Payne-Hanek reduction of a >= 2^27 (finite; other lanes give garbage, never a fault: the table
    /// index is clamped).
    static func reducePayneHanek<B>(_ a: F64<B>) -> Reduced<B> {
        let tables = MathTables.payneHanek
        var index = (a.bits >> 52) &- Int64(MathTables.payneHanekBase)
        index = select(index .< 0, index.constant(0), index)
        let c0 = gather(tables[0], index)
        let c1 = gather(tables[1], index)
        let c2 = gather(tables[2], index)
        let c3 = gather(tables[3], index)
        let s = a * Double(sign: .plus, exponent: -MathTables.payneHanekScale, significand: 1.0)
        // a * 2/pi (mod 4) = p0h + p0l + p1h + p1l + p2h + p2l + p3 + O(2^-157), the first six exact.
        let (p0h, p0l) = twoProd(s, c0)
        let (p1h, p1l) = twoProd(s, c1)
        let (p2h, p2l) = twoProd(s, c2)
        let p3 = s * c3
        // Integer parts, mod 4 and centered: p0h, p0l are multiples of 2^-51 (all of a C_0 product
        // is), so u, v and their sum are exact.
        func mod4(_ v: F64<B>) -> F64<B> { v - 4.0 * (v * 0.25).roundEven }
        let h = mod4(mod4(p0h) + mod4(p0l))
        let (a1, a1e) = twoSum(h, mod4(p1h))
        let k = a1.roundEven
        let frac = a1 - k  // exact: |frac| <= 1/2
        // The fraction: frac + a1e + p1l + p2h + p2l + p3, with the large terms summed exactly.
        let (b1, b1e) = twoSum(a1e, p1l)
        let (c1s, c1e) = twoSum(b1, p2h)
        let (d1, d1e) = twoSum(frac, c1s)
        let lo = ((d1e + c1e) + b1e) + (p2l + p3)
        let (fh, fl) = fastTwoSum(d1, lo)
        // r = f pi/2 as hi + lo.
        typealias C = MathCoefficients
        let (rh, rhe) = twoProd(fh, a.constant(C.piOver2Hi))
        let rl = rhe + fma(fh, C.piOver2Mid, fl * C.piOver2Hi)
        let (hi, lo2) = fastTwoSum(rh, rl)
        return Reduced(hi: hi, lo: lo2, q: (k + magic64).bits)
    }

    /// sin(hi + lo), |hi| <= pi/4 (a little more), |lo| <= 2^-50 |hi|:
    /// hi + (hi z S(z) + lo (1 - z/2)), z = hi^2.
    static func sinKernel<B>(_ r: Reduced<B>) -> F64<B> {
        let z = r.hi * r.hi
        let s = horner(z, MathCoefficients.sin64)
        let lo = fma(r.lo * -0.5, z, r.lo)
        return r.hi + fma(r.hi * z, s, lo)
    }

    /// cos(hi + lo) = cos(hi) - lo hi: w = 1 - z/2 with its rounding error recovered exactly (z = hi^2
    /// split exactly too), plus z^2 C(z).
    static func cosKernel<B>(_ r: Reduced<B>) -> F64<B> {
        let z = r.hi * r.hi
        let zl = fma(r.hi, r.hi, -z)
        let hz = 0.5 * z
        let w = 1.0 - hz
        let c = horner(z, MathCoefficients.cos64)
        let tail = ((1.0 - w) - hz) + (fma(z * z, c, zl * -0.5) - r.hi * r.lo)
        return w + tail
    }

    /// sin r and cos r to about 2^-33 relative, for f32 results (hi only).
    static func sinKernelShort<B>(_ r: Reduced<B>) -> F64<B> {
        let z = r.hi * r.hi
        return fma(r.hi * z, horner(z, MathCoefficients.sin32), r.hi)
    }

    static func cosKernelShort<B>(_ r: Reduced<B>) -> F64<B> {
        let z = r.hi * r.hi
        return fma(z * z, horner(z, MathCoefficients.cos32), fma(z, -0.5, 1.0))
    }

    /// The result for quadrant q: sin(a) = [s, c, -s, -c][q], cos(a) = [c, -s, -c, s][q].
    private static func quadrant<B>(
        _ r: Reduced<B>, cosine: Bool, _ sinK: (Reduced<B>) -> F64<B>, _ cosK: (Reduced<B>) -> F64<B>
    ) -> F64<B> {
        let s = sinK(r)
        let c = cosK(r)
        let swap = (r.q & 1) .== 1
        let v = cosine ? select(swap, s, c) : select(swap, c, s)
        let negate = ((cosine ? r.q &+ 1 : r.q) & 2) << 62
        return (v.bits ^ negate).asF64
    }

    private static func sinCos<B>(
        _ x: F64<B>, cosine: Bool, short: Bool, _ sinK: (Reduced<B>) -> F64<B>, _ cosK: (Reduced<B>) -> F64<B>
    ) -> F64<B> {
        let a = x.abs
        let fast = quadrant(short ? reduceCodyWaiteShort(a) : reduceCodyWaite(a), cosine: cosine, sinK, cosK)
        let big = !(a .<= 0x1p27)
        let v = whereAny(big, { quadrant(reducePayneHanek(a), cosine: cosine, sinK, cosK) }, otherwise: fast)
        let signed = cosine ? v : (v.bits ^ signBit(x)).asF64
        return select(a .< .infinity, signed, x.constant(.nan))
    }

    /// sin x for f64 lanes, within 1 ulp for every x.
    static func sin<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        sinCos(x, cosine: false, short: false, sinKernel, cosKernel)
    }

    /// cos x for f64 lanes, within 1 ulp for every x.
    static func cos<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        sinCos(x, cosine: true, short: false, sinKernel, cosKernel)
    }

    /// sin x for f32 lanes, computed in f64 (a two-part Cody-Waite reduction up to 2^27, the f64
    /// version's Payne-Hanek beyond, shorter polynomials), rounded once to f32.
    static func sin<B: LaneBuilder>(_ x: F32<B>) -> F32<B> {
        sinCos(x.toF64, cosine: false, short: true, sinKernelShort, cosKernelShort).toF32
    }

    /// cos x for f32 lanes, computed in f64 and rounded once to f32.
    static func cos<B: LaneBuilder>(_ x: F32<B>) -> F32<B> {
        sinCos(x.toF64, cosine: true, short: true, sinKernelShort, cosKernelShort).toF32
    }
}
