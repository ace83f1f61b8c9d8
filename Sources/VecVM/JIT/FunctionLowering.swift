// Function lowering: a whole .vec function whose body uses only scalars, SIMD values, array element
// and lane access and arithmetic (the "explicit SIMD" style: `acc = fma(vload(a, i), vload(b, i), acc)`
// in a loop) becomes native code that keeps its values in machine registers — ints and bools in
// GPRs, floats in XMM, f32x8/f64x4 in YMM registers — for the whole function.
//
// Native entry (SysV ABI):
//
//     int64_t fn(uint64_t *regs,           // rdi: the frame's registers (arguments in, result out)
//                const ArrayRef *arrays,   // rsi: (data, count) of each array register, by register
//                const uint32_t *preempt,  // rdx: the task's preemption flag
//                int64_t entry,            // rcx: the pc to start at (0, or a loop header after a yield)
//                NativeCallContext *ctx)   // r8: limits and the deopt chain (functions that call)
//
// Calls between lowered functions are native (see "Native calls" below `emitCall`): the caller writes
// the arguments into the callee's register window (regs + A, as the interpreter's `call A` does) and
// calls the callee's second entry, the *call entry*, which checks the machine stack, the register
// stack and the preemption flag before it runs; a callee that cannot go on returns a pc like any
// exit, and each native caller on the way out appends its call's pc to the context's chain, so the
// interpreter can rebuild one frame per native level (Interpreter.materializeNativeChain).
//
// It returns -1 when the function returned (its result in regs[0...]), or the pc at which the
// interpreter must go on, with every live register written back to `regs` first (a "deopt"):
//   - before an instruction whose check fails (index out of bounds, division by zero, lane out of
//     range): the interpreter runs that instruction again and reports the error with its location;
//   - at a loop back-edge when the preemption flag is set (`preemptBit` set in the result): the
//     interpreter yields, then re-enters the native code at the loop header.
//   - at an instruction outside the subset ("leaving for the interpreter"): a send or receive,
//     a print, a kernel, a builtin, anything on strings, tasks or globals. The
//     interpreter runs it and the rest of the call; every machine value of the frame is written
//     back, since the interpreted rest may read any. A function leaves only after a loop: one
//     whose every path reaches such an instruction before any loop stays interpreted (native code
//     would only add an entry and an exit), as does one with a slot of no single kind there.
//     So `for j in 0..n { s += f(j) }; send(out, s)` runs its loop natively; and a task's
//     first frame starts as native code (Interpreter.enterNatively), as a call would.
// So the native code never raises errors or yields itself, and behaves exactly like the bytecode.
//
// What makes a function eligible: every instruction it runs natively is in the subset below,
// every register holds one kind of value wherever it is read (found by a forward dataflow pass over
// the bytecode), the values live at every exit have a known kind (so they can be written back), and
// the vector values fit in 14 vector registers. Integers get 9 GPRs (10 with no array parameter, 11
// with no call too); when more are live at once, the cheapest stay in their slots of `regs` and two of
// the GPRs carry them through each instruction ("spilled": allocateWithSpills, emitSpilling; --stats
// lists them as `jit.spilled:`). Anything else leaves the function to the interpreter and `--stats`
// names it with the reason.
//
// Like kernels, the code calls nothing but other lowered functions and one helper for the math
// functions (NativeMathHelper: exp, log, sin, cos, tanh and pow, by the interpreter's own code; a
// signal that lands inside it is left to the next poll, as in any Swift code), takes no lock and
// never touches memory below rsp, so every instruction is an asynchronous-preemption safe point.

struct FunctionLowering {
    struct Unsupported: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Bit set in the returned pc when the exit is a cooperative yield at a loop back-edge.
    static let preemptBit: Int64 = 1 << 40

    /// What a register holds at a point of the function.
    enum Kind: Equatable {
        case unknown
        case int  // int or bool, in a GPR
        case f32, f64  // scalar, in an XMM register
        case v32, v64  // f32x8 / f64x4, in a YMM register
        case array(ElementKind)  // an array parameter (no machine register: its (data, count) is in `arrays`)
        case reference  // any other reference (not touched by native code)
        case covered  // slots 2...4 of a SIMD value
        case conflict  // different kinds on different paths

