// Values crossing between Swift and .vec: the public `Value` enum and `ValueType`, the `VecArray`
// handle on a VM array (shared, never copied behind the host's back), and the protocols that let
// plain Swift types (`Double`, `[Float]`, `SIMD8<Float>`…) stand for .vec types in `VM.call` and
// `VM.register`. Conversions to and from registers are here too; the VM's run loop is in VM.swift.

/// The type of a .vec value, as the embedding API sees it.
public indirect enum ValueType: Hashable, Sendable, CustomStringConvertible {
    case int, float, f32, bool, string
    /// `[int]`, `[float]`, `[f32]` or `[bool]`.
    case array(ElementKind)
    case f32x8, f64x4
    /// Masks: comparisons of SIMD values.
    case m32x8, m64x4
    /// `task<T>` (`.void` for a task of a function without a result).
    case task(ValueType)
    case channel(ValueType)
    /// No value: the result of a function declared without one.
    case void

    public var description: String { vType.description }

    /// Whether a host function may take (or return) this type: scalars, strings and arrays.
    public var isHostFunctionType: Bool {
        switch self {
        case .int, .float, .f32, .bool, .string, .array: true
        default: false
        }
    }

    init?(_ t: VType) {
        switch t {
        case .int: self = .int
        case .float: self = .float
        case .f32: self = .f32
        case .bool: self = .bool
        case .str: self = .string
        case .void: self = .void
        case .array(let k): self = .array(k)
        case .f32x8: self = .f32x8
        case .f64x4: self = .f64x4
        case .m32x8: self = .m32x8
        case .m64x4: self = .m64x4
        case .task(let r):
            guard let r = ValueType(r) else { return nil }
            self = .task(r)
        case .chan(let e):
            guard let e = ValueType(e) else { return nil }
            self = .channel(e)
        case .untypedInt, .untypedFloat, .error: return nil
        }
    }

    var vType: VType {
        switch self {
        case .int: .int
        case .float: .float
        case .f32: .f32
        case .bool: .bool
        case .string: .str
        case .void: .void
        case .array(let k): .array(k)
        case .f32x8: .f32x8
        case .f64x4: .f64x4
        case .m32x8: .m32x8
        case .m64x4: .m64x4
        case .task(let r): .task(r.vType)
        case .channel(let e): .chan(e.vType)
        }
    }
}

/// A .vec value in Swift. Arrays are `VecArray`s, shared by reference as in .vec (`VM.call` passes
/// them without a copy); `Value.array([1.0, 2.0])` copies a Swift array into a new one.
public enum Value: Sendable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case f32(Float)
    case bool(Bool)
    case string(String)
    case array(VecArray)
    case f32x8(SIMD8<Float>)
    case f64x4(SIMD4<Double>)
    /// An `m32x8` mask.
    case m32x8(SIMDMask<SIMD8<Int32>>)
    /// An `m64x4` mask.
    case m64x4(SIMDMask<SIMD4<Int64>>)
    /// A `task<T>` handle. Opaque: it can only be passed back to .vec.
    case task(OpaqueValue)
    /// A `chan<T>`. Opaque: it can only be passed back to .vec.
    case channel(OpaqueValue)
    /// No value (the result of a function without one).
    case void

    /// A new `[float]` holding a copy of `elements`.
    public static func array(_ elements: [Double]) -> Value { .array(VecArray(elements)) }
    /// A new `[f32]` holding a copy of `elements`.
    public static func array(_ elements: [Float]) -> Value { .array(VecArray(elements)) }
    /// A new `[int]` holding a copy of `elements`.
    public static func array(_ elements: [Int]) -> Value { .array(VecArray(elements)) }
    /// An array over the host's memory, without a copy (see `VecArray.wrapping`).
    public static func buffer<Element: VecArrayElement>(_ buffer: UnsafeMutableBufferPointer<Element>) -> Value {
        .array(VecArray.wrapping(buffer))
    }

    /// The value's .vec type.
    public var type: ValueType {
        switch self {
        case .int: .int
        case .float: .float
        case .f32: .f32
        case .bool: .bool
        case .string: .string
        case .array(let a): .array(a.kind)
        case .f32x8: .f32x8
        case .f64x4: .f64x4
        case .m32x8: .m32x8
        case .m64x4: .m64x4
        case .task(let o), .channel(let o): o.type
        case .void: .void
        }
    }

    /// What `print` writes for this value in .vec.
    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .float(let v): ValueFormatter.float(v)
        case .f32(let v): ValueFormatter.f32(v)
        case .bool(let v): v ? "true" : "false"
        case .string(let s): s
        case .array(let a): ValueFormatter.array(a.storage)
        case .f32x8(let v): "<" + (0..<8).map { ValueFormatter.f32(v[$0]) }.joined(separator: ", ") + ">"
        case .f64x4(let v): "<" + (0..<4).map { ValueFormatter.float(v[$0]) }.joined(separator: ", ") + ">"
        case .m32x8(let m): "<" + (0..<8).map { m[$0] ? "true" : "false" }.joined(separator: ", ") + ">"
        case .m64x4(let m): "<" + (0..<4).map { m[$0] ? "true" : "false" }.joined(separator: ", ") + ">"
        case .task(let o), .channel(let o): o.description
        case .void: ""
        }
    }

    /// Converts a Swift value (`Double`, `[Float]`, `SIMD8<Float>`…); arrays are copied.
    public init<T: ValueConvertible>(_ value: T) { self = value.vecValue }

    /// The value as a Swift type (`Double.self`, `[Float].self`…), or nil when its type differs.
    public func `as`<T: ValueConvertible>(_ type: T.Type) -> T? { T(vecValue: self) }

    public var intValue: Int? { if case .int(let v) = self { v } else { nil } }
    public var floatValue: Double? { if case .float(let v) = self { v } else { nil } }
    public var f32Value: Float? { if case .f32(let v) = self { v } else { nil } }
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var arrayValue: VecArray? { if case .array(let v) = self { v } else { nil } }
}

