// vecvm: the command-line client of the VecVM library. Thin by design: every command calls the public
// VecVM API (DESIGN.md); this file only parses flags, reads files and maps errors to exit statuses.

import ArgumentParser
import VecVM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether diagnostics on standard error get colour: a terminal, not TERM=dumb, and no NO_COLOR
/// (https://no-color.org: set and not empty).
let colourDiagnostics: Bool = {
    if isatty(2) == 0 { return false }
    if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
    if let t = getenv("TERM"), String(cString: t) == "dumb" { return false }
    return true
}()

/// An error of a run as the CLI shows it (with colour where `colourDiagnostics` says so).
func render(_ error: VMError) -> String {
    switch error {
    case .compile(let e): e.rendered(colour: colourDiagnostics)
    default: error.runtimeError?.rendered(colour: colourDiagnostics) ?? error.description
    }
}

/// Writes to standard error in one call.
func printError(_ text: String) {
    var s = text
    if !s.hasSuffix("\n") { s += "\n" }
    _ = s.withCString { p in write(2, p, strlen(p)) }
}

/// `500us`, `2ms`, `1s`, `10000ns`; a bare number is milliseconds.
struct DurationArgument: ExpressibleByArgument {
    let nanoseconds: Int64
    init?(argument: String) {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let v = Double(argument.dropLast(suffix.count)), v > 0, v * scale < 1e15 else { return nil }
            nanoseconds = Int64(v * scale)
            return
        }
        guard let v = Double(argument), v > 0, v < 1e9 else { return nil }
        nanoseconds = Int64(v * 1e6)
    }
    static var defaultValueDescription: String { "10ms" }
}

/// `100M`, `64K`, `2G` (powers of 1024), or a number of bytes.
struct ByteCountArgument: ExpressibleByArgument {
    let bytes: Int
    init?(argument: String) {
        let units: [(String, Int)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        var text = Substring(argument)
        var scale = 1
        for (suffix, s) in units where text.uppercased().hasSuffix(suffix) {
            text = text.dropLast()
            scale = s
        }
        guard let v = Int(text), v > 0, v <= Int.max / scale else { return nil }
        bytes = v * scale
    }
    static var defaultValueDescription: String { "3/4 of physical memory" }
}

struct RunOptions: ParsableArguments {
    @Option(help: "Processors (Ps) that run tasks in parallel (default: the number of CPUs).")
    var procs: Int?
    @Option(help: "Time slice before a running task is asked to yield, e.g. 500us, 2ms, 10ms.")
    var quantum: DurationArgument?
    @Flag(help: "Run every kernel in the interpreter (no native code).")
    var noJit = false
    @Flag(help: "Preempt only cooperatively (no signals into native kernels), like Go's asyncpreemptoff=1.")
    var noAsyncPreempt = false
    @Flag(help: "Print scheduler and VM counters on standard error at exit.")
    var stats = false
    @Option(help: "Memory the program may hold at once (arrays, strings, channels, tasks), e.g. 100M, 2G.")
    var memoryLimit: ByteCountArgument?
    @Option(help: "Tasks that may exist at once, the main task included.")
    var maxTasks: Int?

    var settings: RunSettings {
        RunSettings(
            procs: procs, quantumNanoseconds: quantum?.nanoseconds, noJit: noJit, noAsyncPreempt: noAsyncPreempt,
            stats: stats, memoryLimit: memoryLimit?.bytes, maxTasks: maxTasks)
    }

    func validate() throws {
        if let p = procs, p < 1 || p > 256 { throw ValidationError("--procs must be between 1 and 256") }
        if let n = maxTasks, n < 1 { throw ValidationError("--max-tasks must be at least 1") }
    }
}

/// The options of `run` and `jit-dump`, parsed (by RunOptions, or by FastRun below).
struct RunSettings {
    var procs: Int?
    var quantumNanoseconds: Int64?
    var noJit = false
    var noAsyncPreempt = false
    var stats = false
    var memoryLimit: Int?
    var maxTasks: Int?

