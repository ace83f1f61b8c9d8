// Instances: a compiled program made live, with its own globals and limits (Wasmtime's Instance in
// its own Store; a Lua state that has run a chunk). Instantiating runs the program's top level
// once; then the host calls its functions and reads or writes its globals, as often as it likes,
// from any thread. Instances of one program share nothing but the code; running one never resets
// or reruns another.
//
//     let program = try vm.compile(source: "var count = 0\nfn bump(by: int) -> int { count += by\n return count }", fileName: "c.vec")
//     let a = try vm.instantiate(program)
//     let b = try vm.instantiate(program, limits: Limits(fuel: 1_000))
//     _ = try a.call("bump", with: [5])      // 5
//     a["count", as: Int.self]                // 5
//     b["count", as: Int.self]                // 0
//
// Calls of functions that need no VM task (no spawn, channel, sleep or yield, in them or in what
// they call) run on the calling thread at once (DirectCall.swift); the others go through the VM's
// scheduler (Execution.swift). Several threads may call one instance at the same time: they share
// its globals as the program's own tasks do.

import Synchronization

/// Limits of one run or call: fuel and wall-clock time. `VMConfiguration` gives a VM's defaults,
/// an instance may have its own, and a call may pass its own.
public struct Limits: Sendable, Hashable {
    /// Loop iterations and calls the run may make, all its tasks together (nil: no limit). Spent
    /// fuel stops the run with `VMError.fuelExhausted`. With a budget, `.vec` functions that the
    /// JIT compiled whole run in the interpreter (native code does not count fuel).
    public var fuel: Int?
    /// Wall-clock time the run may take (nil: no limit); past it the run stops with
    /// `VMError.timeLimit`. A run stops at its next loop iteration or call; in a task also at a
    /// scheduling point, and inside a long native kernel only by asynchronous preemption (a direct
    /// call's kernel runs to its end).
    public var timeLimit: Duration?

    public init(fuel: Int? = nil, timeLimit: Duration? = nil) {
        self.fuel = fuel
        self.timeLimit = timeLimit
    }

    /// No limit at all.
    public static let none = Limits()
}

/// A global variable of a program: a top-level `let` or `var`.
public struct GlobalVariable: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let type: ValueType
    /// `var` (the host may write it) or `let`.
    public let isMutable: Bool

    /// `var count: int`.
    public var description: String { "\(isMutable ? "var" : "let") \(name): \(type)" }
}

/// A compiled program made live: its own globals, memory account and limits. Make one with
/// `VM.instantiate(_:limits:memoryLimit:)`; call its functions, read and write its globals.
/// Instances compare equal when they are the same instance (a host function's
/// `HostContext.instance` is equal to the `Instance` that `instantiate` returned).
public final class Instance: @unchecked Sendable, Hashable {
    // @unchecked: immutable; InstanceState synchronizes what changes.
    public let vm: VM
    public let program: CompiledProgram
    let state: InstanceState

    init(vm: VM, program: CompiledProgram, state: InstanceState) {
        self.vm = vm
        self.program = program
        self.state = state
    }