extension Value: Equatable {
    /// Scalars, strings and SIMD values compare by value (IEEE: NaN is unequal to itself), arrays
    /// by kind and elements, tasks and channels by identity.
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): a == b
        case (.float(let a), .float(let b)): a == b
        case (.f32(let a), .f32(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.f32x8(let a), .f32x8(let b)): a == b
        case (.f64x4(let a), .f64x4(let b)): a == b
        case (.task(let a), .task(let b)), (.channel(let a), .channel(let b)): a.object === b.object
        case (.void, .void): true
        default: false
        }
    }
}

extension Value: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByStringLiteral
{
    /// An integer literal is an `int`, as in .vec.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A float literal is a `float` (64-bit), as in .vec.
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

/// A task or channel handed out by .vec; the host can only pass it back.
public struct OpaqueValue: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: the object is a VMTask or a Channel, which the VM synchronizes itself.
    let object: AnyObject
    /// `task<T>` or `chan<T>`.
    public let type: ValueType

    public var description: String { ValueFormatter.reference(object, type.vType) }
}

// MARK: - Arrays

/// Swift element types of .vec arrays: `Int` (`[int]`), `Double` (`[float]`), `Float` (`[f32]`).
public protocol VecArrayElement: Sendable {
    static var elementKind: ElementKind { get }
}
extension Int: VecArrayElement { public static var elementKind: ElementKind { .int } }
extension Double: VecArrayElement { public static var elementKind: ElementKind { .float } }
extension Float: VecArrayElement { public static var elementKind: ElementKind { .f32 } }

/// A .vec array: a buffer of `count` elements of one kind, shared by reference. The host and the
/// VM see the same memory: what a .vec function writes into an array argument (`a[i] = x`,
/// `vstore`) the host reads afterwards, and the other way round.
///
/// Arrays the host makes here are not charged to `VMConfiguration.memoryLimit` (the limit is on
/// what scripts allocate).
/// - Note: the VM may read and write the memory from its threads while a run or call is active;
///   the host must not touch it from another thread meanwhile.
public final class VecArray: @unchecked Sendable, Equatable, CustomStringConvertible {
    // @unchecked: the memory is shared with the VM by design; see the note above.
    let storage: VMArray

    init(storage: VMArray) { self.storage = storage }

    /// `.int`, `.float` or `.f32`.
    public var kind: ElementKind { storage.kind }
    public var count: Int { storage.count }

    /// A zero-filled array of `count` elements.
    public init(zeros count: Int, of kind: ElementKind) {
        precondition(count >= 0, "VecArray: negative count")
        do {
            storage = try VMArray.allocate(count: count, kind: kind, account: nil, zeroed: true)
        } catch {
            fatalError("VecArray: out of memory for \(count) elements")
        }
    }

