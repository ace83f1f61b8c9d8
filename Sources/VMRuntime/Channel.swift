// Channel.swift — Go-style channels between tasks: unbuffered (rendezvous) or buffered, with
// close. Non-generic on purpose: generic code is not specialized across modules, and the
// VM's ping-pong speed depends on these paths. One allocation holds the C state (vm_chan:
// lock, counters, wait queues) followed by the ring of Messages.
//
// A blocked task waits in the channel's sendq/recvq linked through vm_g.waitlink; the
// Message in flight sits in the blocked G's own slot (vm_g.msg), so a hand-off copies it
// once, directly between the two tasks. The lock is released before the blocked task
// switches out (see the PARKING handshake in Task.swift) and is never held across a switch.
// A waker hands the woken task to its own P's runnext: it runs as soon as the waker blocks.
import CJITStubs
import Glibc

/// One .vec value: up to 32 bytes of bits (a SIMD value) and/or one reference.
public struct Message {
    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64
    public var object: AnyObject?

    public init(w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, object: AnyObject? = nil) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
        self.object = object
    }
}

/// Channel misuse, reported to the sending, receiving or closing task.
public enum ChannelError: Error, Equatable, CustomStringConvertible {
    case sendOnClosed
    case receiveOnClosed
    case closeOfClosed
    /// The calling task's run ended while it waited (schedulers that unwind stopped tasks): the
    /// task must return from its body.
    case taskStopped

    public var description: String {
        switch self {
        case .sendOnClosed: "send on closed channel"
        case .receiveOnClosed: "receive from closed channel"
        case .closeOfClosed: "close of closed channel"
        case .taskStopped: "the task's run ended"
        }
    }
}

public final class Channel: @unchecked Sendable {
    // @unchecked Sendable: all state is in `state`/`ring`, guarded by state.lock.

    private let state: UnsafeMutablePointer<vm_chan>
    private let ring: UnsafeMutablePointer<Message>
    public let capacity: Int
    /// Kept alive with the channel (an embedder's accounting of its memory).
    private let owner: AnyObject?

    private static let ringOffset: Int = {
        let a = MemoryLayout<Message>.alignment
        return (MemoryLayout<vm_chan>.size + a - 1) / a * a
    }()

    /// Bytes a channel of `capacity` allocates (its state and its buffer, in one allocation).
    public static func allocationSize(capacity: Int) -> Int {
        ringOffset + max(capacity, 1) * MemoryLayout<Message>.stride
    }

    /// A channel holding up to `capacity` values; 0 makes every send wait for its receiver.
    public convenience init(capacity: Int) {
        // Out of memory for the buffer is fatal here; use init(capacity:owner:) to handle it.
        self.init(capacity: capacity, owner: nil)!
    }

    /// A channel holding up to `capacity` (≥ 0) values; nil when its memory cannot be allocated.
    /// `owner` lives as long as the channel.
    public init?(capacity: Int, owner: AnyObject?) {
        precondition(capacity >= 0, "Channel capacity must not be negative")
        precondition(MemoryLayout<Message>.size <= Int(VM_G_MSG_BYTES), "Message no longer fits vm_g.msg")
        self.capacity = capacity
        self.owner = owner
        let bytes = Channel.allocationSize(capacity: capacity)
        var memory: UnsafeMutableRawPointer?
        let alignment = max(MemoryLayout<vm_chan>.alignment, MemoryLayout<Message>.alignment, 16)
        guard posix_memalign(&memory, alignment, bytes) == 0, let raw = memory else { return nil }
        state = raw.bindMemory(to: vm_chan.self, capacity: 1)
        state.initialize(to: vm_chan())
        state.pointee.cap = Int64(capacity)
        ring = (raw + Channel.ringOffset).bindMemory(to: Message.self, capacity: max(capacity, 1))
    }

    deinit {
        // No task can be blocked here: a blocked task's frame holds a reference to `self`. The
        // reaper may still be reading our queues from a stale pointer (SchedulerCore
        // .wakeStoppedWaiters): wait until it is done before the memory goes.
        vm_reap_lock()
        vm_reap_unlock()
        var i = state.pointee.recvx
        for _ in 0..<state.pointee.count {
            (ring + Int(i)).deinitialize(count: 1)
            i = (i + 1) % Int64(capacity)
        }
        state.deinitialize(count: 1)
        free(UnsafeMutableRawPointer(state))
    }