    /// The CLI's VM: the program may call C functions, read and write files, and read standard input.
    func configuration(output: OutputSink = StandardOutput(), arguments: [String] = []) -> VMConfiguration {
        VMConfiguration(
            procs: procs, quantumNanoseconds: quantumNanoseconds ?? 10_000_000, jit: !noJit,
            asyncPreemption: !noAsyncPreempt, output: output, memoryLimit: memoryLimit,
            allowForeignFunctions: true, arguments: arguments, input: StandardInput.shared, allowFileAccess: true,
            maxTasks: maxTasks)
    }
}

/// The common case of `vecvm [run] [OPTIONS] FILE [ARGS]`, parsed without ArgumentParser: building
/// its command tree costs about 13 million instructions (protocol-conformance lookups), more than
/// half of the start-up of `print(1)`. Only what is unambiguous is taken here — the options of
/// `run`, each once, with valid values, and program arguments that do not start with `-` (or come
/// after `--`); anything else (help, a subcommand, an unknown option, a bad value) returns nil and
/// goes to ArgumentParser, which parses, validates and reports exactly as before.
enum FastRun {
    static func parse(_ argv: [String]) -> (file: String, arguments: [String], settings: RunSettings)? {
        var args = argv.dropFirst()
        if args.first == "run" { args = args.dropFirst() }
        var settings = RunSettings()
        var seen = Set<String>()
        var file: String?
        var arguments: [String] = []
        var it = args.makeIterator()
        while let arg = it.next() {
            if arg == "--" {
                guard file != nil else { return nil }
                while let rest = it.next() { arguments.append(rest) }
                break
            }
            guard arg.hasPrefix("-"), arg != "-" else {
                if file == nil {
                    if ["run", "repl", "disasm", "jit-dump", "help"].contains(arg) { return nil }
                    file = arg
                } else {
                    arguments.append(arg)
                }
                continue
            }
            var name = arg
            var value: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                value = String(arg[arg.index(after: eq)...])
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "--no-jit", "--no-async-preempt", "--stats":
                guard value == nil else { return nil }
                if name == "--no-jit" { settings.noJit = true }
                if name == "--no-async-preempt" { settings.noAsyncPreempt = true }
                if name == "--stats" { settings.stats = true }
            case "--procs", "--quantum", "--memory-limit", "--max-tasks":
                if value == nil { value = it.next() }
                guard let v = value else { return nil }
                switch name {
                case "--procs":
                    guard let p = Int(v), p >= 1, p <= 256 else { return nil }
                    settings.procs = p
                case "--quantum":
                    guard let d = DurationArgument(argument: v) else { return nil }
                    settings.quantumNanoseconds = d.nanoseconds
                case "--memory-limit":
                    guard let b = ByteCountArgument(argument: v) else { return nil }
                    settings.memoryLimit = b.bytes
                default:
                    guard let n = Int(v), n >= 1 else { return nil }
                    settings.maxTasks = n
                }
            default:
                return nil
            }
        }
        guard let file else { return nil }
        return (file, arguments, settings)
    }
}

/// The name a program read from standard input has in messages (`vecvm run -`).
let standardInputName = "<stdin>"

/// The end of a run: flushes the program's output, reports a failed write (exit status 2 unless
/// the run already failed), and exits.
func finish(_ output: StandardOutput, status: Int32) -> Never {
    output.flush()
    var status = status
    if let why = output.writeError {
        printError("vecvm: cannot write the program's output to standard output: \(why)")
        if status == 0 { status = 2 }
    }
    CLibrary.exit(status)
}

