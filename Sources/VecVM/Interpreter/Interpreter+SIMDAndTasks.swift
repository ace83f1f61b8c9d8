// The interpreter's SIMD-value, task and channel instructions (see Interpreter.swift).

import CJITStubs
import VMRuntime

extension Interpreter {
    // MARK: SIMD values

    /// The math functions of a SIMD value, lane by lane through the math library (MathDispatch): the
    /// interpreter's, and native functions' through a helper (NativeMathHelper), so both give the
    /// same bits. `x`, `y` and `out` are four register slots each (an f64x4, or an f32x8 in 32
    /// bytes); `out` may be `x` or `y`. `y` is read by pow only.
    static func simdMath(
        _ op: SimdOp, isF64: Bool, _ x: UnsafePointer<UInt64>, _ y: UnsafePointer<UInt64>,
        into out: UnsafeMutablePointer<UInt64>
    ) {
        let xr = UnsafeRawPointer(x)
        let yr = UnsafeRawPointer(y)
        let o = UnsafeMutableRawPointer(out)
        if isF64 {
            let a = xr.loadUnaligned(as: SIMD4<Double>.self)
            let r: SIMD4<Double>
            if op == .pow {
                let b = yr.loadUnaligned(as: SIMD4<Double>.self)
                r = SIMD4((0..<4).map { MathDispatch.pow(a[$0], b[$0]) })
            } else {
                let f = ElementwiseMath.from(op)
                r = SIMD4((0..<4).map { MathDispatch.apply(f, a[$0]) })
            }
            o.storeBytes(of: r, as: SIMD4<Double>.self)
        } else {
            let a = xr.loadUnaligned(as: SIMD8<Float>.self)
            let r: SIMD8<Float>
            if op == .pow {
                let b = yr.loadUnaligned(as: SIMD8<Float>.self)
                r = SIMD8((0..<8).map { MathDispatch.pow(a[$0], b[$0]) })
            } else {
                let f = ElementwiseMath.from(op)
                r = SIMD8((0..<8).map { MathDispatch.apply(f, a[$0]) })
            }
            o.storeBytes(of: r, as: SIMD8<Float>.self)
        }
    }

