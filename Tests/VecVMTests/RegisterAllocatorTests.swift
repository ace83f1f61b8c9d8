// The register allocator of both JIT lowerings (JIT/RegisterAllocator.swift) on its own: interval
// graphs colored with as few colors as the most intervals live at once, move partners sharing a color
// when they do not interfere and only then, preferences and the shares predicate honored, spilling
// the cheapest node that frees a color, nil where nothing fits. Then the allocator at work: every
// kernel of programs/ lowers at both ISAs (their functions: NativeStepTests.theFunctionsOfProgramsAreNative).

import Foundation
import Testing

@testable import VecVM

@Suite("register allocator")
struct RegisterAllocatorTests {
    /// Whether no edge of `graph` joins two nodes of one color.
    func isProper(_ colors: [Int: Int], _ graph: RegisterAllocator) -> Bool {
        graph.nodes.allSatisfy { a in
            graph.neighbors(a).allSatisfy { b in colors[a] == nil || colors[a] != colors[b] }
        }
    }

    /// The most spans that contain one point; a span that ends where another starts shares that point
    /// only with `touching: .interfere`.
    func mostLive(_ spans: [Int: ClosedRange<Int>], _ touching: RegisterAllocator.Touching) -> Int {
        let points = Set(spans.values.flatMap { [$0.lowerBound, $0.upperBound] })
        return points.map { p in
            spans.values.filter { s in
                switch touching {
                case .share: s.lowerBound <= p && p < s.upperBound || s.lowerBound == p
                case .interfere: s.contains(p)
                }
            }.count
        }.max() ?? 0
    }