/// The text of a program: a file, or standard input for `-`. Reads at most `SourceFile.maxBytes` (a
/// larger file, or an endless one such as /dev/zero, is an error, not a wait for memory to run out).
func readSource(_ path: String) throws -> String {
    if path == "-" {
        do {
            return try StandardInput.shared.readAll()
        } catch {
            throw ValidationError("\(error)")
        }
    }
    guard let f = fopen(path, "rb") else {
        throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if bytes.count > SourceFile.maxBytes {
            throw ValidationError(
                "\(path) is too large: a program may have at most \(SourceFile.maxBytes) bytes (32 MiB)")
        }
        if n < buffer.count {
            if ferror(f) != 0 { throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))") }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile and run a .vec program.",
        discussion: """
            The arguments after the program's path are the program's (argc(), arg(i)); vecvm's own options \
            may come anywhere, and everything after `--` goes to the program. `-` reads the program from \
            standard input.
            """)
    @OptionGroup var options: RunOptions
    @Argument(help: "The program to run (`-`: standard input).") var file: String
    @Argument(parsing: .allUnrecognized, help: "Arguments of the program.") var arguments: [String] = []

    func run() throws {
        // ArgumentParser keeps the `--` that ends vecvm's options; the program does not see it.
        var programArguments = arguments
        if let end = programArguments.firstIndex(of: "--") { programArguments.remove(at: end) }
        try runProgram(file: file, arguments: programArguments, settings: options.settings)
    }
}

/// `vecvm run`: compiles and runs `file` with the program's `arguments`, and exits.
func runProgram(file: String, arguments: [String], settings: RunSettings) throws -> Never {
    let source = try readSource(file)
    let output = StandardOutput()
    ExitSignals.install(flushing: output)
    let config = settings.configuration(output: output, arguments: arguments)
    let vm = VM(configuration: config)
    var status: Int32 = 0
    do {
        // Only run, never called into: top-level variables no function uses stay in registers.
        let program = try vm.compile(
            source: source, fileName: file == "-" ? standardInputName : file, hostReadableGlobals: false)
        for w in program.warnings { printError(w.rendered(colour: colourDiagnostics)) }
        try vm.run(program)
    } catch let error as CompileError {
        config.output.flush()
        printError(error.rendered(colour: colourDiagnostics))
        status = VMError.compile(error).exitStatus
    } catch let error as VMError {
        config.output.flush()
        printError(render(error))
        status = error.exitStatus
    }
    if settings.stats { printError(vm.statistics) }
    // The program ends when its main task ends (as in Go): tasks still running are abandoned.
    finish(output, status: status)
}

struct Disasm: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the bytecode of a .vec program.")
    @Argument(help: "The program to disassemble.") var file: String

    func run() throws {
        let source = try readSource(file)
        let vm = VM(configuration: VMConfiguration(allowForeignFunctions: true, allowFileAccess: true))
        do {
            let program = try vm.compile(source: source, fileName: file == "-" ? standardInputName : file)
            for w in program.warnings { printError(w.rendered(colour: colourDiagnostics)) }
            print(vm.disassemble(program), terminator: "")
        } catch {
            printError(error.rendered(colour: colourDiagnostics))
            CLibrary.exit(1)
        }
    }
}

