// Hooks for embedding apps: Swift functions callable from .vec (`callHost`) and a fuel budget that
// stops untrusted scripts (and says afterwards how much a run used). The public, typed API on top of these is in Embedding/.

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

/// Where a host function was called from: the context the embedding layer hands to the closure
/// (Embedding/HostContext.swift builds the public `HostContext` from it).
struct HostCallSite {
    let ctx: ExecutionContext
    /// The calling code's task state (a direct call has one too, though it runs in no VM task).
    let state: TaskState
}

/// A Swift function registered by the host. Its parameter and result types are .vec types, checked at
/// compile time like any call; the body gets and returns HostValues of exactly those types.
final class HostFunction: @unchecked Sendable {
    let name: String
    let parameters: [VType]
    let result: VType
    let body: (HostCallSite, [HostValue]) throws -> HostValue

    init(
        name: String, parameters: [VType], result: VType,
        body: @escaping (HostCallSite, [HostValue]) throws -> HostValue
    ) {
        self.name = name
        self.parameters = parameters
        self.result = result
        self.body = body
    }

    /// Runs `f` with the arguments in consecutive registers from `base`; the result goes to `base`.
    static func call(
        _ f: HostFunction, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, base: Int,
        _ ctx: ExecutionContext, _ state: TaskState
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
            value = try f.body(HostCallSite(ctx: ctx, state: state), args)
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

    /// Gives back what a task drew and did not spend (when it ends), so that `used` is exact.
    func refund(_ n: Int) { remaining.wrappingAdd(n, ordering: .relaxed) }

    /// Units spent so far: exact once every task of the run has ended normally; a task stopped by an
    /// error keeps what it had drawn (up to one chunk).
    var used: Int { budget - left }
}
