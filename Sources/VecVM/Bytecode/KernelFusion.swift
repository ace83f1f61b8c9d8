// Kernel fusion across statements and calls: which elementwise array values the compiler may compute
// where they are used, inside the consumer's kernel, instead of materializing them as arrays.
//
//     fn cnd(x: [f32]) -> [f32] {                 // an elementwise function: inlined into callers'
//         let k = 1.0 / (1.0 + 0.2316419 * abs(x))  // kernels (its lets are fused too)
//         return select(x < 0.0, 1.0 - k, k)
//     }
//     let d1 = (log(s / k) + c) / q                // a fused let: no array is made; its expression
//     let price = s * cnd(d1) - k * cnd(d1 - q)    // becomes part of this one kernel
//
// Fusion never changes results: every element is computed by the same operations in the same order
// (a kernel evaluates each element's expression tree independently), so the digits are those of the
// unfused program. What changes is when the elements are computed, so a value is fused only when
// nothing that happens in between can tell:
//
// - A let is fused when it is immutable, not a global, its initializer is an elementwise expression
//   that is pure (no calls of user, host or C functions, nothing that can fail except a length
//   mismatch), its array inputs are variables, and every use of it is an operand of an elementwise
//   expression or reduction in the statements that follow it in the same block (not inside a nested
//   block), with only simple statements up to the last use: declarations, expressions and
//   assignments of plain variables with pure values, none of which reassigns a variable the
//   initializer reads. Index assignments, calls of user functions, loops and ifs end the chance.
//   The length check of the initializer's arrays stays where the let is (`checkLengths`), so a
//   mismatch is reported at the let's line, as unfused.
// - A function is elementwise when its parameters are arrays or numbers, it returns an array, and its
//   body is lets of elementwise expressions followed by one return of an elementwise expression, all
//   pure and over its parameters and those lets only. A call of it with pure arguments, inside an
//   elementwise expression, is inlined. A length mismatch between its arguments is then reported at
//   the call.

enum KernelFusion {
    /// What a builtin is to fusion. One exhaustive table, so that a new builtin is placed here before it
    /// compiles (it was a `default: false` in each of three switches).
    enum BuiltinRole {
        /// Elementwise on arrays (a kernel operation), pure.
        case elementwise
        /// `min`, `max`: elementwise with two arguments; with one, a reduction, which fails on an empty array.
        case elementwiseOrReduction
        /// Its array arguments are read by a reduction kernel; pure.
        case reduction
        /// Pure, and not a kernel operation.
        case pure
        /// `int`, `float`, `f32`: pure on a scalar (not fused on an array).
        case conversion
        /// Has an effect, waits, can fail or makes something: never part of a fused expression.
        case opaque
    }

    static func role(of b: Builtin) -> BuiltinRole {
        switch b {
        case .sqrt, .abs, .fma, .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round, .pow, .select: .elementwise
        case .min, .max: .elementwiseOrReduction
        case .sum, .dot, .count, .any, .all: .reduction
        case .splat, .len: .pure
        case .toInt, .toFloat, .toF32: .conversion
        case .print, .iota, .fill, .vload, .vstore, .lane, .wait, .send, .recv, .close, .yield, .sleep, .now,
            .chanMake, .toStr, .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat,
            .loadInt:
            .opaque
        }
    }

    /// Builtins that are elementwise on arrays (kernel operations).
    static func isElementwiseBuiltin(_ b: Builtin, argumentCount: Int) -> Bool {
        switch role(of: b) {
        case .elementwise: true
        case .elementwiseOrReduction: argumentCount == 2
        case .reduction, .pure, .conversion, .opaque: false
        }
    }

    /// Builtins whose array argument is read by a reduction kernel.
    static func isReductionBuiltin(_ b: Builtin, argumentCount: Int) -> Bool {
        switch role(of: b) {
        case .reduction: true
        case .elementwiseOrReduction: argumentCount == 1
        case .elementwise, .pure, .conversion, .opaque: false
        }
    }