struct JitDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jit-dump",
        abstract: "Run a program and write each kernel's native code to a folder (kernel-N.bin and kernels.txt).",
        discussion: "Decode a kernel with: objdump -D -b binary -m i386:x86-64 DIR/kernel-0.bin")
    @OptionGroup var options: RunOptions
    @Option(name: .shortAndLong, help: "Folder to write kernel-N.bin and kernels.txt into (created if missing).")
    var out: String
    @Argument(help: "The program to run.") var file: String

    func run() throws {
        let source = try readSource(file)
        let output = StandardOutput()
        ExitSignals.install(flushing: output)
        let config = options.settings.configuration(output: output)
        let vm = VM(configuration: config)
        if !vm.usesJIT {
            printError("vecvm: the JIT is off (--no-jit, VECVM_ISA=none, or a CPU without AVX2+FMA): nothing to dump")
            CLibrary.exit(1)
        }
        var status: Int32 = 0
        // Kept until the end: JIT code lives as long as the program using it (JITEngine.swift).
        var program: CompiledProgram?
        do {
            program = try vm.compile(source: source, fileName: file, hostReadableGlobals: false)
            try vm.run(program!)
        } catch let error as CompileError {
            printError(error.rendered(colour: colourDiagnostics))
            status = VMError.compile(error).exitStatus
        } catch let error as VMError {
            config.output.flush()
            printError(render(error))
            status = error.exitStatus
        }
        config.output.flush()
        if mkdir(out, 0o755) != 0 && errno != EEXIST {
            printError("vecvm: cannot create \(out): \(String(cString: strerror(errno)))")
            CLibrary.exit(1)
        }
        var listing = "# N\telement\tbytes\tkernel program\n"
        for k in vm.nativeKernels {
            let path = "\(out)/kernel-\(k.number).bin"
            guard let f = fopen(path, "wb") else {
                printError("vecvm: cannot write \(path): \(String(cString: strerror(errno)))")
                CLibrary.exit(1)
            }
            _ = k.machineCode.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
            listing += "\(k.number)\t\(k.elementType)\t\(k.machineCode.count)\t\(k.program)\n"
        }
        for reason in vm.kernelFallbacks { listing += "# kernel interpreted: \(reason)\n" }
        for reason in vm.kernelAVX2Fallbacks { listing += "# kernel kept at AVX2: \(reason)\n" }
        for (i, f) in vm.nativeFunctionCode.enumerated() {
            let path = "\(out)/function-\(i).bin"
            if let file = fopen(path, "wb") {
                _ = f.machineCode.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
            listing += "# function native: \(f.name) (function-\(i).bin, \(f.machineCode.count) bytes)\n"
        }
        for reason in vm.nativeFunctions.interpreted { listing += "# function interpreted: \(reason)\n" }
        for where_ in vm.partlyNativeFunctions { listing += "# function partly native: \(where_)\n" }
        for steps in vm.nativeFunctionSteps { listing += "# function steps: \(steps)\n" }
        for spills in vm.nativeFunctionSpills { listing += "# function spills: \(spills)\n" }
        guard let f = fopen("\(out)/kernels.txt", "w") else {
            printError("vecvm: cannot write \(out)/kernels.txt")
            CLibrary.exit(1)
        }
        fputs(listing, f)
        fclose(f)
        printError("vecvm: wrote \(vm.nativeKernels.count) kernels to \(out)")
        withExtendedLifetime(program) {}
        finish(output, status: status)
    }
}

struct VecVMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vecvm",
        abstract: "Run .vec programs: fused SIMD kernels, green-thread tasks and channels.",
        version: "vecvm \(VecVMVersion.string)",
        subcommands: [Run.self, Repl.self, Disasm.self, JitDump.self],
        defaultSubcommand: Run.self
    )
}

// A file-size limit (`ulimit -f`) makes a write fail with EFBIG, a runtime error naming the file, rather
// than kill the process with SIGXFSZ (CPython does the same).
signal(SIGXFSZ, SIG_IGN)
// A crash (a fault in an `extern` C function, `kill -SEGV`, SIGQUIT) prints a few lines and ends the
// process by its signal, never a Swift backtrace or a helper process left behind.
CrashReporting.install(programName: "vecvm")
// Spawning many tasks grows the C heap by whole arena heaps, not an mprotect every page; what the
// tasks freed goes back to the system when the program goes idle (sysmon trims the heap).
MemoryTuning.growHeapInLargeSteps()

// `vecvm FILE.vec` runs the file (Run is the default subcommand); `vecvm` alone starts the REPL, which
// reads plain lines without prompts when standard input is not a terminal (`echo 'print(1)' | vecvm`).
if CommandLine.arguments.count == 1 {
    VecVMCommand.main(["repl"])
} else if let fast = FastRun.parse(CommandLine.arguments) {
    do {
        try runProgram(file: fast.file, arguments: fast.arguments, settings: fast.settings)
    } catch {
        // What ArgumentParser would print and exit with for the same error (e.g. an unreadable file).
        VecVMCommand.exit(withError: error)
    }
} else {
    VecVMCommand.main()
}
