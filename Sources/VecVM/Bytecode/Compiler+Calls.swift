// The compiler, part 5: calls of user functions, spawns, and the builtins (math, arrays, SIMD,
// channels, tasks, input and output). See Compiler.swift for the compiler's state.

extension FunctionCompiler {
    // MARK: Calls

    /// Evaluates arguments left to right into consecutive registers starting at the current top;
    /// all slots are reserved first, so that temporaries of one argument never sit between two slots.
    func consecutiveArguments(_ args: [Expr]) -> Int {
        let base = nextRegister
        var slots: [Int] = []
        for a in args { slots.append(allocate(a.type)) }
        let end = nextRegister
        for (a, slot) in zip(args, slots) {
            _ = expr(a, into: slot)
            nextRegister = end
        }
        return base
    }

    func callUser(_ c: CallExpr, _ index: Int, resultType: VType, into target: Int?) -> Int {
        let base = consecutiveArguments(c.args)
        // The callee's frame starts at `base`; make sure the result fits where the arguments were.
        nextRegister = base
        _ = allocateSlots(max(1, resultType.storage.slots))
        location = c.location
        emit(Instruction(.call, a: base, bx: index))
        if resultType.storage == .reference { noteReference(base) }
        if let t = target, resultType.storage != .none {
            move(resultType, to: t, from: base)
            return t
        }
        return base
    }

    func call(_ c: CallExpr, into target: Int?) -> Int {
        if case .function = c.target, isKernelNode(c) { return kernel(c, into: target) }
        switch c.target {
        case .function(let f):
            return callUser(c, f.decl.index, resultType: f.decl.resultType, into: target)
        case .builtin(let b):
            return builtinCall(b, c, into: target)
        case .host(let index):
            let base = consecutiveArguments(c.args)
            nextRegister = max(nextRegister, base + 1)
            fn.frameSize = max(fn.frameSize, nextRegister)
            location = c.location
            emit(Instruction(.callHost, a: base, bx: index))
            if c.type.storage == .reference { noteReference(base) }
            if let t = target, c.type.storage != .none {
                move(c.type, to: t, from: base)
                return t
            }
            return base
        case .external(let x):
            let base = consecutiveArguments(c.args)
            nextRegister = max(nextRegister, base + 1)
            fn.frameSize = max(fn.frameSize, nextRegister)
            location = c.location
            emit(Instruction(.callExtern, a: base, bx: x.index))
            if let t = target, x.resultType.storage != .none {
                move(x.resultType, to: t, from: base)
                return t
            }
            return base
        case .echo:
            return echo(c)
        case .unresolved:
            compiler.error("this call cannot be compiled yet", at: c.location)
            return destination(target, c.type)
        }
    }

    func spawn(_ s: SpawnExpr, into target: Int?) -> Int {
        guard case .function(let f) = s.call.target else { return destination(target, s.type) }
        let base = consecutiveArguments(s.call.args)
        let r = destination(target, s.type)
        location = s.location
        emit(Instruction(.spawn, a: r, b: base, c: f.decl.index))
        return r
    }