        var isVector: Bool { self == .f32 || self == .f64 || self == .v32 || self == .v64 }
        var isMachine: Bool { self == .int || isVector }
    }

    let function: Function
    /// The program's functions (the table a `call`'s Bx indexes).
    let functions: [Function]
    /// The engine lowering this function, which looks up its callees.
    let engine: X86JIT
    /// Instruction words: the function's, with small callees inlined (see Inlining).
    var code: [Instruction]
    /// Where each instruction of `code` comes from (for the pcs the interpreter resumes at).
    var origins: [Origin] = []
    /// The constants `loadConst` reads: the function's, then those of inlined callees.
    var constants: [UInt64]
    /// Registers the code may touch: the frame, or past it where an inlined callee's window ends.
    var frameExtent: Int
    var a = X86Assembler()

    // Analysis results.
    var stateIn: [[Kind]] = []
    var stateOut: [[Kind]] = []
    var liveIn: [RegisterSet] = []
    /// Each reachable instruction's effects under its settled kinds (set by `analyze`).
    var effectsAt: [Effects] = []
    var backEdgeTargets: Set<Int> = []
    /// Every pc a branch lands on (a successor other than the next instruction).
    var branchTargets: Set<Int> = []
    var entryPoints: [Int] = []

    // Register assignment: VM register -> machine register number (GPR or vector).
    var gprOf: [Int: X86.GPR] = [:]
    var vecOf: [Int: Int] = [:]
    /// Integer VM registers kept in their slots in `regs` (allocateWithSpills); gprOf maps them only
    /// while one instruction is emitted (emitSpilling).
    var spilledInts: Set<Int> = []
    /// The GPRs that carry spilled integers through an instruction, taken from the allocatable ones
    /// when a function spills (caller-saved: never live across a call).
    static let spillRegisters: [X86.GPR] = [.r10, .r9]
    static let allocatableGPRs: [X86.GPR] = [.rbx, .rcx, .r8, .r9, .r12, .r13, .r14, .r15, .r10]
    static let calleeSaved: Set<X86.GPR> = [.rbx, .r12, .r13, .r14, .r15, .rbp]
    /// The GPRs this function may allocate: the fixed set, rsi when it has no array parameters
    /// (rsi holds the array table otherwise) and rbp when it makes no calls (rbp holds the context
    /// otherwise).
    var gprs: [X86.GPR] {
        FunctionLowering.allocatableGPRs + (usesArrayTable ? [] : [.rsi]) + (needsContext ? [] : [.rbp])
    }
    let scratchVec = 15, scratchVec2 = 14
    // Fixed GPRs: rdi = regs, rsi = arrays (functions with array parameters), rbp = the context
    // (functions that call), rax/rdx/r11 scratch. The preemption flag's address is in the frame.
    let regsBase = X86.GPR.rdi
    let arraysBase = X86.GPR.rsi
    /// The frame below the saved registers: 32 bytes of scratch (lane extraction), the flag's
    /// address, the array table's (reloaded after a call).
    static let frameBytes: Int64 = 48
    let flagSlot = X86.ptr(.rsp, 32).qword
    /// A callee-saved GPR that holds the flag's address too, for the loops' polls (set by `run`
    /// when one is free).
    var flagRegister: X86.GPR?
    let arraysSlot = X86.ptr(.rsp, 40).qword

    var labels: [X86.Label] = []
    /// Accesses whose bounds check passed in the straight run of code being emitted
    /// (FunctionLowering+Checks.swift).
    var checkedAccesses: Set<CheckedAccess> = []
    /// The poll in front of each loop header (emitLoopPoll), where back-edges jump.
    var pollLabels: [Int: X86.Label] = [:]
    var exitLabel: X86.Label!
    /// Deopt stubs to emit after the body: (label, resume pc, kinds of the live registers, preempt?).
    var stubs: [(X86.Label, Int, [Int: Kind], Bool)] = []

