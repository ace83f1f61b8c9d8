// tanh for f64 and f32 lanes.
//
// On a = |x| (tanh is odd; the sign is put back at the end, so tanh(-0) = -0), clamped to 22 (f64) or
// 10 (f32), where tanh already rounds to 1: tanh a = E / (E + 2) with E = e^(2a) - 1. One formula for
// every a, with no cancellation near 0: with exp's reduction 2a = k ln2 + r, E = 2^k e^r - 1, which for
// k = 0 is r + r^2/2 + ..., relatively accurate however small a is.
// f64 forms E as hi + lo to about 2^-60 (for k = 1, E = 2 e^r - 1 loses up to two bits to
// cancellation, so r^2/2 is split exactly and only r^3 S3(r) is rounded), and divides with a remainder
// correction. f32 lanes compute in f64 with plain arithmetic (relative error near 2^-50) and round
// once to f32.

extension MathLibrary {
    /// S3 of exp64's S(r) = 1/2 + r S3(r) (the generator fixes the first coefficient at exactly 1/2).
    static let exp64S3: [Double] = {
        precondition(MathCoefficients.exp64[0] == 0.5, "exp64's r^2 coefficient must be exactly 1/2")
        return Array(MathCoefficients.exp64.dropFirst())
    }()

    /// tanh x for f64 lanes, within 1 ulp for every x.
    static func tanh<B: LaneBuilder>(_ x: F64<B>) -> F64<B> {
        typealias C = MathCoefficients
        let a = min(x.abs, x.constant(22.0))
        let y = a + a
        let kf = fma(y, C.log2e, magic64)
        let k = kf - magic64  // 0 ... 64
        let r1 = fma(k, -C.ln2Hi, y)  // exact, as in exp
        let c = k * -C.ln2Lo
        let r = r1 + c
        // e^(r1 + c) = 1 + r1 + r1^2/2 + small, small = c + r1 c + r^3 S3(r) (S = 1/2 + r S3).
        let s3 = horner(r, exp64S3)
        let (hh, hl) = twoProd(0.5 * r1, r1)
        let small = fma((r * r) * r, s3, fma(r1, c, hl) + c)
        // E = (2^k - 1) + 2^k r1 + 2^k hh + 2^k small; each product by 2^k is exact, 2^k - 1 too for k
        // up to 53 (beyond, E is so large that tanh is 1 to far more than 53 bits anyway).
        let s = twoTo(k)
        let (b1, be) = twoSum(s - 1.0, s * r1)
        let (c1, ce) = twoSum(b1, s * hh)
        let (nh, nl) = fastTwoSum(c1, fma(s, small, be + ce))
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
