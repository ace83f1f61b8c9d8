// A set of VM register numbers as a bit set: the function lowering's liveness (one per instruction,
// unioned and compared on every pass of the dataflow) without the hashing of Set<Int>. Iterates in
// ascending order.

struct RegisterSet: Equatable, Sequence {
    private var words: [UInt64] = []

    init() {}

    init<S: Sequence>(_ registers: S) where S.Element == Int {
        for r in registers { insert(r) }
    }

    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// How many registers are in the set.
    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    func contains(_ r: Int) -> Bool {
        let w = r >> 6
        return r >= 0 && w < words.count && words[w] & (1 << UInt64(r & 63)) != 0
    }

    mutating func insert(_ r: Int) {
        let w = r >> 6
        if w >= words.count { words += Array(repeating: 0, count: w + 1 - words.count) }
        words[w] |= 1 << UInt64(r & 63)
    }

    mutating func remove(_ r: Int) {
        let w = r >> 6
        if r >= 0 && w < words.count { words[w] &= ~(1 << UInt64(r & 63)) }
    }

    /// Empties the set, keeping its memory (a set refilled over and over allocates once).
    mutating func removeAll() {
        for i in words.indices { words[i] = 0 }
    }

    mutating func remove(_ range: Range<Int>) {
        for r in range { remove(r) }
    }

    mutating func formUnion(_ other: RegisterSet) {
        if other.words.count > words.count { words += Array(repeating: 0, count: other.words.count - words.count) }
        for i in other.words.indices { words[i] |= other.words[i] }
    }

    func union<S: Sequence>(_ registers: S) -> RegisterSet where S.Element == Int {
        var u = self
        for r in registers { u.insert(r) }
        return u
    }

    /// Equal when the same registers are in both, whatever the words' lengths.
    static func == (l: RegisterSet, r: RegisterSet) -> Bool {
        let n = Swift.max(l.words.count, r.words.count)
        for i in 0..<n where (i < l.words.count ? l.words[i] : 0) != (i < r.words.count ? r.words[i] : 0) {
            return false
        }
        return true
    }

    struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var index = 0
        var word: UInt64

        init(_ words: [UInt64]) {
            self.words = words
            word = words.first ?? 0
        }

        mutating func next() -> Int? {
            while word == 0 {
                index += 1
                guard index < words.count else { return nil }
                word = words[index]
            }
            let bit = word.trailingZeroBitCount
            word &= word - 1
            return index << 6 | bit
        }
    }

    func makeIterator() -> Iterator { Iterator(words) }
}