    /// Registers that hold array parameters (the caller fills `arrays` for them).
    var arraySlots: [Int] = []
    /// Whether the function has instructions that run through the runtime (FunctionLowering+Steps).
    let hasSteps: Bool
    /// Whether the code reads the array table (kept in rsi): array parameters, arrays that steps
    /// make or receive (`holdsArrays`), an array result (its `retRef` writes the caller's entry), or
    /// callees that do (each frame's table is the caller's moved to its window).
    var usesArrayTable: Bool {
        !arraySlots.isEmpty || holdsArrays || function.resultType.isArray || calleesUseArrayTable
    }
    var calleesUseArrayTable = false
    /// Whether some register holds an array somewhere in the function (set by `analyze`).
    var holdsArrays = false
    /// The failure exits of steps: (label, the function's pc of the step).
    var stepFailures: [(X86.Label, Int)] = []
    /// The exits of steps that parked the task (FunctionLowering+Steps): (label, the function's pc
    /// of the step, the values to write back).
    var parkExits: [(X86.Label, Int, [Int: Kind])] = []
    /// Bit set in the returned pc when a step parked the task without its stack.
    static let parkedBit: Int64 = 1 << 41

    /// The target of each `call` in the function, by callee index.
    enum Callee {
        case recursive  // the function itself: a call to its own call entry
        case native(NativeFunction)
        /// A function being lowered further down (mutual recursion): a call through its cell.
        case cell(CallCell)
    }
    var callees: [Int: Callee] = [:]
    var callEntry: X86.Label!
    /// Whether the function calls or runs steps: it keeps the context in rbp (r8 at the native entry;
    /// rbp already at the call entry, where every caller has it).
    var needsContext: Bool { !callees.isEmpty || hasSteps }
    let context = X86.GPR.rbp

    init(function: Function, functions: [Function], engine: X86JIT) {
        self.function = function
        self.functions = functions
        self.engine = engine
        self.code = function.instructions
        self.constants = function.constants
        self.frameExtent = max(function.frameSize, 1)
        self.origins = function.instructions.indices.map { .own($0) }
        self.hasSteps = function.instructions.contains { FunctionLowering.runsThroughRuntime($0) }
    }

    /// What lowering produced: the code, the array slots the caller fills, the re-entry pcs, the
    /// offset of the call entry, the native functions it calls (kept alive with it), whether it
    /// needs a `NativeCallContext` and an array table, and what it runs through the runtime.
    struct Lowered {
        let code: [UInt8]
        let arraySlots: [Int]
        let entries: [Int]
        let callEntryOffset: Int
        let callees: [NativeFunction]
        let needsContext: Bool
        let makesCalls: Bool
        let usesArrayTable: Bool
        /// Whether it runs instructions through the runtime (then it is never called natively).
        let hasSteps: Bool
        /// The instructions it runs through the runtime (opcode names, sorted).
        let steps: [String]
        /// Registers past the frame's start the code may touch (the frame, or inlined callees').
        let frameExtent: Int
        /// Registers past the frame's start the code and the native calls under it may touch, a
        /// recursion counted once (NativeFunction.reachExtent).
        let reachExtent: Int
        /// The instructions at which the code leaves for the interpreter (opcode names, sorted).
        let leaves: [String]
        /// The integer registers kept in their slots (allocateWithSpills), sorted.
        let spilled: [Int]
        /// The cells it calls through (callees lowered after it), kept alive with its code.
        let callCells: [CallCell]
    }

    /// Lowers `f`, one of `functions`; the functions it calls are looked up (and lowered) by `engine`,
    /// its program's.
    static func lower(_ f: Function, functions: [Function], engine: X86JIT) throws(Unsupported) -> Lowered {
        var l = FunctionLowering(function: f, functions: functions, engine: engine)
        let bytes = try l.run()
        var natives: [NativeFunction] = []
        var cells: [CallCell] = []
        for c in l.callees.values {
            switch c {
            case .native(let n): natives.append(n)
            case .cell(let cell): cells.append(cell)
            case .recursive: break
            }
        }
        // Read the state once, into locals: a closure calling a method of `l` copies all of it.
        let (code, stateIn, hasSteps) = (l.code, l.stateIn, l.hasSteps)
        let reached = code.indices.filter { !stateIn[$0].isEmpty }
        let steps = reached.filter {
            FunctionLowering.runsThroughRuntime(code[$0]) || (code[$0].opcode == .clearRefs && hasSteps)
        }
        let leaves = reached.filter { FunctionLowering.leaves(code[$0]) }
        let entries = l.entryPoints.map { l.ownPc($0) }
        // Each native call's window plus what its callee reaches; a call that recurses (itself, or
        // through a cell) counts the callee's frame once.
        var reach = l.frameExtent
        for pc in reached where code[pc].opcode == .call {
            let window = code[pc].a
            switch l.callees[code[pc].bx] {
            case .native(let n): reach = max(reach, window + n.reachExtent)
            case .recursive, .cell, nil: reach = max(reach, window + max(functions[code[pc].bx].frameSize, 1))
            }
        }
        return Lowered(
            code: bytes, arraySlots: l.arraySlots, entries: entries,
            callEntryOffset: l.a.offset(of: l.callEntry) ?? 0, callees: natives, needsContext: l.needsContext,
            makesCalls: !l.callees.isEmpty,
            usesArrayTable: l.usesArrayTable, hasSteps: l.hasSteps,
            steps: Set(steps.map { code[$0].opcode }).map(\.name).sorted(),
            frameExtent: l.frameExtent, reachExtent: reach,
            leaves: Set(leaves.map { code[$0].opcode }).map(\.name).sorted(),
            spilled: l.spilledInts.sorted(), callCells: cells)
    }

