// Compiled code: functions of register bytecode and the tables they refer to. A Program is immutable
// once compiled and may be run many times, by several tasks at once.

/// A `print(...)` call: the registers of its arguments and their types.
struct PrintSite {
    var registers: [Int]
    var types: [VType]
}

/// Mutable only while the compiler builds it; shared read-only by every task afterwards.
final class Function: @unchecked Sendable {
    let name: String
    let index: Int
    let location: SourceLocation
    /// The source it was compiled from (for runtime errors: in a REPL, each input is its own file).
    var file: SourceFile?
    var instructions: [Instruction] = []
    /// The source position of each instruction, for runtime errors.
    var locations: [SourceLocation] = []
    var constants: [UInt64] = []
    var strings: [VMString] = []
    var kernelSites: [KernelSite] = []
    var printSites: [PrintSite] = []
    /// Types referred to by `format`.
    var types: [VType] = []
    /// Registers (slots) the frame needs.
    var frameSize = 0
    /// Slots taken by the parameters, which start at register 0.
    var parameterSlots = 0
    var parameterTypes: [VType] = []
    var resultType: VType = .void
    /// Whether any register of the frame may hold a reference (then a return clears the frame's objects).
    var usesReferences = false
    /// What the JIT made of this function; its native code lives as long as the function. Read and
    /// written by its program's engine (Program.jit), under that engine's lock (JIT/JITEngine.swift).
    var nativeState: NativeFunctionState = .untried

    /// Instruction words in stable memory for the interpreter; set by `finalize`.
    private(set) var code: UnsafeMutablePointer<UInt64>
    private(set) var constantPool: UnsafeMutablePointer<UInt64>

    init(name: String, index: Int, location: SourceLocation) {
        self.name = name
        self.index = index
        self.location = location
        code = .allocate(capacity: 1)
        constantPool = .allocate(capacity: 1)
    }

    deinit {
        code.deallocate()
        constantPool.deallocate()
    }

    /// Bytes this function takes, roughly (instructions twice over, their locations, tables), for
    /// the memory limit: compiled code is charged like the data a program makes.
    var footprint: Int {
        instructions.count * 24 + constants.count * 16 + kernelSites.count * 256 + printSites.count * 64
            + strings.reduce(0) { $0 + $1.value.utf8.count + 48 } + 512
    }

    /// Copies instructions and constants into the memory the interpreter reads.
    func finalize() {
        code.deallocate()
        constantPool.deallocate()
        code = .allocate(capacity: max(1, instructions.count))
        for (i, ins) in instructions.enumerated() { code[i] = ins.word }
        constantPool = .allocate(capacity: max(1, constants.count))
        for (i, k) in constants.enumerated() { constantPool[i] = k }
    }
}

/// Describes one global variable.
struct GlobalInfo {
    let name: String
    let type: VType
    /// Index into the scalar slots (scalars, SIMD values) or the object slots (references).
    let slot: Int
}

public final class Program: @unchecked Sendable {
    let file: SourceFile
    /// Index 0 is the main chunk (the top-level statements).
    var functions: [Function] = []
    var globals: [GlobalInfo] = []
    /// C functions bound by `extern fn`, by extern index.
    var externs: [ForeignFunction] = []
    /// The JIT engine of the VM that compiled it, which lowers its functions and kernels (nil: that
    /// VM has no JIT). Set once, before the program is instantiated; a Session sets the same engine
    /// on every input, whose programs share functions. Its functions' `nativeState` is guarded by
    /// this engine's lock: a second engine would race it.
    var jit: (any JITEngine)? {
        didSet { precondition(oldValue == nil || oldValue === jit, "a program is lowered by one JIT engine") }
    }

    init(file: SourceFile) { self.file = file }

    public var fileName: String { file.name }
    var main: Function { functions[0] }

    func function(named name: String) -> Function? { functions.first { $0.name == name && $0.index != 0 } }
}

/// What the dispatch loop needs of a function, in raw memory (no ARC, no class-property access on a
/// call or return).
struct FunctionEntry {
    var code: UnsafeMutablePointer<UInt64>
    var constants: UnsafeMutablePointer<UInt64>
    var frameSize: Int
    var parameterSlots: Int
    var usesReferences: Bool
    var resultStorage: ValueStorage
    var function: Unmanaged<Function>
    /// The function as native code (JIT/FunctionLowering.swift), or nil: interpret it.
    var native: UnsafeRawPointer?
    /// Registers holding array parameters, whose (data, count) the native code reads.
    var nativeArraySlots: UnsafePointer<Int>?
    var nativeArrayCount: Int
    /// Pcs at which the native code may be entered (0 and loop headers).
    var nativeEntries: UnsafePointer<Int>?
    var nativeEntryCount: Int
    /// Whether the native code calls other functions natively or runs steps (it needs the task's
    /// NativeCallContext).
    var nativeNeedsContext: Bool
    /// Whether the native code reads an array table (array parameters, or arrays its steps make).
    var nativeUsesArrayTable: Bool
    /// Whether the native code calls natively (its context needs a chain, its array table covers
    /// its callees' frames).
    var nativeMakesCalls: Bool
    /// Registers from the frame's start the native code and its native callees may touch
    /// (NativeFunction.reachExtent): runNative makes room for them before it enters the code.
    var nativeFrameExtent: Int
}

/// The function table of one program, built once it is compiled.
/// - Note: `entries` is freed in deinit; tasks keep the table alive while they run.
final class FunctionTable {
    let entries: UnsafeMutablePointer<FunctionEntry>
    let count: Int
    let functions: [Function]
    let externs: [ForeignFunction]

    /// With `jit`, each function but the top level runs as native code where the engine lowers it.
    init(_ functions: [Function], externs: [ForeignFunction] = [], jit: (any JITEngine)? = nil) {
        self.functions = functions
        self.externs = externs
        count = functions.count
        entries = .allocate(capacity: max(1, functions.count))
        for (i, f) in functions.enumerated() {
            let n = i != 0 ? jit?.nativeFunction(f, in: functions) : nil
            (entries + i).initialize(
                to: FunctionEntry(
                    code: f.code, constants: f.constantPool, frameSize: max(f.frameSize, 1),
                    parameterSlots: f.parameterSlots,
                    usesReferences: f.usesReferences, resultStorage: f.resultType.storage,
                    function: Unmanaged.passUnretained(f),
                    native: n?.entry, nativeArraySlots: n.map { UnsafePointer($0.arraySlots) },
                    nativeArrayCount: n?.arraySlotCount ?? 0,
                    nativeEntries: n.map { UnsafePointer($0.entries) }, nativeEntryCount: n?.entryCount ?? 0,
                    nativeNeedsContext: n?.needsContext ?? false, nativeUsesArrayTable: n?.usesArrayTable ?? false,
                    nativeMakesCalls: n?.makesCalls ?? false,
                    nativeFrameExtent: n?.reachExtent ?? 0))
        }
    }

    deinit { entries.deallocate() }
}
