// StacklessParkTests.swift — spawned tasks that wait in a send, a receive or a wait park without
// their stacks (TaskState.parksWithoutStack, Channel.receiveOrPark / sendOrPark, GHandle.joinOrPark):
// the interpreter returns from the task's body with its frame's pc at the instruction, the stack
// goes back to the P, and the woken task's body runs again on any stack and finishes the
// instruction (a wait runs again). Programs must print the same in every mode; errors raised after
// such a wait keep their location; and a parked task holds no stack page (measured in a child
// process).
import Foundation
import SchedulerTestSupport
import Testing

@testable import VMRuntime
@testable import VecVM

@Suite("tasks parked without their stacks")
struct StacklessParkTests {
    /// Every mode twice: with the default threshold (few tasks here: waits keep their stacks, but
    /// the tree passes it) and with 0 (every wait of a spawned task parks without its stack).
    static let modes: [Mode] = Mode.all.flatMap { m -> [Mode] in
        var stackless = m
        stackless.stacklessParkThreshold = 0
        return [m, stackless]
    }

    @Test("every kind of value through waits", arguments: StacklessParkTests.modes)
    func valuesThroughWaits(_ mode: Mode) {
        let r = run(
            """
            fn drain(c: chan<int>, out: chan<int>) {
                var s = 0
                for v in c { s += v }          // waits in recvOrJump; the close takes the jump
                send(out, s)
            }
            fn fill8(c: chan<int>, k: int) {
                for i in 0..8 { send(c, k * 8 + i) }   // waits on a full buffer
            }
            fn first(c: chan<f64x4>) -> f64x4 { return recv(c) * splat(2.0) }   // waits at pc 0
            fn counted(n: int, c: chan<str>) -> str {
                var s = 0
                for i in 0..n { s += i }       // a native loop, then a wait in the interpreter
                return recv(c) + str(s)
            }
            fn relay(a: chan<[f32]>, b: chan<[f32]>) {
                let x = recv(a)
                send(b, x * f32(2))            // an unbuffered send waits for its receiver
            }
            let c = chan<int>(0)
            let sums = chan<int>(16)
            for k in 0..16 { spawn drain(c, sums) }
            let full = chan<int>(2)
            for k in 0..4 { spawn fill8(full, k) }
            var got = 0
            for i in 0..32 { got += recv(full) }
            for i in 0..1000 { send(c, i) }
            close(c)
            var total = 0
            for k in 0..16 { total += recv(sums) }
            let vc = chan<f64x4>(0)
            let t = spawn first(vc)
            send(vc, splat(1.25))
            let sc = chan<str>(0)
            let u = spawn counted(100, sc)
            send(sc, "s=")
            let a = chan<[f32]>(0)
            let b = chan<[f32]>(0)
            spawn relay(a, b)
            send(a, f32(iota(4)))
            print(got, total, wait(t), wait(u), recv(b))
            """, mode: mode)
        #expect(r.error == nil, "\(mode): \(r.errorText)")
        #expect(
            r.output == "496 499500 <2.5, 2.5, 2.5, 2.5> s=4950 [0.0, 2.0, 4.0, 6.0]\n",
            "\(mode)")
    }

    @Test("a tree of tasks waiting for their children", arguments: StacklessParkTests.modes)
    func treeOfWaits(_ mode: Mode) {
        // 4,095 tasks: past the threshold, the inner ones wait for their children without stacks
        // and run their `wait` again when woken.
        let r = run(
            """
            fn leaf(i: int) -> int {
                var s = 0
                for j in 0..10 { s += i * j }
                return s
            }
            fn node(depth: int, i: int) -> int {
                if depth == 0 { return leaf(i) }
                let a = spawn node(depth - 1, 2 * i)
                let b = spawn node(depth - 1, 2 * i + 1)
                return wait(a) + wait(b)
            }
            print(wait(spawn node(11, 1)))
            """, mode: mode)
        #expect(r.error == nil, "\(mode): \(r.errorText)")
        #expect(r.output == "283069440\n", "\(mode)")  // 45 × (2048 + ... + 4095)
    }

    @Test("errors after a wait keep their place", arguments: StacklessParkTests.modes)
    func errorsAfterAWait(_ mode: Mode) {
        let send = run(
            "fn put(c: chan<int>) {\n    send(c, 1)\n}\nlet c = chan<int>(0)\nlet t = spawn put(c)\nsleep(20)\nclose(c)\nwait(t)",
            file: "rt.vec", mode: mode)
        #expect(send.errorText.hasPrefix("rt.vec:2:5: runtime error: send on a closed channel"), "\(send.errorText)")
        #expect(send.errorText.contains("in task 2 (put), started by task 1 (main) at rt.vec:5:9"), "\(send.errorText)")
        let receive = run(
            "fn get(c: chan<int>) -> int {\n    return recv(c) + 1\n}\nlet c = chan<int>(0)\nlet t = spawn get(c)\nsleep(20)\nclose(c)\nprint(wait(t))",
            file: "rt.vec", mode: mode)
        #expect(
            receive.errorText.hasPrefix("rt.vec:2:12: runtime error: receive from a closed and drained channel"),
            "\(receive.errorText)")
        #expect(send.status == 2 && receive.status == 2)
    }

    /// A parked task keeps its G struct and its heap state; its stack went back to its P, whose next
    /// task reuses it. A first wave of 40,000 sizes the heap and the G slabs; what a second wave of
    /// 40,000 parked tasks adds must stay under 2 KB a task (a stack page each would be over 4 KB)
    /// with almost no stack carved (one each before). Issue 12's figure, peak RSS over 100,000
    /// parked tasks beside Go's, is measured by bench/ (the `runtime` group).
    @Test func parkedTasksHoldNoStackPage() {
        let r = runInChild(timeoutSeconds: 300) {
            let out = CapturedOutput()
            let vm = VM(configuration: VMConfiguration(procs: 2, output: out))
            vm.register("rss") { () -> Int in residentBytes() }
            vm.register("stacks") { () -> Int in
                let s = StackPool.shared.snapshot()
                return s.guarded + s.unguarded
            }
            do {
                try vm.run(
                    source: """
                        fn worker(gate: chan<int>, ready: chan<int>) -> int {
                            send(ready, 1)
                            return recv(gate)
                        }
                        let n = 40_000
                        let gate = chan<int>(0)
                        let ready = chan<int>(n)
                        // A first wave sizes the runtime's structures (G slabs, the heap).
                        for i in 0..n { spawn worker(gate, ready) }
                        for i in 0..n { let _r = recv(ready) }
                        for i in 0..n { send(gate, i) }
                        sleep(300)
                        let rss0 = rss()
                        let stacks0 = stacks()
                        for i in 0..n { spawn worker(gate, ready) }
                        for i in 0..n { let _r = recv(ready) }
                        sleep(50)
                        print(rss() - rss0, stacks() - stacks0)
                        for i in 0..n { send(gate, i) }
                        """, fileName: "parked.vec")
            } catch {
                report("error=\(error)")
            }
            let f = out.text.split(separator: "\n").first?.split(separator: " ") ?? []
            if f.count == 2 {
                report("grown=\(f[0])")
                report("carved=\(f[1])")
            }
            _exit(0)
        }
        #expect(r.exitStatus == 0, "\(r.stderr)")
        let grown = reported(r, "grown")
        let carved = reported(r, "carved")
        guard grown.count == 1, carved.count == 1 else {
            Issue.record("no measurement: \(r.stderr)")
            return
        }
        print("[stackless] 40,000 parked tasks: \(grown[0] / 40_000) resident bytes each, \(carved[0]) stacks carved")
        #expect(grown[0] / 40_000 <= 2_000, "resident bytes per parked task: \(grown[0] / 40_000)")
        // Stacks: the Ps' caches at most, not one per parked task.
        #expect(carved[0] < 1_000, "stacks carved while 40,000 tasks parked: \(carved[0])")
    }
}