    /// Resolves every callee before the analysis: the function itself, a function the JIT lowers
    /// too, or one being lowered further down the stack (a cycle: called through its CallCell,
    /// which sends the call to the interpreter until it is native). Anything else keeps the caller in the interpreter, with the reason. Objects (arrays,
    /// strings) pass in the window's object registers, as the interpreter passes them; a callee that
    /// reads arrays gets the array table moved to its window (`calleesUseArrayTable`).
    mutating func resolveCallees() throws(Unsupported) {
        for ins in code where ins.opcode == .call {
            let index = ins.bx
            if callees[index] != nil { continue }
            guard index < functions.count else { throw Unsupported(reason: "calls function \(index) of no table") }
            let callee = functions[index]
            if callee === function {
                callees[index] = .recursive
                continue
            }
            switch engine.lookup(callee, functions: functions) {
            case .native(let n):
                callees[index] = .native(n)
                if n.usesArrayTable { calleesUseArrayTable = true }
            case .pending(let cell):
                // Whether it will read an array table is not known yet: it gets one.
                callees[index] = .cell(cell)
                calleesUseArrayTable = true
            case .interpreted(let why): throw Unsupported(reason: "calls \(callee.name), which is interpreted (\(why))")
            }
        }
    }

    /// Assigns machine registers by coloring the interference graph of the register values: two VM
    /// registers (of the same register file) interfere when both hold a value at the same point, so
    /// short-lived temporaries share machine registers. If the GPRs run out, some integers are
    /// spilled (allocateWithSpills); if the vector registers do, the function stays interpreted.
    ///
    /// Integers interfere as in Chaitin's allocator: where one is defined while the other is live
    /// after the definition, or where both are live at the start (the arguments). So `move A B`
    /// makes A and B interfere only if one of them is written later while the other still lives:
    /// until then they hold the same value and may share a register, and the coloring prefers to
    /// give A the color of B (coalescing: the move emits nothing). That removes the copies into an
    /// inlined callee's window (`evalA(i, j)`'s i and j) and the moves of loop bounds.
    mutating func allocate() throws(Unsupported) {
        var ints = RegisterAllocator()
        var vecs = RegisterAllocator()
        for pc in code.indices where !stateIn[pc].isEmpty {
            let e = effectsAt[pc]
            var out = RegisterSet()
            for succ in successors(pc) { out.formUnion(liveIn[succ]) }
            // Vectors: values live into the instruction, and values live out of it together with
            // what it defines.
            for (set, state) in [(liveIn[pc], stateIn[pc]), (out.union(e.defs.map(\.0)), stateOut[pc])] {
                vecs.clique(set.filter { $0 < state.count && state[$0].isVector })
            }
            // Integers: what the instruction defines, with each other and with every integer live
            // after it — but a move's source, which holds the same value.
            let intDefs = e.defs.filter { $0.1 == .int }.map(\.0)
            let outInts = out.filter { $0 < stateOut[pc].count && stateOut[pc][$0] == .int }
            let source = code[pc].opcode == .move && stateIn[pc][code[pc].b] == .int ? code[pc].b : nil
            if let source, let d = intDefs.first, d != source { ints.pair(d, source) }
            for d in intDefs {
                ints.add(d)
                for o in Set(outInts).union(intDefs) where o != d && o != source { ints.interfere(d, o) }
            }
            for o in outInts { ints.add(o) }
            // Registers read by the instruction but dead after it still need a machine register.
            for (u, k) in e.uses where k == .int { ints.add(u) }
            for (u, k) in e.uses where k.isVector { vecs.add(u) }
            for (d, k) in e.defs where k == .int { ints.add(d) }
            for (d, k) in e.defs where k.isVector { vecs.add(d) }
        }
        // The integers live at the start are the arguments (and what the caller left in the frame):
        // different values, loaded together. At the other entries (a loop header after a yield,
        // the instruction after a step that parked) the values are those the native code wrote
        // back, and the interpreter ran at most that step in between, so what holds the same value
        // in the native code still does.
        if !stateIn.isEmpty && !stateIn[0].isEmpty {
            ints.clique(liveIn[0].filter { $0 < stateIn[0].count && stateIn[0][$0] == .int })
        }
        // Integers live across a call prefer the registers a callee preserves (no store and reload
        // around the call); the others prefer the ones it may clobber (no save in the prologue).
        var acrossCalls = Set<Int>()
        for pc in code.indices where code[pc].opcode == .call && !stateIn[pc].isEmpty && pc + 1 < code.count {
            acrossCalls.formUnion(liveIn[pc + 1].filter { $0 < code[pc].a && stateOut[pc][$0] == .int })
        }
        // Most constrained first; a move's two sides take one color where they can.
        guard let vecColors = vecs.color(vecs.mostConstrainedFirst, prefer: { _ in Array(0..<14) }) else {
            throw Unsupported(reason: "more than 14 vector values live at once")
        }
        vecOf = vecColors
        let gprs = FunctionLowering.limited(self.gprs)
        let (preserved, clobbered) = Self.preference(gprs)
        // A value live across a call shares its partner's register only if a callee preserves it.
        let preservedColors = Set(preserved)
        if let intColors = ints.color(
            ints.mostConstrainedFirst,
            prefer: { acrossCalls.contains($0) ? preserved + clobbered : clobbered + preserved },
            shares: { n, c in !acrossCalls.contains(n) || preservedColors.contains(c) })
        {
            for (s, c) in intColors { gprOf[s] = gprs[c] }
            return
        }
        try allocateWithSpills(ints, acrossCalls)
    }

