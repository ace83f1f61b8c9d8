// The type checker, part 3: expressions — names (with "did you mean" suggestions), literals,
// operators, indexing, literal contexts. See Checker.swift for the checker's state.

extension Checker {
    // MARK: - Expressions

    /// Checks `e` in a context that expects `expected` (or nothing). Returns a concrete type: untyped
    /// literals are fixed here, to `expected`'s lane type when it has one, else to `int`/`float`.
    @discardableResult
    mutating func check(_ e: Expr, expected: VType?, allowVoid: Bool = false) -> VType {
        var t = infer(e, expected: expected)
        if t.isUntyped {
            let target: VType
            if let exp = expected, exp.isNumericScalar {
                target = exp
            } else if let exp = expected, let lane = exp.laneType, exp.isArray || exp.isSIMD, e is ArrayLiteral {
                target = lane
            } else {
                target = t == .untypedInt ? .int : .float
            }
            t = resolveUntyped(e, to: target)
        }
        if t == .void && !allowVoid {
            error("this call produces no value", at: e.location)
            e.type = .error
            return .error
        }
        return t
    }

    /// Fixes the type of an untyped (literal-only) subtree to `target` (a numeric scalar type).
    @discardableResult
    mutating func resolveUntyped(_ e: Expr, to target: VType) -> VType {
        guard target.isNumericScalar else {
            e.type = .error
            return .error
        }
        switch e.kind {
        case .intLiteral(let lit):
            if target == .int, (lit.magnitude ?? UInt64.max) > UInt64(Int64.max) {
                error("integer literal \(lit.text) does not fit in an int", at: lit.location)
                e.type = .error
                return .error
            }
            if lit.magnitude == nil {
                error("integer literal \(lit.text) is too large", at: lit.location)
                e.type = .error
                return .error
            }
        case .floatLiteral(let lit):
            if target == .int {
                error("cannot use float literal \(lit.text) as an int", at: lit.location)
                e.type = .error
                return .error
            }
        case .unary(let u):
            if let lit = u.operand as? IntLiteral, target == .int, lit.magnitude == UInt64(1) << 63 {
                lit.type = .int  // -9223372036854775808 is representable
            } else {
                resolveUntyped(u.operand, to: target)
            }
        case .binary(let b):
            if b.op == .mod && target != .int {
                error("'%' is for integers", at: b.location)
            }
            if b.op.isComparison {
                // The operands were already fixed when the comparison was inferred.
                e.type = .bool
                return .bool
            }
            resolveUntyped(b.lhs, to: target)
            resolveUntyped(b.rhs, to: target)
        // Only literals and operators on them are untyped: nothing below to fix.
        case .stringLiteral, .boolLiteral, .name, .call, .spawn, .index, .slice, .arrayLiteral:
            break
        }
        e.type = target
        return target
    }

    /// The variable `n` names; `reading: false` for the target of an assignment (not a use of its value).
    mutating func resolveName(_ n: NameExpr, reading: Bool = true) -> Variable? {
        if let v = lookup(n.name) {
            n.variable = v
            if reading { v.isRead = true }
            return v
        }
        // Function bodies see every top-level variable of the file; top-level code sees them in order
        // (through `scopes`), plus the globals of earlier REPL lines.
        if let v = topLevelVariables[n.name], currentFunction != nil || isEarlierGlobal(v) {
            if currentFunction != nil { v.usedByFunction = true }
            n.variable = v
            if reading { v.isRead = true }
            return v
        }
        if functionsByName[n.name] != nil || environment.functions[n.name] != nil || externsByName[n.name] != nil {
            error("'\(n.name)' is a function; call it with '\(n.name)(...)'", at: n.location)
        } else if let b = Builtin(rawValue: n.name), b != .chanMake {
            error("'\(n.name)' is a built-in function; call it with '\(n.name)(...)'", at: n.location)
        } else if topLevelVariables[n.name] != nil || laterTopLevelNames.contains(n.name) {
            error("'\(n.name)' is used before its declaration", at: n.location)
        } else {
            error(
                "unknown name '\(n.name)'" + Suggestions.hint(for: n.name, among: visibleVariableNames), at: n.location)
        }
        n.type = .error
        return nil
    }