    /// Sends `m`, waiting while the buffer is full (or, unbuffered, until a receiver takes it).
    /// Throws `.sendOnClosed` if the channel is closed, or gets closed while waiting.
    public func send(_ m: consuming Message) throws(ChannelError) {
        _ = try send(m, stackless: false)
    }

    /// `send` for a task body that can run again (see `receiveOrPark`): where it would wait while
    /// many tasks exist, it returns true with the task queued and the value in its slot; the body
    /// must then return. When woken, the body runs from its start and calls `finishParkedSend` first.
    public func sendOrPark(_ m: consuming Message) throws(ChannelError) -> Bool {
        try send(m, stackless: true)
    }

    /// The end of a `sendOrPark` that parked, in the task it woke: throws as `send` would have.
    public static func finishParkedSend() throws(ChannelError) {
        guard let g = vm_current_g() else { notInTask("Channel.finishParkedSend") }
        try finishSend(g)
    }

    @inline(__always)
    private static func finishSend(_ g: GPtr) throws(ChannelError) {
        // Resumed (maybe on another M). A receiver took the value, or close() or the reaper woke
        // us and the value is still ours to destroy.
        let stopped = noteStoppedAfterSwitch(g)
        if g.pointee.waitok == 0 {
            vm_g_msg_slot(g).bindMemory(to: Message.self, capacity: 1).deinitialize(count: 1)
            throw stopped ? .taskStopped : .sendOnClosed
        }
        if stopped { throw .taskStopped }
    }

    @inline(__always)
    private func send(_ m: consuming Message, stackless: Bool) throws(ChannelError) -> Bool {
        // `consuming`: the value moves into the buffer or the receiver's slot without a copy.
        // (A copy of `AnyObject?` goes through its metadata's value witnesses on Linux:
        // measurably slower than the rest of a hand-off.)
        guard let me = vm_current_m(), let g = me.pointee.curg else { notInTask("Channel.send") }
        let c = state
        vm_mutex_lock(&c.pointee.lock)
        if c.pointee.closed != 0 {
            vm_mutex_unlock(&c.pointee.lock)
            throw .sendOnClosed
        }
        if let r = dequeueLive(&c.pointee.recvq, me, senders: false) {
            // A receiver is waiting (so the buffer is empty): hand the value over directly.
            slot(r).initialize(to: consume m)
            r.pointee.waitok = 1
            vm_mutex_unlock(&c.pointee.lock)
            ready(r, me.pointee.p, next: true)
            return false
        }
        if c.pointee.count < c.pointee.cap {
            (ring + Int(c.pointee.sendx)).initialize(to: consume m)
            c.pointee.sendx = c.pointee.sendx + 1 == c.pointee.cap ? 0 : c.pointee.sendx + 1
            c.pointee.count += 1
            vm_mutex_unlock(&c.pointee.lock)
            return false
        }
        // Block with the value in our own slot.
        if isStale(g, me) {
            vm_mutex_unlock(&c.pointee.lock)
            _ = consume m  // destroyed now: an abandoned frame never releases anything
            stopOrAbandon(g, me)
            throw .taskStopped
        }
        slot(g).initialize(to: consume m)
        g.pointee.waitok = 0
        vm_store_u32(&g.pointee.status, VM_G_PARKING)
        enqueue(&c.pointee.sendq, g)
        publishWait(g, VM_WAIT_CHAN, UnsafeMutableRawPointer(c))
        if isStale(g, me) {
            // The run ended as we queued (publishWait): nobody has seen us, the lock is ours.
            unlink(&c.pointee.sendq, g)
            vm_store_u32(&g.pointee.status, VM_G_RUNNING)
            vm_mutex_unlock(&c.pointee.lock)
            slot(g).deinitialize(count: 1)
            stopOrAbandon(g, me)
            throw .taskStopped
        }
        if stackless && manyGsAlive(me) {
            requestStacklessPark(g)
            vm_mutex_unlock(&c.pointee.lock)
            return true
        }
        vm_mutex_unlock(&c.pointee.lock)
        // The switch: no lock held, no Swift access open (this class has only `let` fields;
        // everything mutable is behind raw pointers), and `me` is not used after it.
        parkCurrent(g, me)
        try Channel.finishSend(g)  // `me` is stale here
        return false
    }

