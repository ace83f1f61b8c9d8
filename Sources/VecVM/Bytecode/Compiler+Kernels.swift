// The compiler, part 4: kernels — elementwise array expressions and reductions fused into one
// kernel program each (KernelBuilder), small functions inlined into them. See Compiler.swift.

extension FunctionCompiler {
    // MARK: Kernels

    struct KernelBuilder {
        var ops: [KernelOp] = []
        var types: [ElementKind] = []
        var arrayRegisters: [Int] = []
        var arrayTypes: [ElementKind] = []
        var scalarRegisters: [Int] = []
        var scalarTypes: [ElementKind] = []
        var loadForRegister: [Int: Int] = [:]
        var scalarForRegister: [Int: Int] = [:]
        /// Fused lets, inlined parameters and lets already computed in this kernel (by variable), and
        /// lets of an inlined function not computed yet.
        var bound: [ObjectIdentifier: Int] = [:]
        var pending: [ObjectIdentifier: Expr] = [:]

        mutating func add(_ op: KernelOp, _ type: ElementKind) -> Int {
            ops.append(op)
            types.append(type)
            return ops.count - 1
        }
    }

    /// Whether `e` is an elementwise array operation that becomes part of a kernel (its operands then
    /// become kernel operations or inputs): arithmetic, comparisons, elementwise builtins, and calls of
    /// elementwise functions (inlined, KernelFusion).
    func isKernelNode(_ e: Expr) -> Bool {
        if let c = e as? CallExpr, case .function = c.target, !Compiler.fusesKernels { return false }
        return KernelFusion.isKernelNode(e)
    }

    func kernelNode(_ e: Expr, _ kb: inout KernelBuilder) -> Int {
        // A name bound in this kernel: a fused let, an inlined function's parameter or let.
        if let n = e as? NameExpr, let v = n.variable {
            let id = ObjectIdentifier(v)
            if let op = kb.bound[id] { return op }
            if let value = kb.pending[id] ?? fused[id]?.value {
                let op = kernelNode(value, &kb)
                kb.bound[id] = op
                return op
            }
        }
        if let c = e as? CallExpr, case .function(let f) = c.target, isKernelNode(c) {
            return inline(f.decl, c, &kb)
        }
        if isKernelNode(e), let kind = e.type.elementKind {
            switch e.kind {
            case .binary(let b):
                let l = kernelNode(b.lhs, &kb)
                let r = kernelNode(b.rhs, &kb)
                switch b.op {
                case .add: return kb.add(.add(l, r), kind)
                case .sub: return kb.add(.sub(l, r), kind)
                case .mul: return kb.add(.mul(l, r), kind)
                case .div: return kb.add(.div(l, r), kind)
                case .mod: return kb.add(.mod(l, r), kind)
                case .and: return kb.add(.and(l, r), .bool)
                case .or: return kb.add(.or(l, r), .bool)
                // a > b is b < a, a >= b is b <= a (NaN included).
                case .eq: return kb.add(.compare(.eq, l, r), .bool)
                case .ne: return kb.add(.compare(.ne, l, r), .bool)
                case .lt: return kb.add(.compare(.lt, l, r), .bool)
                case .le: return kb.add(.compare(.le, l, r), .bool)
                case .gt: return kb.add(.compare(.lt, r, l), .bool)
                case .ge: return kb.add(.compare(.le, r, l), .bool)
                }
            case .unary(let u):
                let a = kernelNode(u.operand, &kb)
                switch u.op {
                case .negate: return kb.add(.neg(a), kind)
                case .not: return kb.add(.not(a), .bool)
                }
            case .call(let c):
                // A call of a function was inlined above; an elementwise builtin is an operation.
                guard case .builtin(let bi) = c.target else { break }
                let args = c.args.map { kernelNode($0, &kb) }
                switch bi {
                case .sqrt: return kb.add(.sqrt(args[0]), kind)
                case .abs: return kb.add(.abs(args[0]), kind)
                case .fma: return kb.add(.fma(args[0], args[1], args[2]), kind)
                case .min: return kb.add(.min(args[0], args[1]), kind)
                case .max: return kb.add(.max(args[0], args[1]), kind)
                case .pow: return kb.add(.pow(args[0], args[1]), kind)
                case .select: return kb.add(.select(args[0], args[1], args[2]), kind)
                case .exp: return kb.add(.math(.exp, args[0]), kind)
                case .log: return kb.add(.math(.log, args[0]), kind)
                case .sin: return kb.add(.math(.sin, args[0]), kind)
                case .cos: return kb.add(.math(.cos, args[0]), kind)
                case .tanh: return kb.add(.math(.tanh, args[0]), kind)
                case .floor: return kb.add(.math(.floor, args[0]), kind)
                case .ceil: return kb.add(.math(.ceil, args[0]), kind)
                case .round: return kb.add(.math(.round, args[0]), kind)
                case .print, .len, .iota, .fill, .sum, .dot, .splat, .vload, .vstore, .lane, .wait, .send, .recv,
                    .close, .yield, .sleep, .now, .any, .all, .count, .chanMake, .toInt, .toFloat, .toF32, .toStr,
                    .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat, .loadInt:
                    preconditionFailure("'\(bi.rawValue)' is not elementwise (KernelFusion.isElementwiseBuiltin)")
                }
            case .intLiteral, .floatLiteral, .stringLiteral, .boolLiteral, .name, .spawn, .index, .slice,
                .arrayLiteral:
                break  // never a kernel node (KernelFusion.isKernelNode): a leaf
            }
        }
        // A leaf: an array input, or a scalar broadcast to every lane.
        let r = expr(e)
        let kind = e.type.elementKind ?? .int
        if e.type.isArray {
            if let op = kb.loadForRegister[r] { return op }
            kb.arrayRegisters.append(r)
            kb.arrayTypes.append(kind)
            let op = kb.add(.load(kb.arrayRegisters.count - 1), kind)
            kb.loadForRegister[r] = op
            return op
        }
        if let op = kb.scalarForRegister[r] { return op }
        kb.scalarRegisters.append(r)
        kb.scalarTypes.append(kind)
        let op = kb.add(.scalar(kb.scalarRegisters.count - 1), kind)
        kb.scalarForRegister[r] = op
        return op
    }