    /// The indices of `gprs` a callee preserves and of those it may clobber.
    static func preference(_ gprs: [X86.GPR]) -> (preserved: [Int], clobbered: [Int]) {
        (
            gprs.indices.filter { FunctionLowering.calleeSaved.contains(gprs[$0]) },
            gprs.indices.filter { !FunctionLowering.calleeSaved.contains(gprs[$0]) }
        )
    }

    /// `gprs` cut to JITSupport.gprLimit (a testing knob: VECVM_JIT_GPRS).
    static func limited(_ gprs: [X86.GPR]) -> [X86.GPR] {
        guard let n = JITSupport.gprLimit, n < gprs.count else { return gprs }
        return Array(gprs.prefix(n))
    }

    /// The integers when they do not fit in the GPRs: some VM registers stay in their slots in
    /// `regs` for the whole function ("spilled"), and the two spill registers carry them through the
    /// instructions that read or write them (emitSpilling). The other integers are colored with the
    /// GPRs left, without coalescing moves; when a value finds no color, the cheapest of it and its
    /// neighbors is spilled — the fewest reads and writes, weighted by 8 for each loop around them,
    /// over its degree + 1 — and the coloring starts again. A spilled value needs no store at an exit
    /// or a call and no load at an entry: its slot is where the interpreter, a step or a callee reads it.
    mutating func allocateWithSpills(_ ints: RegisterAllocator, _ acrossCalls: Set<Int>) throws(Unsupported) {
        let all = self.gprs
        let scratch = FunctionLowering.spillRegisters
        let gprs = FunctionLowering.limited(all.filter { !scratch.contains($0) })
        let (preserved, clobbered) = Self.preference(gprs)
        // Spill costs: each read or write, 8× for each loop it is in (loops: back-edge ranges).
        var depth = [Int](repeating: 0, count: code.count)
        for pc in code.indices where !stateIn[pc].isEmpty {
            for t in successors(pc) where t <= pc { for p in t...pc { depth[p] += 1 } }
        }
        var cost: [Int: Double] = [:]
        var operands: [[Int]] = Array(repeating: [], count: code.count)
        for pc in code.indices where !stateIn[pc].isEmpty {
            let e = effectsAt[pc]
            let w = Double(1 << (3 * min(depth[pc], 6)))
            for (s, k) in e.uses + e.defs where k == .int && ints.nodes.contains(s) { cost[s, default: 0] += w }
            if !isStep(code[pc]) && code[pc].opcode != .call {
                operands[pc] = Array(Set(e.uses.filter { $0.1 == .int }.map(\.0)))
            }
        }
        let colored = ints.colorSpilling(
            ints.mostConstrainedFirst,
            prefer: { acrossCalls.contains($0) ? preserved + clobbered : clobbered + preserved },
            shares: { _, _ in false },
            cost: { (cost[$0] ?? 0) / Double(ints.degree($0) + 1) },
            // Every instruction must still read at most two spilled integers (the spill registers).
            maySpill: { n, spilled in
                operands.allSatisfy { ops in ops.filter { spilled.contains($0) || $0 == n }.count <= scratch.count }
            })
        guard let (colors, spilled) = colored else {
            throw Unsupported(reason: "more than \(all.count) integer values live at once, and no value to spill")
        }
        for (s, c) in colors { gprOf[s] = gprs[c] }
        spilledInts = spilled
    }

