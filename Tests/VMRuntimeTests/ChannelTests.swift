// ChannelTests.swift — channel semantics: rendezvous, buffering and FIFO order, close and
// its errors, hand-off into runnext, ownership of Message objects, many producers and
// consumers over several Ps.
import CJITStubs
import Synchronization
import Testing

@testable import VMRuntime

extension RuntimeTests {
    @Suite struct Channels {
        @Test func unbufferedSendWaitsForTheReceiver() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var log: [String] = []
            _ = s.run {
                let ch = Channel(capacity: 0)
                let r = Scheduler.spawn {
                    log.append("receiver starts")
                    Scheduler.sleep(nanoseconds: 2_000_000)
                    let m = try! ch.receive()
                    log.append("received \(m.w0)")
                }
                log.append("sending")
                try! ch.send(Message(w0: 7))
                log.append("sent")
                r.join()
            }
            #expect(log.first == "sending")
            #expect(log.firstIndex(of: "receiver starts")! < log.firstIndex(of: "sent")!)
            #expect(log.contains("received 7"))
        }

        @Test func bufferedSendsDoNotBlockUntilFullAndKeepOrder() {
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var log: [String] = []
            var received: [UInt64] = []
            _ = s.run {
                let ch = Channel(capacity: 3)
                let r = Scheduler.spawn {
                    log.append("receiver runs")
                    while let m = ch.receiveOrClosed() { received.append(m.w0) }
                }
                for i in 0..<3 { try! ch.send(Message(w0: UInt64(i))) }
                log.append("three sent")  // the receiver has not run yet: nothing blocked
                #expect(ch.count == 3)
                for i in 3..<10 { try! ch.send(Message(w0: UInt64(i))) }
                try! ch.close()
                r.join()
            }
            #expect(log == ["three sent", "receiver runs"])
            #expect(received == Array(0..<10))
        }

        @Test func closeSemantics() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            _ = s.run {
                let ch = Channel(capacity: 2)
                try! ch.send(Message(w0: 1))
                try! ch.close()
                #expect(throws: ChannelError.sendOnClosed) { try ch.send(Message()) }
                #expect(throws: ChannelError.closeOfClosed) { try ch.close() }
                #expect(try! ch.receive().w0 == 1)  // buffered values survive close
                #expect(ch.receiveOrClosed() == nil)
                #expect(throws: ChannelError.receiveOnClosed) { try ch.receive() }

                // Close wakes blocked receivers (closed) and blocked senders (error).
                let rx = Channel(capacity: 0)
                let tx = Channel(capacity: 0)
                let closedSeen = Counter()
                let sendErrors = Counter()
                var hs: [GHandle] = []
                for _ in 0..<3 { hs.append(Scheduler.spawn { if rx.receiveOrClosed() == nil { closedSeen.add() } }) }
                for _ in 0..<3 {
                    hs.append(
                        Scheduler.spawn {
                            do throws(ChannelError) { try tx.send(Message(object: Tracked(0))) } catch {
                                if error == .sendOnClosed { sendErrors.add() }
                            }
                        })
                }
                Scheduler.sleep(nanoseconds: 2_000_000)
                try! rx.close()
                try! tx.close()
                for h in hs { h.join() }
                #expect(closedSeen.load == 3)
                #expect(sendErrors.load == 3)
            }
            #expect(Tracked.live.load(ordering: .relaxed) == 0)  // blocked senders' values released
            #expect(ChannelError.sendOnClosed.description == "send on closed channel")
        }

        @Test func wokenReceiverRunsNextOnTheWakersP() {
            // Go's hand-off: a channel wake-up puts the woken task in the waker's runnext, ahead
            // of tasks already queued.
            let s = Scheduler(configuration: .init(procs: 1))
            defer { s.shutdown() }
            var order: [String] = []
            _ = s.run {
                let ch = Channel(capacity: 0)
                let done = Channel(capacity: 0)
                Scheduler.spawn {
                    _ = ch.receiveOrClosed()
                    order.append("woken")
                }
                Scheduler.yield()  // let it block in receive
                Scheduler.spawn {  // runnable (in runnext) before the wake-up below
                    order.append("queued")
                    try! done.send(Message())
                }
                try! ch.send(Message())  // the receiver takes runnext; "queued" moves to the ring
                _ = done.receiveOrClosed()
            }
            #expect(order == ["woken", "queued"])
            #expect(s.stats.handoffs >= 1)
        }

        @Test func messagesCarryBitsAndObjects() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            var sum: UInt64 = 0
            _ = s.run {
                let ch = Channel(capacity: 0)
                let buffered = Channel(capacity: 4)
                Scheduler.spawn {
                    for i in 0..<100 {
                        let m = Message(w0: UInt64(i), w1: 1, w2: 2, w3: 3, object: Tracked(i))
                        if i % 2 == 0 { try! ch.send(m) } else { try! buffered.send(m) }
                    }
                    try! ch.close()
                    try! buffered.close()
                }
                for _ in 0..<50 {
                    let a = try! ch.receive()
                    let b = try! buffered.receive()
                    sum += a.w0 + b.w0 + a.w1 + a.w2 + a.w3
                    #expect((a.object as! Tracked).n == Int(a.w0))
                    #expect((b.object as! Tracked).n == Int(b.w0))
                }
            }
            #expect(sum == (0..<100).reduce(0, +) + 50 * 6)
            #expect(Tracked.live.load(ordering: .relaxed) == 0)
        }

        @Test func manyProducersAndConsumersOnSeveralPs() {
            let s = Scheduler(configuration: .init(procs: 2))
            defer { s.shutdown() }
            let total = Counter()
            let count = Counter()
            for capacity in [0, 16] {
                _ = s.run {
                    let ch = Channel(capacity: capacity)
                    let producers = (0..<4).map { p in
                        Scheduler.spawn {
                            for i in 0..<5_000 { try! ch.send(Message(w0: UInt64(p * 5_000 + i))) }
                        }
                    }
                    let consumers = (0..<3).map { _ in
                        Scheduler.spawn {
                            while let m = ch.receiveOrClosed() {
                                total.add(Int(m.w0))
                                count.add()
                            }
                        }
                    }
                    for p in producers { p.join() }
                    try! ch.close()
                    for c in consumers { c.join() }
                }
            }
            #expect(count.load == 2 * 20_000)
            #expect(total.load == 2 * (0..<20_000).reduce(0, +))
        }
    }
}
