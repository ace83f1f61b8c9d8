// The VM-level way of running and calling: `VM.run(_:)` and `VM.call(_:in:with:)`, on a program's
// default instance on this VM, and the async forms of both.
//
//     let program = try vm.compile(source: "fn norm(x: [f32]) -> f32 { return sqrt(sum(x * x)) }", fileName: "m.vec")
//     let n = try vm.call("norm", in: program, with: [.array([3, 4] as [Float])], as: Float.self)   // 5.0
//
// A program has one default instance per VM (CompiledProgram.defaults). The first call makes it and
// runs its top level (its `print`s show), as instantiating a module runs its start function; later
// calls reuse its globals. `run(_:)` makes a fresh one. Programs' default instances are independent:
// running or calling program B never resets program A's globals or reruns A's top level. For more
// than one instance of a program, or limits of its own, use `VM.instantiate` (Instance.swift).
//
// The async forms run the blocking call on a dedicated thread and resume the caller when it ends,
// so that no Swift concurrency thread waits on the VM; cancelling the Swift task cancels the run.

import CJITStubs

extension VM {
    /// Calls the function `name` of `program` with `arguments` (one Value per parameter, of exactly
    /// the parameter's type: `.float(2)`, not `.int(2)`, for a `float`) and returns its result
    /// (`.void` for a function without one). Arrays are passed without a copy: what the function
    /// writes into one the caller sees. Runs the program's top level first if this VM has not (in
    /// its default instance here; see `instantiate` for instances of your own).
    public func call(_ name: String, in program: CompiledProgram, with arguments: [Value] = []) throws(VMError) -> Value
    {
        try call(name, program, arguments, result: nil)
    }

    /// `call(_:in:with:)` with the result as a Swift type (`Double.self`, `[Float].self`,
    /// `SIMD8<Float>.self`…); a function whose result is of another .vec type is `.invalidCall`.
    @inlinable
    public func call<Result: ValueConvertible>(
        _ name: String, in program: CompiledProgram, with arguments: [Value] = [],
        as type: Result.Type = Result.self
    ) throws(VMError) -> Result {
        // Inlinable, so that the conversion is specialized in the caller (Instance.call<Result>).
        let value = try call(name, program, arguments, result: Result.valueType)
        guard let result = Result(vecValue: value) else {
            throw VMError.invalidCall("the result of '\(name)' is not a \(Result.valueType)")
        }
        return result
    }

    @usableFromInline
    func call(_ name: String, _ program: CompiledProgram, _ arguments: [Value], result: ValueType?) throws(VMError)
        -> Value
    {
        let index = try checkCall(name, in: program, arguments, result: result)
        let state = try defaultInstance(of: program)
        return try runDefault(state, index, arguments, control: nil)
    }

    // MARK: - Default instances

    /// Runs the top level of `compiled` in a fresh default instance (`run(_:)`).
    func runTopLevel(_ compiled: CompiledProgram, control: RunControl?) throws(VMError) {
        try ensureNotInTask()
        try compiled.defaultsLock.withLock { _ throws(VMError) in
            let state = makeDefaultInstance(compiled)
            _ = try runDefault(state, 0, [], control: control)
        }
    }

    /// Calls function `name` of `compiled` in its default instance, made (and its top level run)
    /// first if needed.
    func callFunction(_ name: String, in compiled: CompiledProgram, with arguments: [Value], control: RunControl?)
        throws(VMError) -> Value
    {
        let index = try checkCall(name, in: compiled, arguments)
        let state = try defaultInstance(of: compiled)
        return try runDefault(state, index, arguments, control: control)
    }

    /// The default instance of `compiled` on this VM whose top level has completed, made now if
    /// there is none (its top level runs on the scheduler, as `run` does).
    private func defaultInstance(of compiled: CompiledProgram) throws(VMError) -> InstanceState {
        if let s = compiled.defaultInstance(for: self), s.topLevelCompleted.load(ordering: .acquiring) { return s }
        // From inside a task (a host function), the top level cannot run (it blocks a thread on the
        // scheduler): only an instance that exists can be called.
        if vm_current_m() != nil {
            throw .invalidCall(
                "the top level of \(compiled.fileName) has not run on this VM; it cannot run from inside a VM task")
        }
        return try compiled.defaultsLock.withLock { _ throws(VMError) -> InstanceState in
            if let s = compiled.defaultInstance(for: self), s.topLevelCompleted.load(ordering: .acquiring) {
                return s  // another thread made it meanwhile
            }
            let state = makeDefaultInstance(compiled)
            _ = try runDefault(state, 0, [], control: nil)
            return state
        }
    }

