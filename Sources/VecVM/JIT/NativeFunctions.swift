// Functions compiled whole to native code (FunctionLowering), kept on the Function object: a function
// is lowered once, the first time a program that contains it runs with the JIT on, whatever the
// number of runs, and its code is freed with it (NativeCode). Functions outside the supported subset
// are remembered with the reason, for --stats; the process keeps only the most recent names and
// reasons (a bounded log), so that compiling programs for ever does not grow it.

import Synchronization

/// The native entry of a function (see FunctionLowering.swift for the ABI).
typealias NativeFunctionEntry =
    @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeRawPointer, UnsafePointer<UInt32>, Int) -> Int64

/// One lowered function; its code and tables go with it.
final class NativeFunction: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    let name: String
    let code: NativeCode
    var entry: UnsafeRawPointer { code.address }
    let arraySlots: UnsafeMutablePointer<Int>
    let arraySlotCount: Int
    let entries: UnsafeMutablePointer<Int>
    let entryCount: Int

    init(name: String, code: NativeCode, arraySlots: [Int], entries: [Int]) {
        self.name = name
        self.code = code
        self.arraySlots = .allocate(capacity: max(1, arraySlots.count))
        for (i, s) in arraySlots.enumerated() { self.arraySlots[i] = s }
        arraySlotCount = arraySlots.count
        self.entries = .allocate(capacity: max(1, entries.count))
        for (i, e) in entries.enumerated() { self.entries[i] = e }
        entryCount = entries.count
    }

    deinit {
        arraySlots.deallocate()
        entries.deallocate()
    }
}

/// What the JIT made of a function (Function.nativeState).
enum NativeFunctionState {
    case untried
    case native(NativeFunction)
    case interpreted
}

final class NativeFunctions: Sendable {
    static let shared = NativeFunctions()
    /// Names and reasons kept for --stats and tests (the most recent ones).
    static let logSize = 1024

    private final class Weak: @unchecked Sendable {
        weak var function: NativeFunction?
        init(_ f: NativeFunction) { function = f }
    }

    private struct State {
        var compiled: [String] = []
        var interpreted: [String] = []
        /// Live lowered functions, for jit-dump (dead ones pruned as new ones come).
        var live: [Weak] = []
        var pruneAt = 64
    }
    /// Also guards every Function's `nativeState`.
    private let state = Mutex(State())

    /// The native code of `f`, lowering it on first request; nil when it stays interpreted.
    func native(for f: Function) -> NativeFunction? {
        let known = state.withLock { _ -> NativeFunction?? in
            switch f.nativeState {
            case .untried: return .none
            case .native(let n): return .some(n)
            case .interpreted: return .some(nil)
            }
        }
        if let known { return known }
        var result: NativeFunction?
        var reason: String?
        do {
            let (bytes, slots, entries) = try FunctionLowering.lower(f)
            if let code = NativeCode(bytes) {
                result = NativeFunction(name: f.name, code: code, arraySlots: slots, entries: entries)
            } else {
                reason = "the code heap is full or unavailable"
            }
        } catch {
            reason = error.reason
        }
        // Ours, or what another thread decided meanwhile (ours is then released after the lock).
        var mine = result
        let chosen = state.withLock { s -> NativeFunction? in
            switch f.nativeState {
            case .native(let n): return n
            case .interpreted: return nil
            case .untried: break
            }
            if let result {
                f.nativeState = .native(result)
                NativeFunctions.log(&s.compiled, f.name)
                if s.live.count >= s.pruneAt {
                    s.live.removeAll { $0.function == nil }
                    s.pruneAt = max(64, s.live.count * 2)
                }
                s.live.append(Weak(result))
            } else {
                f.nativeState = .interpreted
                NativeFunctions.log(&s.interpreted, "\(f.name): \(reason ?? "?")")
            }
            mine = nil
            return result
        }
        _ = mine
        return chosen
    }

    private static func log(_ list: inout [String], _ entry: String) {
        list.append(entry)
        if list.count > logSize { list.removeFirst(list.count - logSize) }
    }

    /// The most recently lowered functions' names.
    var compiledNames: [String] { state.withLock { $0.compiled } }
    /// (name, machine code) of every live lowered function, for `vecvm jit-dump`.
    var machineCode: [(String, [UInt8])] {
        let live = state.withLock { s in s.live.compactMap(\.function) }
        return live.map { ($0.name, $0.code.machineCode) }
    }
    /// "name: reason" of the functions most recently left to the interpreter.
    var interpreted: [String] { state.withLock { $0.interpreted } }
}
