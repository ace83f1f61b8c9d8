// The compiler, part 3: expressions — constants and literals, names, unary and binary operators
// on scalars, SIMD values and masks. See Compiler.swift for the compiler's state.

extension FunctionCompiler {
    // MARK: Expressions

    /// Compiles `e`; returns the register holding its value (`into` when given). With `discard`, a
    /// value-less call is fine and the result may go anywhere.
    @discardableResult
    func expr(_ e: Expr, into target: Int? = nil, discard: Bool = false) -> Int {
        let saved = location
        location = e.location
        defer { location = saved }
        let r = exprBody(e, into: target)
        if e.type.storage == .reference && r >= 0 { noteReference(r) }
        return r
    }

    func destination(_ target: Int?, _ type: VType) -> Int { target ?? allocate(type) }

    func loadConstantBits(_ bits: UInt64, _ type: VType, into target: Int?) -> Int {
        let r = destination(target, type)
        let asInt = Int64(bitPattern: bits)
        if type == .int || type == .bool, asInt >= Int64(Int32.min), asInt <= Int64(Int32.max) {
            emit(Instruction(.loadInt, a: r, bx: Int(asInt)))
        } else {
            // K records the constant's type (an element kind) for the function JIT.
            emit(Instruction(.loadConst, a: r, bx: constant(bits), k: Int((type.elementKind ?? .int).rawValue)))
        }
        return r
    }

    /// The bits of a numeric literal (possibly negated) in its resolved type.
    func literalBits(_ e: Expr) -> UInt64? {
        var negate = false
        var node = e
        if let u = e as? UnaryExpr, u.op == .negate, u.operand is IntLiteral || u.operand is FloatLiteral {
            negate = true
            node = u.operand
        }
        switch (node.kind, e.type) {
        case (.intLiteral(let lit), .int):
            guard let m = lit.magnitude else { return nil }
            let v = Int64(bitPattern: m)
            return UInt64(bitPattern: negate ? 0 &- v : v)
        case (.intLiteral(let lit), .float):
            guard let m = lit.magnitude else { return nil }
            let d = Double(m)
            return (negate ? -d : d).bitPattern
        case (.intLiteral(let lit), .f32):
            guard let m = lit.magnitude else { return nil }
            let f = Float(m)
            return UInt64((negate ? -f : f).bitPattern)
        case (.floatLiteral(let lit), .float):
            let d = Double(lit.text) ?? .nan
            return (negate ? -d : d).bitPattern
        case (.floatLiteral(let lit), .f32):
            let f = Float(lit.text) ?? .nan
            return UInt64((negate ? -f : f).bitPattern)
        default:
            return nil  // not a numeric literal (or one of a type it cannot have)
        }
    }