    // MARK: - Names for "did you mean" (Frontend/Suggestions.swift)

    /// The variables visible where the checker is (and `true`/`false`, for a misspelled literal).
    var visibleVariableNames: [String] {
        var names = scopes.flatMap(\.keys)
        names += currentFunction != nil ? Array(topLevelVariables.keys) : Array(environment.globals.keys)
        return names + ["true", "false"]
    }

    /// Functions declared with `fn` in this file and earlier compilations (what `spawn` accepts).
    var declaredFunctionNames: [String] { Array(functionsByName.keys) + environment.functions.keys }

    /// Everything that can be called by name: functions, externs, host functions and built-ins.
    var callableNames: [String] {
        declaredFunctionNames + externsByName.keys + environment.externs.keys + environment.hostFunctions.keys
            + Builtin.allCases.map(\.rawValue).filter { $0 != Builtin.chanMake.rawValue }
    }

    /// A global of an earlier REPL line (already compiled, so already has its slot).
    func isEarlierGlobal(_ v: Variable) -> Bool { environment.globals[v.name] === v }

    /// The natural type of `e`, possibly untyped. `expected` only guides literals nested in calls and
    /// array literals; callers compare the result against what they need.
    mutating func infer(_ e: Expr, expected: VType? = nil) -> VType {
        let t = inferUncached(e, expected: expected)
        e.type = t
        return t
    }

    mutating func inferUncached(_ e: Expr, expected: VType?) -> VType {
        switch e.kind {
        case .intLiteral: return .untypedInt
        case .floatLiteral: return .untypedFloat
        case .stringLiteral: return .str
        case .boolLiteral: return .bool
        case .name(let n):
            return resolveName(n)?.type ?? .error
        case .unary(let u):
            switch u.op {
            case .not:
                let t = check(u.operand, expected: .bool)
                if t.isElementwiseBool { return t }
                if !t.matches(.bool) {
                    error("'!' needs a bool, a [bool] or a mask, found \(t)", at: u.location)
                    return .error
                }
                return .bool
            case .negate:
                let t = infer(u.operand, expected: expected)
                if t.isUntyped || t == .error { return t }
                if t.numericLane != nil { return t }
                error("cannot negate a value of type \(t)", at: u.location)
                return .error
            }
        case .binary(let b):
            return inferBinary(b, expected: expected)
        case .call(let c):
            return inferCall(c, expected: expected)
        case .spawn(let s):
            let c = s.call
            guard let f = functionsByName[c.callee] ?? environment.functions[c.callee] else {
                for a in c.args { _ = check(a, expected: nil) }
                if externsByName[c.callee] != nil || Builtin(rawValue: c.callee) != nil {
                    error(
                        "'spawn' starts a function declared with 'fn'; '\(c.callee)' is not one", at: c.calleeLocation)
                } else {
                    error(
                        "unknown function '\(c.callee)'"
                            + Suggestions.hint(for: c.callee, among: declaredFunctionNames),
                        at: c.calleeLocation)
                }
                return .error
            }
            checkArguments(c, f.name, f.parameterTypes)
            c.target = .function(FunctionLink(f))
            c.type = f.resultType
            return .task(f.resultType)
        case .index(let ix):
            let bt = check(ix.base, expected: nil)
            let it = check(ix.index, expected: .int)
            if !it.matches(.int) { error("an index must be an int, found \(it)", at: ix.index.location) }
            switch bt {
            case .array(let el): return el.scalarType
            case .error: return .error
            case .f32x8, .f64x4, .m32x8, .m64x4:
                error("use lane(v, k) to read a lane of a SIMD value", at: ix.location)
                return .error
            default:
                error("cannot index a value of type \(bt)", at: ix.location)
                return .error
            }
        case .slice(let s):
            let bt = check(s.base, expected: nil)
            for bound in [s.lower, s.upper] {
                let t = check(bound, expected: .int)
                if !t.matches(.int) { error("a slice bound must be an int, found \(t)", at: bound.location) }
            }
            if bt.isArray || bt == .error { return bt }
            error("cannot slice a value of type \(bt)", at: s.location)
            return .error
        case .arrayLiteral(let a):
            return inferArrayLiteral(a, expected: expected)
        }
    }

