// The type checker, part 4: calls of user functions, externs and host functions, and the builtins'
// signatures. See Checker.swift for the checker's state.

extension Checker {
    // MARK: - Calls

    mutating func checkArguments(_ c: CallExpr, _ name: String, _ params: [VType]) {
        if c.args.count != params.count {
            error(
                "'\(name)' takes \(params.count) argument\(params.count == 1 ? "" : "s"), not \(c.args.count)",
                at: c.location)
        }
        for (i, a) in c.args.enumerated() {
            let want: VType? = i < params.count ? params[i] : nil
            let t = check(a, expected: want)
            if let w = want, !t.matches(w) {
                error("argument \(i + 1) of '\(name)' must be \(w), found \(t)", at: a.location)
            }
        }
    }

    mutating func inferCall(_ c: CallExpr, expected: VType?) -> VType {
        if let v = lookup(c.callee) ?? (currentFunction != nil ? topLevelVariables[c.callee] : nil) {
            _ = v
            error("'\(c.callee)' is a variable, not a function", at: c.calleeLocation)
            for a in c.args { _ = check(a, expected: nil) }
            return .error
        }
        if let f = functionsByName[c.callee] ?? environment.functions[c.callee] {
            checkArguments(c, f.name, f.parameterTypes)
            c.target = .function(FunctionLink(f))
            return f.resultType
        }
        if let x = externsByName[c.callee] ?? environment.externs[c.callee] {
            checkArguments(c, x.name, x.parameterTypes)
            c.target = .external(x)
            return x.resultType
        }
        if let h = environment.hostFunctions[c.callee] {
            checkArguments(c, c.callee, h.parameters)
            c.target = .host(h.index)
            return h.result
        }
        guard let b = Builtin(rawValue: c.callee) else {
            error(
                "unknown function '\(c.callee)'" + Suggestions.hint(for: c.callee, among: callableNames),
                at: c.calleeLocation)
            for a in c.args { _ = check(a, expected: nil) }
            return .error
        }
        c.target = .builtin(b)
        return inferBuiltin(b, c, expected: expected)
    }

    mutating func arity(_ c: CallExpr, _ n: Int) -> Bool {
        if c.args.count == n { return true }
        error("'\(c.callee)' takes \(n) argument\(n == 1 ? "" : "s"), not \(c.args.count)", at: c.location)
        for a in c.args { _ = check(a, expected: nil) }
        return false
    }

    /// Checks an argument that may be a scalar, array or SIMD value of a numeric lane type.
    mutating func numericOperand(_ e: Expr, expected: VType?, _ what: String) -> VType {
        let t = check(e, expected: expected?.numericLane ?? expected)
        if t == .error { return .error }
        if t.numericLane == nil {
            error("\(what) needs a number, an array or a SIMD value, found \(t)", at: e.location)
            return .error
        }
        return t
    }

    /// Infers several operands with broadcasting: untyped ones take the lane type of the typed ones.
    mutating func broadcastOperands(_ args: [Expr], _ c: CallExpr, expected: VType?) -> VType {
        var types = args.map { infer($0, expected: expected) }
        if types.contains(.error) {
            for (a, t) in zip(args, types) where t.isUntyped { resolveUntyped(a, to: t == .untypedInt ? .int : .float) }
            return .error
        }
        if let bad = zip(args, types).first(where: { $0.1 == .void }) {
            error("this call produces no value", at: bad.0.location)
            return .error
        }
        let typed = types.first(where: { !$0.isUntyped })
        let lane: VType
        if let t = typed {
            guard let l = t.numericLane else {
                error("'\(c.callee)' needs numbers, arrays or SIMD values, found \(t)", at: c.location)
                return .error
            }
            lane = l
        } else if let exp = expected?.numericLane {
            lane = exp
        } else {
            lane = types.contains(.untypedFloat) ? .float : .int
        }
        for i in args.indices where types[i].isUntyped {
            types[i] = resolveUntyped(args[i], to: lane)
            if types[i] == .error { return .error }
        }
        var result = types[0]
        for t in types.dropFirst() {
            if let l = result.numericLane, let r = t.numericLane, l != r {
                error(
                    "'\(c.callee)' needs operands of one element type, found \(result) and \(t)\(conversionHint(l, r))",
                    at: c.location)
                return .error
            }
            result = arithmeticResult(.add, result, t, at: c.location)
            if result == .error { return .error }
        }
        return result
    }

