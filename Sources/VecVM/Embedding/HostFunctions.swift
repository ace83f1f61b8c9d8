// Swift functions callable from .vec. A registered function is a name with .vec parameter and
// result types: programs compiled afterwards may call it like any function, and the checker rejects
// a call with the wrong types at compile time. The typed `register` overloads take those types from
// the closure's Swift signature; the untyped one takes them as ValueTypes and works on Values.
//
//     vm.register("scale") { (x: Double, k: Double) -> Double in x * k }
//     let program = try vm.compile(source: "print(scale(2.0, 3.0))", fileName: "demo.vec")
//
// The interpreter calls a host function on the thread that runs the calling code, between two
// instructions: the caller's own thread in a direct call, else a VM thread running the calling task
// (it should return soon then: it holds one of the VM's processors meanwhile). A closure that takes
// a `HostContext` first learns which instance and task called it and may call back into the VM
// (HostContext.swift). A Swift error it throws ends the run with the runtime error
// "host function 'NAME' failed: ERROR".
//
//     vm.register("twice") { (context: HostContext, x: Double) -> Double in
//         try context.instance.call("scale", with: [.float(x)], as: Double.self) * 2
//     }

extension VM {
    /// Registers a host function with explicit types; `body` gets the arguments as Values of the
    /// parameter types (arrays without a copy) and must return a Value of the result type (`.void`
    /// for `.void`). Types: `int`, `float`, `f32`, `bool`, `string`, arrays; `.void` as a result.
    /// A later registration of the same name replaces this one for programs compiled after it.
    /// - Precondition: `name` is an identifier that is not a keyword or a built-in function.
    public func register(
        _ name: String, parameters: [ValueType], result: ValueType,
        _ body: @escaping @Sendable ([Value]) throws -> Value
    ) {
        register(name, parameters: parameters, result: result) { (_: HostContext, arguments: [Value]) in
            try body(arguments)
        }
    }

    /// Registers a host function with explicit types whose body also gets the `HostContext` of each
    /// call: the calling instance and task, through which it may call back into the VM.
    public func register(
        _ name: String, parameters: [ValueType], result: ValueType,
        _ body: @escaping @Sendable (HostContext, [Value]) throws -> Value
    ) {
        precondition(
            Self.isRegistrableName(name),
            "VM.register: '\(name)' is not an identifier, or is a keyword or a built-in function")
        for t in parameters {
            precondition(
                t.isHostFunctionType, "VM.register(\(name)): a host function cannot take \(t.vType.withArticle)")
        }
        precondition(
            result.isHostFunctionType || result == .void,
            "VM.register(\(name)): a host function cannot return \(result.vType.withArticle)")
        let function = HostFunction(name: name, parameters: parameters.map(\.vType), result: result.vType) {
            site, arguments in
            try body(HostContext(site: site), arguments.map(Value.init(host:))).hostValue
        }
        embedding.state.withLock { s in
            s.hostFunctionIndex[name] = s.hostFunctions.count
            s.hostFunctions.append(function)
        }
    }

    /// Registers a Swift closure as a .vec function; its parameter and result types come from the
    /// closure: `Int` (`int`), `Double` (`float`), `Float` (`f32`), `Bool`, `String` (`str`),
    /// `[Int]`, `[Double]`, `[Float]` (arrays, copied in and out).
    ///
    ///     vm.register("scale") { (x: Double, k: Double) -> Double in x * k }
    public func register<each Argument: HostFunctionValue, Result: HostFunctionValue>(
        _ name: String, _ body: @escaping @Sendable (repeat each Argument) throws -> Result
    ) {
        var parameters: [ValueType] = []
        for t in repeat (each Argument).self { parameters.append(t.valueType) }
        register(name, parameters: parameters, result: Result.valueType) { arguments in
            var next = 0
            return try body(repeat Self.argument(arguments, &next, as: (each Argument).self)).vecValue
        }
    }