    mutating func inferArrayLiteral(_ a: ArrayLiteral, expected: VType?) -> VType {
        if case .array(let el)? = expected {
            for x in a.elements {
                let t = check(x, expected: el.scalarType)
                if !t.matches(el.scalarType) {
                    error("array element must be \(el.scalarType), found \(t)", at: x.location)
                }
            }
            return .array(el)
        }
        if a.elements.isEmpty {
            error("an empty array literal needs a declared type ('let a: [float] = []')", at: a.location)
            return .error
        }
        let types = a.elements.map { infer($0) }
        var concrete: VType?
        for (x, t) in zip(a.elements, types) where !t.isUntyped && t != .error {
            if !t.isNumericScalar && t != .bool {
                error("arrays hold int, float, f32 or bool, not \(t)", at: x.location)
                return .error
            }
            if let c = concrete, c != t {
                error("array elements must all have the same type: \(c) and \(t)", at: x.location)
                return .error
            }
            concrete = t
        }
        if types.contains(.error) { return .error }
        let el = concrete ?? (types.contains(.untypedFloat) ? .float : .int)
        if el == .bool, let x = zip(a.elements, types).first(where: { $0.1.isUntyped })?.0 {
            error("array elements must all have the same type: bool and \(x.type)", at: x.location)
            return .error
        }
        for (x, t) in zip(a.elements, types) where t.isUntyped { resolveUntyped(x, to: el) }
        return .array(el.elementKind!)
    }

    mutating func inferBinary(_ b: BinaryExpr, expected: VType?) -> VType {
        if b.op == .and || b.op == .or {
            let types = [b.lhs, b.rhs].map { check($0, expected: .bool) }
            for (side, t) in zip([b.lhs, b.rhs], types) where !t.matches(.bool) && !t.isElementwiseBool {
                error("'\(b.op.rawValue)' needs bool operands (or [bool] / masks), found \(t)", at: side.location)
                return .error
            }
            // Elementwise on [bool] and masks (both sides evaluated); a bool scalar is broadcast.
            if let t = types.first(where: \.isElementwiseBool) {
                for u in types where u.isElementwiseBool && u != t {
                    error("cannot apply '\(b.op.rawValue)' to \(types[0]) and \(types[1])", at: b.location)
                    return .error
                }
                return t
            }
            return .bool
        }
        var lt = infer(b.lhs, expected: b.op.isComparison ? nil : expected)
        var rt = infer(b.rhs, expected: b.op.isComparison ? nil : expected)
        if lt == .void || rt == .void {
            error("this call produces no value", at: (lt == .void ? b.lhs : b.rhs).location)
            return .error
        }
        if lt == .error || rt == .error {
            if lt.isUntyped { resolveUntyped(b.lhs, to: lt == .untypedInt ? .int : .float) }
            if rt.isUntyped { resolveUntyped(b.rhs, to: rt == .untypedInt ? .int : .float) }
            return .error
        }
        if lt.isUntyped && rt.isUntyped {
            if b.op.isComparison {
                let t: VType = lt == .untypedFloat || rt == .untypedFloat ? .float : .int
                resolveUntyped(b.lhs, to: t)
                resolveUntyped(b.rhs, to: t)
                return .bool
            }
            return lt == .untypedFloat || rt == .untypedFloat ? .untypedFloat : .untypedInt
        }
        // One side untyped: it takes the lane type of the other side.
        if lt.isUntyped {
            guard let lane = rt.numericLane else {
                error("cannot apply '\(b.op.rawValue)' to a number and a value of type \(rt)", at: b.location)
                resolveUntyped(b.lhs, to: lt == .untypedInt ? .int : .float)
                return .error
            }
            lt = resolveUntyped(b.lhs, to: lane)
            if lt == .error { return .error }
        } else if rt.isUntyped {
            guard let lane = lt.numericLane else {
                error("cannot apply '\(b.op.rawValue)' to a value of type \(lt) and a number", at: b.location)
                resolveUntyped(b.rhs, to: rt == .untypedInt ? .int : .float)
                return .error
            }
            rt = resolveUntyped(b.rhs, to: lane)
            if rt == .error { return .error }
        }
        if b.op.isComparison { return comparisonResult(b.op, lt, rt, at: b.location) }
        return arithmeticResult(b.op, lt, rt, at: b.location)
    }