    // MARK: - Code generation helpers

    func g(_ s: Int) -> X86.GPR { gprOf[s]! }
    /// Whether slot `s`, of kind `k`, is an integer in a GPR a callee or a C helper preserves (so
    /// it needs no store and reload around the call; a spilled one is in its slot anyway).
    func inPreservedGPR(_ s: Int, _ k: Kind) -> Bool {
        k == .int && !spilledInts.contains(s) && FunctionLowering.calleeSaved.contains(g(s))
    }
    func x(_ s: Int) -> X86.Operand { .xmm(X86.XMM(number: vecOf[s]!)!) }
    func y(_ s: Int) -> X86.Operand { .ymm(X86.YMM(number: vecOf[s]!)!) }
    func xr(_ n: Int) -> X86.Operand { .xmm(X86.XMM(number: n)!) }
    func yr(_ n: Int) -> X86.Operand { .ymm(X86.YMM(number: n)!) }
    func slotMem(_ s: Int) -> X86.Mem { X86.ptr(regsBase, Int32(s * 8)) }

    /// Loads the registers live at an entry from `regs`.
    mutating func emitLoads(_ kinds: [Int: Kind]) {
        for (s, k) in kinds.sorted(by: { $0.key < $1.key }) where !(k == .int && spilledInts.contains(s)) {
            switch k {
            case .int: a.mov(g(s), slotMem(s).qword)
            case .f64: a.emit(.vmovsd, x(s), .mem(slotMem(s).qword))
            case .f32: a.emit(.vmovss, x(s), .mem(slotMem(s).dword))
            case .v32, .v64: a.emit(.vmovups, y(s), .mem(slotMem(s)))
            default: break
            }
        }
    }

    /// Writes live registers back to `regs` (an f32 with its upper 32 bits zero, as the interpreter keeps it).
    mutating func emitStores(_ kinds: [Int: Kind]) {
        for (s, k) in kinds.sorted(by: { $0.key < $1.key }) where !(k == .int && spilledInts.contains(s)) {
            switch k {
            case .int: a.mov(slotMem(s).qword, g(s))
            case .f64: a.emit(.vmovsd, .mem(slotMem(s).qword), x(s))
            case .f32:
                a.emit(.vmovd, .gpr(.eax), x(s))
                a.mov(slotMem(s).qword, .rax)
            case .v32, .v64: a.emit(.vmovups, .mem(slotMem(s)), y(s))
            default: break
            }
        }
    }

    /// opA deopt stub that resumes the interpreter at `pc` (the current instruction, re-run there).
    mutating func deopt(at pc: Int) throws(Unsupported) -> X86.Label {
        let l = a.newLabel()
        stubs.append((l, pc, try liveKinds(at: pc, state: stateIn[pc]), false))
        return l
    }

    // MARK: - Driver