    @inline(never)
    static func simdInstruction(_ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>) {
        let a = fieldA(w)
        let b = fieldB(w)
        let c = fieldC(w)
        let k = fieldK(w)
        let raw = UnsafeMutableRawPointer(regs)
        @inline(__always) func f32x8(_ r: Int) -> SIMD8<Float> {
            raw.loadUnaligned(fromByteOffset: r * 8, as: SIMD8<Float>.self)
        }
        @inline(__always) func f64x4(_ r: Int) -> SIMD4<Double> {
            raw.loadUnaligned(fromByteOffset: r * 8, as: SIMD4<Double>.self)
        }
        @inline(__always) func put<V>(_ v: V) { raw.storeBytes(of: v, toByteOffset: a * 8, as: V.self) }
        let isF64 = k & 1 == 1
        switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self) {
        case .splat:
            if isF64 {
                put(SIMD4<Double>(repeating: asFloat(regs[b])))
            } else {
                put(SIMD8<Float>(repeating: asF32(regs[b])))
            }
        case .simdBinary:
            let op = SimdOp(rawValue: UInt8(k >> 1)) ?? .add
            if isF64 {
                let x = f64x4(b)
                let y = f64x4(c)
                switch op {
                case .add: put(x + y)
                case .sub: put(x - y)
                case .mul: put(x * y)
                case .div: put(x / y)
                case .min: put(y.replacing(with: x, where: x .< y))
                case .max: put(y.replacing(with: x, where: x .> y))
                case .pow: simdMath(op, isF64: true, regs + b, regs + c, into: regs + a)
                case .sqrt, .abs, .neg, .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round: break  // unary
                }
            } else {
                let x = f32x8(b)
                let y = f32x8(c)
                switch op {
                case .add: put(x + y)
                case .sub: put(x - y)
                case .mul: put(x * y)
                case .div: put(x / y)
                case .min: put(y.replacing(with: x, where: x .< y))
                case .max: put(y.replacing(with: x, where: x .> y))
                case .pow: simdMath(op, isF64: false, regs + b, regs + c, into: regs + a)
                case .sqrt, .abs, .neg, .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round: break  // unary
                }
            }
        case .simdUnary:
            let op = SimdOp(rawValue: UInt8(k >> 1)) ?? .neg
            if isF64 {
                let x = f64x4(b)
                let bits = unsafeBitCast(x, to: SIMD4<UInt64>.self)
                switch op {
                case .sqrt: put(x.squareRoot())
                case .abs: put(unsafeBitCast(bits & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD4<Double>.self))
                // Flips the sign bit: -0.0 for a lane of 0.0 (Swift's SIMD negation is 0 - x).
                case .neg: put(unsafeBitCast(bits ^ 0x8000_0000_0000_0000, to: SIMD4<Double>.self))
                case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
                    simdMath(op, isF64: true, regs + b, regs + b, into: regs + a)
                case .add, .sub, .mul, .div, .min, .max, .pow: break  // binary
                }
            } else {
                let x = f32x8(b)
                let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
                switch op {
                case .sqrt: put(x.squareRoot())
                case .abs: put(unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD8<Float>.self))
                case .neg: put(unsafeBitCast(bits ^ 0x8000_0000, to: SIMD8<Float>.self))
                case .exp, .log, .sin, .cos, .tanh, .floor, .ceil, .round:
                    simdMath(op, isF64: false, regs + b, regs + b, into: regs + a)
                case .add, .sub, .mul, .div, .min, .max, .pow: break  // binary
                }
            }
        case .simdCompare:
            let op = CompareOp(rawValue: UInt8(k >> 1)) ?? .eq
            if isF64 {
                let x = f64x4(b)
                let y = f64x4(c)
                put(SIMD4<Int64>((0..<4).map { Double.kCompare(op, x[$0], y[$0]) ? -1 : 0 }))
            } else {
                let x = f32x8(b)
                let y = f32x8(c)
                put(SIMD8<Int32>((0..<8).map { Float.kCompare(op, x[$0], y[$0]) ? -1 : 0 }))
            }
        case .simdMask:
            let x = raw.loadUnaligned(fromByteOffset: b * 8, as: SIMD4<UInt64>.self)
            let y = raw.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<UInt64>.self)
            switch MaskOp(rawValue: UInt8(k)) ?? .not {
            case .not: put(~x)
            case .and: put(x & y)
            case .or: put(x | y)
            }
        case .simdSelect:
            // Masks are all-ones or all-zero lanes, so the pick is bitwise.
            let m = raw.loadUnaligned(fromByteOffset: b * 8, as: SIMD4<UInt64>.self)
            let x = raw.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<UInt64>.self)
            let y = raw.loadUnaligned(fromByteOffset: (c + 4) * 8, as: SIMD4<UInt64>.self)
            put((x & m) | (y & ~m))
        case .simdFma:
            if isF64 {
                put(f64x4(b + 8).addingProduct(f64x4(b), f64x4(b + 4)))
            } else {
                put(f32x8(b + 8).addingProduct(f32x8(b), f32x8(b + 4)))
            }
        case .simdReduce:
            let op = ReductionOp(rawValue: UInt8(k >> 1)) ?? .sum
            if op == .count || op == .any || op == .all {
                let lanes = isF64 ? 4 : 8
                let size = isF64 ? 8 : 4
                var n = 0
                for l in 0..<lanes where raw.load(fromByteOffset: b * 8 + l * size, as: UInt32.self) != 0 { n += 1 }
                regs[a] = op == .count ? UInt64(n) : op == .any ? (n > 0 ? 1 : 0) : (n == lanes ? 1 : 0)
            } else if isF64 {
                let v = f64x4(b)
                var lanes = (0..<4).map { v[$0] }
                regs[a] = KernelEvaluator.combineVector(op, &lanes).bitPattern
            } else {
                let v = f32x8(b)
                var lanes = (0..<8).map { v[$0] }
                regs[a] = bitsF32(KernelEvaluator.combineVector(op, &lanes))
            }
        default:
            break
        }
    }

    @inline(never)
    static func simdMemory(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>
    ) throws(Trap) {
        let a = fieldA(w)
        let b = fieldB(w)
        let c = fieldC(w)
        let isF64 = fieldK(w) & 1 == 1
        let isMask = fieldK(w) & 2 == 2
        let lanes = isF64 ? 4 : 8
        let raw = UnsafeMutableRawPointer(regs)
        switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self) {
        case .vload:
            let arr = unsafeDowncast(objs[b]!, to: VMArray.self)
            let i = Int64(bitPattern: regs[c])
            guard i >= 0, i <= Int64(arr.count) - Int64(lanes) else {
                throw Trap("vload of \(lanes) lanes at index \(i) is out of bounds for array of length \(arr.count)")
            }
            (raw + a * 8).copyMemory(from: arr.data + Int(i) * arr.kind.size, byteCount: 32)
        case .vstore:
            let arr = unsafeDowncast(objs[a]!, to: VMArray.self)
            let i = Int64(bitPattern: regs[b])
            guard i >= 0, i <= Int64(arr.count) - Int64(lanes) else {
                throw Trap("vstore of \(lanes) lanes at index \(i) is out of bounds for array of length \(arr.count)")
            }
            (arr.data + Int(i) * arr.kind.size).copyMemory(from: raw + c * 8, byteCount: 32)
        case .lane:
            let k = Int64(bitPattern: regs[c])
            guard k >= 0, k < Int64(lanes) else { throw Trap("lane \(k) out of range 0..<\(lanes)") }
            if isMask {
                regs[a] = raw.load(fromByteOffset: b * 8 + Int(k) * (isF64 ? 8 : 4), as: UInt32.self) != 0 ? 1 : 0
            } else if isF64 {
                regs[a] = raw.load(fromByteOffset: b * 8 + Int(k) * 8, as: UInt64.self)
            } else {
                regs[a] = UInt64(raw.load(fromByteOffset: b * 8 + Int(k) * 4, as: UInt32.self))
            }
        default:
            break
        }
    }

    // MARK: Tasks and channels

    /// Stores a received message in register `a` as instruction K's bits 0-3 say. `consuming`: the
    /// caller's message (an unwrapped `Message?`) is not destroyed after the call, which went through
    /// its type's value witnesses (about 80 instructions a receive).
    static func storeMessage(
        _ m: consuming Message, _ storage: Int, _ a: Int, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>
    ) {
        // Bits 0-3 of the instruction's K (Compiler.messageK).
        switch ValueStorage(rawValue: UInt8(storage & 15)) ?? .none {
        case .scalar: regs[a] = m.w0
        case .simd:
            regs[a] = m.w0
            regs[a + 1] = m.w1
            regs[a + 2] = m.w2
            regs[a + 3] = m.w3
        case .reference: objs[a] = m.object.take()
        case .none: break
        }
    }

    /// Runs `body` with uninitialized memory for one message, which a receive moves its value into
    /// (Channel.receiveOrClosed(into:) and the like): a value received as a `Message?` was destroyed
    /// through the Optional's value witnesses afterwards, about 80 instructions a receive.
    @inline(__always)
    /// `recvOrJump` `w`: the value received into its registers (`.received`), the channel closed and
    /// drained (`.none`: take the jump, unless the run ended), or the task queued as a receiver
    /// without its stack (`.parked`, only where it parks so). The value moves from the channel into
    /// the registers, with no Optional<Message> in between.
    static func receiveOrJump(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, _ state: TaskState
    ) -> Channel.ReceiveOutcome {
        withMessageSlot { out in
            let outcome = channel(objs, fieldB(w))._withUnsafeGuaranteedRef { ch in
                state.parksWithoutStack
                    ? ch.receiveOrPark(into: out) : ch.receiveOrClosed(into: out) ? .received : .none
            }
            if outcome == .received { storeMessage(out.move(), fieldK(w), fieldA(w), regs, objs) }
            return outcome
        }
    }

    static func withMessageSlot<R, E: Error>(_ body: (UnsafeMutablePointer<Message>) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(of: Message.self, capacity: 1) { buffer throws(E) in
            try body(buffer.baseAddress!)
        }
    }

    static func message(
        _ storage: Int, _ r: Int, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>
    ) -> Message {
        switch ValueStorage(rawValue: UInt8(storage & 15)) ?? .none {
        case .scalar: return Message(w0: regs[r], w1: 0, w2: 0, w3: 0, object: nil)
        case .simd: return Message(w0: regs[r], w1: regs[r + 1], w2: regs[r + 2], w3: regs[r + 3], object: nil)
        case .reference: return Message(w0: 0, w1: 0, w2: 0, w3: 0, object: objs[r])
        case .none: return Message(w0: 0, w1: 0, w2: 0, w3: 0, object: nil)
        }
    }

    /// The channel in object register `r`, unretained: the register keeps it alive while an
    /// operation on it runs (a task's registers change only by its own instructions, and a receive
    /// stores its value once the operation is over). A channel is shared by the tasks that use it, so
    /// a retain and a release around each operation were two atomic operations on a cache line that
    /// every P writes.
    @inline(__always)
    static func channel(_ objs: UnsafeMutablePointer<AnyObject?>, _ r: Int) -> Unmanaged<Channel> {
        Unmanaged.fromOpaque(UnsafeRawPointer(objs + r).load(as: UnsafeRawPointer?.self)!)
    }

    /// `send` of the message that instruction `w` names, on the channel in its register A (borrowed:
    /// see `channel`); the error as the instruction throws it.
    @inline(__always)
    static func send(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, orPark: Bool
    ) -> Result<Bool, Trap> {
        channel(objs, fieldA(w))._withUnsafeGuaranteedRef { ch in
            do throws(ChannelError) {
                let m = message(fieldK(w), fieldB(w), regs, objs)
                if orPark { return .success(try ch.sendOrPark(m)) }
                try ch.send(m)
                return .success(false)
            } catch {
                return .failure(error == .taskStopped ? Trap.stopped : Trap("send on a closed channel"))
            }
        }
    }

    /// `send` or `recv` in a task that parks without its stack: true when the task is queued on the
    /// channel and must leave `execute` (see TaskState.parksWithoutStack).
    @inline(never)
    static func sendOrReceiveOrPark(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>
    ) throws(Trap) -> Bool {
        if UInt8(truncatingIfNeeded: w) == Opcode.send.rawValue {
            return try send(w, regs, objs, orPark: true).get()
        }
        return try withMessageSlot { out throws(Trap) in
            switch channel(objs, fieldB(w))._withUnsafeGuaranteedRef({ $0.receiveOrPark(into: out) }) {
            case .received:
                storeMessage(out.move(), fieldK(w), fieldA(w), regs, objs)
                return false
            case .none:
                throw Scheduler.isStopping ? Trap.stopped : Trap("receive from a closed and drained channel")
            case .parked:
                return true
            }
        }
    }

    /// Where the dispatch loop goes on after `finishParked`.
    enum AfterPark {
        case next  // the instruction completed
        case jump  // a `recvOrJump` found its channel closed: take the jump
        case again  // a `wait`: run it again (the task it waits for has finished)
    }

    /// Completes the `send`, `recv`, `recvOrJump` or `wait` `w` that parked the task without its
    /// stack, now that it runs again.
    @inline(never)
    static func finishParked(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>
    ) throws(Trap) -> AfterPark {
        switch UInt8(truncatingIfNeeded: w) {
        case Opcode.wait.rawValue:
            return .again
        case Opcode.send.rawValue:
            do {
                try Channel.finishParkedSend()
            } catch {
                throw error == .taskStopped ? Trap.stopped : Trap("send on a closed channel")
            }
        default:
            // recv, or recvOrJump (which takes its jump when the channel was closed).
            let received = withMessageSlot { out in
                guard Channel.finishParkedReceive(into: out) else { return false }
                storeMessage(out.move(), fieldK(w), fieldA(w), regs, objs)
                return true
            }
            if received { return .next }
            if UInt8(truncatingIfNeeded: w) == Opcode.recv.rawValue {
                throw Scheduler.isStopping ? Trap.stopped : Trap("receive from a closed and drained channel")
            }
            if Scheduler.isStopping { throw Trap.stopped }
            return .jump
        }
        return .next
    }

    /// Runs a task, channel or time instruction. True when a `wait` parked the task without its
    /// stack (TaskState.parksWithoutStack): it must leave `execute`, and runs the `wait` again when
    /// woken.
    @inline(never)
    static func taskInstruction(
        _ w: UInt64, _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>,
        _ state: TaskState, _ ctx: ExecutionContext
    ) throws(Trap) -> Bool {
        let a = fieldA(w)
        let b = fieldB(w)
        let c = fieldC(w)
        let k = fieldK(w)
        let op = unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self)
        // Direct calls are only made of functions that need no task (Embedding/DirectCall.swift);
        // this guards that invariant instead of crashing in the scheduler.
        if ctx.directStop != nil && op.needsTask {
            throw Trap("'\(op)' needs a VM task, and this call runs on the host's thread")
        }
        switch op {
        case .spawn:
            objs[a] = try TaskRunner.spawn(function: c, arguments: b, regs, objs, state.table, ctx, parent: state)
        case .wait:
            let task = unsafeDowncast(objs[b]!, to: VMTask.self)
            if let handle = task.handle, handle === state.task.handle {
                throw Trap("task \(task.id) (\(task.functionName)) waits for itself: it can never finish")
            }
            if state.parksWithoutStack, let handle = task.handle {
                if handle.joinOrPark() { return true }
            } else {
                task.handle?.join()
            }
            // Our own run ended (a runtime error elsewhere, a cancellation): unwind.
            if Scheduler.isStopping { throw Trap.stopped }
            if !task.finished {
                // The task ended without a result, in an earlier run (a REPL input, since ended). If it
                // failed, its error is the answer, with the task's own location: this run ends with it.
                if let failure = task.failure {
                    Scheduler.endRun(RuntimeErrorBox(failure))
                    throw Trap.stopped
                }
                // It was stopped when that run ended (a REPL line that failed, a `VM.call` that
                // returned it). Waiting for it is an error at once.
                throw Trap(
                    "task \(task.id) (\(task.functionName)) was stopped when the run that spawned it ended: it has no result to wait for"
                )
            }
            let (r0, r1, r2, r3) = task.result
            switch ValueStorage(rawValue: UInt8(k & 15)) ?? .none {
            case .scalar: regs[a] = r0
            case .simd:
                regs[a] = r0
                regs[a + 1] = r1
                regs[a + 2] = r2
                regs[a + 3] = r3
            case .reference: objs[a] = task.resultObject
            case .none: break
            }
        case .makeChan:
            let cap = Int64(bitPattern: regs[b])
            if cap < 0 { throw Trap("negative channel capacity (\(cap))") }
            // The runtime allocates a channel's buffer up front: refuse what cannot be allocated.
            if cap > Int64(Interpreter.maxChannelCapacity) {
                throw Trap("channel capacity \(cap) is too large (at most \(Interpreter.maxChannelCapacity))")
            }
            // The buffer is allocated up front: charged for the channel's life.
            let bytes = Channel.allocationSize(capacity: Int(cap))
            guard let charge = MemoryCharge(bytes, on: ctx.memory),
                let channel = Channel(capacity: Int(cap), owner: charge)
            else {
                throw Trap("out of memory (a channel of capacity \(cap) needs \(bytes) bytes)")
            }
            objs[a] = channel
        case .send:
            _ = try send(w, regs, objs, orPark: false).get()
        case .recv:
            let received = withMessageSlot { out in
                guard channel(objs, b)._withUnsafeGuaranteedRef({ $0.receiveOrClosed(into: out) }) else { return false }
                storeMessage(out.move(), k, a, regs, objs)
                return true
            }
            if !received {
                throw Scheduler.isStopping ? Trap.stopped : Trap("receive from a closed and drained channel")
            }
        case .close:
            let ch = unsafeDowncast(objs[a]!, to: Channel.self)
            do {
                try ch.close()
            } catch {
                throw Trap("close of a closed channel")
            }
        case .yield:
            Scheduler.yield()
            if Scheduler.isStopping { throw Trap.stopped }
        case .sleep:
            let ms = Int64(bitPattern: regs[a])
            if ms > 0 {
                let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
                Scheduler.sleep(nanoseconds: overflow ? Int64.max : ns)
            } else {
                Scheduler.yield()
            }
            if Scheduler.isStopping { throw Trap.stopped }
        case .now:
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            regs[a] = UInt64(bitPattern: Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec))
        default:
            break
        }
        return false
    }
}
