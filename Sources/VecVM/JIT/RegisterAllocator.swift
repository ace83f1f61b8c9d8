// The register allocator of both JIT lowerings: greedy coloring of an interference graph. The function
// lowering colors the VM registers of a whole function (vectors with 14 colors; integers with the GPRs,
// coalescing moves through partners, and when they run out keeping the cheapest in their slots); the
// kernel lowering colors the live intervals of a loop body's virtual vector registers (an interval
// graph: colored in start order, greedy coloring uses no more colors than the most intervals live at
// one point, as linear scan does), then the spill slots of the intervals it spilled. An interval graph
// is colored by a sweep (colorIntervals) without building it: in start order, the neighbors already
// colored are exactly the intervals still live, so the sweep picks the colors `color` would.
//
// It knows nothing of machines or of either lowering: nodes and colors are Ints (the caller maps colors
// to registers or slots), and the caller chooses the order, each node's preferred colors and the spill
// costs. It reads and writes nothing but its own values.
//
// Rejected: Chaitin-Briggs simplify/select with iterated coalescing (George and Appel). Its order is
// the graph's, not the caller's, and the lowerings need theirs — start order makes an interval graph's
// coloring optimal, and "most constrained first" keeps a function's code as it was — while the graphs
// are small (one function, one loop body) and greedy coloring with partners already removes the moves
// that matter.

/// An interference graph over node ids (small non-negative Ints: VM registers, virtual registers), with
/// move partners, and its greedy coloring. Stored densely, by id: a bit set of neighbors per node and
/// colors in an array (with hashed sets, and kernels' interval graphs built rather than swept,
/// blackscholes' whole run took 85.0M instructions instead of 43.8M).
struct RegisterAllocator {
    /// Every node; one with no edge is colored too.
    private(set) var nodes = RegisterSet()
    /// Per node, the nodes that must not share its color (both ways).
    private var adjacency: [RegisterSet] = []
    /// Nodes that would rather share a color (the two sides of a move: sharing removes the move), both
    /// ways, in the order they were paired.
    private var partnerLists: [[Int]] = []

    init() {}

    private mutating func grow(_ n: Int) {
        if n >= adjacency.count {
            let more = Swift.max(n + 1, adjacency.count * 2) - adjacency.count
            adjacency += Array(repeating: RegisterSet(), count: more)
            partnerLists += Array(repeating: [], count: more)
        }
    }

    mutating func add(_ n: Int) {
        grow(n)
        nodes.insert(n)
    }

    mutating func interfere(_ a: Int, _ b: Int) {
        precondition(a != b, "RegisterAllocator: node \(a) cannot interfere with itself")
        add(a)
        add(b)
        adjacency[a].insert(b)
        adjacency[b].insert(a)
    }

    /// Makes every two of `members` interfere (values live at the same point).
    mutating func clique<S: Sequence<Int>>(_ members: S) {
        let all = Array(members)
        for a in all { add(a) }
        for a in all {
            for b in all where b != a { adjacency[a].insert(b) }
        }
    }

    mutating func pair(_ a: Int, _ b: Int) {
        add(a)
        add(b)
        partnerLists[a].append(b)
        partnerLists[b].append(a)
    }

    func neighbors(_ n: Int) -> RegisterSet { n < adjacency.count ? adjacency[n] : RegisterSet() }

    func partners(_ n: Int) -> [Int] { n < partnerLists.count ? partnerLists[n] : [] }

    func degree(_ n: Int) -> Int { n < adjacency.count ? adjacency[n].count : 0 }

    /// The nodes by degree, highest first, then by id: the most constrained are colored first.
    var mostConstrainedFirst: [Int] {
        let degrees = Array(nodes).map { (node: $0, degree: degree($0)) }
        return degrees.sorted { ($0.degree, $1.node) > ($1.degree, $0.node) }.map(\.node)
    }

    /// Whether an interval that ends at the point where another starts interferes with it.
    enum Touching {
        /// It does not: its last use is an operand of the instruction that defines the other, which
        /// may write the same register.
        case share
        /// It does (spill slots: a value stored at the point where another is still read from memory).
        case interfere
    }

    /// Colors the interval graph of `spans` (by node id; nil: no such node) in start order (then id),
    /// as `color` and `colorSpilling` would, by a sweep over the intervals instead of a graph: the
    /// neighbors colored before a node are the intervals still live at its start. With `cost`, when
    /// a node finds no color, the cheapest of it and the live intervals (then the lowest id) is
    /// spilled and the node takes its color; without, nil then.
    static func colorIntervals<Partners: Sequence<Int>>(
        _ spans: [ClosedRange<Int>?], touching: Touching, partners: (Int) -> Partners, prefer: (Int) -> [Int],
        cost: ((Int) -> Double)? = nil
    ) -> (colors: [Int: Int], spilled: Set<Int>)? {
        let order = spans.indices.filter { spans[$0] != nil }.sorted {
            (spans[$0]!.lowerBound, $0) < (spans[$1]!.lowerBound, $1)
        }
        var colors = Colors(spans.count)
        var spilled = Set<Int>()
        var live: [(node: Int, end: Int)] = []
        var taken = RegisterSet()
        for n in order {
            let span = spans[n]!
            switch touching {
            case .share: live.removeAll { $0.end <= span.lowerBound }
            case .interfere: live.removeAll { $0.end < span.lowerBound }
            }
            taken.removeAll()
            for l in live { taken.insert(colors[l.node]!) }
            if let c = choose(n, taken, partners(n).lazy.compactMap { colors[$0] }, prefer(n)) {
                colors[n] = c
                live.append((n, span.upperBound))
                continue
            }
            guard let cost else { return nil }
            let victim = ([n] + live.map(\.node)).min { (cost($0), $0) < (cost($1), $1) }!
            spilled.insert(victim)
            guard victim != n else { continue }
            let freed = colors[victim]!
            colors[victim] = nil
            live.removeAll { $0.node == victim }
            taken.remove(freed)
            colors[n] = choose(n, taken, partners(n).lazy.compactMap { colors[$0] }, prefer(n)) ?? freed
            live.append((n, span.upperBound))
        }
        return (colors.dictionary(order), spilled)
    }