    /// A new array holding a copy of `elements`.
    public convenience init<Element: VecArrayElement>(_ elements: [Element]) {
        self.init(zeros: elements.count, of: Element.elementKind)
        elements.withUnsafeBytes { src in
            if let base = src.baseAddress { storage.data.copyMemory(from: base, byteCount: src.count) }
        }
    }

    /// An array over memory the host owns, with no copy. The VM reads and writes `buffer` directly;
    /// the host must keep it alive (and not free it) while any run or call may use the array — or
    /// pass an `owner` object that keeps it alive as long as the array exists.
    public static func wrapping<Element: VecArrayElement>(
        _ buffer: UnsafeMutableBufferPointer<Element>, owner: AnyObject? = nil
    ) -> VecArray {
        // An empty buffer may have no base address; the VM never dereferences an empty array's data.
        let base = buffer.baseAddress.map(UnsafeMutableRawPointer.init) ?? UnsafeMutableRawPointer(bitPattern: 64)!
        return VecArray(storage: VMArray.wrapping(base, count: buffer.count, kind: Element.elementKind, owner: owner))
    }

    /// A copy of the elements as a Swift array, or nil when `Element` is not this array's kind.
    public func toArray<Element: VecArrayElement>(of type: Element.Type = Element.self) -> [Element]? {
        guard Element.elementKind == kind else { return nil }
        return [Element](UnsafeBufferPointer(start: storage.data.assumingMemoryBound(to: Element.self), count: count))
    }

    /// Runs `body` on the array's memory (no copy). `Element` must be the array's kind.
    public func withUnsafeMutableBufferPointer<Element: VecArrayElement, R>(
        of type: Element.Type, _ body: (UnsafeMutableBufferPointer<Element>) throws -> R
    ) rethrows -> R {
        precondition(Element.elementKind == kind, "VecArray of \(kind.name) elements accessed as \(Element.self)")
        return try body(
            UnsafeMutableBufferPointer(start: storage.data.assumingMemoryBound(to: Element.self), count: count))
    }

    /// What `print` writes for this array in .vec (at most 16 elements shown).
    public var description: String { ValueFormatter.array(storage) }

    /// Same kind, same count, equal elements (IEEE equality for floats).
    public static func == (lhs: VecArray, rhs: VecArray) -> Bool {
        if lhs === rhs { return true }
        guard lhs.kind == rhs.kind, lhs.count == rhs.count else { return false }
        switch lhs.kind {
        case .int: return (0..<lhs.count).allSatisfy { lhs.storage.int($0) == rhs.storage.int($0) }
        case .float: return (0..<lhs.count).allSatisfy { lhs.storage.float($0) == rhs.storage.float($0) }
        case .f32: return (0..<lhs.count).allSatisfy { lhs.storage.f32($0) == rhs.storage.f32($0) }
        case .bool: return (0..<lhs.count).allSatisfy { lhs.storage.bool($0) == rhs.storage.bool($0) }
        }
    }
}

// MARK: - Swift types standing for .vec types

/// A Swift type that stands for one .vec type in `VM.call(_:in:with:as:)` and host functions.
/// Conformances: `Int`, `Double`, `Float`, `Bool`, `String`, `[Int]`, `[Double]`, `[Float]`
/// (copied in and out), `SIMD8<Float>` (`f32x8`), `SIMD4<Double>` (`f64x4`).
public protocol ValueConvertible: Sendable {
    /// The .vec type this Swift type stands for.
    static var valueType: ValueType { get }
    /// The value as a .vec value (arrays are copied into a new `VecArray`).
    var vecValue: Value { get }
    /// The Swift value of a .vec value, or nil when the value is of another type.
    init?(vecValue: Value)
}

/// The types a host function (`VM.register`) may take and return: scalars, strings and arrays.
public protocol HostFunctionValue: ValueConvertible {}

extension Int: HostFunctionValue {
    public static var valueType: ValueType { .int }
    public var vecValue: Value { .int(self) }
    public init?(vecValue: Value) {
        guard case .int(let v) = vecValue else { return nil }
        self = v
    }
}

extension Double: HostFunctionValue {
    public static var valueType: ValueType { .float }
    public var vecValue: Value { .float(self) }
    public init?(vecValue: Value) {
        guard case .float(let v) = vecValue else { return nil }
        self = v
    }
}

