// "Did you mean ...?": the closest known name to a misspelled one, by edit distance, as rustc and
// swiftc suggest. The checker passes the names in scope at the point of the error (variables of the
// enclosing scopes, functions, built-ins, keywords or type names, depending on what was expected); this
// file only ranks them.

enum Suggestions {
    /// Type names of the language, for "unknown type" (shared/LANGUAGE.md, "Types").
    static let typeNames = ["int", "float", "f32", "bool", "str", "f32x8", "f64x4", "m32x8", "m64x4", "task", "chan"]

    /// The candidate closest to `name`, or nil when none is close enough. Close enough (rustc's rule):
    /// at most max(1, n / 3) edits for a name of n characters, where an edit inserts, deletes or
    /// replaces a character or swaps two neighbours; a candidate that differs only in case always
    /// qualifies. Ties go to the candidate that comes first in alphabetical order, so the answer does
    /// not depend on the order of `candidates`.
    static func closest<S: Sequence>(to name: String, among candidates: S) -> String? where S.Element == String {
        let target = Array(name.unicodeScalars)
        let limit = max(1, target.count / 3)
        let folded = name.lowercased()
        var best: (distance: Int, name: String)?
        for candidate in candidates where candidate != name && !candidate.isEmpty {
            let d: Int
            if candidate.lowercased() == folded {
                d = 0
            } else {
                // A length difference alone rules a candidate out without the full computation.
                guard abs(candidate.unicodeScalars.count - target.count) <= limit else { continue }
                d = distance(target, Array(candidate.unicodeScalars), limit: limit)
                if d > limit { continue }
            }
            if let b = best, (b.distance, b.name) <= (d, candidate) { continue }
            best = (d, candidate)
        }
        return best?.name
    }

    /// " (did you mean 'x'?)", or "" when nothing is close.
    static func hint<S: Sequence>(for name: String, among candidates: S) -> String where S.Element == String {
        closest(to: name, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Optimal string alignment distance (Levenshtein plus transposition of neighbours), with an early
    /// exit once every entry of a row exceeds `limit` (the result is then some value above `limit`).
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int = Int.max) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { v = min(v, previous2[j - 2] + 1) }
                current[j] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > limit { return rowMin }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
