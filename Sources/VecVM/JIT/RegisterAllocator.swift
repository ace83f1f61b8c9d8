// The register allocator of both JIT lowerings: greedy coloring of an interference graph. The function
// lowering colors the VM registers of a whole function (vectors with 14 colors; integers with the GPRs,
// coalescing moves through partners, and when they run out keeping the cheapest in their slots); the
// kernel lowering colors the live intervals of a loop body's virtual vector registers (an interval
// graph: colored in start order, greedy coloring uses no more colors than the most intervals live at
// one point, as linear scan does), then the spill slots of the intervals it spilled.
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

/// An interference graph over node ids, with move partners, and its greedy coloring.
struct RegisterAllocator {
    /// Every node; one with no edge is colored too.
    private(set) var nodes: Set<Int> = []
    /// Nodes that must not share a color, both ways.
    private(set) var edges: [Int: Set<Int>] = [:]
    /// Nodes that would rather share a color (the two sides of a move: sharing removes the move), both
    /// ways, in the order they were paired.
    private(set) var partners: [Int: [Int]] = [:]

    init() {}

    mutating func add(_ n: Int) { nodes.insert(n) }

    mutating func interfere(_ a: Int, _ b: Int) {
        precondition(a != b, "RegisterAllocator: node \(a) cannot interfere with itself")
        nodes.insert(a)
        nodes.insert(b)
        edges[a, default: []].insert(b)
        edges[b, default: []].insert(a)
    }

    /// Makes every two of `members` interfere (values live at the same point).
    mutating func clique<S: Sequence<Int>>(_ members: S) {
        let all = Array(members)
        for a in all {
            nodes.insert(a)
            for b in all where b != a { edges[a, default: []].insert(b) }
        }
    }

    mutating func pair(_ a: Int, _ b: Int) {
        nodes.insert(a)
        nodes.insert(b)
        partners[a, default: []].append(b)
        partners[b, default: []].append(a)
    }

    func neighbors(_ n: Int) -> Set<Int> { edges[n] ?? [] }

    func degree(_ n: Int) -> Int { edges[n]?.count ?? 0 }

    /// The nodes by degree, highest first, then by id: the most constrained are colored first.
    var mostConstrainedFirst: [Int] { nodes.sorted { (degree($0), $1) > (degree($1), $0) } }

    /// Whether an interval that ends at the point where another starts interferes with it.
    enum Touching {
        /// It does not: its last use is an operand of the instruction that defines the other, which
        /// may write the same register.
        case share
        /// It does (spill slots: a value stored at the point where another is still read from memory).
        case interfere
    }

    /// The interval graph of `spans` (node -> first and last point of its life): two nodes interfere
    /// when their spans overlap.
    init(intervals spans: [Int: ClosedRange<Int>], touching: Touching) {
        let byStart = spans.keys.sorted { (spans[$0]!.lowerBound, $0) < (spans[$1]!.lowerBound, $1) }
        var live: [Int] = []
        for n in byStart {
            let start = spans[n]!.lowerBound
            live.removeAll { a in
                switch touching {
                case .share: spans[a]!.upperBound <= start
                case .interfere: spans[a]!.upperBound < start
                }
            }
            add(n)
            for a in live { interfere(a, n) }
            live.append(n)
        }
    }

    /// Colors the nodes of `order`, in that order (the others get no color and take none), each with
    /// the color of its first partner already colored when `shares(node, color)` allows it and no
    /// neighbor has it, else the first color of `prefer(node)` no neighbor has. Nil when a node finds
    /// none.
    func color(
        _ order: [Int], prefer: (Int) -> [Int], shares: (_ node: Int, _ color: Int) -> Bool = { _, _ in true }
    ) -> [Int: Int]? {
        switch greedy(order, skipping: [], prefer, shares) {
        case .colored(let colors): colors
        case .blocked: nil
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
        var resume = (index: 0, colors: [Int: Int]())
        while true {
            switch greedy(order, from: resume.index, colors: resume.colors, skipping: spilled, prefer, shares) {
            case .colored(let colors):
                return (colors, spilled)
            case .blocked(let index, let colors):
                let n = order[index]
                let candidates = ([n] + neighbors(n).filter { colors[$0] != nil }).filter { maySpill($0, spilled) }
                guard let victim = candidates.min(by: { (cost($0), $0) < (cost($1), $1) }) else { return nil }
                spilled.insert(victim)
                // Without the node itself, the colors before it stay as they are: go on after it. Without
                // a node colored before it, those after that one may change: start again.
                resume = victim == n ? (index + 1, colors) : (0, [:])
            }
        }
    }

    private enum Greedy {
        case colored([Int: Int])
        /// The node at `index` of the order found no color; `colors` are those given before it.
        case blocked(index: Int, colors: [Int: Int])
    }

    /// Colors `order[start...]` after `colors`, skipping `spilled`.
    private func greedy(
        _ order: [Int], from start: Int = 0, colors given: [Int: Int] = [:], skipping spilled: Set<Int>,
        _ prefer: (Int) -> [Int], _ shares: (Int, Int) -> Bool
    ) -> Greedy {
        var colors = given
        for index in start..<order.count where !spilled.contains(order[index]) {
            let n = order[index]
            let taken = Set(neighbors(n).compactMap { colors[$0] })
            let shared = (partners[n] ?? []).compactMap { colors[$0] }.filter { shares(n, $0) }
            guard let c = (shared + prefer(n)).first(where: { !taken.contains($0) }) else {
                return .blocked(index: index, colors: colors)
            }
            colors[n] = c
        }
        return .colored(colors)
    }
}