extension Float: HostFunctionValue {
    public static var valueType: ValueType { .f32 }
    public var vecValue: Value { .f32(self) }
    public init?(vecValue: Value) {
        guard case .f32(let v) = vecValue else { return nil }
        self = v
    }
}

extension Bool: HostFunctionValue {
    public static var valueType: ValueType { .bool }
    public var vecValue: Value { .bool(self) }
    public init?(vecValue: Value) {
        guard case .bool(let v) = vecValue else { return nil }
        self = v
    }
}

extension String: HostFunctionValue {
    public static var valueType: ValueType { .string }
    public var vecValue: Value { .string(self) }
    public init?(vecValue: Value) {
        guard case .string(let v) = vecValue else { return nil }
        self = v
    }
}

extension Array: ValueConvertible, HostFunctionValue where Element: VecArrayElement {
    public static var valueType: ValueType { .array(Element.elementKind) }
    public var vecValue: Value { .array(VecArray(self)) }
    public init?(vecValue: Value) {
        guard case .array(let a) = vecValue, let elements = a.toArray(of: Element.self) else { return nil }
        self = elements
    }
}

extension SIMD8: ValueConvertible where Scalar == Float {
    public static var valueType: ValueType { .f32x8 }
    public var vecValue: Value { .f32x8(self) }
    public init?(vecValue: Value) {
        guard case .f32x8(let v) = vecValue else { return nil }
        self = v
    }
}

extension SIMD4: ValueConvertible where Scalar == Double {
    public static var valueType: ValueType { .f64x4 }
    public var vecValue: Value { .f64x4(self) }
    public init?(vecValue: Value) {
        guard case .f64x4(let v) = vecValue else { return nil }
        self = v
    }
}

// MARK: - Registers and host values

extension Value {
    /// Writes the value into a frame's registers at `slot` (SIMD values take four slots, references
    /// go in the object registers). The caller has checked that the value's type is the slot's type.
    func store(into regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, at slot: Int) {
        switch self {
        case .int(let v): regs[slot] = UInt64(bitPattern: Int64(v))
        case .float(let v): regs[slot] = v.bitPattern
        case .f32(let v): regs[slot] = UInt64(v.bitPattern)
        case .bool(let v): regs[slot] = v ? 1 : 0
        case .string(let s): objs[slot] = VMString(s)
        case .array(let a): objs[slot] = a.storage
        case .f32x8(var v):
            withUnsafeBytes(of: &v) {
                UnsafeMutableRawPointer(regs + slot).copyMemory(from: $0.baseAddress!, byteCount: 32)
            }
        case .f64x4(var v):
            withUnsafeBytes(of: &v) {
                UnsafeMutableRawPointer(regs + slot).copyMemory(from: $0.baseAddress!, byteCount: 32)
            }
        case .m32x8(let m):
            var lanes = SIMD8<Int32>(repeating: 0).replacing(with: -1, where: m)
            withUnsafeBytes(of: &lanes) {
                UnsafeMutableRawPointer(regs + slot).copyMemory(from: $0.baseAddress!, byteCount: 32)
            }
        case .m64x4(let m):
            var lanes = SIMD4<Int64>(repeating: 0).replacing(with: -1, where: m)
            withUnsafeBytes(of: &lanes) {
                UnsafeMutableRawPointer(regs + slot).copyMemory(from: $0.baseAddress!, byteCount: 32)
            }
        case .task(let o), .channel(let o): objs[slot] = o.object
        case .void: break
        }
    }

    /// The result a finished task left (`VMTask.result` / `resultObject`), as a Value of `type`.
    init(result task: VMTask, type: VType) {
        self.init(slots: task.result, object: task.resultObject, type: type)
    }

