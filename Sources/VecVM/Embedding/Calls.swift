// Calling .vec functions from Swift, and the async forms of running and calling.
//
//     let program = try vm.compile(source: "fn norm(x: [f32]) -> f32 { return sqrt(sum(x * x)) }", fileName: "m.vec")
//     let n = try vm.call("norm", in: program, with: [.array([3, 4] as [Float])], as: Float.self)   // 5.0
//
// A call is a run whose main task starts at the function (Execution.swift): the program's globals
// must exist first, so the first call of a program on a VM runs its top level (its `print`s show),
// as instantiating a module runs its start function. Later calls reuse those globals until another
// program's top level runs on the VM.
//
// The async forms run the blocking call on a dedicated thread and resume the caller when it ends,
// so that no Swift concurrency thread waits on the VM; cancelling the Swift task cancels the run.

extension VM {
    /// Calls the function `name` of `program` with `arguments` (one Value per parameter, of exactly
    /// the parameter's type: `.float(2)`, not `.int(2)`, for a `float`) and returns its result
    /// (`.void` for a function without one). Arrays are passed without a copy: what the function
    /// writes into one the caller sees. Runs the program's top level first if this VM has not.
    public func call(_ name: String, in program: CompiledProgram, with arguments: [Value] = []) throws(VMError) -> Value
    {
        try callFunction(name, in: program, with: arguments, control: RunControl())
    }

    /// `call(_:in:with:)` with the result as a Swift type (`Double.self`, `[Float].self`,
    /// `SIMD8<Float>.self`…); a function whose result is of another .vec type is `.invalidCall`.
    public func call<Result: ValueConvertible>(
        _ name: String, in program: CompiledProgram, with arguments: [Value] = [],
        as type: Result.Type = Result.self
    ) throws(VMError) -> Result {
        try checkResultType(name, in: program, Result.valueType)
        return try convert(call(name, in: program, with: arguments), name)
    }

    // MARK: - async

    /// Runs a compiled program without blocking a Swift concurrency thread; cancelling the calling
    /// task cancels the run (`VMError.cancelled`).
    public func run(_ program: CompiledProgram) async throws(VMError) {
        try await offThread { vm, control throws(VMError) in try vm.runTopLevel(program, control: control) }
    }

    /// Compiles and runs a program without blocking a Swift concurrency thread.
    public func run(source: String, fileName: String) async throws(VMError) {
        let program: CompiledProgram
        do {
            program = try compile(source: source, fileName: fileName)
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
        try await offThread { vm, control throws(VMError) in
            try vm.callFunction(name, in: program, with: arguments, control: control)
        }
    }

    /// `call(_:in:with:as:)` without blocking a Swift concurrency thread.
    public func call<Result: ValueConvertible>(
        _ name: String, in program: CompiledProgram, with arguments: [Value] = [],
        as type: Result.Type = Result.self
    ) async throws(VMError) -> Result {
        try checkResultType(name, in: program, Result.valueType)
        return try convert(await call(name, in: program, with: arguments), name)
    }

    /// Runs `body` on a new thread and waits for it without blocking; task cancellation stops it.
    private func offThread<T: Sendable>(_ body: @escaping @Sendable (VM, RunControl) throws(VMError) -> T)
        async throws(VMError) -> T
    {
        let control = RunControl()
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

    private func checkResultType(_ name: String, in program: CompiledProgram, _ wanted: ValueType) throws(VMError) {
        guard let f = program.program.function(named: name) else {
            throw .invalidCall("the program \(program.fileName) has no function '\(name)'")
        }
        if f.resultType != wanted.vType {
            throw .invalidCall(
                "'\(name)' returns \(f.resultType == .void ? "no value" : f.resultType.withArticle), not \(wanted.vType.withArticle)"
            )
        }
    }

    private func convert<Result: ValueConvertible>(_ value: Value, _ name: String) throws(VMError) -> Result {
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
        program.function(named: name).map(Self.signature)
    }

    private static func signature(_ f: Function) -> FunctionSignature {
        FunctionSignature(
            name: f.name, parameters: f.parameterTypes.compactMap(ValueType.init),
            result: ValueType(f.resultType) ?? .void)
    }
}