    /// Receives a value, waiting for one. Throws `.receiveOnClosed` once the channel is closed
    /// and drained, `.taskStopped` when the caller's run ended (unwinding schedulers).
    public func receive() throws(ChannelError) -> Message {
        guard let m = receiveOrClosed() else { throw Scheduler.isStopping ? .taskStopped : .receiveOnClosed }
        return m
    }

    /// Receives a value, waiting for one; nil once the channel is closed and drained (the
    /// `for v in ch` form), or when the caller's run ended (`Scheduler.isStopping`; unwinding
    /// schedulers).
    public func receiveOrClosed() -> Message? {
        withUnsafeTemporaryAllocation(of: Message.self, capacity: 1) { buffer in
            let out = buffer.baseAddress!
            var parked = false
            return receive(stackless: false, parked: &parked, into: out) ? out.move() : nil
        }
    }

    /// `receiveOrClosed` that moves the value into `out` (uninitialized memory; initialized when it
    /// returns true) instead of returning an Optional, which a caller in another module destroys
    /// through its type's value witnesses (about 80 instructions a receive).
    public func receiveOrClosed(into out: UnsafeMutablePointer<Message>) -> Bool {
        var parked = false
        return receive(stackless: false, parked: &parked, into: out)
    }

    /// What `receiveOrPark(into:)` did.
    public enum ReceiveOutcome {
        /// The value is in the caller's memory.
        case received
        /// The channel is closed and drained, or the caller's run ended (`Scheduler.isStopping`).
        case none
        /// The task is queued as a receiver: its body must return now (see `receiveOrPark`).
        case parked
    }

    /// `receiveOrPark` that moves the value into `out` (uninitialized memory, initialized when the
    /// outcome is `.received`): see `receiveOrClosed(into:)`.
    public func receiveOrPark(into out: UnsafeMutablePointer<Message>) -> ReceiveOutcome {
        var parked = false
        if receive(stackless: true, parked: &parked, into: out) { return .received }
        return parked ? .parked : .none
    }

    /// What `receiveOrPark` did.
    public enum Receipt {
        case value(Message)
        /// The channel is closed and drained, or the caller's run ended (`Scheduler.isStopping`).
        case none
        /// The task is queued as a receiver: its body must return now (see `receiveOrPark`).
        case parked
    }

    /// `receiveOrClosed` for a task body that can run again from its start (the interpreter's
    /// tasks, whose whole state is on the heap): where it would wait while more than the scheduler's
    /// `stacklessParkThreshold` tasks exist, the task is queued and `.parked` returned (with fewer,
    /// it waits on its stack, as `receiveOrClosed` does); the body must then return at once, without touching the channel, and
    /// the task's stack goes back to its P (a parked task then holds no stack page: see
    /// requestStacklessPark). When a sender or close wakes it, the body runs from its start on
    /// a fresh stack and calls `finishParkedReceive` first.
    public func receiveOrPark() -> Receipt {
        withUnsafeTemporaryAllocation(of: Message.self, capacity: 1) { buffer in
            let out = buffer.baseAddress!
            switch receiveOrPark(into: out) {
            case .received: return .value(out.move())
            case .none: return .none
            case .parked: return .parked
            }
        }
    }

    /// The end of a `receiveOrPark` that parked, in the task it woke: the value, or nil when the
    /// channel was closed or the run ended, as `receiveOrClosed` would have returned.
    public static func finishParkedReceive() -> Message? {
        withUnsafeTemporaryAllocation(of: Message.self, capacity: 1) { buffer in
            finishParkedReceive(into: buffer.baseAddress!) ? buffer.baseAddress!.move() : nil
        }
    }

    /// `finishParkedReceive` that moves the value into `out`: see `receiveOrClosed(into:)`.
    public static func finishParkedReceive(into out: UnsafeMutablePointer<Message>) -> Bool {
        guard let g = vm_current_g() else { notInTask("Channel.finishParkedReceive") }
        return finishReceive(g, into: out)
    }