    /// The value in its VM form: up to four 64-bit slots (a scalar in the first; SIMD values in all
    /// four) for non-references.
    var slots: (UInt64, UInt64, UInt64, UInt64) {
        switch self {
        case .int(let v): (UInt64(bitPattern: Int64(v)), 0, 0, 0)
        case .float(let v): (v.bitPattern, 0, 0, 0)
        case .f32(let v): (UInt64(v.bitPattern), 0, 0, 0)
        case .bool(let v): (v ? 1 : 0, 0, 0, 0)
        case .f32x8(var v): withUnsafeBytes(of: &v) { $0.loadUnaligned(as: (UInt64, UInt64, UInt64, UInt64).self) }
        case .f64x4(var v): withUnsafeBytes(of: &v) { $0.loadUnaligned(as: (UInt64, UInt64, UInt64, UInt64).self) }
        case .m32x8(let m):
            // A true lane is all ones, as the VM's compares make it.
            withUnsafeBytes(of: SIMD8<Int32>(repeating: 0).replacing(with: -1, where: m)) {
                $0.loadUnaligned(as: (UInt64, UInt64, UInt64, UInt64).self)
            }
        case .m64x4(let m):
            withUnsafeBytes(of: SIMD4<Int64>(repeating: 0).replacing(with: -1, where: m)) {
                $0.loadUnaligned(as: (UInt64, UInt64, UInt64, UInt64).self)
            }
        case .string, .array, .task, .channel, .void: (0, 0, 0, 0)
        }
    }

    /// The value in its VM form, for references (strings, arrays, tasks, channels); nil otherwise.
    var object: AnyObject? {
        switch self {
        case .string(let s): VMString(s)
        case .array(let a): a.storage
        case .task(let o), .channel(let o): o.object
        case .int, .float, .f32, .bool, .f32x8, .f64x4, .m32x8, .m64x4, .void: nil
        }
    }

    /// A value of `type` from its VM form (task results, globals).
    init(slots: (UInt64, UInt64, UInt64, UInt64), object: AnyObject?, type: VType) {
        let (r0, r1, r2, r3) = slots
        switch type {
        case .int: self = .int(Int(Int64(bitPattern: r0)))
        case .float: self = .float(Double(bitPattern: r0))
        case .f32: self = .f32(Float(bitPattern: UInt32(truncatingIfNeeded: r0)))
        case .bool: self = .bool(r0 != 0)
        case .str: self = .string((object as? VMString)?.value ?? "")
        case .array(let k):
            if let a = object as? VMArray {
                self = .array(VecArray(storage: a))
            } else {
                self = .array(VecArray(zeros: 0, of: k))
            }
        case .f32x8, .f64x4, .m32x8, .m64x4:
            var slots = (r0, r1, r2, r3)
            self = withUnsafeBytes(of: &slots) { raw in
                switch type {
                case .f32x8: .f32x8(raw.loadUnaligned(as: SIMD8<Float>.self))
                case .m32x8: .m32x8(raw.loadUnaligned(as: SIMD8<Int32>.self) .!= 0)
                case .m64x4: .m64x4(raw.loadUnaligned(as: SIMD4<Int64>.self) .!= 0)
                default: .f64x4(raw.loadUnaligned(as: SIMD4<Double>.self))
                }
            }
        case .task:
            if let o = object, let t = ValueType(type) {
                self = .task(OpaqueValue(object: o, type: t))
            } else {
                self = .void
            }
        case .chan:
            if let o = object, let t = ValueType(type) {
                self = .channel(OpaqueValue(object: o, type: t))
            } else {
                self = .void
            }
        case .void, .untypedInt, .untypedFloat, .error: self = .void
        }
    }

    /// Whether the value has the .vec type `t` (`type.vType == t` without building the type).
    func matches(_ t: VType) -> Bool {
        switch (self, t) {
        case (.int, .int), (.float, .float), (.f32, .f32), (.bool, .bool), (.string, .str), (.f32x8, .f32x8),
            (.f64x4, .f64x4):
            return true
        case (.array(let a), .array(let k)): return a.kind == k
        case (.task(let o), .task), (.channel(let o), .chan): return o.type.vType == t
        default: return false
        }
    }

    /// The value as a host call's argument or result.
    var hostValue: HostValue {
        switch self {
        case .int(let v): .int(Int64(v))
        case .float(let v): .float(v)
        case .f32(let v): .f32(v)
        case .bool(let v): .bool(v)
        case .string(let s): .string(s)
        case .array(let a): .array(a.storage)
        default: .none
        }
    }

    init(host: HostValue) {
        switch host {
        case .int(let v): self = .int(Int(v))
        case .float(let v): self = .float(v)
        case .f32(let v): self = .f32(v)
        case .bool(let v): self = .bool(v)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(VecArray(storage: a))
        case .none: self = .void
        }
    }
}