    func exprBody(_ e: Expr, into target: Int?) -> Int {
        if let bits = literalBits(e) { return loadConstantBits(bits, e.type, into: target) }
        switch e.kind {
        case .intLiteral, .floatLiteral:
            // literalBits read it, unless the checker reported it (too large for 64 bits) or left it untyped.
            internalError("a numeric literal of type \(e.type)", at: e.location)
            return destination(target, e.type)
        case .boolLiteral(let b):
            return loadConstantBits(b.value ? 1 : 0, .bool, into: target)
        case .stringLiteral(let s):
            let r = destination(target, .str)
            fn.strings.append(VMString(s.value))
            emit(Instruction(.loadString, a: r, bx: fn.strings.count - 1))
            return r
        case .name(let n):
            guard let v = n.variable else { return destination(target, e.type) }
            if v.isGlobal {
                let r = destination(target, v.type)
                switch v.type.storage {
                // K: what the value is, for the function JIT (Opcode.getGlobal's semantics).
                case .scalar:
                    emit(Instruction(.getGlobal, a: r, bx: v.slot, k: Int(v.type.elementKind?.rawValue ?? 0)))
                case .simd:
                    emit(Instruction(.getGlobal4, a: r, bx: v.slot, k: v.type == .f64x4 || v.type == .m64x4 ? 1 : 0))
                case .reference:
                    let k = v.type.isArray ? 1 + Int(v.type.elementKind?.rawValue ?? 0) : 0
                    emit(Instruction(.getGlobalRef, a: r, bx: v.slot, k: k))
                case .none: break
                }
                return r
            }
            if let t = target {
                move(v.type, to: t, from: v.slot)
                return t
            }
            return v.slot
        case .unary(let u):
            return unary(u, into: target)
        case .binary(let b):
            return binary(b, into: target)
        case .call(let c):
            return call(c, into: target)
        case .spawn(let s):
            return spawn(s, into: target)
        case .index(let ix):
            guard case .array(let kind) = ix.base.type else { return destination(target, e.type) }
            let base = expr(ix.base)
            let index = expr(ix.index)
            let r = destination(target, e.type)
            location = ix.location
            emit(Instruction(Opcode.get(kind), a: r, b: base, c: index))
            return r
        case .slice(let s):
            let base = expr(s.base)
            let bounds = allocateSlots(2)
            _ = expr(s.lower, into: bounds)
            _ = expr(s.upper, into: bounds + 1)
            let r = destination(target, e.type)
            location = s.location
            emit(Instruction(.slice, a: r, b: base, c: bounds))
            return r
        case .arrayLiteral(let a):
            guard case .array(let kind) = a.type else { return destination(target, e.type) }
            if a.elements.count > FunctionCompiler.registerLiteralLimit {
                return largeArrayLiteral(a, kind, into: target)
            }
            let first = consecutiveArguments(a.elements)
            let r = destination(target, e.type)
            location = a.location
            emit(Instruction(.arrayLiteral, a: r, b: first, c: a.elements.count, k: Int(kind.rawValue)))
            return r
        }
    }

    /// Array literals up to this many elements take one register per element and one instruction;
    /// longer ones are filled element by element in a few registers (`largeArrayLiteral`).
    static let registerLiteralLimit = 256

    /// `[e0, e1, ...]` of any length: a zeroed array (`fill(n, 0)`), then one store per element, in
    /// order, through three registers — a function's 65,000 registers no longer bound a literal.
    func largeArrayLiteral(_ a: ArrayLiteral, _ kind: ElementKind, into target: Int?) -> Int {
        let r = destination(target, a.type)
        let base = allocateSlots(2)
        let saved = nextRegister
        location = a.location
        _ = loadConstantBits(UInt64(a.elements.count), .int, into: base)
        _ = loadConstantBits(0, .int, into: base + 1)  // zero bits: 0, 0.0, f32 0 and false alike
        emit(Instruction(.builtin, a: r, b: base, c: Int(kind.rawValue), k: Int(BuiltinOp.fill.rawValue)))
        noteReference(r)
        let (store, elementType): (Opcode, VType) =
            switch kind {
            case .int: (.setInt, .int)
            case .float: (.setFloat, .float)
            case .f32: (.setF32, .f32)
            case .bool: (.setBool, .bool)
            }
        for (i, element) in a.elements.enumerated() {
            nextRegister = saved
            let index = loadConstantBits(UInt64(i), .int, into: nil)
            let value = expr(element, into: allocate(elementType))
            location = element.location
            emit(Instruction(store, a: r, b: index, c: value))
        }
        nextRegister = saved
        return r
    }

    func unary(_ u: UnaryExpr, into target: Int?) -> Int {
        if u.op == .not && u.type.isArray { return kernel(u, into: target) }
        if u.op == .not && u.type.isMask {
            let v = expr(u.operand)
            let r = destination(target, u.type)
            emit(Instruction(.simdMask, a: r, b: v, c: v, k: Int(MaskOp.not.rawValue)))
            return r
        }
        if u.op == .not {
            let v = expr(u.operand)
            let r = destination(target, .bool)
            emit(Instruction(.not, a: r, b: v))
            return r
        }
        switch u.type {
        case .array:
            return kernel(u, into: target)
        case .f32x8, .f64x4:
            let v = expr(u.operand)
            let r = destination(target, u.type)
            emit(Instruction(.simdUnary, a: r, b: v, k: SimdOp.pack(.neg, isF64: u.type == .f64x4)))
            return r
        default:
            let v = expr(u.operand)
            let r = destination(target, u.type)
            let op: Opcode = u.type == .int ? .negInt : u.type == .float ? .negFloat : .negF32
            emit(Instruction(op, a: r, b: v))
            return r
        }
    }