    /// Whether evaluating `e` has no side effect and cannot fail, except by an array length mismatch.
    static func isPure(_ e: Expr) -> Bool {
        switch e.kind {
        case .intLiteral, .floatLiteral, .boolLiteral, .name: return true
        case .unary(let u): return isPure(u.operand)
        case .binary(let b):
            // Integer division and remainder can fail (by zero).
            if (b.op == .div || b.op == .mod) && b.type.elementKind == .int { return false }
            return isPure(b.lhs) && isPure(b.rhs)
        case .call(let c):
            switch c.target {
            case .builtin(let b):
                switch role(of: b) {
                case .elementwise, .reduction, .pure:
                    return c.args.allSatisfy(isPure)
                case .elementwiseOrReduction:
                    // min and max of an empty array fail.
                    return c.args.count == 2 && c.args.allSatisfy(isPure)
                case .conversion:
                    return !c.type.isArray && c.args.allSatisfy(isPure)
                case .opaque:
                    return false
                }
            case .function(let f): return isElementwise(f.decl) && c.args.allSatisfy(isPure)
            case .external, .host, .echo, .unresolved: return false
            }
        // Not operands of elementwise expressions (and an index or a slice can fail).
        case .stringLiteral, .spawn, .index, .slice, .arrayLiteral: return false
        }
    }

    /// Whether `e` compiles to a kernel operation (an array-valued elementwise node).
    static func isKernelNode(_ e: Expr) -> Bool {
        guard e.type.isArray else { return false }
        switch e.kind {
        case .binary, .unary: return true
        case .call(let c):
            switch c.target {
            case .builtin(let b): return isElementwiseBuiltin(b, argumentCount: c.args.count)
            case .function(let f): return isElementwise(f.decl) && c.args.allSatisfy(isPure)
            case .external, .host, .echo, .unresolved: return false
            }
        case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .name, .spawn, .index, .slice, .arrayLiteral:
            return false
        }
    }

    // MARK: - Elementwise functions

    /// The lets and the returned expression of an elementwise function, or nil.
    static func elementwiseBody(_ f: FunctionDecl) -> (lets: [VarDecl], result: Expr)? {
        guard f.resultType.isArray, f.parameterTypes.allSatisfy({ $0.isArray || $0.isNumericScalar }),
            let last = f.body.statements.last as? ReturnStmt, let result = last.value
        else { return nil }
        var lets: [VarDecl] = []
        for s in f.body.statements.dropLast() {
            guard let d = s as? VarDecl, !d.isMutable, let v = d.variable, v.type.isArray else { return nil }
            lets.append(d)
        }
        return (lets, result)
    }

    /// Whether `f` is an elementwise function (cached on the declaration). A function being checked
    /// counts as not elementwise, so recursion never is.
    static func isElementwise(_ f: FunctionDecl) -> Bool {
        if let known = f.isElementwise { return known }
        f.isElementwise = false
        var ok = false
        if let (lets, result) = elementwiseBody(f) {
            var known = Set(f.parameterVariables.map(ObjectIdentifier.init))
            ok = true
            for d in lets {
                if !isKernelNode(d.value) || !isPure(d.value) || !onlyReads(known, d.value, inKernel: true) {
                    ok = false
                    break
                }
                known.insert(ObjectIdentifier(d.variable!))
            }
            if ok {
                let isArrayName =
                    (result as? NameExpr).map { $0.variable.map { known.contains(ObjectIdentifier($0)) } ?? false }
                    ?? false
                ok = (isKernelNode(result) || isArrayName) && isPure(result) && onlyReads(known, result, inKernel: true)
            }
        }
        f.isElementwise = ok
        return ok
    }

