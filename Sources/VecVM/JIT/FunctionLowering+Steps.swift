// Function lowering: instructions that native code runs through the runtime. A kernel, a builtin,
// a string, a print, a move of a reference, an array made or sliced: none has machine code of its
// own in a native function, and none needs to leave the function for the interpreter either. The
// code stores the values the instruction reads (and those live after it in registers a C call may
// clobber) to their slots, calls NativeStepHelper with the frame's registers and the instruction's
// pc, and goes on: it loads the scalar the instruction wrote, and reads an array it made through
// the array table, where the helper wrote its (data, count). The helper runs the interpreter's own
// code for the instruction (Interpreter.runStep), so the results are the interpreter's bits; a
// runtime error it meets (a kernel's length mismatch, a slice out of bounds, the memory limit)
// comes back as a nonzero answer: the code leaves for the interpreter at the instruction, which
// throws the error recorded for the task with that instruction's location.
//
// The objects of the frame stay where the interpreter keeps them (the task's object registers): only
// the helper touches them, so they are exactly what the interpreter would hold, and a return of an
// object (`retRef`) moves it to the frame's first object register, where the caller finds it.
//
// A function with such instructions needs the task's context in rbp (for the helper) and the array
// table in rsi. The table is a stack beside the registers: a native callee's is its caller's from
// the call's window on, so an array passed in the window (put there by a step) is read by the callee
// where the step wrote it, and an array returned (retRef) is in the caller's table at the call's
// register. Before it returns, such a function has the helper release the objects of its frame, as
// the interpreter's return does (its caller may be native code, which would not).
//
// Invariant: every array in an object register of a native frame has its current (data, count)
// in the frame's table entry — written by runNative for the parameters of an entry from the
// interpreter, and by the helper for every step that puts an array in a register.

extension FunctionLowering {
    /// The opcodes native code runs through the runtime (NativeStepHelper). None calls a function of
    /// the program; `recvOrJump` may jump; the channel operations and `wait` may park the task (see
    /// `mayPark`), `sleep` and `yield` block it where it is.
    static func runsThroughRuntime(_ op: Opcode) -> Bool {
        switch op {
        case .moveRef, .loadString, .getGlobal, .getGlobal4, .getGlobalRef, .setGlobalRef, .setGlobal, .setGlobal4,
            .slice, .arrayLiteral,
            .kernel, .checkLengths, .builtin, .print, .concat, .format, .getBool, .setBool, .makeChan, .now, .retRef,
            .send, .recv, .recvOrJump, .wait, .sleep, .yield, .close, .spawn:
            return true
        default:
            return false
        }
    }

    /// The steps that may park a task without its stack (a spawned task waiting in a send, a receive
    /// or a wait): the helper answers `parked`, the code leaves for the interpreter with the frame's
    /// values written back, and the task parks as an interpreted one does (its stack goes back).
    /// When it is woken, the interpreter completes the instruction and re-enters the native code
    /// after it (an entry point: see `analyze`), or at it for a `wait`, which runs again.
    static func mayPark(_ op: Opcode) -> Bool {
        switch op {
        case .send, .recv, .recvOrJump, .wait: return true
        default: return false
        }
    }

    /// What a received or waited-for value is (K of `recv`, `recvOrJump`, `wait`: Compiler.messageK),
    /// or nil for no value.
    func messageKind(_ k: Int) throws(Unsupported) -> Kind? {
        let code = k >> 4
        switch ValueStorage(rawValue: UInt8(k & 15)) ?? .none {
        case .none: return nil
        case .scalar:
            guard code > 0, let e = ElementKind(rawValue: UInt8(code - 1)) else {
                throw Unsupported(reason: "receives a value of no known kind")
            }
            return scalarKind(e)
        case .simd: return code == 2 ? .v64 : .v32
        case .reference: return code > 0 ? .array(ElementKind(rawValue: UInt8(code - 1)) ?? .int) : .reference
        }
    }

    /// Whether the instruction at hand runs through the runtime here: one of those opcodes, or the
    /// release of temporaries (`clearRefs`) in a function that makes objects (elsewhere the objects
    /// are the caller's arguments, released when the function returns). Only the function's own
    /// instructions: an inlined body has none of these, and its `clearRefs` releases nothing.
    func isStep(_ ins: Instruction) -> Bool {
        if FunctionLowering.runsThroughRuntime(ins) { return true }
        return ins.opcode == .clearRefs && hasSteps
    }

    /// `runsThroughRuntime` of an instruction: its opcode's, or a comparison of strings.
    static func runsThroughRuntime(_ ins: Instruction) -> Bool {
        if ins.opcode == .compare { return CompareClass(rawValue: UInt8(ins.k & 7)) == .str }
        return runsThroughRuntime(ins.opcode)
    }