    mutating func inferBuiltin(_ b: Builtin, _ c: CallExpr, expected: VType?) -> VType {
        switch b {
        case .print:
            for a in c.args {
                let t = check(a, expected: nil)
                if t == .void { error("this call produces no value", at: a.location) }
            }
            return .void
        case .len:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if !t.isArray && t != .error && t != .str {
                error("len needs an array, found \(t)", at: c.args[0].location)
                return .error
            }
            return .int
        case .iota:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) { error("iota needs an int count, found \(t)", at: c.args[0].location) }
            return .array(.int)
        case .fill:
            guard arity(c, 2) else { return .error }
            let nt = check(c.args[0], expected: .int)
            if !nt.matches(.int) { error("fill needs an int count, found \(nt)", at: c.args[0].location) }
            let xt = check(c.args[1], expected: expected?.laneType)
            if xt == .error { return .error }
            guard let k = xt.elementKind, xt.isNumericScalar || xt == .bool else {
                error("fill needs an int, float, f32 or bool value, found \(xt)", at: c.args[1].location)
                return .error
            }
            return .array(k)
        case .sqrt, .abs:
            guard arity(c, 1) else { return .error }
            // `sqrt(2)`: a literal argument of sqrt is a float unless the context says f32.
            var want = expected
            if b == .sqrt, want?.laneType == nil || want?.laneType == .int { want = .float }
            let t = numericOperand(c.args[0], expected: want, b.rawValue)
            if b == .sqrt && t.laneType == .int {
                error("sqrt needs float or f32 values, found \(t) (convert with float(...))", at: c.args[0].location)
                return .error
            }
            return t
        case .min, .max:
            if c.args.count == 1 {
                let t = check(c.args[0], expected: nil)
                if t == .error { return .error }
                guard t.isArray || t.isSIMD, let lane = t.numericLane else {
                    error(
                        "\(b.rawValue) of one value needs an array or a SIMD value, found \(t) (or pass two values)",
                        at: c.args[0].location)
                    return .error
                }
                return lane
            }
            guard arity(c, 2) else { return .error }
            return broadcastOperands(c.args, c, expected: expected)
        case .fma:
            guard arity(c, 3) else { return .error }
            return broadcastOperands(c.args, c, expected: expected)
        case .sum:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .error { return .error }
            guard t.isArray || t.isSIMD, let lane = t.numericLane else {
                error(
                    "sum needs an array or a SIMD value of numbers, found \(t)\(t.isElementwiseBool ? " (count(m) counts the true lanes)" : "")",
                    at: c.args[0].location)
                return .error
            }
            return lane
        case .dot:
            guard arity(c, 2) else { return .error }
            let a = check(c.args[0], expected: nil)
            let bt = check(c.args[1], expected: nil)
            if a == .error || bt == .error { return .error }
            guard a == bt, a.isArray || a.isSIMD, let lane = a.numericLane else {
                error("dot needs two arrays (or SIMD values) of the same type, found \(a) and \(bt)", at: c.location)
                return .error
            }
            return lane
        case .splat:
            guard arity(c, 1) else { return .error }
            let lane: VType? = expected == .f32x8 ? .f32 : expected == .f64x4 ? .float : nil
            let t = check(c.args[0], expected: lane)
            switch t {
            case .f32: return .f32x8
            case .float: return .f64x4
            case .error: return .error
            default:
                error("splat needs an f32 (for f32x8) or a float (for f64x4), found \(t)", at: c.args[0].location)
                return .error
            }
        case .vload:
            guard arity(c, 2) else { return .error }
            let a = check(c.args[0], expected: nil)
            let i = check(c.args[1], expected: .int)
            if !i.matches(.int) { error("vload needs an int index, found \(i)", at: c.args[1].location) }
            switch a {
            case .array(.f32): return .f32x8
            case .array(.float): return .f64x4
            case .error: return .error
            default:
                error("vload needs an [f32] or [float] array, found \(a)", at: c.args[0].location)
                return .error
            }
        case .vstore:
            guard arity(c, 3) else { return .error }
            let a = check(c.args[0], expected: nil)
            let i = check(c.args[1], expected: .int)
            if !i.matches(.int) { error("vstore needs an int index, found \(i)", at: c.args[1].location) }
            let want: VType? = a == .array(.f32) ? .f32x8 : a == .array(.float) ? .f64x4 : nil
            let v = check(c.args[2], expected: want)
            if a == .error || v == .error { return .void }
            guard let w = want else {
                error("vstore needs an [f32] or [float] array, found \(a)", at: c.args[0].location)
                return .void
            }
            if v != w { error("vstore into \(a) needs a \(w) value, found \(v)", at: c.args[2].location) }
            return .void
        case .lane:
            guard arity(c, 2) else { return .error }
            let v = check(c.args[0], expected: nil)
            let k = check(c.args[1], expected: .int)
            if !k.matches(.int) { error("lane needs an int lane number, found \(k)", at: c.args[1].location) }
            if v == .error { return .error }
            guard v.isSIMD || v.isMask else {
                error("lane needs an f32x8, f64x4 or mask value, found \(v)", at: c.args[0].location)
                return .error
            }
            return v.laneType!
        case .wait:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if case .task(let r) = t { return r }
            if t != .error { error("wait needs a task, found \(t)", at: c.args[0].location) }
            return .error
        case .chanMake:
            guard let ta = c.typeArgument else {
                error("make a channel with 'chan<T>(capacity)'", at: c.location)
                for a in c.args { _ = check(a, expected: nil) }
                return .error
            }
            let el = resolveType(ta)
            if c.args.count != 1 {
                error("'chan<\(el)>' takes one argument, the capacity (0 for unbuffered)", at: c.location)
                for a in c.args { _ = check(a, expected: nil) }
                return el == .error ? .error : .chan(el)
            }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) { error("a channel capacity must be an int, found \(t)", at: c.args[0].location) }
            return el == .error ? .error : .chan(el)
        case .send:
            guard arity(c, 2) else { return .void }
            let ct = check(c.args[0], expected: nil)
            guard case .chan(let el) = ct else {
                _ = check(c.args[1], expected: nil)
                if ct != .error { error("send needs a channel, found \(ct)", at: c.args[0].location) }
                return .void
            }
            let vt = check(c.args[1], expected: el)
            if !vt.matches(el) { error("cannot send a \(vt) on a chan<\(el)>", at: c.args[1].location) }
            return .void
        case .recv, .close:
            guard arity(c, 1) else { return b == .recv ? .error : .void }
            let ct = check(c.args[0], expected: nil)
            guard case .chan(let el) = ct else {
                if ct != .error { error("\(b.rawValue) needs a channel, found \(ct)", at: c.args[0].location) }
                return b == .recv ? .error : .void
            }
            return b == .recv ? el : .void
        case .yield:
            _ = arity(c, 0)
            return .void
        case .sleep:
            guard arity(c, 1) else { return .void }
            let t = check(c.args[0], expected: .int)
            if !t.matches(.int) {
                error("sleep needs an int number of milliseconds, found \(t)", at: c.args[0].location)
            }
            return .void
        case .now:
            _ = arity(c, 0)
            return .int
        case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
            guard arity(c, 1) else { return .error }
            // A literal argument is a float unless the context says f32.
            var want = expected
            if want?.numericLane == nil || want?.numericLane == .int { want = .float }
            let t = numericOperand(c.args[0], expected: want, b.rawValue)
            if t.numericLane == .int {
                error(
                    "\(b.rawValue) needs float or f32 values, found \(t) (convert with float(...))",
                    at: c.args[0].location)
                return .error
            }
            return t
        case .pow:
            guard arity(c, 2) else { return .error }
            var want = expected
            if want?.numericLane == nil || want?.numericLane == .int { want = .float }
            let t = broadcastOperands(c.args, c, expected: want)
            if t.numericLane == .int {
                error("pow needs float or f32 values, found \(t) (convert with float(...))", at: c.location)
                return .error
            }
            return t
        case .select:
            guard arity(c, 3) else { return .error }
            return inferSelect(c, expected: expected)
        case .any, .all, .count:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .error { return .error }
            guard t.isElementwiseBool else {
                error("\(b.rawValue) needs a [bool] or a mask, found \(t)", at: c.args[0].location)
                return .error
            }
            return b == .count ? .int : .bool
        case .toInt, .toFloat, .toF32:
            guard arity(c, 1) else { return .error }
            let target: VType = b == .toInt ? .int : b == .toFloat ? .float : .f32
            var t = infer(c.args[0], expected: nil)
            if t == .untypedInt && containsRemainder(c.args[0]) {
                // Integer literals under `%` stay int (LANGUAGE.md "Types"): `float(7 % 4)` is 3.0.
                t = resolveUntyped(c.args[0], to: .int)
            } else if t == .untypedInt {
                t = resolveUntyped(c.args[0], to: target)
            } else if t == .untypedFloat {
                t = resolveUntyped(c.args[0], to: target == .int ? .float : target)
            }
            switch t {
            case .int, .float, .f32: return target
            case .str: return target  // parses the text (a runtime error if it is not a number)
            case .array(let k) where k != .bool: return .array(target.elementKind!)
            case .error: return .error
            default:
                error("cannot convert \(t) to \(target)", at: c.args[0].location)
                return .error
            }
        case .toStr:
            guard arity(c, 1) else { return .error }
            let t = check(c.args[0], expected: nil)
            if t == .void { error("this call produces no value", at: c.args[0].location) }
            return .str
        case .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat, .loadInt:
            return inferIOBuiltin(b, c)
        }
    }

    /// `select(m, a, b)`: `m` a [bool], a mask or a bool; `a` and `b` arrays, SIMD values or broadcast
    /// scalars of one element type. The result has the shape of `m` (an array for a [bool], the SIMD type
    /// of the mask) and the element type of `a` and `b`.
    mutating func inferSelect(_ c: CallExpr, expected: VType?) -> VType {
        let mt = check(c.args[0], expected: nil)
        var want = expected
        if let s = mt.maskedSIMDType { want = s }
        let vt = broadcastOperands(Array(c.args[1...]), c, expected: want)
        if mt == .error || vt == .error { return .error }
        guard let lane = vt.numericLane else { return .error }
        switch mt {
        case .array(.bool):
            if vt.isSIMD {
                error("select with a [bool] picks between arrays or scalars, not \(vt)", at: c.location)
                return .error
            }
            return .array(lane.elementKind!)
        case .m32x8, .m64x4:
            let simd = mt.maskedSIMDType!
            if vt.isArray || vt.laneType != simd.laneType {
                error(
                    "select with a \(mt) picks between \(simd) values (or \(simd.laneType!) scalars), not \(vt)",
                    at: c.location)
                return .error
            }
            return simd
        case .bool:
            return vt
        default:
            error("select needs a [bool], a mask or a bool as its first argument, found \(mt)", at: c.args[0].location)
            return .error
        }
    }

    /// Whether an untyped literal expression contains `%` (its literals then stay `int`).
    func containsRemainder(_ e: Expr) -> Bool {
        switch e.kind {
        case .binary(let b): b.op == .mod || containsRemainder(b.lhs) || containsRemainder(b.rhs)
        case .unary(let u): containsRemainder(u.operand)
        case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .name, .call, .spawn, .index, .slice,
            .arrayLiteral:
            false
        }
    }
}