    /// Whether every name in `e` is one of `known`, array-valued names appearing only as kernel operands.
    private static func onlyReads(_ known: Set<ObjectIdentifier>, _ e: Expr, inKernel: Bool) -> Bool {
        switch e.kind {
        case .intLiteral, .floatLiteral, .boolLiteral: return true
        case .name(let n):
            guard let v = n.variable, known.contains(ObjectIdentifier(v)) else { return false }
            return !v.type.isArray || inKernel
        case .unary(let u): return onlyReads(known, u.operand, inKernel: isKernelNode(u))
        case .binary(let b):
            let k = isKernelNode(b)
            return onlyReads(known, b.lhs, inKernel: k) && onlyReads(known, b.rhs, inKernel: k)
        case .call(let c):
            // A reduction would be a kernel of its own, outside the caller's: not in an elementwise body.
            if case .builtin(let b) = c.target, isReductionBuiltin(b, argumentCount: c.args.count) { return false }
            let k = isKernelNode(c)
            return c.args.allSatisfy { onlyReads(known, $0, inKernel: k) }
        // Not pure (isPure), so never in an elementwise body.
        case .stringLiteral, .spawn, .index, .slice, .arrayLiteral: return false
        }
    }

    // MARK: - Fused lets

    /// The lets of a block that are computed where they are used (see the top of this file).
    static func fusableLets(_ statements: [Stmt], isGlobal: (Variable) -> Bool) -> [ObjectIdentifier: VarDecl] {
        var fused: [ObjectIdentifier: VarDecl] = [:]
        for (i, s) in statements.enumerated() {
            guard let d = s as? VarDecl, !d.isMutable, let v = d.variable, v.type.isArray, !isGlobal(v),
                isKernelNode(d.value), isPure(d.value),
                arrayLeaves(d.value, fused).allSatisfy({ $0 is NameExpr })
            else { continue }
            let counts = statements[(i + 1)...].map { uses(of: v, in: $0) }
            guard let last = counts.lastIndex(where: { $0.kernel + $0.other > 0 }) else { continue }
            // Up to the last use: only uses as kernel operands, in simple statements that leave the
            // initializer's inputs alone.
            let reads = names(in: d.value, fused)
            let ok = (0...last).allSatisfy { k in counts[k].other == 0 && isSimple(statements[i + 1 + k], reads) }
            if ok { fused[ObjectIdentifier(v)] = d }
        }
        return fused
    }

    /// Array-valued leaves of an elementwise expression (through fused lets).
    static func arrayLeaves(_ e: Expr, _ fused: [ObjectIdentifier: VarDecl]) -> [Expr] {
        if let n = e as? NameExpr, let v = n.variable, let d = fused[ObjectIdentifier(v)] {
            return arrayLeaves(d.value, fused)
        }
        let leaf = e.type.isArray ? [e] : []
        guard isKernelNode(e) else { return leaf }
        switch e.kind {
        case .unary(let u): return arrayLeaves(u.operand, fused)
        case .binary(let b): return arrayLeaves(b.lhs, fused) + arrayLeaves(b.rhs, fused)
        case .call(let c): return c.args.flatMap { arrayLeaves($0, fused) }
        // Never a kernel node (isKernelNode).
        case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .name, .spawn, .index, .slice, .arrayLiteral:
            return leaf
        }
    }

    /// Variables read by `e` (through fused lets).
    private static func names(in e: Expr, _ fused: [ObjectIdentifier: VarDecl]) -> Set<ObjectIdentifier> {
        var out: Set<ObjectIdentifier> = []
        func walk(_ e: Expr) {
            switch e.kind {
            case .name(let n):
                guard let v = n.variable else { return }
                out.insert(ObjectIdentifier(v))
                if let d = fused[ObjectIdentifier(v)] { walk(d.value) }
            case .unary(let u): walk(u.operand)
            case .binary(let b):
                walk(b.lhs)
                walk(b.rhs)
            case .call(let c): c.args.forEach(walk)
            case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral: break
            // Not pure, so not in a fused initializer (fusableLets); walked all the same.
            case .spawn(let s): s.call.args.forEach(walk)
            case .index(let ix):
                walk(ix.base)
                walk(ix.index)
            case .slice(let sl):
                walk(sl.base)
                walk(sl.lower)
                walk(sl.upper)
            case .arrayLiteral(let a): a.elements.forEach(walk)
            }
        }
        walk(e)
        return out
    }