    /// A fresh default instance, replacing the old one (and those of VMs that are gone).
    private func makeDefaultInstance(_ compiled: CompiledProgram) -> InstanceState {
        let state = InstanceState(
            program: compiled.program, layout: compiled.layout, hostFunctions: compiled.hostFunctions,
            globals: GlobalStore(), memory: memory, limits: defaultLimits, vm: self, compiled: compiled,
            isStandalone: true)
        compiled.defaults.withLock { defaults in
            defaults.removeAll { $0.vm == nil || $0.vm === self }
            defaults.append(state)
        }
        return state
    }

    /// A run in a default instance, with the VM's limits; the VM's report is updated. The top level
    /// always runs on the scheduler (as `run` always has: its counters, its tasks); functions run
    /// directly when they can.
    private func runDefault(_ state: InstanceState, _ index: Int, _ arguments: [Value], control: RunControl?)
        throws(VMError) -> Value
    {
        if index == 0 {
            return try runScheduled(
                state, 0, [], limits: defaultLimits, control: control ?? RunControl(owner: state), reportToVM: true)
        }
        return try runFunction(state, index, arguments, limits: defaultLimits, control: control, reportToVM: true)
    }

    // MARK: - async

    /// Runs a compiled program without blocking a Swift concurrency thread; cancelling the calling
    /// task cancels the run (`VMError.cancelled`).
    public func run(_ program: CompiledProgram) async throws(VMError) {
        try await offThread(owner: nil) { vm, control throws(VMError) in
            try vm.runTopLevel(program, control: control)
        }
    }

    /// Compiles and runs a program without blocking a Swift concurrency thread.
    public func run(source: String, fileName: String) async throws(VMError) {
        let program: CompiledProgram
        do {
            program = try compile(source: source, fileName: fileName, hostReadableGlobals: false)
        } catch {
            throw .compile(error)
        }
        try await run(program)
    }

    /// `call(_:in:with:)` without blocking a Swift concurrency thread; cancelling the calling task
    /// cancels the call.
    public func call(_ name: String, in program: CompiledProgram, with arguments: [Value] = []) async throws(VMError)
        -> Value
    {
        try await offThread(owner: nil) { vm, control throws(VMError) in
            try vm.callFunction(name, in: program, with: arguments, control: control)
        }
    }

    /// `call(_:in:with:as:)` without blocking a Swift concurrency thread.
    public func call<Result: ValueConvertible>(
        _ name: String, in program: CompiledProgram, with arguments: [Value] = [],
        as type: Result.Type = Result.self
    ) async throws(VMError) -> Result {
        _ = try checkCall(name, in: program, arguments, result: Result.valueType)
        return try convert(await call(name, in: program, with: arguments), name)
    }

    /// Runs `body` on a new thread and waits for it without blocking; task cancellation stops it.
    func offThread<T: Sendable>(
        owner: InstanceState?, _ body: @escaping @Sendable (VM, RunControl) throws(VMError) -> T
    ) async throws(VMError) -> T {
        let control = RunControl(owner: owner)
        let result: Result<T, VMError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, VMError>, Never>) in
                startDetachedThread {
                    do throws(VMError) {
                        continuation.resume(returning: .success(try body(self, control)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            stop(control, .host("the Swift task was cancelled"))
        }
        return try result.get()
    }

    func convert<Result: ValueConvertible>(_ value: Value, _ name: String) throws(VMError) -> Result {
        guard let r = Result(vecValue: value) else {
            throw .invalidCall("the result of '\(name)' is not \(Result.valueType.vType.withArticle)")
        }
        return r
    }
}

extension CompiledProgram {
    /// The program's functions (not its top level), in declaration order.
    public var functions: [FunctionSignature] {
        program.functions.dropFirst().map(Self.signature)
    }

    /// The signature of function `name`, or nil if the program has none of that name.
    public func signature(of name: String) -> FunctionSignature? {
        index(ofFunction: name).map { Self.signature(program.functions[$0]) }
    }

    private static func signature(_ f: Function) -> FunctionSignature {
        FunctionSignature(
            name: f.name, parameters: f.parameterTypes.compactMap(ValueType.init),
            result: ValueType(f.resultType) ?? .void)
    }
}