    public static func == (lhs: Instance, rhs: Instance) -> Bool { lhs.state === rhs.state }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(state)) }

    /// The limits each call has unless it passes its own.
    public var limits: Limits { state.limits }

    /// Bytes of array memory this instance's scripts may hold at once (shared with the VM's other
    /// instances unless it was given its own `memoryLimit`).
    public var memoryLimit: Int { state.memory.limit }

    /// What the last run or call on this instance used (nil before the first one ends).
    public var lastRun: RunReport? { state.report.withLock { $0 } }

    // MARK: - Calls

    /// Calls the function `name` with `arguments` (one Value per parameter, of exactly the
    /// parameter's type: `.float(2)`, not `.int(2)`, for a `float`) and returns its result (`.void`
    /// for a function without one). Arrays are passed without a copy. `limits` replaces the
    /// instance's limits for this call. From inside a host function, the call nests in the one that
    /// called the host function (it may not spawn tasks or use channels then).
    public func call(_ name: String, with arguments: [Value] = [], limits: Limits? = nil) throws(VMError) -> Value {
        try call(name, arguments, limits, result: nil)
    }

    /// `call(_:with:limits:)` with the result as a Swift type (`Double.self`, `[Float].self`…); a
    /// function whose result is of another .vec type is `.invalidCall`.
    @inlinable
    public func call<Result: ValueConvertible>(
        _ name: String, with arguments: [Value] = [], limits: Limits? = nil, as type: Result.Type = Result.self
    ) throws(VMError) -> Result {
        // Inlinable, so that the conversion is specialized in the caller (an unspecialized one looks
        // up the metadata of `Result?` at run time, a good part of a call's cost).
        let value = try call(name, arguments, limits, result: Result.valueType)
        guard let result = Result(vecValue: value) else {
            throw VMError.invalidCall("the result of '\(name)' is not a \(Result.valueType)")
        }
        return result
    }

    @usableFromInline
    func call(_ name: String, _ arguments: [Value], _ limits: Limits?, result: ValueType?) throws(VMError) -> Value {
        let index = try vm.checkCall(name, in: program, arguments, result: result)
        return try vm.runFunction(state, index, arguments, limits: limits ?? state.limits, control: nil)
    }

    /// `call(_:with:limits:)` on a thread of its own, without blocking a Swift concurrency thread;
    /// cancelling the calling task cancels the call.
    public func call(_ name: String, with arguments: [Value] = [], limits: Limits? = nil) async throws(VMError)
        -> Value
    {
        let index = try vm.checkCall(name, in: program, arguments)
        let limits = limits ?? self.limits
        let state = state
        return try await vm.offThread(owner: state) { vm, control throws(VMError) in
            try vm.runFunction(state, index, arguments, limits: limits, control: control)
        }
    }

    /// `call(_:with:limits:as:)` without blocking a Swift concurrency thread.
    public func call<Result: ValueConvertible>(
        _ name: String, with arguments: [Value] = [], limits: Limits? = nil, as type: Result.Type = Result.self
    ) async throws(VMError) -> Result {
        _ = try vm.checkCall(name, in: program, arguments, result: Result.valueType)
        return try vm.convert(await call(name, with: arguments, limits: limits), name)
    }

    /// Stops this instance's runs and calls in progress, from any thread; each throws
    /// `.cancelled(reason)`. No effect when none runs.
    public func cancel(reason: String = "cancelled by the host") {
        vm.cancelRuns(of: state, reason: reason)
    }

    // MARK: - Globals

    /// The program's global variables, in declaration order.
    public var globals: [GlobalVariable] { program.globalVariables }

    /// The value of global `name`; `.invalidCall` when there is no such global or its declaration
    /// has not run. Arrays come back without a copy.
    public func global(_ name: String) throws(VMError) -> Value {
        let g = try program.globalInfo(name)
        guard let v = readGlobal(g) else {
            throw .invalidCall("global variable '\(name)' is used before its declaration has run")
        }
        return v
    }

    /// The value of global `name` as a Swift type.
    public func global<T: ValueConvertible>(_ name: String, as type: T.Type) throws(VMError) -> T {
        let v = try global(name)
        guard let t = T(vecValue: v) else {
            throw .invalidCall(
                "global variable '\(name)' is \(v.type.vType.withArticle), not \(T.valueType.vType.withArticle)")
        }
        return t
    }

    /// Sets global `name` (a `var`) to `value`, of exactly its type. Tasks and calls running meanwhile
    /// see the new value as they would another task's write.
    public func setGlobal(_ name: String, to value: Value) throws(VMError) {
        let g = try program.globalInfo(name)
        guard program.mutableGlobals.contains(name) else {
            throw .invalidCall("global '\(name)' is a let constant; only a var can be set")
        }
        guard value.type.vType == g.type else {
            throw .invalidCall(
                "global variable '\(name)' is \(g.type.withArticle), not \(value.type.vType.withArticle)")
        }
        writeGlobal(g, value)
    }

    /// Sets global `name` from a Swift value (arrays are copied into a new VM array).
    public func setGlobal<T: ValueConvertible>(_ name: String, to value: T) throws(VMError) {
        try setGlobal(name, to: value.vecValue)
    }

    /// Global `name` as a Value: nil when there is no such global or its declaration has not run.
    /// Setting it is `setGlobal(_:to:)` that traps on a misuse (an unknown name, a `let`, another
    /// type, or nil): use `setGlobal` when the name or the type comes from outside the code.
    public subscript(name: String) -> Value? {
        get { (try? program.globalInfo(name)).flatMap(readGlobal) }
        set {
            guard let newValue else { preconditionFailure("Instance[\"\(name)\"] = nil: a global cannot be removed") }
            do {
                try setGlobal(name, to: newValue)
            } catch {
                preconditionFailure("Instance[\"\(name)\"]: \(error)")
            }
        }
    }

    /// Global `name` as a Swift type: nil when there is no such global, its declaration has not run,
    /// or it has another type. Setting it traps on a misuse, as the untyped subscript does.
    public subscript<T: ValueConvertible>(name: String, as type: T.Type) -> T? {
        get { self[name].flatMap { T(vecValue: $0) } }
        set {
            guard let newValue else { preconditionFailure("Instance[\"\(name)\"] = nil: a global cannot be removed") }
            self[name] = newValue.vecValue
        }
    }

    private func readGlobal(_ g: GlobalInfo) -> Value? {
        let store = state.globals
        switch g.type.storage {
        case .reference:
            guard store.objectInitialized[g.slot] != 0 else { return nil }
            return Value(slots: (0, 0, 0, 0), object: store.loadObject(g.slot), type: g.type)
        case .scalar:
            guard store.scalarInitialized[g.slot] != 0 else { return nil }
            return Value(slots: (store.scalars[g.slot], 0, 0, 0), object: nil, type: g.type)
        case .simd:
            guard store.scalarInitialized[g.slot] != 0 else { return nil }
            let s = store.scalars + g.slot
            return Value(slots: (s[0], s[1], s[2], s[3]), object: nil, type: g.type)
        case .none:
            return nil
        }
    }

    private func writeGlobal(_ g: GlobalInfo, _ value: Value) {
        let store = state.globals
        switch g.type.storage {
        case .reference:
            store.storeObject(g.slot, value.object)
        case .scalar, .simd:
            // Written in place: the slots are plain words that tasks read racily by design.
            let (w0, w1, w2, w3) = value.slots
            store.scalars[g.slot] = w0
            if g.type.storage == .simd {
                store.scalars[g.slot + 1] = w1
                store.scalars[g.slot + 2] = w2
                store.scalars[g.slot + 3] = w3
            }
            store.scalarInitialized[g.slot] = 1
        case .none:
            break
        }
    }
}