    /// Uses of `v` in a statement: as a kernel operand, and otherwise (any use inside a nested block
    /// counts as "otherwise").
    private static func uses(of v: Variable, in s: Stmt) -> (kernel: Int, other: Int) {
        var kernel = 0
        var other = 0
        var nested = false
        func walk(_ e: Expr, inKernel: Bool) {
            switch e.kind {
            case .name(let n):
                if n.variable === v {
                    if inKernel && !nested { kernel += 1 } else { other += 1 }
                }
            case .unary(let u): walk(u.operand, inKernel: isKernelNode(u))
            case .binary(let b):
                let k = isKernelNode(b)
                walk(b.lhs, inKernel: k)
                walk(b.rhs, inKernel: k)
            case .call(let c):
                var k = isKernelNode(c)
                if case .builtin(let b) = c.target, isReductionBuiltin(b, argumentCount: c.args.count) { k = true }
                for a in c.args { walk(a, inKernel: k) }
            case .spawn(let s): for a in s.call.args { walk(a, inKernel: false) }
            case .index(let ix):
                walk(ix.base, inKernel: false)
                walk(ix.index, inKernel: false)
            case .slice(let sl):
                walk(sl.base, inKernel: false)
                walk(sl.lower, inKernel: false)
                walk(sl.upper, inKernel: false)
            case .arrayLiteral(let a): for x in a.elements { walk(x, inKernel: false) }
            case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral: break
            }
        }
        switch s.kind {
        case .varDecl, .assign, .expression, .return: break
        case .block, .if, .while, .for, .break, .continue, .function, .extern: nested = true
        }
        forEachExpression(in: s) { walk($0, inKernel: false) }
        return (kernel, other)
    }

    /// Calls `body` on every expression of a statement, nested statements included.
    private static func forEachExpression(in s: Stmt, _ body: (Expr) -> Void) {
        switch s.kind {
        case .varDecl(let d): body(d.value)
        case .assign(let a):
            body(a.target)
            body(a.value)
        case .expression(let e): body(e.expr)
        case .return(let r): if let x = r.value { body(x) }
        case .block(let b): for t in b.statements { forEachExpression(in: t, body) }
        case .if(let i):
            body(i.condition)
            forEachExpression(in: i.then, body)
            if let o = i.otherwise { forEachExpression(in: o, body) }
        case .while(let w):
            body(w.condition)
            forEachExpression(in: w.body, body)
        case .for(let f):
            body(f.lower)
            if let u = f.upper { body(u) }
            forEachExpression(in: f.body, body)
        case .break, .continue: break
        // Compiled apart from the statements around them (Compiler.compile); never nested (the checker).
        case .function, .extern: break
        }
    }

    /// A statement that cannot change what a fused initializer reads: a declaration, return or expression
    /// statement with pure values (print included), or an assignment of a plain variable the
    /// initializer does not read.
    private static func isSimple(_ s: Stmt, _ reads: Set<ObjectIdentifier>) -> Bool {
        func pureOrPrint(_ e: Expr) -> Bool {
            if let c = e as? CallExpr, case .builtin(.print) = c.target { return c.args.allSatisfy(isPure) }
            return isPure(e)
        }
        switch s.kind {
        case .varDecl(let d): return isPure(d.value)
        case .expression(let e): return pureOrPrint(e.expr)
        case .return(let r): return r.value.map(isPure) ?? true
        case .assign(let a):
            guard let n = a.target as? NameExpr, let v = n.variable else { return false }
            return !reads.contains(ObjectIdentifier(v)) && isPure(a.value)
        case .block, .if, .while, .for, .break, .continue, .function, .extern: return false
        }
    }
}
