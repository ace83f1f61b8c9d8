// Static types of the .vec language (shared/LANGUAGE.md, "Types") and how values of each type occupy
// VM registers.

/// Element types of arrays; also the lane types of kernels. A `[bool]` stores one byte (0 or 1) per
/// element.
public enum ElementKind: UInt8, Hashable, Sendable {
    case int = 0
    case float = 1
    case f32 = 2
    case bool = 3

    /// Bytes per element in an array buffer.
    var size: Int {
        switch self {
        case .int, .float: 8
        case .f32: 4
        case .bool: 1
        }
    }
    var name: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .f32: "f32"
        case .bool: "bool"
        }
    }
    var scalarType: VType {
        switch self {
        case .int: .int
        case .float: .float
        case .f32: .f32
        case .bool: .bool
        }
    }
    var isFloat: Bool { self == .float || self == .f32 }
}

indirect enum VType: Hashable, CustomStringConvertible {
    case int, float, f32, bool, str, void
    case array(ElementKind)
    case f32x8, f64x4
    /// Masks: the result of comparing SIMD values, 8 / 4 bool lanes (all-ones or zero lanes of 32 / 64 bits).
    case m32x8, m64x4
    case task(VType)
    case chan(VType)
    /// Integer and float literals (and expressions of literals only) before their context fixes a type.
    case untypedInt, untypedFloat
    /// The type of an expression that already produced an error; it matches anything silently.
    case error

    var description: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .f32: "f32"
        case .bool: "bool"
        case .str: "str"
        case .void: "no value"
        case .array(let e): "[\(e.name)]"
        case .f32x8: "f32x8"
        case .f64x4: "f64x4"
        case .m32x8: "m32x8"
        case .m64x4: "m64x4"
        case .task(let t): t == .void ? "task<void>" : "task<\(t)>"
        case .chan(let t): "chan<\(t)>"
        case .untypedInt: "integer literal"
        case .untypedFloat: "float literal"
        case .error: "<error>"
        }
    }

    /// "an int", "a float", "an [f32]".
    var withArticle: String {
        let d = description
        return (d.first.map { "aeiou[".contains($0) } ?? false ? "an " : "a ") + d
    }

    var isUntyped: Bool { self == .untypedInt || self == .untypedFloat }
    var isNumericScalar: Bool { self == .int || self == .float || self == .f32 }
    var isFloatScalar: Bool { self == .float || self == .f32 }
    var isSIMD: Bool { self == .f32x8 || self == .f64x4 }
    var isMask: Bool { self == .m32x8 || self == .m64x4 }
    /// A `[bool]` or a mask: what `!`, `&&`, `||` (elementwise), `select`, `any`, `all` and `count` take.
    var isElementwiseBool: Bool { self == .array(.bool) || isMask }
    /// The mask type of comparing two values of this SIMD type, and back.
    var maskType: VType? { self == .f32x8 ? .m32x8 : self == .f64x4 ? .m64x4 : nil }
    var maskedSIMDType: VType? { self == .m32x8 ? .f32x8 : self == .m64x4 ? .f64x4 : nil }
    var isArray: Bool { if case .array = self { return true } else { return false } }

    var elementKind: ElementKind? {
        switch self {
        case .array(let e): e
        case .int: .int
        case .float, .f64x4: .float
        case .f32, .f32x8: .f32
        case .bool: .bool
        default: nil
        }
    }

    /// The scalar type of an array's or SIMD value's lanes; a scalar is its own.
    var laneType: VType? {
        switch self {
        case .array(let e): e.scalarType
        case .f32x8: .f32
        case .f64x4: .float
        case .int, .float, .f32, .bool: self
        case .m32x8, .m64x4: .bool
        default: nil
        }
    }

    /// The lane type when it is a number (int, float or f32): scalars, numeric arrays, SIMD values.
    var numericLane: VType? {
        guard let l = laneType, l != .bool else { return nil }
        return l
    }

    /// How a value of this type lives in registers.
    var storage: ValueStorage {
        switch self {
        case .int, .float, .f32, .bool, .untypedInt, .untypedFloat: .scalar
        case .f32x8, .f64x4, .m32x8, .m64x4: .simd
        case .str, .array, .task, .chan: .reference
        case .void, .error: .none
        }
    }

    /// Equality that lets `.error` match anything, so that one mistake reports one error.
    func matches(_ other: VType) -> Bool { self == .error || other == .error || self == other }
}

/// Register classes: a scalar takes one 64-bit slot; a SIMD value four consecutive slots; a reference
/// one slot of the parallel object register file.
enum ValueStorage: UInt8 {
    case none = 0
    case scalar = 1
    case simd = 2
    case reference = 3

    var slots: Int {
        switch self {
        case .none: 0
        case .scalar, .reference: 1
        case .simd: 4
        }
    }
}

/// A named value: a local (a register), a global (a slot of the program's global table), a parameter or
/// a loop variable.
final class Variable {
    let name: String
    let type: VType
    let isMutable: Bool
    let declaration: SourceLocation
    /// Declared at the outermost level of the file; may become a global.
    let isTopLevel: Bool
    /// Referenced from a function body: must live in the global table rather than in main's registers.
    var usedByFunction = false
    /// Register number (locals) or global index (globals), assigned by the compiler.
    var slot = -1
    var isGlobal = false

    // What the checker saw, for its warnings (Frontend/Warnings.swift).
    /// Read somewhere (an assignment to it is not a read; `a[i] = e` reads `a`).
    var isRead = false
    /// Assigned with `=` or a compound assignment after its declaration.
    var isAssigned = false

    init(name: String, type: VType, isMutable: Bool, declaration: SourceLocation, isTopLevel: Bool) {
        self.name = name
        self.type = type
        self.isMutable = isMutable
        self.declaration = declaration
        self.isTopLevel = isTopLevel
    }
}

/// Built-in functions (shared/LANGUAGE.md, "Built-in functions") and conversions.
enum Builtin: String, CaseIterable {
    case print, len, iota, fill, sqrt, abs, min, max, fma, sum, dot, splat, vload, vstore, lane
    case wait, send, recv, close, yield, sleep, now
    // Vector math, masks and select (LANGUAGE.md v1).
    case exp, log, sin, cos, tanh, pow, floor, ceil, round
    case select, any, all, count
    case chanMake = "chan"
    case toInt = "int"
    case toFloat = "float"
    case toF32 = "f32"
    case toStr = "str"
    // Input and output (Frontend/IOBuiltinsChecker.swift, Interpreter/IOBuiltins.swift).
    case argc, arg, eof, save
    case readLine = "read_line"
    case readFile = "read_file"
    case writeFile = "write_file"
    case loadF32 = "load_f32"
    case loadFloat = "load_float"
    case loadInt = "load_int"
}