    /// Registers a Swift closure without a result as a .vec function (called as a statement).
    ///
    ///     vm.register("log") { (message: String) in print(message) }
    public func register<each Argument: HostFunctionValue>(
        _ name: String, _ body: @escaping @Sendable (repeat each Argument) throws -> Void
    ) {
        var parameters: [ValueType] = []
        for t in repeat (each Argument).self { parameters.append(t.valueType) }
        register(name, parameters: parameters, result: .void) { arguments in
            var next = 0
            try body(repeat Self.argument(arguments, &next, as: (each Argument).self))
            return .void
        }
    }

    /// Registers a Swift closure whose first parameter is the call's `HostContext`; the other
    /// parameters and the result say the .vec signature, as for `register(_:_:)`.
    ///
    ///     vm.register("log") { (context: HostContext, message: String) in
    ///         print("[\(context.instance.program.fileName)]", message)
    ///     }
    public func register<each Argument: HostFunctionValue, Result: HostFunctionValue>(
        _ name: String, _ body: @escaping @Sendable (HostContext, repeat each Argument) throws -> Result
    ) {
        var parameters: [ValueType] = []
        for t in repeat (each Argument).self { parameters.append(t.valueType) }
        register(name, parameters: parameters, result: Result.valueType) { (context: HostContext, arguments: [Value]) in
            var next = 0
            return try body(context, repeat Self.argument(arguments, &next, as: (each Argument).self)).vecValue
        }
    }

    /// Registers a Swift closure without a result whose first parameter is the call's `HostContext`.
    public func register<each Argument: HostFunctionValue>(
        _ name: String, _ body: @escaping @Sendable (HostContext, repeat each Argument) throws -> Void
    ) {
        var parameters: [ValueType] = []
        for t in repeat (each Argument).self { parameters.append(t.valueType) }
        register(name, parameters: parameters, result: .void) { (context: HostContext, arguments: [Value]) in
            var next = 0
            try body(context, repeat Self.argument(arguments, &next, as: (each Argument).self))
            return .void
        }
    }

    /// The host functions registered so far, newest registration of each name: name → signature.
    public var hostFunctions: [String: FunctionSignature] {
        embedding.state.withLock { s in
            s.hostFunctionIndex.mapValues { i in
                let f = s.hostFunctions[i]
                return FunctionSignature(
                    name: f.name, parameters: f.parameters.compactMap(ValueType.init),
                    result: ValueType(f.result) ?? .void)
            }
        }
    }

    /// The checker's view of the registered functions, and the list a compiled program keeps.
    func hostFunctionsForCompile() -> (
        functions: [HostFunction], environment: [String: (index: Int, parameters: [VType], result: VType)]
    ) {
        embedding.state.withLock { s in
            var environment: [String: (index: Int, parameters: [VType], result: VType)] = [:]
            for (name, i) in s.hostFunctionIndex {
                environment[name] = (
                    index: i, parameters: s.hostFunctions[i].parameters, result: s.hostFunctions[i].result
                )
            }
            return (s.hostFunctions, environment)
        }
    }

    private static func argument<T: HostFunctionValue>(_ arguments: [Value], _ next: inout Int, as type: T.Type) throws
        -> T
    {
        defer { next += 1 }
        // The checker and HostFunction.call guarantee the type; this guards the invariant.
        guard next < arguments.count, let value = T(vecValue: arguments[next]) else { throw HostArgumentMismatch() }
        return value
    }

    private static func isRegistrableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.properties.isAlphabetic && first.isASCII)
        else { return false }
        guard
            name.unicodeScalars.allSatisfy({
                $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
            })
        else {
            return false
        }
        return TokenKind.keywords[name] == nil && Builtin(rawValue: name) == nil
    }
}

private struct HostArgumentMismatch: Error, CustomStringConvertible {
    var description: String { "an argument does not have the declared type" }
}

/// A function's .vec signature.
public struct FunctionSignature: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let parameters: [ValueType]
    public let result: ValueType

    /// `name(float, [f32]) -> float`.
    public var description: String {
        "\(name)(" + parameters.map(\.description).joined(separator: ", ") + ")"
            + (result == .void ? "" : " -> \(result)")
    }
}