    /// The color a node takes: its first colored partner's (of `partnerColors`) that is not `taken`,
    /// else the first of `prefer` that is not.
    private static func choose(
        _ n: Int, _ taken: RegisterSet, _ partnerColors: some Sequence<Int>, _ prefer: [Int],
        shares: (Int, Int) -> Bool = { _, _ in true }
    ) -> Int? {
        for c in partnerColors where shares(n, c) && !taken.contains(c) { return c }
        return prefer.first { !taken.contains($0) }
    }

    /// Colors the nodes of `order`, in that order (the others get no color and take none), each with
    /// the color of its first partner already colored when `shares(node, color)` allows it and no
    /// neighbor has it, else the first color of `prefer(node)` no neighbor has. Nil when a node finds
    /// none.
    func color(
        _ order: [Int], prefer: (Int) -> [Int], shares: (_ node: Int, _ color: Int) -> Bool = { _, _ in true }
    ) -> [Int: Int]? {
        var colors = Colors(adjacency.count)
        switch greedy(order, &colors, from: 0, skipping: RegisterSet(), prefer, shares) {
        case .colored: return colors.dictionary(order)
        case .blocked: return nil
        }
    }

    /// Colors as `color` does, and when a node finds no color, spills one of it and its neighbors that
    /// hold a color — the one of lowest `cost` (then lowest id) that `maySpill(node, spilled so far)`
    /// allows — and colors again without it. Nil when there is none to spill. (A neighbor not colored
    /// yet comes later in the order: spilling it would leave the node as blocked as before.)
    func colorSpilling(
        _ order: [Int], prefer: (Int) -> [Int], shares: (_ node: Int, _ color: Int) -> Bool = { _, _ in true },
        cost: (Int) -> Double, maySpill: (_ node: Int, _ spilled: Set<Int>) -> Bool
    ) -> (colors: [Int: Int], spilled: Set<Int>)? {
        var spilled = Set<Int>()
        var skipped = RegisterSet()
        var colors = Colors(adjacency.count)
        var start = 0
        while true {
            switch greedy(order, &colors, from: start, skipping: skipped, prefer, shares) {
            case .colored:
                return (colors.dictionary(order), spilled)
            case .blocked(let index):
                let n = order[index]
                let candidates = ([n] + neighbors(n).filter { colors[$0] != nil }).filter { maySpill($0, spilled) }
                guard let victim = candidates.min(by: { (cost($0), $0) < (cost($1), $1) }) else { return nil }
                spilled.insert(victim)
                skipped.insert(victim)
                // Without the node itself, the colors before it stay as they are: go on after it. Without
                // a node colored before it, those after that one may change: start again.
                if victim == n {
                    start = index + 1
                } else {
                    colors = Colors(adjacency.count)
                    start = 0
                }
            }
        }
    }

    /// Colors by node id (nil: none yet).
    private struct Colors {
        private var byNode: [Int]

        init(_ count: Int) { byNode = Array(repeating: -1, count: count) }

        subscript(n: Int) -> Int? {
            get { n < byNode.count && byNode[n] >= 0 ? byNode[n] : nil }
            set { byNode[n] = newValue ?? -1 }
        }

        func dictionary(_ order: [Int]) -> [Int: Int] {
            var d: [Int: Int] = [:]
            for n in order { if let c = self[n] { d[n] = c } }
            return d
        }
    }

    private enum Greedy {
        case colored
        /// The node at `index` of the order found no color.
        case blocked(index: Int)
    }

    /// Colors `order[start...]` after the colors already given, skipping `spilled`.
    private func greedy(
        _ order: [Int], _ colors: inout Colors, from start: Int, skipping spilled: RegisterSet,
        _ prefer: (Int) -> [Int], _ shares: (Int, Int) -> Bool
    ) -> Greedy {
        for index in start..<order.count where !spilled.contains(order[index]) {
            let n = order[index]
            var taken = RegisterSet()
            for m in neighbors(n) { if let c = colors[m] { taken.insert(c) } }
            let partnerColors = partners(n).compactMap { colors[$0] }
            guard let c = Self.choose(n, taken, partnerColors, prefer(n), shares: shares) else {
                return .blocked(index: index)
            }
            colors[n] = c
        }
        return .colored
    }
}
