// Hooks for embedding apps: Swift functions callable from .vec (`callHost`) and a fuel budget that
// stops untrusted scripts. The public, typed API on top of these is in Embedding/.

import Synchronization

/// A value crossing between .vec and a host function.
enum HostValue {
    case int(Int64)
    case float(Double)
    case f32(Float)
    case bool(Bool)
    case string(String)
    case array(VMArray)
    case none
}

/// A Swift function registered by the host. Its parameter and result types are .vec types, checked at
/// compile time like any call; the body gets and returns HostValues of exactly those types.
final class HostFunction: @unchecked Sendable {
    let name: String
    let parameters: [VType]
    let result: VType
    let body: ([HostValue]) throws -> HostValue

    init(name: String, parameters: [VType], result: VType, body: @escaping ([HostValue]) throws -> HostValue) {
        self.name = name
        self.parameters = parameters
        self.result = result
        self.body = body
    }

    /// Runs `f` with the arguments in consecutive registers from `base`; the result goes to `base`.
    static func call(
        _ f: HostFunction, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, base: Int,
        _ ctx: ExecutionContext
    ) throws(Trap) {
        var args: [HostValue] = []
        args.reserveCapacity(f.parameters.count)
        for (i, t) in f.parameters.enumerated() {
            let r = base + i
            switch t {
            case .int: args.append(.int(Int64(bitPattern: regs[r])))
            case .float: args.append(.float(Double(bitPattern: regs[r])))
            case .f32: args.append(.f32(Float(bitPattern: UInt32(truncatingIfNeeded: regs[r]))))
            case .bool: args.append(.bool(regs[r] != 0))
            case .str: args.append(.string((objs[r] as? VMString)?.value ?? ""))
            case .array: args.append(objs[r].map { .array(unsafeDowncast($0, to: VMArray.self)) } ?? .none)
            default: args.append(.none)
            }
        }
        let value: HostValue
        do {
            value = try f.body(args)
        } catch {
            throw Trap("host function '\(f.name)' failed: \(error)")
        }
        switch (f.result, value) {
        case (.int, .int(let v)): regs[base] = UInt64(bitPattern: v)
        case (.float, .float(let v)): regs[base] = v.bitPattern
        case (.f32, .f32(let v)): regs[base] = UInt64(v.bitPattern)
        case (.bool, .bool(let v)): regs[base] = v ? 1 : 0
        case (.str, .string(let v)): objs[base] = try VMString.make(v, ctx.memory)
        case (.array(let k), .array(let a)) where a.kind == k: objs[base] = a
        case (.void, _): break
        default: throw Trap("host function '\(f.name)' returned a value that is not a \(f.result)")
        }
    }
}

/// A budget of loop iterations and calls shared by the tasks of one VM. Tasks take it in chunks, so
/// the shared counter is touched once per `chunk` back-edges.
final class FuelTank: Sendable {
    static let chunk = 10_000
    let budget: Int
    private let remaining: Atomic<Int>

    init(budget: Int) {
        self.budget = budget
        remaining = Atomic(budget)
    }

    /// Takes up to `n` units; returns how many (0 when the budget is spent).
    func take(_ n: Int) -> Int {
        var current = remaining.load(ordering: .relaxed)
        while current > 0 {
            let grant = min(n, current)
            let (exchanged, original) = remaining.compareExchange(
                expected: current, desired: current - grant, ordering: .relaxed)
            if exchanged { return grant }
            current = original
        }
        return 0
    }

    var left: Int { remaining.load(ordering: .relaxed) }
}