    func builtinCall(_ b: Builtin, _ c: CallExpr, into target: Int?) -> Int {
        let args = c.args
        let loc = c.location
        switch b {
        case .print:
            var regs: [Int] = []
            for a in args { regs.append(expr(a)) }
            fn.printSites.append(PrintSite(registers: regs, types: args.map(\.type)))
            location = loc
            emit(Instruction(.print, a: 0, bx: fn.printSites.count - 1))
            return -1
        case .len:
            let a = expr(args[0])
            let r = destination(target, .int)
            location = loc
            if args[0].type == .str {
                emit(Instruction(.builtin, a: r, b: a, c: 0, k: Int(BuiltinOp.lengthStr.rawValue)))
            } else {
                emit(Instruction(.length, a: r, b: a))
            }
            return r
        case .iota:
            let n = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.builtin, a: r, b: n, c: 0, k: Int(BuiltinOp.iota.rawValue)))
            return r
        case .fill:
            let base = allocateSlots(2)
            _ = expr(args[0], into: base)
            _ = expr(args[1], into: base + 1)
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(
                    .builtin, a: r, b: base, c: Int(c.type.elementKind!.rawValue), k: Int(BuiltinOp.fill.rawValue)))
            return r
        case .sqrt, .abs:
            if isKernelNode(c) { return kernel(c, into: target) }
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            if c.type.isSIMD {
                emit(
                    Instruction(
                        .simdUnary, a: r, b: v, k: SimdOp.pack(b == .sqrt ? .sqrt : .abs, isF64: c.type == .f64x4)))
            } else {
                emit(
                    Instruction(
                        .scalarMath, a: r, b: v, c: 0, k: MathOp.pack(b == .sqrt ? .sqrt : .abs, c.type.elementKind!)))
            }
            return r
        case .min, .max:
            if args.count == 1 {
                let op: ReductionOp = b == .min ? .min : .max
                if args[0].type.isSIMD {
                    let v = expr(args[0])
                    let r = destination(target, c.type)
                    location = loc
                    emit(
                        Instruction(
                            .simdReduce, a: r, b: v, k: Int(op.rawValue) << 1 | (args[0].type == .f64x4 ? 1 : 0)))
                    return r
                }
                return reduction(op, args, resultType: c.type, into: target, at: loc)
            }
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let l = simdOperand(args[0], c.type)
                let rr = simdOperand(args[1], c.type)
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(b == .min ? .min : .max, isF64: c.type == .f64x4)
                    ))
                return r
            }
            let l = expr(args[0])
            let rr = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(
                    .scalarMath, a: r, b: l, c: rr, k: MathOp.pack(b == .min ? .min : .max, c.type.elementKind!)))
            return r
        case .fma:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let base = allocateSlots(12)
                simdOperands(args, at: base, c.type)
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdFma, a: r, b: base, k: c.type == .f64x4 ? 1 : 0))
                return r
            }
            let base = allocateSlots(3)
            for (i, a) in args.enumerated() { _ = expr(a, into: base + i) }
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.scalarFma, a: r, b: base, k: Int(c.type.elementKind!.rawValue)))
            return r
        case .sum:
            if args[0].type.isSIMD {
                let v = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .simdReduce, a: r, b: v,
                        k: Int(ReductionOp.sum.rawValue) << 1 | (args[0].type == .f64x4 ? 1 : 0)))
                return r
            }
            return reduction(.sum, args, resultType: c.type, into: target, at: loc)
        case .dot:
            if args[0].type.isSIMD {
                let l = expr(args[0])
                let rr = expr(args[1])
                let isF64 = args[0].type == .f64x4
                let prod = allocate(args[0].type)
                location = loc
                emit(Instruction(.simdBinary, a: prod, b: l, c: rr, k: SimdOp.pack(.mul, isF64: isF64)))
                let r = destination(target, c.type)
                emit(Instruction(.simdReduce, a: r, b: prod, k: Int(ReductionOp.sum.rawValue) << 1 | (isF64 ? 1 : 0)))
                return r
            }
            return reduction(.sum, args, resultType: c.type, into: target, at: loc)
        case .splat:
            let s = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.splat, a: r, b: s, k: c.type == .f64x4 ? 1 : 0))
            return r
        case .vload:
            let a = expr(args[0])
            let i = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.vload, a: r, b: a, c: i, k: c.type == .f64x4 ? 1 : 0))
            return r
        case .vstore:
            let a = expr(args[0])
            let i = expr(args[1])
            let v = expr(args[2])
            location = loc
            emit(Instruction(.vstore, a: a, b: i, c: v, k: args[2].type == .f64x4 ? 1 : 0))
            return -1
        case .lane:
            let v = expr(args[0])
            let k = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            let shape: Int
            switch args[0].type {
            case .f64x4: shape = 1
            case .m32x8: shape = 2
            case .m64x4: shape = 3
            default: shape = 0
            }
            emit(Instruction(.lane, a: r, b: v, c: k, k: shape))
            return r
        case .wait:
            let t = expr(args[0])
            let storage = c.type.storage
            let r = storage == .none ? -1 : destination(target, c.type)
            location = loc
            emit(Instruction(.wait, a: max(r, 0), b: t, k: Compiler.messageK(c.type)))
            return r
        case .chanMake:
            let cap = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.makeChan, a: r, b: cap))
            return r
        case .send:
            let ch = expr(args[0])
            let v = expr(args[1])
            location = loc
            emit(Instruction(.send, a: ch, b: v, k: Int(args[1].type.storage.rawValue)))
            return -1
        case .recv:
            let ch = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.recv, a: r, b: ch, k: Compiler.messageK(c.type)))
            return r
        case .close:
            let ch = expr(args[0])
            location = loc
            emit(Instruction(.close, a: ch))
            return -1
        case .yield:
            emit(Instruction(.yield))
            return -1
        case .sleep:
            let ms = expr(args[0])
            location = loc
            emit(Instruction(.sleep, a: ms))
            return -1
        case .now:
            let r = destination(target, .int)
            emit(Instruction(.now, a: r))
            return r
        case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
            if isKernelNode(c) { return kernel(c, into: target) }
            let f = ElementwiseMath.from(b)
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            if c.type.isSIMD {
                emit(Instruction(.simdUnary, a: r, b: v, k: SimdOp.pack(SimdOp(f), isF64: c.type == .f64x4)))
            } else {
                emit(Instruction(.scalarMath, a: r, b: v, c: 0, k: MathOp.pack(MathOp(f), c.type.elementKind!)))
            }
            return r
        case .pow:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let l = simdOperand(args[0], c.type)
                let rr = simdOperand(args[1], c.type)
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(.pow, isF64: c.type == .f64x4)))
                return r
            }
            let l = expr(args[0])
            let rr = expr(args[1])
            let r = destination(target, c.type)
            location = loc
            emit(Instruction(.scalarMath, a: r, b: l, c: rr, k: MathOp.pack(.pow, c.type.elementKind!)))
            return r
        case .select:
            if isKernelNode(c) { return kernel(c, into: target) }
            if c.type.isSIMD {
                let m = maskOperand(args[0], c.type.maskType!)
                let pair = allocateSlots(8)
                simdOperands(args.dropFirst(), at: pair, c.type)
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdSelect, a: r, b: m, c: pair))
                return r
            }
            // Scalars: both values are evaluated (left to right), then one is picked.
            let m = expr(args[0])
            let x = expr(args[1])
            let y = expr(args[2])
            let r = destination(target, c.type)
            let pickX = newLabel()
            let end = newLabel()
            emitJump(Instruction(.jumpIfTrue, a: m), to: pickX)
            move(c.type, to: r, from: y)
            emitJump(Instruction(.jump), to: end)
            bind(pickX)
            move(c.type, to: r, from: x)
            bind(end)
            return r
        case .any, .all, .count:
            let op: ReductionOp = b == .any ? .any : b == .all ? .all : .count
            if args[0].type.isMask {
                let v = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(Instruction(.simdReduce, a: r, b: v, k: Int(op.rawValue) << 1 | (args[0].type == .m64x4 ? 1 : 0)))
                return r
            }
            return reduction(op, args, resultType: c.type, into: target, at: loc)
        case .toInt, .toFloat, .toF32:
            let from = args[0].type
            if from == .str { return parseNumber(c, into: target) }
            if case .array(let fromKind) = from {
                let a = expr(args[0])
                let r = destination(target, c.type)
                location = loc
                emit(
                    Instruction(
                        .builtin, a: r, b: a, c: Conversion.pack(from: fromKind, to: c.type.elementKind!),
                        k: Int(BuiltinOp.convertArray.rawValue)))
                return r
            }
            if from == c.type { return expr(args[0], into: target) }
            let v = expr(args[0])
            let r = destination(target, c.type)
            location = loc
            emit(
                Instruction(.convert, a: r, b: v, k: Conversion.pack(from: from.elementKind!, to: c.type.elementKind!)))
            return r
        case .toStr:
            let v = expr(args[0])
            let r = destination(target, .str)
            location = loc
            emit(Instruction(.format, a: r, b: v, c: typeIndex(args[0].type)))
            return r
        case .argc, .arg, .eof, .save, .readLine, .readFile, .writeFile, .loadF32, .loadFloat, .loadInt:
            return ioBuiltinCall(b, c, into: target)
        }
    }

    // MARK: Input and output (Interpreter/IOBuiltins.swift)

    /// A call of an input or output built-in: its arguments in consecutive registers, one `io`.
    /// The SIMD operands of `fma` and `select` into consecutive 4-slot values from `base`: a SIMD
    /// argument is evaluated there, a scalar one is splatted (the other operands' lane type).
    func simdOperands(_ args: some Collection<Expr>, at base: Int, _ type: VType) {
        for (i, a) in args.enumerated() {
            if a.type.isSIMD {
                _ = expr(a, into: base + 4 * i)
            } else {
                let s = expr(a)
                emit(Instruction(.splat, a: base + 4 * i, b: s, k: type == .f64x4 ? 1 : 0))
            }
        }
    }

    func ioBuiltinCall(_ b: Builtin, _ c: CallExpr, into target: Int?) -> Int {
        guard let signature = IOSignature.table[b] else {
            compiler.error("'\(c.callee)' is not an input or output built-in", at: c.location)
            return destination(target, c.type)
        }
        let base = consecutiveArguments(c.args)
        let r = signature.result == .void ? -1 : destination(target, signature.result)
        location = c.location
        let kind = signature.result.elementKind.map { Int($0.rawValue) } ?? 0
        emit(Instruction(.io, a: max(r, 0), b: base, c: kind, k: Int(signature.operation.rawValue)))
        return r
    }

    /// `int(s)`, `float(s)`, `f32(s)` of a str.
    func parseNumber(_ c: CallExpr, into target: Int?) -> Int {
        let s = expr(c.args[0])
        let r = destination(target, c.type)
        location = c.location
        emit(
            Instruction(
                .io, a: r, b: s, c: Int(c.type.elementKind!.rawValue), k: Int(IOOp.parseNumber.rawValue)))
        return r
    }

    /// The REPL's display of a value (CallTarget.echo, made by Session): one `io echo`.
    func echo(_ c: CallExpr) -> Int {
        let v = expr(c.args[0])
        location = c.location
        emit(Instruction(.io, a: 0, b: v, c: typeIndex(c.args[0].type), k: Int(IOOp.echo.rawValue)))
        return -1
    }
}
