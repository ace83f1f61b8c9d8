// SplitMix64, the tests' one deterministic generator (a failure replays from its seed). Also
// compiled into bench/tools/math_accuracy.sh's standalone accuracy runner with the math harness.

/// A small deterministic generator (SplitMix64), so that a failure can be replayed from its seed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func double() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
