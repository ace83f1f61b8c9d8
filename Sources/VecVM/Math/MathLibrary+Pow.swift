// pow for f64 and f32 lanes.
//
// |x|^y = e^(y log|x|): for f64, log|x| as hi + lo to about 2^-70 (logDD, a 128-entry table), y log|x|
// as hi + lo (an exact product), and e^(hi + lo) by exp's reduction with the low part folded into the
// reduced argument, so that the error of y log|x|, even where it is near +-745, stays far below an ulp
// of the result. f32 lanes compute in f64 with the short logarithm and exponential (the product is
// then known to about 2^-44 relative, ample for an f32 result) and round once to f32.
// The special cases of C99 Annex F are chosen afterwards with explicit tests (`powSpecial`), and the
// sign of a negative base with an odd integer exponent is applied last.

extension MathLibrary {
    /// x^y for f64 lanes, within 1 ulp for every x and y.
    static func pow<B: LaneBuilder>(_ x: F64<B>, _ y: F64<B>) -> F64<B> {
        let (lh, ll) = logDD(x.abs)
        let (th, t1) = twoProd(y, lh)
        let tl = fma(y, ll, t1)
        let core = expDD(th, tl)
        return whereAny(powIsSpecial(x.bits, y.bits), { powSpecial(x, y, core) }, otherwise: core)
    }

    /// x^y for f32 lanes, computed in f64 and rounded once to f32.
    static func pow<B: LaneBuilder>(_ x: F32<B>, _ y: F32<B>) -> F32<B> {
        let xd = x.toF64
        let yd = y.toF64
        // Every f32 is a normal f64, so no subnormal scaling; zero, inf and NaN are replaced below.
        let ty = yd * logShort(xd.abs)
        // |x|^y is below 2^-150 or above 2^128 beyond |y log x| > 104, so clamping to 200 changes
        // nothing and keeps 2^k a normal f64.
        let tc = min(max(ty, xd.constant(-200.0)), xd.constant(200.0))
        let (h, t, _, k) = expReduce(tc, nil, MathCoefficients.exp64Short)
        let core = (h + t) * twoTo(k)
        return whereAny(powIsSpecial(x.bits, y.bits), { powSpecial(xd, yd, core).toF32 }, otherwise: core.toF32)
    }

    /// Lanes where pow needs more than |x|^y: x not positive finite (zero, negative, inf, NaN) or y not
    /// finite. (x = 1 and y = 0 need nothing: the general path gives exactly 1 there.) By bit patterns:
    /// x positive finite is bits(x) - 1 in [0, bits(largest finite) - 1] as an unsigned number, tested
    /// as a signed comparison after adding 2^63.
    static func powIsSpecial<B>(_ x: I64<B>, _ y: I64<B>) -> M64<B> {
        let xOut = (x &+ Int64.max) .> Int64.min &+ (0x7FEF_FFFF_FFFF_FFFF - 1)
        let yOut = (y & Int64.max) .> 0x7FEF_FFFF_FFFF_FFFF
        return xOut | yOut
    }

    static func powIsSpecial<B>(_ x: I32<B>, _ y: I32<B>) -> M32<B> {
        let xOut = (x &+ Int32.max) .> Int32.min &+ (0x7F7F_FFFF - 1)
        let yOut = (y & Int32.max) .> 0x7F7F_FFFF
        return xOut | yOut
    }

    /// The result of pow given `core` = |x|^y for finite nonzero x: the special cases of C99 Annex F,
    /// then the sign of x where y is an odd integer.
    static func powSpecial<B>(_ x: F64<B>, _ y: F64<B>, _ core: F64<B>) -> F64<B> {
        let ax = x.abs
        let ay = y.abs
        let one = x.constant(1.0)
        let zero = x.constant(0.0)
        let inf = x.constant(.infinity)
        // y integral (infinities count as even integers), and odd.
        let yInt = y.trunc .== y
        let yHalf = y * 0.5
        let yOdd = yInt & (yHalf.trunc .!= yHalf)
        let yNeg = y .< 0.0
        var r = core
        // pow(+-0, y): +inf for y < 0, +0 for y > 0 (the sign comes below for odd y).
        r = select(ax .== 0.0, select(yNeg, inf, zero), r)
        // pow(+-inf, y): +0 for y < 0, +inf for y > 0.
        r = select(ax .== .infinity, select(yNeg, zero, inf), r)
        // pow(x, +-inf): 1 for |x| = 1; +inf where |x| < 1 and y = -inf or |x| > 1 and y = +inf; else +0.
        let below = ax .< 1.0
        let yInf = select(ax .== 1.0, one, select(below ^ yNeg, zero, inf))
        r = select(ay .== .infinity, yInf, r)
        // The sign: x negative (-0 included) and y an odd integer.
        let xNeg = x.bits .< 0
        r = select(xNeg & yOdd, -r, r)
        // NaN: either operand NaN, or x < 0 finite and y finite not an integer.
        let nan = x.isNaN | y.isNaN | ((x .< 0.0) & (ax .< .infinity)).andNot(yInt)
        r = select(nan, x.constant(.nan), r)
        // pow(x, +-0) = 1 and pow(1, y) = 1, even for NaN.
        return select((y .== 0.0) | (x .== 1.0), one, r)
    }
}