    /// An elementwise function's body, computed inside the caller's kernel: array parameters are bound
    /// to the arguments' kernel values, number parameters to registers holding the arguments.
    func inline(_ f: FunctionDecl, _ c: CallExpr, _ kb: inout KernelBuilder) -> Int {
        guard let (lets, result) = KernelFusion.elementwiseBody(f) else { return -1 }
        var saved: [(Variable, Int, Bool)] = []
        var bound: [ObjectIdentifier] = []
        var values: [(ObjectIdentifier, Int)] = []
        for (p, arg) in zip(f.parameterVariables, c.args) {
            if p.type.isArray {
                values.append((ObjectIdentifier(p), kernelNode(arg, &kb)))
            } else {
                let r = expr(arg)
                saved.append((p, p.slot, p.isGlobal))
                p.slot = r
                p.isGlobal = false
            }
        }
        // Bound after all arguments are compiled: an argument may inline the same function.
        let outer = kb.bound
        let outerPending = kb.pending
        for (id, op) in values {
            kb.bound[id] = op
            bound.append(id)
        }
        for d in lets { kb.pending[ObjectIdentifier(d.variable!)] = d.value }
        let r = kernelNode(result, &kb)
        kb.bound = outer
        kb.pending = outerPending
        for (p, slot, isGlobal) in saved.reversed() {
            p.slot = slot
            p.isGlobal = isGlobal
        }
        return r
    }

    func emitKernel(
        _ kb: KernelBuilder, output: KernelOutput, resultType: VType, into target: Int?, at loc: SourceLocation
    )
        -> Int
    {
        let program = KernelProgram(
            arrayInputs: kb.arrayTypes, scalarInputs: kb.scalarTypes, ops: kb.ops, types: kb.types, output: output)
        if let problem = program.validate() {
            compiler.error("internal error: invalid kernel (\(problem)): \(program)", at: loc)
        }
        let site = KernelSite(
            program: program, arrayRegisters: kb.arrayRegisters, scalarRegisters: kb.scalarRegisters, location: loc)
        fn.kernelSites.append(site)
        let r = destination(target, resultType)
        location = loc
        emit(Instruction(.kernel, a: r, b: fn.kernelSites.count - 1))
        return r
    }

    /// An elementwise array expression: one kernel storing a new array.
    func kernel(_ e: Expr, into target: Int?) -> Int {
        var kb = KernelBuilder()
        let root = kernelNode(e, &kb)
        return emitKernel(kb, output: .store(root), resultType: e.type, into: target, at: e.location)
    }

    /// `sum`, `min`, `max`, `count`, `any`, `all` of an array expression, or `dot(a, b)`: one kernel with a
    /// reduction.
    func reduction(
        _ op: ReductionOp, _ args: [Expr], resultType: VType, into target: Int?, at loc: SourceLocation
    )
        -> Int
    {
        var kb = KernelBuilder()
        var root = kernelNode(args[0], &kb)
        if args.count == 2 {
            let other = kernelNode(args[1], &kb)
            root = kb.add(.mul(root, other), kb.types[root])
        }
        return emitKernel(kb, output: .reduce(op, root), resultType: resultType, into: target, at: loc)
    }
}
