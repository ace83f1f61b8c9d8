// Functions compiled whole to native code (FunctionLowering), cached per Function object: a function
// is lowered once, the first time a program that contains it runs with the JIT on, whatever the
// number of runs. Functions outside the supported subset are remembered with the reason, for --stats.

import Synchronization

/// The native entry of a function (see FunctionLowering.swift for the ABI).
typealias NativeFunctionEntry =
    @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeRawPointer, UnsafePointer<UInt32>, Int) -> Int64

/// One lowered function.
/// - Note: `arraySlots` and `entries` are allocated once and live as long as the process (like the code).
final class NativeFunction: @unchecked Sendable {
    let entry: UnsafeRawPointer
    let arraySlots: UnsafeMutablePointer<Int>
    let arraySlotCount: Int
    let entries: UnsafeMutablePointer<Int>
    let entryCount: Int

    init(entry: UnsafeRawPointer, arraySlots: [Int], entries: [Int]) {
        self.entry = entry
        self.arraySlots = .allocate(capacity: max(1, arraySlots.count))
        for (i, s) in arraySlots.enumerated() { self.arraySlots[i] = s }
        arraySlotCount = arraySlots.count
        self.entries = .allocate(capacity: max(1, entries.count))
        for (i, e) in entries.enumerated() { self.entries[i] = e }
        entryCount = entries.count
    }
}

final class NativeFunctions: Sendable {
    static let shared = NativeFunctions()

    private struct State {
        var byFunction: [ObjectIdentifier: NativeFunction?] = [:]
        /// Keeps functions alive while they are keys (an ObjectIdentifier must not be reused).
        var retained: [Function] = []
        var compiled: [String] = []
        var code: [(String, [UInt8])] = []
        var interpreted: [String] = []
    }
    private let state = Mutex(State())

    /// The native code of `f`, lowering it on first request; nil when it stays interpreted.
    func native(for f: Function) -> NativeFunction? {
        let key = ObjectIdentifier(f)
        if let known = state.withLock({ $0.byFunction[key] }) { return known }
        var result: NativeFunction?
        var reason: String?
        var machineCode: [UInt8] = []
        do {
            let (bytes, slots, entries) = try FunctionLowering.lower(f)
            machineCode = bytes

            if let heap = CodeHeap.shared, let address = heap.install(bytes) {
                result = NativeFunction(entry: address, arraySlots: slots, entries: entries)
            } else {
                reason = "the code heap is full or unavailable"
            }
        } catch {
            reason = error.reason
        }
        return state.withLock { s in
            if let known = s.byFunction[key] { return known }
            s.byFunction[key] = result
            s.retained.append(f)
            if result != nil {
                s.compiled.append(f.name)
                s.code.append((f.name, machineCode))
            } else {
                s.interpreted.append("\(f.name): \(reason ?? "?")")
            }
            return result
        }
    }

    var compiledNames: [String] { state.withLock { $0.compiled } }
    /// (name, machine code) of every lowered function, for `vecvm jit-dump`.
    var machineCode: [(String, [UInt8])] { state.withLock { $0.code } }
    /// "name: reason" of every function left to the interpreter.
    var interpreted: [String] { state.withLock { $0.interpreted } }
}