extension VM {
    /// Makes an instance of `program`: fresh globals, then its top level runs once (as a
    /// WebAssembly instance runs its start function); an error there is thrown and no instance is
    /// made. `limits` are the instance's limits for its top level and for every call that passes
    /// none (default: the VM's `fuel` and `timeLimit`). `memoryLimit` gives the instance a memory
    /// account of its own; without it, its arrays count against the VM's `memoryLimit`, with the
    /// other instances that have none.
    public func instantiate(_ program: CompiledProgram, limits: Limits? = nil, memoryLimit: Int? = nil) throws(VMError)
        -> Instance
    {
        let limits = limits ?? defaultLimits
        let state = InstanceState(
            program: program.program, layout: program.layout, hostFunctions: program.hostFunctions,
            globals: GlobalStore(), memory: memoryLimit.map { MemoryAccount(limit: max(0, $0)) } ?? memory,
            limits: limits, vm: self, compiled: program, isStandalone: true)
        _ = try runFunction(state, 0, [], limits: limits, control: nil)
        state.topLevelCompleted.store(true, ordering: .releasing)
        return Instance(vm: self, program: program, state: state)
    }

    /// `instantiate(_:limits:memoryLimit:)` without blocking a Swift concurrency thread.
    public func instantiate(_ program: CompiledProgram, limits: Limits? = nil, memoryLimit: Int? = nil)
        async throws(VMError) -> Instance
    {
        try await offThread(owner: nil) { vm, _ throws(VMError) in
            try vm.instantiate(program, limits: limits, memoryLimit: memoryLimit)
        }
    }

    /// Stops the runs of one instance (`Instance.cancel`).
    func cancelRuns(of instance: InstanceState, reason: String) {
        embedding.state.withLock { s in
            for control in s.directRuns where control.owner === instance { control.request(.host(reason)) }
            for weak in s.directFrames {
                guard let frame = weak.frame, frame.control.owner === instance,
                    frame.active.load(ordering: .sequentiallyConsistent)
                else { continue }
                frame.control.request(.host(reason))
            }
            if let control = s.activeRun, control.owner === instance {
                control.request(.host(reason))
                lock.withLock { _ in scheduler }?.cancel(control.reasonObject())
            }
        }
    }
}

extension CompiledProgram {
    /// The program's global variables (its top-level `let`s and `var`s), in declaration order.
    public var globalVariables: [GlobalVariable] {
        layout.globals.compactMap { g in
            ValueType(g.type).map { GlobalVariable(name: g.name, type: $0, isMutable: mutableGlobals.contains(g.name)) }
        }
    }

    func globalInfo(_ name: String) throws(VMError) -> GlobalInfo {
        // The last declaration of a name wins, as for the code after it.
        guard let g = layout.globals.last(where: { $0.name == name }) else {
            throw .invalidCall("the program \(fileName) has no global variable '\(name)'")
        }
        return g
    }
}