    @Test("an interval graph colored in start order takes as many colors as the most intervals live at once")
    func intervalGraphsAreColoredOptimally() throws {
        for seed in 0..<200 {
            var rng = SplitMix(state: UInt64(seed) &* 7919 &+ 1)
            var spans: [Int: ClosedRange<Int>] = [:]
            // One definition a point, as in a body: starts are distinct, ends anywhere after.
            for n in 0..<(5 + rng.int(40)) { spans[n] = n...(n + rng.int(12)) }
            // Partners: each node would share with the one before it (a move chain), where it may.
            let partners: (Int) -> [Int] = { $0 > 0 ? [$0 - 1] : [] }
            for touching in [RegisterAllocator.Touching.share, .interfere] {
                let graph = RegisterAllocator(intervals: spans, touching: touching)
                let order = spans.keys.sorted { spans[$0]!.lowerBound < spans[$1]!.lowerBound }
                let colors = try #require(graph.color(order, prefer: { _ in Array(0..<spans.count) }))
                #expect(isProper(colors, graph), "seed \(seed)")
                #expect(Set(colors.values).count == mostLive(spans, touching), "seed \(seed) \(touching)")
                #expect(colors.count == spans.count)
                // The sweep colors as the graph's greedy coloring in start order does, partners included.
                var paired = graph
                for n in spans.keys { for p in partners(n) { paired.pair(n, p) } }
                let swept = try #require(
                    RegisterAllocator.colorIntervals(
                        (0..<spans.count).map { spans[$0] }, touching: touching, partners: partners,
                        prefer: { _ in Array(0..<spans.count) }))
                #expect(swept.colors == paired.color(order, prefer: { _ in Array(0..<spans.count) }), "seed \(seed)")
                #expect(swept.spilled.isEmpty)
            }
        }
    }

    @Test func anIntervalThatEndsWhereAnotherStartsSharesItsRegisterButNotItsSlot() {
        let spans = [0: 0...3, 1: 3...5]
        let shared = RegisterAllocator(intervals: spans, touching: .share)
        #expect(shared.nodes.allSatisfy { shared.neighbors($0).isEmpty })
        #expect(Array(RegisterAllocator(intervals: spans, touching: .interfere).neighbors(0)) == [1])
        // A span of one point (a value never read) interferes with what is live across it.
        #expect(Array(RegisterAllocator(intervals: [0: 0...4, 1: 2...2], touching: .share).neighbors(1)) == [0])
    }

    @Test func partnersShareAColorWhenTheyDoNotInterfere() throws {
        var graph = RegisterAllocator()
        graph.interfere(0, 1)
        graph.pair(0, 2)  // 2 = move 0: may take 0's color
        graph.interfere(2, 1)
        let colors = try #require(graph.color([0, 1, 2], prefer: { _ in [0, 1, 2] }))
        #expect(colors == [0: 0, 1: 1, 2: 0])
    }

    @Test func partnersThatInterfereTakeDifferentColors() throws {
        var graph = RegisterAllocator()
        graph.pair(0, 1)
        graph.interfere(0, 1)
        let colors = try #require(graph.color([0, 1], prefer: { _ in [0, 1] }))
        #expect(colors == [0: 0, 1: 1])
    }

    @Test func aPartnersColorIsTakenOnlyWhereSharesAllowsIt() throws {
        var graph = RegisterAllocator()
        graph.pair(0, 1)
        graph.add(2)
        let order = [0, 1, 2]
        // Node 1 would rather have 4, but its partner's color comes first where it may share it.
        let prefer: (Int) -> [Int] = { $0 == 1 ? [4, 3] : [3, 4] }
        #expect(graph.color(order, prefer: prefer) == [0: 3, 1: 3, 2: 3])
        #expect(graph.color(order, prefer: prefer, shares: { _, _ in false }) == [0: 3, 1: 4, 2: 3])
        #expect(graph.color(order, prefer: prefer, shares: { n, c in n != 1 || c == 4 }) == [0: 3, 1: 4, 2: 3])
    }

    @Test func eachNodeTakesTheFirstColorItPrefersThatNoNeighborHas() throws {
        var graph = RegisterAllocator()
        graph.clique([0, 1, 2])
        graph.add(3)
        let colors = try #require(graph.color([2, 0, 1, 3], prefer: { $0 == 3 ? [9, 5] : [5, 7, 6, 9] }))
        #expect(colors == [2: 5, 0: 7, 1: 6, 3: 9])
    }

    @Test func theMostConstrainedComeFirstThenTheLowerIds() {
        var graph = RegisterAllocator()
        graph.clique([4, 5, 6])
        graph.interfere(6, 1)
        graph.add(0)
        #expect(graph.mostConstrainedFirst == [6, 4, 5, 1, 0])
    }

    @Test func tooFewColorsGiveNil() {
        var graph = RegisterAllocator()
        graph.clique([0, 1, 2])
        #expect(graph.color([0, 1, 2], prefer: { _ in [0, 1] }) == nil)
        #expect(
            graph.colorSpilling([0, 1, 2], prefer: { _ in [0, 1] }, cost: { _ in 1 }, maySpill: { _, _ in false })
                == nil)
    }

    @Test func spillingTakesTheCheapestOfTheBlockedNodeAndTheNeighborsThatHoldAColor() throws {
        // A clique of four with two colors: two must go, the two cheapest.
        var graph = RegisterAllocator()
        graph.clique([0, 1, 2, 3])
        let costs: [Int: Double] = [0: 5, 1: 1, 2: 9, 3: 2]
        let result = try #require(
            graph.colorSpilling(
                [0, 1, 2, 3], prefer: { _ in [0, 1] }, cost: { costs[$0]! }, maySpill: { _, _ in true }))
        #expect(result.spilled == [1, 3])
        #expect(Set(result.colors.keys) == [0, 2])
        #expect(isProper(result.colors, graph))
        // Equal costs: the lower id.
        let even = try #require(
            graph.colorSpilling([0, 1, 2, 3], prefer: { _ in [0, 1] }, cost: { _ in 1 }, maySpill: { _, _ in true }))
        #expect(even.spilled == [0, 1])
    }

    @Test func aNeighborNotColoredYetIsNotSpilledForTheBlockedNode() throws {
        // 0 and 1 hold the two colors when 2 is blocked; 3, the cheapest, comes later and frees nothing.
        var graph = RegisterAllocator()
        graph.clique([0, 1, 2])
        graph.interfere(2, 3)
        let costs: [Int: Double] = [0: 5, 1: 4, 2: 3, 3: 0]
        let result = try #require(
            graph.colorSpilling(
                [0, 1, 2, 3], prefer: { _ in [0, 1] }, cost: { costs[$0]! }, maySpill: { _, _ in true }))
        #expect(result.spilled == [2])
        #expect(result.colors == [0: 0, 1: 1, 3: 0])
    }

    @Test func maySpillRulesOutVictimsGivenWhatIsSpilledAlready() throws {
        var graph = RegisterAllocator()
        graph.clique([0, 1, 2, 3])
        // At most one of 0 and 1 may be spilled (as the function lowering's two spill registers).
        let result = try #require(
            graph.colorSpilling(
                [0, 1, 2, 3], prefer: { _ in [0, 1] }, cost: { [0: 1, 1: 1, 2: 5, 3: 6][$0]! },
                maySpill: { n, spilled in !(n <= 1 && spilled.contains(1 - n)) }))
        #expect(result.spilled == [0, 2])
        #expect(isProper(result.colors, graph))
    }

    @Test func spillingAnIntervalGraphByLatestEndKeepsTheShortIntervals() throws {
        // Two registers: the long interval 0 gives way to the short ones that start after it (1 and 2
        // are live together with it), and those fit.
        let spans: [ClosedRange<Int>?] = [0...20, 1...4, 2...3, 3...6, 5...8]
        let result = try #require(
            RegisterAllocator.colorIntervals(
                spans, touching: .share, partners: { _ in [Int]() }, prefer: { _ in [0, 1] },
                cost: { -Double(spans[$0]!.upperBound) }))
        #expect(result.spilled == [0])
        // 2 takes 0's color, which 0 gave up.
        #expect(result.colors == [1: 1, 2: 0, 3: 0, 4: 1])
        #expect(
            isProper(
                result.colors,
                RegisterAllocator(intervals: [0: 0...20, 1: 1...4, 2: 2...3, 3: 3...6, 4: 5...8], touching: .share)))
        // Without costs, nothing may be spilled: nil.
        #expect(
            RegisterAllocator.colorIntervals(
                spans, touching: .share, partners: { _ in [Int]() }, prefer: { _ in [0, 1] })
                == nil)
    }

    @Test("every kernel of programs/ lowers at both ISAs", arguments: TestPaths.programNames())
    func theKernelsOfProgramsLower(name: String) throws {
        let source = try String(contentsOf: TestPaths.programs.appendingPathComponent(name + ".vec"), encoding: .utf8)
        let vm = VM(configuration: VMConfiguration(output: CapturedOutput(), allowFileAccess: true))
        let compiled = try vm.compile(source: source, fileName: name + ".vec", hostReadableGlobals: false)
        for site in compiled.program.functions.flatMap(\.kernelSites) {
            for isa in KernelISA.allCases {
                do {
                    let code = try KernelLowering.lower(site.program, isa: isa)
                    #expect(!code.isEmpty)
                } catch {
                    Issue.record("\(name): \(site.program) at \(isa): \(error)")
                }
            }
        }
    }
}

extension RegisterAllocator {
    /// The interval graph of `spans` (node -> first and last point of its life): two nodes interfere
    /// when their spans overlap. What colorIntervals colors without building it: the reference the
    /// tests compare its colors with.
    init(intervals spans: [Int: ClosedRange<Int>], touching: Touching) {
        self.init()
        let byStart = spans.sorted { ($0.value.lowerBound, $0.key) < ($1.value.lowerBound, $1.key) }
        var live: [(node: Int, end: Int)] = []
        for (n, span) in byStart {
            let start = span.lowerBound
            switch touching {
            case .share: live.removeAll { $0.end <= start }
            case .interfere: live.removeAll { $0.end < start }
            }
            add(n)
            for a in live { interfere(a.node, n) }
            live.append((n, span.upperBound))
        }
    }
}