    mutating func run() throws(Unsupported) -> [UInt8] {
        try resolveCallees()
        inlineSmallCallees()
        eliminateCommonSubexpressions()
        try analyze()
        try allocate()
        labels = code.indices.map { _ in a.newLabel() }
        for t in backEdgeTargets { pollLabels[t] = a.newLabel() }
        exitLabel = a.newLabel()
        callEntry = a.newLabel()
        var used = Set(gprOf.values).union(spilledInts.isEmpty ? [] : FunctionLowering.spillRegisters)
        // A loop's poll reads the flag through a register when a callee-saved one is left over (one
        // load less an iteration; calls and helpers preserve it).
        if !backEdgeTargets.isEmpty,
            let free = gprs.first(where: { FunctionLowering.calleeSaved.contains($0) && !used.contains($0) })
        {
            flagRegister = free
            used.insert(free)
        }
        let flagRegister = self.flagRegister
        let saved = gprs.filter { used.contains($0) && FunctionLowering.calleeSaved.contains($0) }
        let calls = needsContext
        let ctx = context
        // Prologue: save callee-saved GPRs, reserve the frame (scratch, the flag's and the array
        // table's addresses). A function that calls keeps the context in rbp, which its entry from
        // the interpreter saves and sets (below); native callers already hold it there. Every native
        // frame is at least 56 bytes (the return address and the frame), which bounds the chain
        // (NativeCallContext.chainCapacity counts 40).
        let pushes = saved
        let flagSlot = self.flagSlot
        let arraysSlot = self.arraysSlot
        let hasArrays = usesArrayTable
        epilogueSaved = saved
        usesYMM = stateIn.contains(where: { $0.contains { $0 == .v32 || $0 == .v64 } })
        func prologue(_ a: inout X86Assembler) {
            for r in pushes { a.push(r) }
            a.sub(.rsp, FunctionLowering.frameBytes)
            a.mov(flagSlot, .rdx)
            if let flagRegister { a.mov(flagRegister, .rdx) }
            if hasArrays { a.mov(arraysSlot, .rsi) }
        }
        // The entry from the interpreter (runNative): rdx = flag, rcx = the pc to start at, r8 = the
        // context. A function that calls saves rbp and sets it to the context once here, for its
        // whole tree of native calls, and turns the carry flag of its body's return into the
        // interpreter's answer (-1: returned).
        if calls {
            let body = a.newLabel()
            let left = a.newLabel()
            a.push(ctx)
            a.mov(ctx, .r8)
            a.call(body)
            a.j(.c, left)
            a.mov(.rax, -1)
            a.bind(left)
            a.pop(ctx)
            a.ret()
            a.bind(body)
        }
        prologue(&a)
        a.mov(.rax, .rcx)  // the entry pc (rcx may be an allocated register)
        for e in entryPoints {
            let next = a.newLabel()
            a.cmp(.rax, Int64(ownPc(e)))
            a.j(.ne, next)
            emitLoads(try liveKinds(at: e, state: stateIn[e]))
            a.jmp(labels[e])
            a.bind(next)
        }
        // An unknown entry: resume the interpreter where it asked to start.
        a.jmp(exitLabel)

        // The call entry, from a native caller: rdi = this frame's window (the arguments in it),
        // rdx = the flag's address, rbp = the context (a caller keeps it there; pushing rbp above does
        // not change it, and a callee that allocates rbp writes it only in its body). Before anything
        // is loaded, three checks send the call
        // back to the interpreter at pc 0 with nothing to write back: the machine stack is at the
        // context's limit, the frame would pass the end of the register stack (the interpreter grows
        // it, or reports "stack overflow"), or the flag asks for a yield (a recursion without loops
        // still yields at every call, as interpreted calls do).
        a.bind(callEntry)
        prologue(&a)
        let toInterpreter = a.newLabel()
        let toYield = a.newLabel()
        a.cmp(.rsp, X86.ptr(ctx, Int32(NativeCallContext.stackLimitOffset)).qword)
        a.j(.b, toInterpreter)
        a.lea(.rax, X86.ptr(regsBase, Int32(frameExtent * 8)))
        a.cmp(.rax, X86.ptr(ctx, Int32(NativeCallContext.registersEndOffset)).qword)
        a.j(.a, toInterpreter)
        a.cmp(X86.ptr(.rdx).dword, 0)
        a.j(.ne, toYield)
        emitLoads(try liveKinds(at: 0, state: stateIn[0]))
        // Into pc 0, which comes next (past its poll, when pc 0 is a loop header).
        if pollLabels[0] != nil { a.jmp(labels[0]) }

        for pc in code.indices {
            if pollLabels[pc] != nil && !stateIn[pc].isEmpty { try emitLoopPoll(pc) }
            a.bind(labels[pc])
            guard !stateIn[pc].isEmpty else { continue }  // unreachable
            forgetChecks(before: pc)
            try emitSpilling(pc)
            forgetChecks(after: pc)
        }
        // The call entry's two ways back, out of the way of the calls that go on.
        a.bind(toInterpreter)
        a.mov(.rax, 0)
        a.jmp(exitLabel)
        a.bind(toYield)
        a.mov(.rax, FunctionLowering.preemptBit)
        a.jmp(exitLabel)
        for (label, pc, kinds, preempt) in stubs {
            a.bind(label)
            emitStores(kinds)
            if preempt {
                // A loop's poll found the flag set: yield here, through NativeYieldHelper, and go on
                // at the loop header with the values reloaded — the native frames (a caller's too)
                // wait on the task's stack. Only where there is no task to yield (a direct call), or
                // the run has ended, does the code leave for the interpreter (runNative).
                emitYieldHelperCall()
                let leave = a.newLabel()
                a.test(.eax, .eax)
                a.j(.ne, leave)
                emitLoads(kinds)
                a.jmp(labels[pc])
                a.bind(leave)
            }
            switch origins[pc] {
            case .own(let p):
                a.mov(.rax, Int64(p) | (preempt ? FunctionLowering.preemptBit : 0))
            case .inlined(let call, let p):
                // Inside an inlined callee: its frame goes to the interpreter as if it had been
                // called (its window is written back with the rest), above this one at the call.
                emitChainEntry(call)
                a.mov(.rax, Int64(p) | (preempt ? FunctionLowering.preemptBit : 0))
            }
            a.jmp(exitLabel)
        }
        for (label, pc, values) in parkExits {
            // A step parked the task: the interpreter leaves `execute` and completes the step at `pc`
            // when the task is woken.
            a.bind(label)
            emitStores(values)
            a.mov(.rax, Int64(pc) | FunctionLowering.parkedBit)
            a.jmp(exitLabel)
        }
        for (label, pc) in stepFailures {
            // A step failed: the interpreter throws its error at `pc` (nothing to write back).
            a.bind(label)
            a.mov(.rax, Int64(pc))
            a.jmp(exitLabel)
        }
        for (label, pc, preservedValues) in callExits {
            // A callee did not return: this frame's live values are in `regs` (stored before the
            // call, or now from the registers the callee preserved); record the call's pc and pass
            // the callee's answer on.
            a.bind(label)
            emitStores(preservedValues)
            emitChainEntry(ownPc(pc))
            a.jmp(exitLabel)
        }
        a.bind(exitLabel)
        emitEpilogue(returned: false)
        do {
            return try a.finalize()
        } catch {
            throw Unsupported(reason: "assembler: \(error)")
        }
    }

    /// What the epilogue restores (set by `run` before the body is emitted).
    var epilogueSaved: [X86.GPR] = []
    var usesYMM = false

    /// Returns: restores the frame and the saved registers. A native caller reads the carry flag:
    /// clear when the function `returned` (the `add` to rsp clears it; pops and vzeroupper leave
    /// flags alone), set when it left for the interpreter with rax the pc to go on at. The
    /// interpreter reads rax: -1 when the function returned (set by the return instruction in a
    /// function without calls, by the entry's wrapper in one with calls). Only 256-bit values dirty
    /// the upper halves (scalars use the VEX xmm forms, which clear them): a function without any
    /// returns without the vzeroupper.
    mutating func emitEpilogue(returned: Bool) {
        if usesYMM { a.emit(.vzeroupper) }
        a.add(.rsp, FunctionLowering.frameBytes)
        for r in epilogueSaved.reversed() { a.pop(r) }
        if !returned { a.stc() }
        a.ret()
    }

    /// Exits after a call whose callee did not return: (label, pc of the call, the live values
    /// still in preserved registers, to write back).
    var callExits: [(X86.Label, Int, [Int: Kind])] = []

}