    @inline(__always)
    private static func finishReceive(_ g: GPtr, into out: UnsafeMutablePointer<Message>) -> Bool {
        // Resumed: a sender filled our slot (waitok 1), or close() or the reaper woke us (waitok 0).
        let slot = vm_g_msg_slot(g).bindMemory(to: Message.self, capacity: 1)
        if noteStoppedAfterSwitch(g) {
            if g.pointee.waitok != 0 { slot.deinitialize(count: 1) }
            return false
        }
        if g.pointee.waitok != 0 {
            out.moveInitialize(from: slot, count: 1)
            return true
        }
        return false
    }

    /// Moves the value into `out` (uninitialized) and returns true; or false with `parked` set
    /// when it parked without its stack (`stackless` only), false alone when the channel is closed
    /// and drained or the run ended. (No Optional or `Receipt` result: callers paid a generic
    /// destroy of those per receive.)
    @inline(__always)
    private func receive(stackless: Bool, parked: inout Bool, into out: UnsafeMutablePointer<Message>) -> Bool {
        guard let me = vm_current_m(), let g = me.pointee.curg else { notInTask("Channel.receive") }
        let c = state
        vm_mutex_lock(&c.pointee.lock)
        if let s = dequeueLive(&c.pointee.sendq, me, senders: true) {
            if c.pointee.cap == 0 {
                out.moveInitialize(from: slot(s), count: 1)
            } else {
                // The buffer is full: take its head, and let the sender's value take the tail
                // (the same slot, since the ring is full), keeping FIFO order.
                let i = Int(c.pointee.recvx)
                out.moveInitialize(from: ring + i, count: 1)
                (ring + i).moveInitialize(from: slot(s), count: 1)
                c.pointee.recvx = c.pointee.recvx + 1 == c.pointee.cap ? 0 : c.pointee.recvx + 1
                c.pointee.sendx = c.pointee.recvx
            }
            s.pointee.waitok = 1
            vm_mutex_unlock(&c.pointee.lock)
            ready(s, me.pointee.p, next: true)
            return true
        }
        if c.pointee.count > 0 {
            out.moveInitialize(from: ring + Int(c.pointee.recvx), count: 1)
            c.pointee.recvx = c.pointee.recvx + 1 == c.pointee.cap ? 0 : c.pointee.recvx + 1
            c.pointee.count -= 1
            vm_mutex_unlock(&c.pointee.lock)
            return true
        }
        if c.pointee.closed != 0 {
            vm_mutex_unlock(&c.pointee.lock)
            return false
        }
        if isStale(g, me) {
            vm_mutex_unlock(&c.pointee.lock)
            stopOrAbandon(g, me)
            return false
        }
        g.pointee.waitok = 0
        vm_store_u32(&g.pointee.status, VM_G_PARKING)
        enqueue(&c.pointee.recvq, g)
        publishWait(g, VM_WAIT_CHAN, UnsafeMutableRawPointer(c))
        if isStale(g, me) {
            unlink(&c.pointee.recvq, g)  // as in send
            vm_store_u32(&g.pointee.status, VM_G_RUNNING)
            vm_mutex_unlock(&c.pointee.lock)
            stopOrAbandon(g, me)
            return false
        }
        if stackless && manyGsAlive(me) {
            requestStacklessPark(g)
            vm_mutex_unlock(&c.pointee.lock)
            parked = true
            return false
        }
        vm_mutex_unlock(&c.pointee.lock)
        parkCurrent(g, me)  // as in send: no lock, no open access, `me` dead afterwards
        return Channel.finishReceive(g, into: out)
    }

    /// Closes the channel: waiting receivers get "closed", waiting senders fail with
    /// `.sendOnClosed`; buffered values can still be received. Throws `.closeOfClosed` the
    /// second time.
    public func close() throws(ChannelError) {
        guard let me = vm_current_m(), me.pointee.curg != nil else { notInTask("Channel.close") }
        let c = state
        vm_mutex_lock(&c.pointee.lock)
        if c.pointee.closed != 0 {
            vm_mutex_unlock(&c.pointee.lock)
            throw .closeOfClosed
        }
        c.pointee.closed = 1
        var woken: GPtr? = nil
        while let r = dequeue(&c.pointee.recvq) {
            r.pointee.waitok = 0
            r.pointee.waitlink = woken
            woken = r
        }
        while let s = dequeue(&c.pointee.sendq) {
            s.pointee.waitok = 0
            s.pointee.waitlink = woken
            woken = s
        }
        vm_mutex_unlock(&c.pointee.lock)
        let p = me.pointee.p!
        while let w = woken {
            woken = w.pointee.waitlink
            w.pointee.waitlink = nil
            ready(w, p, next: false)
        }
    }

