// tanh for f64 and f32 lanes.
//
// On a = |x| (tanh is odd; the sign is put back at the end, so tanh(-0) = -0), clamped to 22 (f64) or
// 10 (f32), where tanh already rounds to 1: tanh a = E / (E + 2) with E = e^(2a) - 1. One formula for
// every a, with no cancellation near 0: E comes from exp's reduction as 2^k (h + t) - 1 = (2^k h - 1)
// + 2^k t, which for k = 0 is (h - 1) + t = r1 + c + r^2 S(r), relatively accurate however small a is.
// f64 keeps E and E + 2 as hi + lo pairs and divides with a remainder correction; f32 lanes compute in
// f64 with plain arithmetic (relative error near 2^-50) and round once to f32.

extension MathLibrary {
    /// tanh x for f64 lanes, within 1 ulp for every x.
    static func tanh<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        let a = min(x.abs, x.constant(22.0))
        let (h, t, _, k) = expReduce(a + a, nil, MathCoefficients.exp64)
        let s = twoTo(k)  // k in 0 ... 64
        // E = 2^k h - 1 + 2^k t: 2^k h >= 1, so the first difference is an exact fast two-sum.
        let (nh, n1) = fastTwoSum(h * s, x.constant(-1.0))
        let nl = fma(t, s, n1)
        // D = E + 2.
        let (dh, d1) = twoSum(nh, x.constant(2.0))
        let dl = d1 + nl
        // q = E / D: qh = fl(nh / dh), then (E - qh D) / dh with the exact remainder nh - qh dh.
        let qh = nh / dh
        let rem = fma(-qh, dh, nh)
        let q = qh + fma(-qh, dl, rem + nl) / dh
        return select(x.isNaN, x.constant(.nan), (q.bits | signBit(x)).asF64)
    }

    /// tanh x for f32 lanes, computed in f64 and rounded once to f32.
    static func tanh<B: LaneBuilder>(_ x: F32<B>) -> F32<B> {
        let xd = x.toF64
        let a = min(xd.abs, xd.constant(10.0))
        let (h, t, _, k) = expReduce(a + a, nil, MathCoefficients.exp64Short)
        let s = twoTo(k)  // k in 0 ... 29: s - 1 is exact
        let e = fma(s, (h - 1.0) + t, s - 1.0)
        let q = e / (e + 2.0)
        return select(xd.isNaN, xd.constant(.nan), (q.bits | signBit(xd)).asF64).toF32
    }
}