    func scalarArithmetic(_ op: BinaryOp, _ t: VType, dst: Int, lhs: Int, rhs: Int) {
        let code: Opcode
        switch (t, op) {
        case (.int, .add): code = .addInt
        case (.int, .sub): code = .subInt
        case (.int, .mul): code = .mulInt
        case (.int, .div): code = .divInt
        case (.int, .mod): code = .modInt
        case (.float, .add): code = .addFloat
        case (.float, .sub): code = .subFloat
        case (.float, .mul): code = .mulFloat
        case (.float, .div): code = .divFloat
        case (.f32, .add): code = .addF32
        case (.f32, .sub): code = .subF32
        case (.f32, .mul): code = .mulF32
        case (.f32, .div): code = .divF32
        default:
            // The checker allows these operators on these types only (arithmeticResult).
            internalError("no instruction for '\(op.rawValue)' on \(t)", at: location)
            return
        }
        emit(Instruction(code, a: dst, b: lhs, c: rhs))
    }

    func binary(_ b: BinaryExpr, into target: Int?) -> Int {
        if b.type.isArray && (b.op == .and || b.op == .or || b.op.isComparison) { return kernel(b, into: target) }
        if b.type.isMask && (b.op == .and || b.op == .or) {
            let l = maskOperand(b.lhs, b.type)
            let rr = maskOperand(b.rhs, b.type)
            let r = destination(target, b.type)
            let op: MaskOp = b.op == .and ? .and : .or
            emit(Instruction(.simdMask, a: r, b: l, c: rr, k: Int(op.rawValue)))
            return r
        }
        if b.type.isMask {
            // A comparison of SIMD values (a scalar side is splatted); a > b is b < a, a >= b is b <= a.
            let simd = b.type.maskedSIMDType!
            let l = simdOperand(b.lhs, simd)
            let rr = simdOperand(b.rhs, simd)
            let r = destination(target, b.type)
            let swapped = b.op == .gt || b.op == .ge
            let cmp: CompareOp = b.op == .eq ? .eq : b.op == .ne ? .ne : (b.op == .lt || b.op == .gt) ? .lt : .le
            let (x, y) = swapped ? (rr, l) : (l, rr)
            emit(Instruction(.simdCompare, a: r, b: x, c: y, k: Int(cmp.rawValue) << 1 | (simd == .f64x4 ? 1 : 0)))
            return r
        }
        switch b.op {
        case .and, .or:
            let r = destination(target, .bool)
            let falseLabel = newLabel()
            let end = newLabel()
            branch(b, jumpWhen: false, to: falseLabel)
            emit(Instruction(.loadInt, a: r, bx: 1))
            emitJump(Instruction(.jump), to: end)
            bind(falseLabel)
            emit(Instruction(.loadInt, a: r, bx: 0))
            bind(end)
            return r
        case .eq, .ne, .lt, .le, .gt, .ge:
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, .bool)
            location = b.location
            // a > b is b < a; a >= b is b <= a (also with NaN).
            let swapped = b.op == .gt || b.op == .ge
            let (x, y) = swapped ? (rr, l) : (l, rr)
            let cmp: CompareOp = b.op == .eq ? .eq : b.op == .ne ? .ne : (b.op == .lt || b.op == .gt) ? .lt : .le
            switch b.lhs.type {
            case .int, .bool:
                let code: Opcode = cmp == .eq ? .eqInt : cmp == .ne ? .neInt : cmp == .lt ? .ltInt : .leInt
                emit(Instruction(code, a: r, b: x, c: y))
            default:
                let cls: CompareClass = b.lhs.type == .float ? .float : b.lhs.type == .f32 ? .f32 : .str
                emit(Instruction(.compare, a: r, b: x, c: y, k: Int(cmp.rawValue) << 3 | Int(cls.rawValue)))
            }
            return r
        case .add, .sub, .mul, .div, .mod:
            break
        }
        switch b.type {
        case .array:
            return kernel(b, into: target)
        case .str:
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, .str)
            location = b.location
            emit(Instruction(.concat, a: r, b: l, c: rr))
            return r
        case .f32x8, .f64x4:
            let l = simdOperand(b.lhs, b.type)
            let rr = simdOperand(b.rhs, b.type)
            let r = destination(target, b.type)
            let op: SimdOp = b.op == .add ? .add : b.op == .sub ? .sub : b.op == .mul ? .mul : .div
            emit(Instruction(.simdBinary, a: r, b: l, c: rr, k: SimdOp.pack(op, isF64: b.type == .f64x4)))
            return r
        default:
            // `i + 1`, `n - 2`: add an immediate.
            if b.type == .int, b.op == .add || b.op == .sub, let imm = smallImmediate(b.rhs) {
                let l = expr(b.lhs)
                let r = destination(target, .int)
                location = b.location
                emit(Instruction(.addIntImm, a: r, b: l, c: b.op == .add ? imm : -imm))
                return r
            }
            if b.type == .float, let r = floatWithConstant(b, into: target) { return r }
            let l = expr(b.lhs)
            let rr = expr(b.rhs)
            let r = destination(target, b.type)
            location = b.location
            scalarArithmetic(b.op, b.type, dst: r, lhs: l, rhs: rr)
            return r
        }
    }

    /// `x * 2.0`, `x - 0.5`, `2.0 * x`: float arithmetic with a literal operand reads the literal from
    /// the constants (addFloatK, subFloatK, mulFloatK, divFloatK: Lua 5.4's K forms), one instruction
    /// instead of a loadConst and the operation. A literal on the left only of `+` and `*`, whose
    /// operands swap (IEEE addition and multiplication are commutative, and a literal is never a NaN
    /// whose payload could tell the orders apart). Nil: no such form.
    func floatWithConstant(_ b: BinaryExpr, into target: Int?) -> Int? {
        let code: Opcode
        switch b.op {
        case .add: code = .addFloatK
        case .sub: code = .subFloatK
        case .mul: code = .mulFloatK
        case .div: code = .divFloatK
        case .mod, .and, .or, .eq, .ne, .lt, .le, .gt, .ge: return nil
        }
        let operand: Expr
        let bits: UInt64
        if let k = literalBits(b.rhs) {
            (operand, bits) = (b.lhs, k)
        } else if code == .addFloatK || code == .mulFloatK, let k = literalBits(b.lhs) {
            (operand, bits) = (b.rhs, k)
        } else {
            return nil
        }
        let index = constant(bits)
        guard index <= Int(UInt16.max) else { return nil }
        let l = expr(operand)
        let r = destination(target, .float)
        location = b.location
        emit(Instruction(code, a: r, b: l, c: index))
        return r
    }

    /// A SIMD operand; a scalar is splatted into a temporary vector.
    func simdOperand(_ e: Expr, _ simdType: VType) -> Int {
        if e.type.isSIMD { return expr(e) }
        let s = expr(e)
        let r = allocate(simdType)
        emit(Instruction(.splat, a: r, b: s, k: simdType == .f64x4 ? 1 : 0))
        return r
    }

    /// A mask operand; a bool scalar becomes all-true or all-false lanes (0 - b in every lane).
    func maskOperand(_ e: Expr, _ maskType: VType) -> Int {
        if e.type.isMask { return expr(e) }
        let s = expr(e)
        let t = allocate(.int)
        emit(Instruction(.negInt, a: t, b: s))
        let r = allocate(maskType)
        // The bits of -1 (or 0) splatted as f64 lanes are all-ones (or zero) lanes of either width.
        emit(Instruction(.splat, a: r, b: t, k: 1))
        return r
    }
}