    mutating func comparisonResult(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation) -> VType {
        // Elementwise: arrays (with a broadcast scalar) give a [bool], SIMD values a mask.
        if lt.isArray || rt.isArray || lt.isSIMD || rt.isSIMD || lt.isMask || rt.isMask {
            return elementwiseComparison(op, lt, rt, at: loc)
        }
        if lt != rt {
            error("cannot compare \(lt) with \(rt)\(conversionHint(lt, rt))", at: loc)
            return .error
        }
        switch lt {
        case .int, .float, .f32, .str: return .bool
        case .bool:
            if op == .eq || op == .ne { return .bool }
            error("'\(op.rawValue)' does not order bools; only '==' and '!=' compare them", at: loc)
            return .error
        default:
            error("cannot compare values of type \(lt)", at: loc)
            return .error
        }
    }

    mutating func elementwiseComparison(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation)
        -> VType
    {
        guard let ll = lt.laneType, let rl = rt.laneType, ll == rl else {
            error("cannot compare \(lt) with \(rt)", at: loc)
            return .error
        }
        if lt.isMask || rt.isMask {
            error("cannot compare masks; combine them with '&&', '||' and '!'", at: loc)
            return .error
        }
        if ll == .bool && op != .eq && op != .ne {
            error("'\(op.rawValue)' does not order bools; only '==' and '!=' compare them", at: loc)
            return .error
        }
        if lt.isArray && rt.isArray && lt != rt || lt.isSIMD && rt.isSIMD && lt != rt || lt.isArray && rt.isSIMD
            || lt.isSIMD && rt.isArray
        {
            error("cannot compare \(lt) with \(rt)", at: loc)
            return .error
        }
        if lt.isSIMD || rt.isSIMD { return (lt.isSIMD ? lt : rt).maskType! }
        return .array(.bool)
    }

    func conversionHint(_ a: VType, _ b: VType) -> String {
        if a.isNumericScalar && b.isNumericScalar { return " (no implicit conversion: use \(a)(...) or \(b)(...))" }
        return ""
    }

    /// The type of `l op r` for arithmetic, with the broadcasting rules of arrays and SIMD values.
    mutating func arithmeticResult(_ op: BinaryOp, _ lt: VType, _ rt: VType, at loc: SourceLocation) -> VType {
        if lt == .error || rt == .error { return .error }
        let name = "'\(op.rawValue)'"
        if lt == .str && rt == .str {
            if op == .add { return .str }
            error("\(name) does not apply to strings; only '+' joins them", at: loc)
            return .error
        }
        guard let ll = lt.numericLane, let rl = rt.numericLane else {
            error("cannot apply \(name) to \(lt) and \(rt)", at: loc)
            return .error
        }
        if ll != rl {
            error("cannot apply \(name) to \(lt) and \(rt)\(conversionHint(ll, rl))", at: loc)
            return .error
        }
        let result: VType
        switch (lt.isNumericScalar, rt.isNumericScalar) {
        case (true, true): result = lt
        case (true, false): result = rt
        case (false, true): result = lt
        case (false, false):
            if lt != rt {
                error("cannot apply \(name) to \(lt) and \(rt)", at: loc)
                return .error
            }
            result = lt
        }
        if op == .mod && ll != .int {
            error("'%' is for integers", at: loc)
            return .error
        }
        return result
    }
}
