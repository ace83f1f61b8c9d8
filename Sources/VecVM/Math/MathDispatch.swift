// The interpreter's entry points into the math library: one lane of `exp`, `pow`, `floor`, ... on a
// Double or a Float, through ScalarLanes, so that scalars, SIMD values and kernel lanes evaluated by the
// interpreter take exactly the path (and get exactly the bits) of the JIT's vector code.

enum MathDispatch {
    @inline(__always)
    static func apply(_ f: ElementwiseMath, _ x: Double) -> Double {
        switch f {
        case .exp: ScalarLanes.run(x) { MathLibrary.exp($0) }
        case .log: ScalarLanes.run(x) { MathLibrary.log($0) }
        case .sin: ScalarLanes.run(x) { MathLibrary.sin($0) }
        case .cos: ScalarLanes.run(x) { MathLibrary.cos($0) }
        case .tanh: ScalarLanes.run(x) { MathLibrary.tanh($0) }
        case .floor: ScalarLanes.run(x) { $0.floor }
        case .ceil: ScalarLanes.run(x) { $0.ceil }
        case .round: ScalarLanes.run(x) { MathLibrary.round($0) }
        }
    }

    @inline(__always)
    static func apply(_ f: ElementwiseMath, _ x: Float) -> Float {
        switch f {
        case .exp: ScalarLanes.run(x) { MathLibrary.exp($0) }
        case .log: ScalarLanes.run(x) { MathLibrary.log($0) }
        case .sin: ScalarLanes.run(x) { MathLibrary.sin($0) }
        case .cos: ScalarLanes.run(x) { MathLibrary.cos($0) }
        case .tanh: ScalarLanes.run(x) { MathLibrary.tanh($0) }
        case .floor: ScalarLanes.run(x) { $0.floor }
        case .ceil: ScalarLanes.run(x) { $0.ceil }
        case .round: ScalarLanes.run(x) { MathLibrary.round($0) }
        }
    }

    @inline(__always)
    static func pow(_ x: Double, _ y: Double) -> Double { ScalarLanes.run(x, y) { MathLibrary.pow($0, $1) } }

    @inline(__always)
    static func pow(_ x: Float, _ y: Float) -> Float { ScalarLanes.run(x, y) { MathLibrary.pow($0, $1) } }
}