    /// The kind of the object a register holds after an object is moved into it from a register of
    /// kind `k`.
    func objectKind(_ k: Kind) -> Kind {
        if case .array = k { return k }
        return .reference
    }

    /// What a step reads and writes: the scalar (machine) registers it reads, the scalar it writes,
    /// and the kind of the object it writes (an array, which native code may then index).
    func stepEffects(_ ins: Instruction, _ state: [Kind]) throws(Unsupported) -> Effects {
        var e = Effects()
        let opA = ins.a
        let opB = ins.b
        let opC = ins.c
        func use(_ s: Int, _ k: Kind) { e.uses.append((s, k)) }
        func def(_ s: Int, _ k: Kind) { e.defs.append((s, k)) }
        func stateOf(_ s: Int) -> Kind { s < state.count ? state[s] : .unknown }
        switch ins.opcode {
        case .moveRef: def(opA, objectKind(stateOf(opB)))
        case .loadString, .concat: def(opA, .reference)
        case .getGlobal: def(opA, scalarKind(ElementKind(rawValue: UInt8(ins.k)) ?? .int))
        case .getGlobal4: def(opA, ins.k & 1 == 1 ? .v64 : .v32)
        case .getGlobalRef:
            // K: 1 + the element kind of an array global (Compiler), 0 for any other object.
            def(opA, ins.k > 0 ? .array(ElementKind(rawValue: UInt8(ins.k - 1)) ?? .int) : .reference)
        case .format:
            // A value in a machine register (a mask too, which lives in a YMM register) is stored for it.
            if stateOf(opB).isMachine && function.types[opC].storage != .reference { use(opB, stateOf(opB)) }
            def(opA, .reference)
        case .makeChan:
            use(opB, .int)
            def(opA, .reference)
        case .setGlobalRef, .checkLengths, .retRef: break
        case .setGlobal:
            let k = stateOf(opA)
            guard k == .int || k == .f32 || k == .f64 else { throw Unsupported(reason: "stores a \(k) global") }
            use(opA, k)
        case .setGlobal4:
            let k = stateOf(opA)
            guard k == .v32 || k == .v64 else { throw Unsupported(reason: "stores a \(k) global") }
            use(opA, k)
        case .slice:
            use(opC, .int)
            use(opC + 1, .int)
            def(opA, objectKind(stateOf(opB)))
        case .arrayLiteral:
            let el = ElementKind(rawValue: UInt8(ins.k)) ?? .int
            for r in opB..<(opB + opC) { use(r, scalarKind(el)) }
            def(opA, .array(el))
        case .kernel:
            let site = function.kernelSites[opB]
            for (r, el) in zip(site.scalarRegisters, site.program.scalarInputs) { use(r, scalarKind(el)) }
            switch site.program.output {
            case .store: def(opA, .array(site.program.element))
            case .reduce: def(opA, scalarKind(site.program.resultKind))
            }
        case .builtin:
            switch BuiltinOp(rawValue: UInt8(ins.k)) ?? .iota {
            case .iota:
                use(opB, .int)
                def(opA, .array(.int))
            case .fill:
                let el = ElementKind(rawValue: UInt8(opC)) ?? .int
                use(opB, .int)
                use(opB + 1, scalarKind(el))
                def(opA, .array(el))
            case .convertArray: def(opA, .array(ElementKind(rawValue: UInt8(opC & 15)) ?? .int))
            case .lengthStr: def(opA, .int)
            }
        case .print:
            let site = function.printSites[ins.bx]
            for (r, t) in zip(site.registers, site.types) where t.storage != .reference && stateOf(r).isMachine {
                use(r, stateOf(r))
            }
        case .getBool:
            use(opC, .int)
            def(opA, .int)
        case .setBool:
            use(opB, .int)
            use(opC, .int)
        case .now: def(opA, .int)
        case .compare: def(opA, .int)  // of strings (isStep)
        case .send:
            // A scalar or SIMD value in a register is stored for the helper; an object is in its
            // object register.
            if stateOf(opB).isMachine { use(opB, stateOf(opB)) }
        case .recv, .recvOrJump, .wait:
            if let k = try messageKind(ins.k) { def(opA, k) }
        case .sleep: use(opA, .int)
        case .yield, .close: break
        case .spawn:
            var slot = opB
            for t in functions[opC].parameterTypes {
                if kind(of: t).isMachine { use(slot, kind(of: t)) }
                slot += max(1, t.storage.slots)
            }
            def(opA, .reference)
        case .clearRefs:
            // The objects are released: a register that held one holds nothing native code may read.
            for s in opA..<(opA + opB) where s < state.count {
                if case .array = state[s] { def(s, .unknown) } else if state[s] == .reference { def(s, .unknown) }
            }
        default:
            throw Unsupported(reason: "runs \(ins.opcode.name) through the runtime")
        }
        return e
    }