    /// Number of buffered values (a snapshot).
    public var count: Int {
        vm_mutex_lock(&state.pointee.lock)
        defer { vm_mutex_unlock(&state.pointee.lock) }
        return Int(state.pointee.count)
    }

    // MARK: - Wait queues (lock held)

    @inline(__always)
    private func slot(_ g: GPtr) -> UnsafeMutablePointer<Message> {
        // vm_g.msg is raw storage sized and aligned for a Message (checked in init and in
        // LayoutTests); a value lives there only while it is in flight between two tasks.
        vm_g_msg_slot(g).bindMemory(to: Message.self, capacity: 1)
    }

    @inline(__always)
    private func enqueue(_ q: UnsafeMutablePointer<vm_waitq>, _ g: GPtr) {
        g.pointee.waitlink = nil
        if let t = q.pointee.tail { t.pointee.waitlink = g } else { q.pointee.head = g }
        q.pointee.tail = g
    }

    @inline(__always)
    private func dequeue(_ q: UnsafeMutablePointer<vm_waitq>) -> GPtr? {
        guard let g = q.pointee.head else { return nil }
        q.pointee.head = g.pointee.waitlink
        if q.pointee.head == nil { q.pointee.tail = nil }
        g.pointee.waitlink = nil
        clearWait(g)
        return g
    }

    /// Removes `g` from `q`, wherever it is (a linear walk: only for a G leaving on its own,
    /// which is rare).
    private func unlink(_ q: UnsafeMutablePointer<vm_waitq>, _ g: GPtr) {
        Channel.unlink(q, g)
        clearWait(g)
    }

    private static func unlink(_ q: UnsafeMutablePointer<vm_waitq>, _ g: GPtr) {
        var prev: GPtr? = nil
        var x = q.pointee.head
        while let cur = x, cur != g {
            prev = cur
            x = cur.pointee.waitlink
        }
        guard x != nil else { return }
        let next = g.pointee.waitlink
        if let prev { prev.pointee.waitlink = next } else { q.pointee.head = next }
        if q.pointee.tail == g { q.pointee.tail = prev }
        g.pointee.waitlink = nil
    }

    /// The first waiter whose run is still live. Waiters left by a cancelled or terminated
    /// run must not take values: they are made runnable so the scheduler drops them (a stale
    /// sender's value is destroyed first) or, unwinding, runs them to return (a stale sender
    /// then destroys its value itself).
    @inline(__always)
    private func dequeueLive(_ q: UnsafeMutablePointer<vm_waitq>, _ me: MPtr, senders: Bool) -> GPtr? {
        while let g = dequeue(q) {
            if !isStale(g, me) { return g }
            let s = me.pointee.sched.assumingMemoryBound(to: vm_sched.self)
            if senders && s.pointee.unwind == 0 { slot(g).deinitialize(count: 1) }
            g.pointee.waitok = 0
            ready(g, me.pointee.p, next: false)
        }
        return nil
    }

    /// For the reaper (SchedulerCore.wakeStoppedWaiters, vm_reap_lock held so that `c` stays
    /// allocated): takes every waiter of a generation other than `gen` out of both queues of `c`
    /// and appends it to `woken`, marked "not completed"; the caller readies them, and each
    /// unwinds (a sender destroys its own value).
    static func evictStaleWaiters(_ c: UnsafeMutablePointer<vm_chan>, gen: UInt64, into woken: inout [GPtr]) {
        func evict(_ q: UnsafeMutablePointer<vm_waitq>) {  // one pass, however many leave
            var prev: GPtr? = nil
            var x = q.pointee.head
            while let g = x {
                let next = g.pointee.waitlink
                x = next
                if g.pointee.gen == gen {
                    prev = g
                    continue
                }
                if let prev { prev.pointee.waitlink = next } else { q.pointee.head = next }
                if q.pointee.tail == g { q.pointee.tail = prev }
                g.pointee.waitlink = nil
                clearWait(g)
                g.pointee.waitok = 0
                woken.append(g)
            }
        }
        vm_mutex_lock(&c.pointee.lock)
        evict(&c.pointee.sendq)
        evict(&c.pointee.recvq)
        vm_mutex_unlock(&c.pointee.lock)
    }
}
