// Text of values for `print` and `str(x)` (shared/LANGUAGE.md, "Output"). Floats use Swift's
// `description`, which is the shortest digit string that reads back to the same value and switches
// to exponent form exactly at the thresholds the language specifies (1e-4 and 2^53, 2^24 for f32).

enum ValueFormatter {
    static func float(_ d: Double) -> String { d.isNaN ? "nan" : d.description }
    static func f32(_ f: Float) -> String { f.isNaN ? "nan" : f.description }

    /// Formats a scalar held in a register.
    static func scalar(_ bits: UInt64, _ type: VType) -> String {
        switch type {
        case .int: String(Int64(bitPattern: bits))
        case .float: float(Double(bitPattern: bits))
        case .f32: f32(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .bool: bits != 0 ? "true" : "false"
        default: "?"
        }
    }

    static func element(_ a: VMArray, _ i: Int) -> String {
        switch a.kind {
        case .int: String(a.int(i))
        case .float: float(a.float(i))
        case .f32: f32(a.f32(i))
        case .bool: a.bool(i) ? "true" : "false"
        }
    }

    /// `[1.0, 2.0]`; more than 16 elements: the first 8, `...`, the last 8, then ` (len N)`.
    static func array(_ a: VMArray) -> String {
        var s = "["
        if a.count <= 16 {
            for i in 0..<a.count {
                if i > 0 { s += ", " }
                s += element(a, i)
            }
            return s + "]"
        }
        for i in 0..<8 { s += element(a, i) + ", " }
        s += "..."
        for i in (a.count - 8)..<a.count { s += ", " + element(a, i) }
        return s + "] (len \(a.count))"
    }

    /// `<1.0, 2.0, ...>` from the four slots of a SIMD register.
    static func simd(_ p: UnsafePointer<UInt64>, _ type: VType) -> String {
        let raw = UnsafeRawPointer(p)
        var parts: [String] = []
        switch type {
        case .f32x8: for i in 0..<8 { parts.append(f32(raw.load(fromByteOffset: i * 4, as: Float.self))) }
        case .m32x8:
            for i in 0..<8 { parts.append(raw.load(fromByteOffset: i * 4, as: UInt32.self) != 0 ? "true" : "false") }
        case .m64x4:
            for i in 0..<4 { parts.append(raw.load(fromByteOffset: i * 8, as: UInt64.self) != 0 ? "true" : "false") }
        default: for i in 0..<4 { parts.append(float(raw.load(fromByteOffset: i * 8, as: Double.self))) }
        }
        return "<" + parts.joined(separator: ", ") + ">"
    }

    static func reference(_ o: AnyObject?, _ type: VType) -> String {
        switch type {
        case .str: return (o as? VMString)?.value ?? ""
        case .array: return (o as? VMArray).map(array) ?? "[]"
        case .task: return (o as? VMTask).map { "task \($0.id)" } ?? "task"
        case .chan(let el): return "chan<\(el)>"
        default: return "?"
        }
    }

    /// Any value at register `r` of a frame.
    static func value(
        _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, _ r: Int, _ type: VType
    ) -> String {
        switch type.storage {
        case .scalar: scalar(regs[r], type)
        case .simd: simd(regs + r, type)
        case .reference: reference(objs[r], type)
        case .none: ""
        }
    }
}
