// Prints the accuracy harness's reference values (glibc's Float80 expl, logl, sinl, cosl, tanhl, powl,
// and some f64 ones that the f32 measurements use) exactly, at hard points: the ends of exp's range,
// huge arguments of sin and cos (the worst case 6381956970095103 * 2^797 among them), f32's largest
// values, pow near overflow and underflow with |y log x| up to 745, x near 1 with huge y.
// bench/tools/math_reference_check.py compares them with mpmath at 400 bits:
//   swiftc -O bench/tools/math_reference_points.swift -o /tmp/refpoints && /tmp/refpoints > /tmp/ref.txt
//   python3 bench/tools/math_reference_check.py /tmp/ref.txt
import Glibc

func dump(_ name: String, _ args: [Double], _ v: Float80) {
    // exact: sign, exponent, 64-bit significand integer
    let sig = v.significandBitPattern | (v.isNormal ? (1 << 63) : 0)
    print(name, args.map { "\($0.bitPattern)" }.joined(separator: ","), v.sign == .minus ? 1 : 0, Int(v.exponent), sig)
}
func dumpD(_ name: String, _ args: [Double], _ v: Double) {
    print(name + "D", args.map { "\($0.bitPattern)" }.joined(separator: ","), v.bitPattern)
}
var rng: UInt64 = 12345
func rnd() -> Double {
    rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(rng >> 11) * 0x1p-53
}
let expPts: [Double] = [
    709.782712893384, 709.78, 709.7, -745.1332191019411, -745.0, -708.4, -720.123, 700.5, 1e-10, 0.3466, -0.3466,
    88.72283935546875, -103.97207641601562, -87.33654022216797,
]
for x in expPts {
    dump("exp", [x], expl(Float80(x)))
    dumpD("exp", [x], exp(x))
}
for _ in 0..<40 {
    let x = -745 + 1455 * rnd()
    dump("exp", [x], expl(Float80(x)))
}
let logPts: [Double] = [
    0x1p-1074, 3e-320, 1e-310, 0x1.fffffffffffffp1023, 1.0000000000000002, 0.9999999999999999, 1e300,
    0.7071067811865476, 1.4142135623730951,
]
for x in logPts { dump("log", [x], logl(Float80(x))) }
let trig: [Double] = [
    1e300, 6_381_956_970_095_103 * 0x1p797, 1e22, 0x1.fffffffffffffp1023, 3.4028234663852886e38, 3e38, 1e10, 1e15,
    0x1p27 + 1, 7.0685834705770345, 1.5707963267948966, 16_367_173 * 0x1p72,
]
for x in trig {
    dump("sin", [x], sinl(Float80(x)))
    dump("cos", [x], cosl(Float80(x)))
    dumpD("sin", [x], sin(x))
    dumpD("cos", [x], cos(x))
}
for _ in 0..<40 {
    let x = Double(sign: .plus, exponent: Int(rnd() * 1000), significand: 1 + rnd())
    dump("sin", [x], sinl(Float80(x)))
    dump("cos", [x], cosl(Float80(x)))
}
for x in [19.061547465398498, 0.5, 1e-5, 3.0, 10.0] { dump("tanh", [x], tanhl(Float80(x))) }
// pow: large |y log x|
for _ in 0..<60 {
    let x = 0.5 + 1.5 * rnd()
    let t = -745 + 1454 * rnd()
    let y = t / log(x)
    dump("pow", [x, y], powl(Float80(x), Float80(y)))
}
for _ in 0..<30 {
    let x = 1 + 0x1p-40 * rnd()
    let y = (700 * rnd()) / log(x)
    dump("pow", [x, y], powl(Float80(x), Float80(y)))
}
for _ in 0..<30 {
    let x = Double(sign: .plus, exponent: Int(rnd() * 2000) - 1000, significand: 1 + rnd())
    let y = (-740 + 1440 * rnd()) / log(x)
    dump("pow", [x, y], powl(Float80(x), Float80(y)))
    dumpD("pow", [x, y], pow(x, y))
}
for (x, y) in [(2.0, 1023.9), (2.0, -1074.5), (10.0, 308.25), (1.4, 2108.0), (0.7, -2070.0)] {
    dump("pow", [x, y], powl(Float80(x), Float80(y)))
}