    /// Calls NativeStepHelper for the instruction at `pc` (see the top of this file). The C ABI lets
    /// the helper clobber rax, rcx, rdx, rsi, rdi, r8-r11 and every vector register, as for the math
    /// helper (emitMathHelperCall): the values live after the instruction in those are stored first
    /// and loaded after, the operands are stored for the helper to read, and the scalar it writes is
    /// loaded from its slot. A nonzero answer (the instruction failed; the error waits in the task's
    /// state) leaves for the interpreter at the instruction with nothing written back: the interpreter
    /// throws the error at once, and no frame value is read again.
    mutating func emitStep(_ pc: Int) throws(Unsupported) {
        let ins = code[pc]
        guard case .own(let own) = origins[pc] else {
            // An inlined callee's release of its temporaries: it made none (its body has no steps).
            if ins.opcode == .clearRefs { return }
            throw Unsupported(reason: "a step in an inlined body")
        }
        let e = try stepEffects(ins, stateIn[pc])
        let isReturn = ins.opcode == .retRef
        var after: [Int: Kind] = [:]
        for s in successors(pc) { after.merge(try liveKinds(at: s, state: stateOut[pc])) { k, _ in k } }
        let written = Set(e.defs.map(\.0))
        let spilled = after.filter { s, k in
            !written.contains(s) && !inPreservedGPR(s, k)
        }
        emitStores(spilled)
        var operands: [Int: Kind] = [:]
        for (s, k) in e.uses where k.isMachine && spilled[s] == nil { operands[s] = k }
        emitStores(operands)
        let answers = FunctionLowering.mayPark(ins.opcode)
        emitHelperCall(own, checked: !answers)
        if answers {
            // 2: parked without its stack. The values live after the instruction go back to `regs`
            // (those in registers the helper preserves are not there yet), and the code leaves with
            // the pc of the instruction, which the interpreter completes when the task is woken.
            let parked = a.newLabel()
            parkExits.append((parked, own, after.filter { s, _ in !written.contains(s) && spilled[s] == nil }))
            a.cmp(.eax, 2)
            a.j(.e, parked)
            if ins.opcode == .recvOrJump {
                // 3: the channel is closed and drained: take the jump.
                let stay = a.newLabel()
                a.cmp(.eax, 3)
                a.j(.ne, stay)
                emitLoads(spilled)
                a.jmp(labels[pc + 1 + ins.sC])
                a.bind(stay)
            }
            a.test(.eax, .eax)
            a.j(.ne, stepFailures.last!.0)
        }
        var loaded: [Int: Kind] = [:]
        for (s, k) in e.defs where k.isMachine { loaded[s] = k }
        emitLoads(loaded)
        emitLoads(spilled)
        if isReturn { emitEpilogue(returned: true) }
    }

    /// Before a return of a function with steps: the helper releases the objects of the frame
    /// (those its steps made, and its arguments), as the interpreter's return does, but for a
    /// returned object, which it moves to the frame's first object register. The result, if any, is
    /// in its slot already.
    mutating func emitReleaseBeforeReturn(_ pc: Int) {
        emitHelperCall(ownPc(pc), checked: true)
    }

    /// The call of NativeYieldHelper (rax: its answer), with the frame's registers and array table
    /// kept; every value it would clobber was stored by the caller.
    mutating func emitYieldHelperCall() {
        emitCCall(NativeYieldHelper.address) { _ in }
    }

    /// The call of NativeStepHelper for the instruction at the function's pc `own`, its failure exit
    /// (the last of `stepFailures`), and, when `checked`, the jump there when it answers nonzero.
    mutating func emitHelperCall(_ own: Int, checked: Bool) {
        let (table, regs, ctx, index) = (usesArrayTable ? arraysBase : nil, regsBase, context, function.index)
        emitCCall(NativeStepHelper.address) { a in
            // helper(context, regs, array table, pc, function)
            if let table { a.mov(.rdx, table) } else { a.mov(.edx, 0) }
            a.mov(.rsi, regs)
            a.mov(.rdi, ctx)
            a.mov(.ecx, Int64(own))
            a.mov(.r8d, Int64(index))
        }
        let failed = a.newLabel()
        stepFailures.append((failed, own))
        if checked {
            a.test(.eax, .eax)
            a.j(.ne, failed)
        }
    }
}
